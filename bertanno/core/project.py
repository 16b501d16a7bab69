"""One place for a project's data as core sees it: ``open_project`` returns a handle with the project's
identity, its task and the operations core needs (items as examples, labelled examples, stored predictions).

The queries live in ``store/``; this module turns their rows into the task's ``Example``s, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bertanno.plugins.manager import Plugins, get_plugins
from bertanno.plugins.task import Example, Prediction, Task
from bertanno.store import Store
from bertanno.store.annotations import Selection, current_annotations
from bertanno.store.items import count_items, project_items
from bertanno.store.predictions import add_predictions, latest_predictions
from bertanno.store.projects import get_project
from bertanno.store.schema import Annotation, Item, Project


def project_task(project: Project, plugins: Plugins | None = None) -> Task:
    """The project's task instance: its registered class with the project's labels and config.

    Raises ``PluginError`` (a ``BertannoError``) when the task's plugin is not installed."""
    return (plugins or get_plugins()).task(project.task, labels=project.labels, **(project.config or {}))


def item_example(item: Item, task: Task | None = None, annotation: Annotation | None = None,
                 meta: dict | None = None) -> Example:
    """An item row as an ``Example``; with ``annotation`` (and the ``task`` that reads its payload), labelled."""
    payload = None if annotation is None else task.payload_from_json(annotation.payload)
    return Example(item.text, item.text_b, payload, dict(item.meta or {}) if meta is None else meta)


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

    @property
    def labels(self) -> list[str]:
        return list(self.task.labels)

    def item_count(self) -> int:
        """How many items the project has."""
        with self.store.transaction() as session:
            return count_items(session, self.id)

    def items(self, *, undecided: bool = False, unpredicted_by: str | None = None,
              limit: int | None = None) -> list[tuple[int, Example]]:
        """``(item id, unlabelled example)`` in item order; ``undecided``: only items with no standing decision
        (``store.annotations.decided_items``); ``unpredicted_by``: only items that model version has not
        predicted; at most ``limit``."""
        with self.store.transaction() as session:
            rows = project_items(session, self.id, undecided=undecided, unpredicted_by=unpredicted_by, limit=limit)
            return [(item.id, item_example(item, meta={})) for item in rows]

    def annotated(self, only: str = "all", provenance: bool = False) -> list[tuple[int, Example]]:
        """``(item id, example)`` for every item with a standing label (``store.annotations.current_annotations``
        under ``Selection(only)``), in item order. The item's meta is kept; ``provenance`` adds
        ``meta["provenance"]``: source, decision, annotator, time, and the file the item came from."""
        selection = Selection(only)
        with self.store.transaction() as session:
            standing = current_annotations(session, self.id, selection)
            examples = []
            for item in project_items(session, self.id):
                annotation = standing.get(item.id)
                if annotation is None:
                    continue
                meta = dict(item.meta or {})
                if provenance:
                    meta["provenance"] = {"source": annotation.source, "decision": annotation.decision,
                                          "annotator": annotation.annotator,
                                          "annotated_at": annotation.created_at.isoformat(), "item_source": item.source}
                examples.append((item.id, item_example(item, self.task, annotation, meta)))
        return examples

    def save_predictions(self, item_ids: Sequence[int], predictions: Sequence[Prediction],
                         version: str) -> list[int]:
        """Store one prediction per item under model ``version``; returns the stored predictions' ids in order."""
        rows = [{"item_id": item_id, "model_version": version, "payload": self.task.payload_to_json(p.payload),
                 "confidence": p.confidence} for item_id, p in zip(item_ids, predictions)]
        with self.store.transaction() as session:
            add_predictions(session, rows)
            stored = latest_predictions(session, list(item_ids))
        return [stored[item_id].id for item_id in item_ids]


def open_project(store: Store, name: str, plugins: Plugins | None = None) -> ProjectHandle:
    """The handle of project ``name``. Raises ``StoreError`` with a sentence when there is no such project and
    ``PluginError`` when its task's plugin is missing."""
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project = get_project(session, name)
        return ProjectHandle(store, project.id, project.uid, project.name, project.model,
                             project_task(project, plugins), plugins)
