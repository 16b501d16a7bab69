"""The ``relations`` view's drawings for the line screen and the review (the full screen's relation editor is
``bertanno.app.screen.widgets.relations``): the entities as the ``spans`` view draws them, then the relations
one a line, ``r1 薛某某 ─sell_drugs_to→ 赵某某``, and for several decisions the relations not every decision
gives, each with who gave it."""

from __future__ import annotations

from typing import Any, Sequence

from rich.console import Group
from rich.text import Text

from bertanno.app.views.spans import colour, ruled_lines, spans_decisions
from bertanno.plugins.task import Example, Prediction, Relation


def arrow(task, label: str) -> str:
    """``─label→`` for a directed relation type of ``task``'s schema, ``─label─`` for an undirected one."""
    kind = task.relation_type(label)
    return f"─{label}→" if kind is None or kind.directed else f"─{label}─"


def relation_text(task, text: str, relation: Relation, paint=None) -> Text:
    """``薛某某 ─sell_drugs_to→ 赵某某``: each end in its entity type's colour when ``paint`` gives colours."""
    head, tail, label = relation
    line = Text(text[head[0]:head[1]], style=paint(head[2]) if paint else "")
    line.append(f" {arrow(task, label)} ", style="bold")
    line.append(text[tail[0]:tail[1]], style=paint(tail[2]) if paint else "")
    return line


def render_relations(task, example: Example, prediction: Prediction | None):
    """The text over its ruler with the entities in their types' colours, then the relations numbered
    ``r1``… in the order of their heads, then the prediction's confidence."""
    paint = lambda label: colour(task.labels, label)  # noqa: E731
    graph = task.graph(prediction.payload if prediction is not None else example.payload)
    parts: list[Any] = [*ruled_lines(example.text, graph.spans, paint)]
    for number, relation in enumerate(graph.relations, start=1):
        parts.append(Text(f"r{number} ", style="dim") + relation_text(task, example.text, relation, paint))
    if not graph.relations:
        parts.append(Text("(no relations)", style="dim"))
    if prediction is not None:
        parts.append(Text(f"→ {len(graph.spans)} entities, {len(graph.relations)} relations  "
                          f"({prediction.confidence:.0%})", style="bold cyan"))
    return Group(*parts)


def relations_decisions(task, example: Example, decisions: Sequence[tuple[str, Any]]):
    """Several decisions side by side: their entities as ``spans_decisions`` aligns them, then each relation that
    not every decision gives (strictly: both ends' spans and types and the relation's type), with who gave it,
    or a line saying that every decision gives the same relations. A rejected item (payload ``None``) gives
    none."""
    paint = lambda label: colour(task.labels, label)  # noqa: E731
    graphs = [(who, None if payload is None else task.graph(payload)) for who, payload in decisions]
    given = [{task.normal(r) for r in graph.relations} for _, graph in graphs if graph is not None]
    everyone = set.intersection(*given) if given else set()
    disputed: dict[Relation, list[str]] = {}
    for who, graph in graphs:
        for relation in graph.relations if graph is not None else ():
            relation = task.normal(relation)
            if relation not in everyone:
                disputed.setdefault(relation, []).append(who)
    lines = [relation_text(task, example.text, relation, paint) + Text(f"  only {', '.join(names)}", style="bold")
             for relation, names in sorted(disputed.items())]
    if not lines:
        lines = [Text(f"every decision gives the same {len(everyone)} relation(s)", style="green")]
    entities = spans_decisions(task, example, [(who, None if graph is None else list(graph.spans))
                                               for who, graph in graphs])
    return Group(Text("relations", style="bold"), *lines, Text("entities", style="bold"), entities)
