"""``bertanno agreement``: how far a project's annotators agree with each other and with the model.

From the standing human decisions (``store.annotations.decision_records``; each annotator's latest decision on an
item counts, skips and rejects left out): for every pair of annotators, their agreement on the items both decided
(``Task.pair_agreement``: percent agreement and Cohen's kappa for labels, span F1 for entities); over all of them,
``Task.group_agreement`` (Krippendorff's alpha for labels); and for every annotator, agreement with the model
prediction they were shown (blind items: the one hidden from them), item by item.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import combinations

from bertanno.core.plugins import Plugins
from bertanno.core.project import open_project
from bertanno.errors import BertannoError
from bertanno.plugins.task import Task
from bertanno.store import Store
from bertanno.store.aggregation import METHODS, aggregate
from bertanno.store.annotations import decision_records

JUDGEMENTS = ("accept", "correct")
"""Decisions that give a label: a reject says only what the label is not, a skip nothing."""


@dataclass
class AgreementReport:
    """Agreement figures of one project: ``pairs`` (one per annotator pair with shared items: ``first``, ``second``,
    ``items`` and the task's figures), ``group`` (all annotators at once, over ``overlapping`` items), ``model``
    (one per annotator: ``annotator``, ``items`` and the figures against the model's predictions)."""

    project: str
    task: str
    annotators: list[str]
    overlapping: int
    """Items with decisions of at least two annotators."""
    pairs: list[dict] = field(default_factory=list)
    group: dict = field(default_factory=dict)
    model: list[dict] = field(default_factory=list)
    competence: dict[str, dict[str, float]] = field(default_factory=dict)
    """Label tasks: per method (``dawid-skene``, ``mace``), each annotator's estimated competence, the probability
    that their label is the true one (``store.aggregation``), fitted to every labelled item."""

    def as_json(self) -> dict:
        return asdict(self)


def judgements(records: list[dict]) -> dict[int, dict[str, dict]]:
    """``{item id: {annotator: record}}``: each annotator's latest labelling decision per item (records oldest
    first, as ``decision_records`` gives them)."""
    by_item: dict[int, dict[str, dict]] = {}
    for record in records:
        if record["decision"] in JUDGEMENTS:
            by_item.setdefault(record["item_id"], {})[record["annotator"]] = record
    return by_item


def agreement_figures(task: Task, records: list[dict]) -> tuple[list[str], int, list[dict], dict, list[dict]]:
    """The annotators, the overlapping item count, the pair figures, the group figures and the model figures of
    ``AgreementReport`` from decision records."""
    by_item = judgements(records)
    annotators = sorted({name for unit in by_item.values() for name in unit})
    overlapping = [unit for unit in by_item.values() if len(unit) >= 2]
    pairs = []
    for first, second in combinations(annotators, 2):
        shared = [unit for unit in overlapping if first in unit and second in unit]
        if shared:
            pairs.append({"first": first, "second": second, "items": len(shared),
                          **task.pair_agreement([u[first]["payload"] for u in shared],
                                                [u[second]["payload"] for u in shared])})
    group = task.group_agreement([{name: r["payload"] for name, r in unit.items()} for unit in overlapping])
    model = []
    for name in annotators:
        shown = [unit[name] for unit in by_item.values() if name in unit and unit[name]["predicted"] is not None]
        if shown:
            model.append({"annotator": name, "items": len(shown),
                          **task.pair_agreement([r["payload"] for r in shown], [r["predicted"] for r in shown])})
    return annotators, len(overlapping), pairs, group, model


def project_agreement(store: Store, project: str, plugins: Plugins | None = None) -> AgreementReport:
    """The agreement figures of ``project``. Raises ``BertannoError`` when no item has decisions of two
    annotators (nothing to compare: set an overlap with ``bertanno configure PROJECT --overlap 2``) and
    ``StoreError`` for an unknown project."""
    handle = open_project(store, project, plugins)
    with store.transaction() as session:
        records = decision_records(session, handle.id)
    annotators, overlapping, pairs, group, model = agreement_figures(handle.task, records)
    if not overlapping:
        raise BertannoError(f"no item of {project} has been decided by two annotators, so there is no agreement to "
                            f"measure ({len(annotators)} annotator(s) so far); serve each item to several: bertanno "
                            f"configure {project} --overlap 2")
    return AgreementReport(handle.name, handle.task.name, annotators, overlapping, pairs, group, model,
                           competence_figures(handle.task, records))


def competence_figures(task: Task, records: list[dict]) -> dict[str, dict[str, float]]:
    """Per method of ``store.aggregation.METHODS``, each annotator's estimated competence from their latest
    label on every item (``judgements``); empty for a task whose decisions are not one label."""
    if task.example_kind not in ("text", "pair"):
        return {}
    items = [[(name, json.dumps(record["payload"], ensure_ascii=False, sort_keys=True))
              for name, record in unit.items()] for unit in judgements(records).values()]
    return {method: dict(sorted(aggregate(items, method).competence.items())) for method in METHODS}
