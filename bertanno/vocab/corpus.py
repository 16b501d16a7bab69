"""Unlabelled text for mining and adaptation: a file, or a project's items and annotated entities."""

from __future__ import annotations

import json
from pathlib import Path

from bertanno.core.plugins import Plugins
from bertanno.core.project import open_project
from bertanno.core.reading import open_text
from bertanno.store import Store
from bertanno.store.items import evaluation_item_ids


def read_corpus(path: str | Path) -> list[str]:
    """One text per line; a JSON-lines file gives its ``text`` (and ``text_b``) fields. Zip members work
    (``data.zip/train.txt``)."""
    texts = []
    with open_text(path) as stream:
        for line in stream:
            line = line.strip()
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    record = None
                if isinstance(record, dict) and ("text" in record or "context" in record):
                    texts += [str(record[k]) for k in ("text", "context", "text_b") if record.get(k)]
                    continue
            if line:
                texts.append(line)
    return texts


def project_corpus(store: Store, project_name: str, plugins: Plugins | None = None,
                   without_evaluation: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """The project's texts, and (surface, type) for every entity its standing annotations mark.
    ``without_evaluation``: leave out the texts of the evaluation split's items (what judges a version must not
    have been trained on, not even without its labels: ``vocab adapt``)."""
    project = open_project(store, project_name, plugins)
    left_out = set()
    if without_evaluation:
        with store.transaction() as session:
            left_out = evaluation_item_ids(session, project.id)
    texts = [t for item_id, example in project.items() if item_id not in left_out
             for t in (example.text, example.text_b) if t]
    entities = []
    for _, example in project.annotated():
        entities += [(example.text[s:e], label) for s, e, label in project.task.entity_spans(example)]
    return texts, entities
