"""One place for a project's data as core sees it: ``open_project`` returns a handle with the project's
identity, its task and the operations core needs (items as examples, labelled examples, stored predictions).

The queries live in ``store/``; this module turns their rows into the task's ``Example``s, in one place.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy.orm import Session

from bertanno.core.plugins import Plugins, get_plugins
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Prediction, Task
from bertanno.store import Store
from bertanno.store.annotations import (
    DECISION_RECORD,
    DISAGREEMENTS,
    Selection,
    current_annotations,
    disagreements,
    people_decisions,
    standing_by_item,
)
from bertanno.store.autopilot import AUTO, PASSED, item_auto_labels, standing_auto_labels
from bertanno.store.autopilot import runs as autopilot_runs
from bertanno.store.comments import add_comment, item_comments
from bertanno.store.items import (
    assign_split,
    count_items,
    item_at_position,
    item_predictions,
    item_splits,
    items_by_id,
    project_item_ids,
    project_items,
)
from bertanno.store.predictions import add_predictions, latest_predictions
from bertanno.store.projects import get_project
from bertanno.store.schema import Annotation, Item, Project
from bertanno.store.vocabularies import project_vocabulary

EVAL_FRACTION = 0.1
"""The share of each stratum's labelled items held out for evaluation."""
MIN_STRATUM = 3
"""A label (stratum) with this many labelled items gives at least one of them to the evaluation split."""
EVAL_SEED = 20261122


def project_task(project: Project, plugins: Plugins | None = None) -> Task:
    """The project's task instance: its registered class with the project's labels and config.

    Raises ``PluginError`` (a ``BertannoError``) when the task's plugin is not installed."""
    return (plugins or get_plugins()).task(project.task, labels=project.labels, **(project.config or {}))


def item_example(item: Item, task: Task | None = None, annotation: Annotation | None = None,
                 meta: dict | None = None) -> Example:
    """An item row as an ``Example``; with ``annotation`` (and the ``task`` that reads its payload), labelled."""
    payload = None if annotation is None else task.payload_from_json(annotation.payload)
    return Example(item.text, item.text_b, payload, dict(item.meta or {}) if meta is None else meta)


def evaluation_items(session: Session, project_id: int, task: Task) -> set[int]:
    """The project's evaluation split, grown to cover every labelled item: each labelled item not yet
    assigned joins ``eval`` or ``train`` once and for all, so that within each stratum (label, or whether
    an item has entities) about ``EVAL_FRACTION`` of the items are evaluation items. Items never move, so
    nothing a version trained on can join the split later; imported gold evaluation items
    (``import --split eval``) count towards the share."""
    assigned = {item_id: split for item_id, split in item_splits(session, project_id).items() if split}
    labelled = current_annotations(session, project_id)
    groups: dict[str, list[int]] = defaultdict(list)
    for item_id, annotation in sorted(labelled.items()):
        groups[task.stratum(annotation.payload)].append(item_id)
    generator = random.Random(EVAL_SEED)
    joins: dict[str, list[int]] = {"eval": [], "train": []}
    for key in sorted(groups):
        members = groups[key]
        new = [item_id for item_id in members if item_id not in assigned]
        if not new:
            continue
        generator.shuffle(new)
        present = sum(assigned.get(item_id) == "eval" for item_id in members)
        target = round(len(members) * EVAL_FRACTION) or (1 if len(members) >= MIN_STRATUM else 0)
        take = min(len(new), max(0, target - present))
        joins["eval"] += new[:take]
        joins["train"] += new[take:]
    for split, ids in joins.items():
        assign_split(session, ids, split)
    return {item_id for item_id, split in assigned.items() if split == "eval"} | set(joins["eval"])


def training_data(session: Session, project_id: int, task: Task) -> tuple[list[tuple[int, Example]], list[Example]]:
    """``(annotation id, example)`` pairs to train on, and the evaluation examples: every item with a standing
    label, on the side of the evaluation split (``evaluation_items``, grown first) it belongs to."""
    held_out = evaluation_items(session, project_id, task)
    labelled = current_annotations(session, project_id)
    items = {item.id: item for item in project_items(session, project_id)}
    training, evaluation = [], []
    for item_id in sorted(labelled):
        example = item_example(items[item_id], task, labelled[item_id], meta={})
        if item_id in held_out:
            evaluation.append(example)
        else:
            training.append((labelled[item_id].id, example))
    return training, evaluation


