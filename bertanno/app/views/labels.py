"""The ``labels`` and ``pair`` views' drawings: the text (or both texts of a pair) and the pre-annotation with
its confidence; the legend of the label keys, which every screen keeps in view; and several decisions one line
each, for a review."""

from __future__ import annotations

from typing import Any, Sequence

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text

from bertanno.plugins.task import Example, Prediction, label_keys

REASON_CHARS = 160


def _prediction(task, prediction: Prediction | None) -> list[Text]:
    """``→ positive  (87%)`` (no percentage from a model that gives no confidence, as an LLM without
    log-probabilities), then the model's stated reason when it gave one, dim, cut at ``REASON_CHARS``."""
    if prediction is None:
        return []
    sure = f"  ({prediction.confidence:.0%})" if prediction.confidence else ""
    lines = [Text(f"→ {prediction.payload}{sure}", style="bold cyan")]
    reason = " ".join(str(prediction.details.get("reason") or "").split())
    if reason:
        cut = reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS - 1] + "…"
        lines.append(Text(f"why：{cut}", style="dim"))  # no space: a CJK reason wraps from this line, not the next
    return lines


def keys_legend(task, colour=None, descriptions: dict[str, str] | None = None) -> Text:
    """The label keys with their labels, ``[1] negative  [2] positive`` (``task.label_keys``: a digit label is
    its own key), then the labels no key chooses (typed with ``c``); each label in ``colour(label)`` when given
    (the span view's colours), else plain. Wraps between entries, never inside one. With ``descriptions`` (the
    guidelines' one-line label descriptions, ``core.guidelines``), one label a line, its description after it,
    dim, cut with … at the width."""
    keyed = label_keys(task.labels)
    entries = [(f"[{key}] {label}", label) for key, label in keyed]
    entries += [(f"{label} (typed)", label) for label in task.labels[len(keyed):]]
    legend = Text()
    if descriptions:
        width = max(cell_len(entry) for entry, _ in entries)
        for index, (entry, label) in enumerate(entries):
            legend.append(("\n" if index else "") + entry + " " * (width - cell_len(entry)),
                          style=colour(label) if colour else "")
            if descriptions.get(label):
                legend.append("  " + " ".join(descriptions[label].split()), style="dim")
        legend.no_wrap, legend.overflow = True, "ellipsis"
        return legend
    for index, (entry, label) in enumerate(entries):
        if index:
            legend.append("  ")
        legend.append(entry.replace(" ", "\u00a0"), style=colour(label) if colour else "")
    return legend


def render_labels(task, example: Example, prediction: Prediction | None):
    """The text as it is (a pair's two texts as ``render_pair`` draws them), the prediction (``→ positive
    (87%)``) and the label keys (``[1] negative …``)."""
    if example.text_b is not None:
        return render_pair(task, example, prediction)
    return Group(Text(example.text), *_prediction(task, prediction))


def render_pair(task, example: Example, prediction: Prediction | None):
    """Both texts of a pair, marked ``A`` and ``B``, then the prediction and the label keys."""
    return Group(Text("A  ", style="bold") + Text(example.text), Text("B  ", style="bold") + Text(example.text_b or ""),
                 *_prediction(task, prediction))


def decision_lines(task, example: Example, decisions: Sequence[tuple[str, Any]]):
    """One line per ``(who, payload)`` decision, in the order given (``payload`` ``None``: rejected without a
    label); a row that differs from the most common decision (on a tie, the first of them) is highlighted and
    marked ``≠``."""
    shown = [(who, "rejected" if payload is None else
              ", ".join(map(str, payload)) if isinstance(payload, list) else str(payload))
             for who, payload in decisions]
    texts = [text for _, text in shown]
    common = max(texts, key=texts.count) if texts else None  # max keeps the first of equals: no set order
    table = Table.grid(padding=(0, 2))
    for who, text in shown:
        differs = text != common
        table.add_row(Text(who, style="bold"), Text(text, style="bold yellow" if differs else "green"),
                      Text("≠" if differs else "", style="bold yellow"))
    return table
