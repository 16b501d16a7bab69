"""The item view of a relations task: the span editor (``spans.SpanView``, every key of it) and the relations
between the spans, entered from the keyboard.

A relation: put the cursor on its head entity and press ``l``; move to the tail (Tab, arrows, ``f``) and press
``l`` again, or type the tail's span number; then the relation's number among the types the schema allows for
the two entity types (when only one fits, it is made at once). Relations are listed under the spans as
``r1 薛某某 ─provide_shelter_for→ 赵某某``; ``j`` / ``k`` focus the next / previous one, which is drawn reversed on
both its spans (the head bold), and ``t`` changes its type, ``o`` reverses it, ``D`` deletes it. Esc cancels a
relation being made, then drops the focus. Undo (``u``) takes back relations and spans alike.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from bertanno.app.relation_editing import GraphEditor
from bertanno.app.screen.widgets.spans import HELP as SPAN_HELP
from bertanno.app.screen.widgets.spans import SpanText, SpanView
from bertanno.app.views.relations import relation_text
from bertanno.app.views.spans import colour
from bertanno.plugins.task import Relation, SpanGraph

HELP = SPAN_HELP + """

Relations
  l                  on a span: start a relation from it (its head); then on the tail: l again
  0-9 (after l)      the tail's span number (Enter ends a number that begins a longer one)
  1-9 (then)         the relation's type among those the schema allows (listed on the status line)
  j / k              focus the next / previous relation (the cursor goes to its head)
  t  o  D            the focused relation: change its type / reverse it / delete it
  Esc                cancel the relation being made; then drop the focus
  :                  also: 1>2:TYPE (a relation from span 1 to 2)  -r 3  tr 3 TYPE"""
HEAD = Style(reverse=True, bold=True)
"""The focused relation's head (and the head of a relation being made), drawn over its span's colour."""
TAIL = Style(reverse=True, italic=True)


class GraphText(SpanText):
    """``SpanText`` with the relation keys; edits go through a ``GraphEditor``."""

    BINDINGS = [Binding("l", "link", "link", show=False), Binding("j", "focus_link(1)", show=False),
                Binding("k", "focus_link(-1)", show=False), Binding("t", "retype", show=False),
                Binding("o", "reverse", show=False), Binding("D", "remove_link", show=False)]

    def __init__(self, editor: GraphEditor, on_change, initial: Any, **kwargs):
        self.linking: dict | None = None
        """While a relation is being made: ``head`` (a span number), ``tail`` (once chosen), ``typed`` (digits of
        the tail's number so far), ``choices`` (the types to choose from by number), ``retype`` (the relation
        whose type ``t`` changes)."""
        self.focused: int | None = None
        """The number of the focused relation."""
        self._ends: dict[int, Style] = {}
        super().__init__(editor, on_change, initial, **kwargs)

    # -- drawing --------------------------------------------------------------------------------------------------
    def _index_spans(self) -> None:
        super()._index_spans()
        if self.focused is not None and self.focused not in self.editor.links:
            self.focused = None
        self._ends = {}
        ends = []
        if self.focused is not None:
            head, tail, _ = self.editor.links[self.focused]
            ends = [(tail, TAIL), (head, HEAD)]
        if self.linking is not None:
            ends = [(self.linking["head"], HEAD)] + ([(self.linking["tail"], TAIL)] if self.linking["tail"] else [])
        for number, style in ends:
            if number in self.editor.numbered:
                span = self.editor.numbered[number]
                for offset in range(span.start, span.end):
                    self._ends[offset] = style

    def style_at(self, offset: int) -> Style:
        style = super().style_at(offset)
        return style + self._ends[offset] if offset in self._ends else style

    def _changed(self, message: str = "") -> None:
        dropped = [] if message is None else self.editor.dropped
        if dropped and message:
            message += "; dropped " + ", ".join(dropped) + " (the schema no longer allows it, or its entity went)"
            self.editor.dropped = []
        super()._changed(message)

    # -- making a relation ------------------------------------------------------------------------------------------
    def action_link(self) -> None:
        """``l``: on a span, start a relation from it; while one is being made, take the span under the cursor
        as its tail."""
        under = self.editor.at(self.on_character)
        if self.linking is None:
            if under is None:
                self._changed("put the cursor on the relation's head entity (Tab jumps between spans), then l")
                return
            self.linking = {"head": under, "tail": None, "typed": "", "choices": [], "retype": None}
            self._changed(f"relation from {self._span_name(under)}: on its tail press l, or type the tail's span number "
                          "(Esc cancels)")
        elif self.linking["tail"] is None:
            if under is None:
                self._changed("put the cursor on the tail entity (Tab, arrows, f) and press l, or type its number")
                return
            self._tail(under)

    def _span_name(self, number: int) -> str:
        span = self.editor.numbered[number]
        return f"{number} {self.text[span.start:span.end]} ({span.label})"

    def _tail(self, tail: int) -> None:
        head = self.linking["head"]
        if tail == head:
            self.linking["typed"] = ""
            self._changed("the tail is the head itself: choose another span (Esc cancels)")
            return
        allowed = self.editor.allowed(head, tail)
        if not allowed:
            first, second = self.editor.numbered[head].label, self.editor.numbered[tail].label
            self.linking["typed"] = ""
            self._changed(f"the schema has no relation from {first} to {second}: choose another tail (Esc cancels)")
            return
        self.linking.update(tail=tail, typed="", choices=allowed)
        if len(allowed) == 1:
            self._make(allowed[0])
            return
        self._changed(self._choices_line(f"{self._span_name(head)} → {self._span_name(tail)}"))

    def _choices_line(self, what: str) -> str:
        return f"{what}: its type's number, listed above the relations (Esc cancels)"

    def choices(self) -> Text | None:
        """The relation types to choose from by number while one is being chosen (``None`` otherwise): the line
        the relation list shows first."""
        if self.linking is None or not self.linking["choices"]:
            return None
        line = Text("type: ", style="bold yellow")
        for number, label in enumerate(self.linking["choices"], start=1):
            line.append(f"{number} ", style="bold reverse")
            line.append(f" {label}  ", style="bold yellow")
        return line

    def _make(self, label: str) -> None:
        """Make the relation being made of type ``label`` (or retype the focused one), and focus it."""
        linking, self.linking = self.linking, None
        if linking["retype"] is not None:  # ``t`` on the focused relation: it stays focused
            number = linking["retype"]
            self._edit(lambda: self.editor.retype(number, label), lambda: self.editor.describe_link(number),
                       keep_selection=True)
            return

        def relate() -> None:
            self.focused = self.editor.relate(linking["head"], linking["tail"], label)
        self._edit(relate, lambda: f"made {self.editor.describe_link(self.focused)}", keep_selection=True)

    def on_key(self, event) -> None:
        """While a relation is being made, digits choose the tail by its number and then the type; Enter ends a
        number; every other key does what it always does (Tab and the arrows move the cursor to the tail)."""
        if self.linking is None or self.hints is not None:
            return
        character = event.character or ""
        if event.key == "enter":  # never the item's accept while a relation is half made
            event.prevent_default()
            event.stop()
            if self.linking["tail"] is not None:
                self._changed(self._choices_line("choose the type"))
            elif self.linking["typed"]:
                self._tail_number(self.linking["typed"], final=True)
            else:
                self.action_link()
            return
        if not character.isdigit():
            return
        event.prevent_default()
        event.stop()
        if self.linking["tail"] is None:
            self._tail_number(self.linking["typed"] + character)
            return
        choices = self.linking["choices"]
        if 1 <= int(character) <= len(choices):
            self._make(choices[int(character) - 1])
        else:
            self._changed(self._choices_line(f"no type {character}"))

    def _tail_number(self, typed: str, final: bool = False) -> None:
        """The tail's number typed so far: chosen when it is a span's and no longer number begins with it (or
        ``final``); kept while it may still grow; refused when no span's number begins with it."""
        numbers = [str(n) for n in self.editor.numbered]
        if typed in numbers and (final or not any(n != typed and n.startswith(typed) for n in numbers)):
            self._tail(int(typed))
        elif any(n.startswith(typed) for n in numbers) and not final:
            self.linking["typed"] = typed
            self._changed(f"tail: span {typed}… (another digit, or Enter for span {typed})")
        else:
            self.linking["typed"] = ""
            self._changed(f"no span {typed}: the spans are numbered {', '.join(numbers)}")

    # -- the focused relation -----------------------------------------------------------------------------------------
    def action_focus_link(self, step: int) -> None:
        """``j`` / ``k``: focus the next / previous relation in the list's order; the cursor goes to its head."""
        order = [number for number, _ in self.editor.link_items()]
        if not order:
            self._changed("no relations yet: l on a span starts one")
            return
        if self.focused in order:
            index = (order.index(self.focused) + step) % len(order)
        else:
            index = 0 if step > 0 else len(order) - 1
        self.focused = order[index]
        self.anchor, self.cursor = None, self.editor.numbered[self.editor.links[self.focused][0]].start
        self._changed(f"{self.editor.describe_link(self.focused)} · t type · o reverse · D delete")

    def _focused_or_say(self) -> int | None:
        if self.focused is None or self.focused not in self.editor.links:
            self._changed("focus a relation first (j / k)")
            return None
        return self.focused

    def action_retype(self) -> None:
        """``t``: the focused relation's type, chosen by number among those the schema allows for its ends."""
        number = self._focused_or_say()
        if number is None:
            return
        head, tail, label = self.editor.links[number]
        choices = [name for name in self.editor.allowed(head, tail) if name != label]
        if not choices:
            self._changed(f"{label} is the only type the schema allows between these entities")
            return
        self.linking = {"head": head, "tail": tail, "typed": "", "choices": choices, "retype": number}
        if len(choices) == 1:
            self._make(choices[0])
            return
        self._changed(self._choices_line(f"new type of r{number}"))

    def action_reverse(self) -> None:
        number = self._focused_or_say()
        if number is not None:
            self._edit(lambda: self.editor.reverse(number), lambda: f"reversed: {self.editor.describe_link(number)}",
                       keep_selection=True)

    def action_remove_link(self) -> None:
        number = self._focused_or_say()
        if number is None:
            return
        described = self.editor.describe_link(number)  # the focus goes with it (_index_spans)
        self._edit(lambda: self.editor.remove_links([number]), f"deleted {described}", keep_selection=True)

    def action_unselect(self) -> None:
        """Esc: cancel the relation being made; else drop the selection; else drop the focused relation."""
        if self.linking is not None:
            self.linking = None
            self._changed("relation cancelled")
        elif self.selection() is None and self.focused is not None:
            self.focused = None
            self._changed()
        else:
            super().action_unselect()


