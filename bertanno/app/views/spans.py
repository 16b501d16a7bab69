"""The ``spans`` view's drawings for the line screen and the review (the full screen's span editor is
``bertanno.app.screen.widgets.spans``): the text over a ruler of character offsets with each span in its
type's colour, and several decisions' spans aligned to one ruler."""

from __future__ import annotations

from typing import Any, Sequence

from rich.cells import cell_len
from rich.console import Group
from rich.text import Text

from bertanno.app.views.labels import keys_legend
from bertanno.plugins.task import Example, Prediction, Span

PALETTE = ("red", "green", "blue", "magenta", "yellow", "cyan", "bright_red", "bright_green", "bright_blue",
           "bright_magenta", "bright_yellow", "bright_cyan")
RULER_WIDTH = 80


def colour(labels: Sequence[str], label: str) -> str:
    """The rich colour of a span of ``label``: the palette's colour at the label's place in ``labels``
    (repeating after 12), ``white`` for a label not in the set."""
    return PALETTE[list(labels).index(label) % len(PALETTE)] if label in labels else "white"


def legend(task, descriptions: dict[str, str] | None = None) -> Text:
    """The label keys with each type in its colour (``labels.keys_legend``), with the guidelines' descriptions."""
    return keys_legend(task, lambda label: colour(task.labels, label), descriptions)


def render_spans(task, example: Example, prediction: Prediction | None):
    """The text over its ruler with the prediction's spans (else the example's), the prediction as
    ``surface:TYPE`` with its confidence (the screens keep the legend of the keys in view beside it)."""
    paint = lambda label: colour(task.labels, label)  # noqa: E731
    spans = prediction.payload if prediction is not None else example.payload or []
    parts = [*ruled_lines(example.text, spans, paint)]
    if prediction is not None:
        found = ", ".join(f"{example.text[s:e]}:{label}" for s, e, label in spans) or "(no entities)"
        parts.append(Text(f"→ {found}  ({prediction.confidence:.0%})", style="bold cyan"))
    return Group(*parts)


def spans_decisions(task, example: Example, decisions: Sequence[tuple[str, Any]]):
    """Every decision's spans over one ruler: per line of text, the ruler, then the text once per decision
    with that decision's spans in their type's colour; a span that not every decision marks (same
    characters, same type) is drawn reversed, and listed first with who marked it. A decision whose
    payload is ``None`` rejected the item (unusable): its row says so instead of showing the text, and it
    marks nothing either way. Lines of a long text with no difference fold into one."""
    paint = lambda label: colour(task.labels, label)  # noqa: E731
    rows = [(who, None if payload is None else list(payload)) for who, payload in decisions]
    given = [set(spans) for _, spans in rows if spans is not None]
    everyone = set.intersection(*given) if given else set()
    disputed: dict[Span, list[str]] = {}
    for who, spans in rows:
        for span in spans or []:
            if span not in everyone:
                disputed.setdefault(span, []).append(who)
    listing = [Text(f"{example.text[s.start:s.end]} [{s.start}-{s.end}]:{s.label}  only {', '.join(names)}",
                    style=paint(s.label)) for s, names in sorted(disputed.items())]
    listing += [Text(f"{who} rejected the item: unusable, no spans given", style="bold yellow")
                for who, spans in rows if spans is None]
    return Group(*(listing or [Text("every decision marks the same spans", style="green")]),
                 RuledDecisions(example.text, rows, everyone, paint), legend(task))


def cell_lines(text: str, width: int) -> list[tuple[int, int, int]]:
    """``(start, end, cells)`` of each line of ``text`` cut at most ``width`` terminal cells wide (a Chinese
    character takes two); an empty text is one empty line."""
    lines, start = [], 0
    while start < len(text) or start == 0:
        end, cells = start, 0
        while end < len(text) and cells + cell_len(text[end]) <= width:
            cells += cell_len(text[end])
            end += 1
        lines.append((start, end, cells))
        if end == start:
            break
        start = end
    return lines


def ruler(text: str, start: int, end: int, cells: int) -> str:
    """The character offsets of ``text[start:end]`` (``cells`` wide) every 5 characters, each mark standing under
    the character it numbers however wide the characters before it are."""
    marks, column = [" "] * (cells + 8), 0
    for index in range(start, end):
        if index % 5 == 0 and all(c == " " for c in marks[column:column + len(str(index))]):
            marks[column:column + len(str(index))] = str(index)
        column += cell_len(text[index])
    return "".join(marks).rstrip()


def ruled_lines(text: str, spans, colour, width: int = RULER_WIDTH):
    """The text in lines of at most ``width`` terminal cells, each over a ruler of character offsets.

    Widths are counted in cells (a Chinese character takes two), so the ruler's marks stand under
    the characters they number however wide each one is.
    """
    for start, end, cells in cell_lines(text, width):
        line = Text(text[start:end])
        for s, e, label in spans:
            if s < end and e > start:
                line.stylize(f"bold {colour(label)} underline", max(s, start) - start, min(e, end) - start)
        yield line
        yield Text(ruler(text, start, end, cells), style="dim")


class RuledDecisions:
    """Several decisions' spans over one text, aligned to one ruler (``render_decisions``); lines are as
    wide as the screen it is drawn on, counted in cells (a Chinese character takes two). ``rows``:
    ``(who, spans)`` (``spans`` ``None``: a reject); ``agreed``: the spans every row marks (the others are drawn reversed). Lines of a long text
    where every decision is the same fold into one line that says so, so that the differences fit a screen."""

    def __init__(self, text: str, rows: list[tuple[str, list[Span]]], agreed: set, colour):
        self.text, self.rows, self.agreed, self.colour = text, rows, agreed, colour

    def __rich_console__(self, console, options):
        names = max((cell_len(who) for who, _ in self.rows), default=0)
        lines = cell_lines(self.text, max(options.max_width - names - 3, 10))
        disputed = [s for _, spans in self.rows for s in spans or [] if s not in self.agreed]
        folded: list[tuple[int, int]] = []
        for start, end, cells in lines:
            if len(lines) > 1 and not any(s.start < end and s.end > start for s in disputed):
                folded.append((start, end))
                continue
            if folded:
                yield self._fold(folded, names)
                folded = []
            yield from self._line(start, end, cells, names)
        if folded:
            yield self._fold(folded, names)

    def _fold(self, folded: list[tuple[int, int]], names: int) -> Text:
        return Text(" " * (names + 3) + f"… {folded[0][0]}-{folded[-1][1]}: the same in every decision",
                    style="dim")

    def _line(self, start: int, end: int, cells: int, names: int):
        text = self.text
        yield Text(" " * (names + 3) + ruler(text, start, end, cells), style="dim")
        for who, spans in self.rows:
            if spans is None:
                yield Text.assemble((who + " " * (names - cell_len(who)), "bold"), " │ ",
                                    ("✗ rejected: unusable", "yellow"))
                continue
            line = Text(text[start:end])
            for span in spans:
                if span.start < end and span.end > start:
                    style = f"bold {self.colour(span.label)}" + (" underline" if span in self.agreed else " reverse")
                    line.stylize(style, max(span.start, start) - start, min(span.end, end) - start)
            yield Text.assemble((who + " " * (names - cell_len(who)), "bold"), " │ ", line)