def auto_training_examples(session: Session, project_id: int, task: Task) -> list[tuple[None, Example]]:
    """``(None, example)`` for each standing auto label of an autopilot run whose audit passed, on an item no
    person decided (``train --with-auto``): training examples only, never evaluation ones (they have no
    annotation, so the evaluation split never takes them)."""
    passed = {run.id for run in autopilot_runs(session, project_id) if run.status == PASSED}
    labels = [label for label in standing_auto_labels(session, project_id).values() if label.run_id in passed]
    decided = current_annotations(session, project_id)
    items = {item.id: item for item in items_by_id(session, [label.item_id for label in labels])}
    return [(None, Example(items[label.item_id].text, items[label.item_id].text_b,
                           task.payload_from_json(label.payload), {}))
            for label in labels if label.item_id not in decided]


@dataclass(frozen=True)
class ProjectHandle:
    """A project opened once: ``id``, ``uid``, ``name``, base ``model``, its ``task`` (with the labels) and the
    ``plugins`` it was resolved with. Every method opens its own short transaction on ``store``."""

    store: Store
    id: int
    uid: str
    name: str
    model: str
    task: Task
    plugins: Plugins
    blind_share: float = 0.0
    overlap: int = 1
    """How many different annotators judge each item."""
    settle: str = "unanimous"
    """How their decisions settle an item (``store.annotations.settled``)."""
    terms: tuple[str, ...] = ()
    """The project's domain terms (``bertanno vocab add``), in their list's order."""
    gold_share: float = 0.0
    """The share of draws that serve a gold item as a check of the annotator (``store.queue.next_item``)."""

    def is_blind(self, item_id: int) -> bool:
        """Whether the item is a blind control, served without its pre-annotation: a draw fixed per project and
        item (the first 8 bytes of SHA-256 of the project's uid and the item id, as a number in [0, 1)) below
        ``blind_share``, so every session and annotator gets the same items blind and a rerun reproduces them."""
        if self.blind_share <= 0:
            return False
        digest = hashlib.sha256(f"{self.uid}:{item_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.blind_share

    @property
    def labels(self) -> list[str]:
        """The project's label set (entity types for NER), in its order."""
        return list(self.task.labels)

    def item_count(self) -> int:
        """How many items the project has."""
        with self.store.transaction() as session:
            return count_items(session, self.id)

    def items(self, *, undecided: bool = False, unpredicted_by: str | None = None,
              limit: int | None = None) -> list[tuple[int, Example]]:
        """``(item id, unlabelled example)`` in item order; ``undecided``: only items with no standing decision
        (``store.annotations.undecided``); ``unpredicted_by``: only items that model version has not
        predicted; at most ``limit``."""
        with self.store.transaction() as session:
            rows = project_items(session, self.id, undecided=undecided, unpredicted_by=unpredicted_by, limit=limit)
            return [(item.id, item_example(item, meta={})) for item in rows]

    def item_ids(self, *, undecided: bool = False, unpredicted_by: str | None = None,
                 latest_not_by: str | None = None) -> list[int]:
        """The ids ``items`` would return (same filters), in item order, without loading the items;
        ``latest_not_by``: only items whose latest prediction is not from that version."""
        with self.store.transaction() as session:
            return project_item_ids(session, self.id, undecided=undecided, unpredicted_by=unpredicted_by,
                                    latest_not_by=latest_not_by)

    def examples_of(self, item_ids: Sequence[int]) -> list[tuple[int, Example]]:
        """``(item id, unlabelled example)`` of these items, in item order (ids not in the store left out)."""
        with self.store.transaction() as session:
            return [(item.id, item_example(item, meta={})) for item in items_by_id(session, list(item_ids))
                    if item.project_id == self.id]

    def annotated(self, only: str = "all", provenance: bool = False) -> list[tuple[int, Example]]:
        """``(item id, example)`` for every item with a standing label (``store.annotations.current_annotations``
        under ``Selection(only)``: the settled decision of a team's item), in item order. The item's meta is kept;
        ``provenance`` adds ``meta["provenance"]``: source, decision, annotator, time, the file the item came
        from, how a person's decision was made (``DECISION_RECORD``: active time, keystrokes, what was shown, the
        edit) and, for an item several people decided, each one's decision (``decisions``).
        ``only="disagreements"``: the items waiting for a review instead (``disagreements``). With ``only`` ``all``
        the items autopilot labelled and no person decided come too, ``auto``: those only (``store.autopilot``;
        never with ``human``, ``corrected`` or ``accepted``)."""
        if only == DISAGREEMENTS:
            return self.disagreements()
        selection = Selection("all" if only == AUTO else only)
        notes: dict[int, dict] = {}  # how the aggregate settled an item (settle dawid-skene, mace)
        with self.store.transaction() as session:
            standing = current_annotations(session, self.id, selection, notes)
            automatic = standing_auto_labels(session, self.id) if only in ("all", AUTO) else {}
            runs = {run.id: run for run in autopilot_runs(session, self.id)} if automatic else {}
            comments = {item_id: [_comment(c) for c in found]
                        for item_id, found in (item_comments(session, self.id) if provenance else {}).items()}
            people = people_decisions(session, self.id) if provenance else {}
            examples = []
            for item in project_items(session, self.id):
                annotation = None if only == AUTO else standing.get(item.id)
                if annotation is None and item.id in automatic and item.id not in standing:
                    examples.append((item.id, self._auto_example(item, automatic[item.id], runs, provenance)))
                    continue
                if annotation is None:
                    continue
                meta = dict(item.meta or {})
                if provenance:
                    meta["provenance"] = {"source": annotation.source, "decision": annotation.decision,
                                          "annotator": annotation.annotator,
                                          "annotated_at": annotation.created_at.isoformat(), "item_source": item.source,
                                          **{field: getattr(annotation, field) for field in DECISION_RECORD
                                             if getattr(annotation, field) is not None}}
                    if len(people.get(item.id, ())) > 1:  # a team's item: every annotator's decision
                        meta["provenance"]["decisions"] = _decisions(people[item.id])
                    if item.id in notes:
                        meta["provenance"]["settled_by"] = notes[item.id]
                    if item.id in comments:
                        meta["provenance"]["comments"] = comments[item.id]
                examples.append((item.id, item_example(item, self.task, annotation, meta)))
        return examples

    def _auto_example(self, item: Item, label, runs: dict, provenance: bool) -> Example:
        """An item autopilot labelled, as ``annotated`` gives it; its provenance says ``source: auto``, the
        version, the run, the threshold, the calibrated probability and whether the run's audit is still open
        (``provisional``)."""
        meta = dict(item.meta or {})
        if provenance:
            run = runs[label.run_id]
            meta["provenance"] = {"source": AUTO, "version": run.version, "autopilot_run": run.id,
                                  "threshold": run.threshold, "confidence": label.confidence,
                                  "probability": label.probability, "provisional": run.status == "auditing",
                                  "annotated_at": label.created_at.isoformat(), "item_source": item.source}
        return Example(item.text, item.text_b, self.task.payload_from_json(label.payload), meta)

    def disagreements(self) -> list[tuple[int, Example]]:
        """``(item id, unlabelled example)`` for each item its annotators decided without settling it
        (``store.annotations.disagreements``), with every annotator's decision in ``meta["decisions"]``
        (annotator, decision, payload as stored, time): what a review, inside bertanno or outside, settles."""
        with self.store.transaction() as session:
            open_items = set(disagreements(session, self.id))
            people = people_decisions(session, self.id)
            return [(item.id, item_example(item, meta={**(item.meta or {}), "decisions": _decisions(people[item.id])}))
                    for item in project_items(session, self.id) if item.id in open_items]

    def training_data(self) -> tuple[list[tuple[int, Example]], list[Example]]:
        """``(annotation id, example)`` pairs to train on and the evaluation examples (module ``training_data``)."""
        with self.store.transaction() as session:
            return training_data(session, self.id, self.task)

    def explain(self, position: int) -> dict:
        """What is known of the project's ``position``-th item (from 1, as the annotation screen numbers it): its
        ``text`` and ``text_b``, every stored ``predictions`` (``version``, ``created_at``, ``payload`` as stored,
        ``confidence``, ``details``: an LLM's reason, tokens, dropped entities), its standing ``decisions``
        (``annotator``, ``source``, ``decision``, ``payload``, ``created_at``), its ``comments``, its ``split`` and
        the ``auto_labels`` autopilot gave it (``run``, ``version``, ``payload``, ``probability``, ``audit``, the
        run's ``status``).
        Raises
        ``BertannoError`` for a position the project does not have."""
        with self.store.transaction() as session:
            item = item_at_position(session, self.id, position)
            if item is None:
                raise BertannoError(f"project {self.name} has no item {position}: its items are numbered 1 to "
                                    f"{count_items(session, self.id)}, as the annotation screen shows them")
            predictions = [{"version": p.model_version, "created_at": p.created_at.isoformat(timespec="seconds"),
                            "payload": p.payload, "confidence": p.confidence, "details": p.details or {}}
                           for p in item_predictions(session, item.id)]
            decisions = [{"annotator": a.annotator, "source": a.source, "decision": a.decision, "payload": a.payload,
                          "created_at": a.created_at.isoformat(timespec="seconds")}
                         for a in standing_by_item(session, self.id, [item.id]).get(item.id, [])]
            notes = [_comment(c) for c in item_comments(session, self.id, [item.id]).get(item.id, [])]
            runs = {run.id: run for run in autopilot_runs(session, self.id)}
            automatic = [{"run": label.run_id, "version": runs[label.run_id].version, "payload": label.payload,
                          "confidence": label.confidence, "probability": label.probability, "audit": label.audit,
                          "status": runs[label.run_id].status} for label in item_auto_labels(session, item.id)]
            return {"project": self.name, "position": position, "text": item.text, "text_b": item.text_b,
                    "split": item.split, "predictions": predictions, "decisions": decisions, "comments": notes,
                    "auto_labels": automatic}

    def add_comment(self, item_id: int, author: str, text: str) -> dict:
        """Attach ``text`` by ``author`` to the item; a text that starts with ``!`` flags the item for discussion
        (the ``!`` is not kept). Returns the comment as ``comments`` gives it. Raises ``StoreError`` for an empty
        or too long text."""
        flagged = text.lstrip().startswith("!")
        with self.store.transaction() as session:
            comment = add_comment(session, self.id, item_id, author, text.lstrip()[1:] if flagged else text,
                                  flagged)
            return _comment(comment)

    def comments(self, item_ids: Sequence[int] | None = None) -> dict[int, list[dict]]:
        """The comments of these items (default: all), by item id, oldest first: ``author``, ``text``,
        ``flagged``, ``created_at`` (ISO)."""
        with self.store.transaction() as session:
            found = item_comments(session, self.id, None if item_ids is None else list(item_ids))
            return {item_id: [_comment(c) for c in comments] for item_id, comments in found.items()}

    def comment_listing(self, flagged_only: bool = False) -> list[dict]:
        """Every comment (``flagged_only``: of the items someone flagged), in item order: ``item`` (its number as
        the annotation screen shows it), ``text`` of the item, and the item's ``comments``."""
        with self.store.transaction() as session:
            found = item_comments(session, self.id)
            if flagged_only:
                found = {i: c for i, c in found.items() if any(comment.flagged for comment in c)}
            position = {item_id: n for n, item_id in enumerate(project_item_ids(session, self.id), start=1)}
            texts = {item.id: item.text for item in items_by_id(session, list(found))}
            return [{"item": position[item_id], "text": texts[item_id], "comments": [_comment(c) for c in comments]}
                    for item_id, comments in sorted(found.items())]

    def save_predictions(self, item_ids: Sequence[int], predictions: Sequence[Prediction],
                         version: str) -> list[int]:
        """Store one prediction per item under model ``version``; returns the stored predictions' ids in order."""
        rows = [{"item_id": item_id, "model_version": version,  # None: the model gave no answer (no pre-annotation)
                 "payload": None if p.payload is None else self.task.payload_to_json(p.payload),
                 "confidence": p.confidence, "details": p.details or None} for item_id, p in zip(item_ids, predictions)]
        with self.store.transaction() as session:
            add_predictions(session, rows)
            stored = latest_predictions(session, list(item_ids))
        return [stored[item_id].id for item_id in item_ids]


def _comment(comment) -> dict:
    return {"author": comment.author, "text": comment.text, "flagged": bool(comment.flagged),
            "created_at": comment.created_at.isoformat(timespec="seconds")}


def _decisions(annotations: list[Annotation]) -> list[dict]:
    return [{"annotator": a.annotator, "decision": a.decision, "payload": a.payload,
             "annotated_at": a.created_at.isoformat()} for a in annotations]


def open_project(store: Store, name: str, plugins: Plugins | None = None) -> ProjectHandle:
    """The handle of project ``name``. Raises ``StoreError`` with a sentence when there is no such project and
    ``PluginError`` when its task's plugin is missing."""
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project = get_project(session, name)
        vocabulary = project_vocabulary(session, project)
        return ProjectHandle(store, project.id, project.uid, project.name, project.model,
                             project_task(project, plugins), plugins, project.blind_share or 0.0,
                             project.overlap or 1, project.settle or "unanimous",
                             tuple(vocabulary.terms) if vocabulary else (), project.gold_share or 0.0)