class RelationView(SpanView):
    """``SpanView`` with the relations: the numbered relation list under the span list, scrolled to the focused
    relation when they do not all fit."""

    DEFAULT_CSS = "RelationView #relation-list { height: auto; padding: 0 1; }"
    HELP = HELP
    KEYS = (("←→ shift", "select"), ("1-9", "label"), ("l", "relate"), ("j k", "relations"), (":", "command"))
    EDITOR = GraphEditor
    TEXT = GraphText

    @staticmethod
    def annotation(task, payload: Any) -> SpanGraph:
        graph = task.graph(payload)
        return SpanGraph(tuple(sorted(graph.spans)), tuple(sorted(task.normal(r) for r in graph.relations)))

    def current(self) -> SpanGraph:
        return self.editor.graph

    def compose(self):
        yield from super().compose()
        yield Static(id="relation-list")

    def reserved_rows(self) -> int:
        """The relation list's rows: all the relations (and the types to choose from, while a relation's type is
        chosen) when they fit a third of the view, else that third."""
        choosing = 1 if self.is_mounted and self.query_one(GraphText).choices() is not None else 0
        return min(max(len(self.editor.links), 1) + choosing, max(2 + choosing, self.size.height // 3))

    def _changed(self, message: str | None = "") -> None:
        if self.is_mounted:
            self._list_relations()
        super()._changed(message)

    def _list_relations(self) -> None:
        listing = self.query_one("#relation-list", Static)
        text = self.query_one(GraphText)
        items = self.editor.link_items()
        choices = text.choices()
        first_lines = [choices] if choices is not None else []
        if not items:
            first_lines.append(Text("(no relations: l on a span starts one)", style="dim"))
            listing.styles.height = len(first_lines)
            listing.update(Text("\n").join(first_lines))
            return
        paint = lambda label: colour(self.editor.task.labels, label)  # noqa: E731
        lines = []
        for number, (head, tail, label) in items:
            relation = Relation(self.editor.numbered[head], self.editor.numbered[tail], label)
            line = Text(f"r{number} ", style="bold") + relation_text(self.editor.task, self.example.text, relation,
                                                                     paint)
            line.append(f"  ({head}→{tail})", style="dim")
            if number == text.focused:
                line.stylize("reverse")
            lines.append(line)
        fits = self.reserved_rows() - len(first_lines)
        if len(lines) > fits:
            focus = next((i for i, (n, _) in enumerate(items) if n == text.focused), 0)
            first = min(max(focus - (fits - 1) // 2, 0), len(lines) - (fits - 1))
            shown = lines[first:first + fits - 1]
            shown.append(Text(f"▲ {first} more · ▼ {len(lines) - first - len(shown)} more of {len(lines)} "
                              "relations (j / k reach them)", style="dim"))
            lines = shown
        lines = first_lines + lines
        listing.styles.height = len(lines)
        listing.update(Text("\n").join(lines))
