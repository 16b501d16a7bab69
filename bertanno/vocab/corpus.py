"""Unlabelled text for mining and adaptation: a file, or a project's items and annotated entities."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from bertanno.core.reading import open_text
from bertanno.core.transfer import project_task
from bertanno.plugins.manager import Plugins
from bertanno.store import Store
from bertanno.store.annotations import current_annotations
from bertanno.store.projects import get_project
from bertanno.store.schema import Item


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


def project_corpus(store: Store, project_name: str,
                   plugins: Plugins | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """The project's texts, and (surface, type) for every entity its standing annotations mark."""
    with store.transaction() as session:
        project = get_project(session, project_name)
        task = project_task(project, plugins)
        rows = list(session.execute(select(Item.id, Item.text, Item.text_b).where(Item.project_id == project.id)))
        texts = [t for _, text, text_b in rows for t in (text, text_b) if t]
        entities = []
        if task.head == "token":
            by_id = {item_id: text for item_id, text, _ in rows}
            for item_id, annotation in current_annotations(session, project.id).items():
                entities += [(by_id[item_id][s:e], label) for s, e, label in task.payload_from_json(annotation.payload)]
    return texts, entities
