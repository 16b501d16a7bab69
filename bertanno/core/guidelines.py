"""A project's annotation guidelines: Markdown, versioned in the store (``store.guidelines``), shown in the
annotation app on ``g``, and the one-line label descriptions read from them (``label_descriptions``) that the app's
legend and the ``llm`` family's prompt use.

A label's description is a list item that starts with the label, then a colon (or a full-width colon or a dash)::

    - disease: 疾病或综合征的名称，不含部位
    - **symptom**：患者自述或查体所见
    - `drug` — 药品通用名或商品名
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from bertanno.core.project import open_project
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.guidelines import (
    add_guidelines,
    guidelines_history,
    guidelines_version,
    latest_guidelines,
    version_in_force,
)

ITEM = re.compile(r"^\s*[-*+]\s+(?P<mark>\*\*|`|\*)?(?P<label>[^\s*`:：—–]+?)(?P=mark)?\s*(?:[:：]|—|–| - )\s*"
                  r"(?P<text>\S.*?)\s*$")
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class GuidelinesVersion:
    """One version of a project's guidelines."""

    version: int
    text: str
    author: str
    created_at: datetime

    def descriptions(self, labels: Sequence[str]) -> dict[str, str]:
        """``label_descriptions`` of this version for ``labels``."""
        return label_descriptions(self.text, labels)


def label_descriptions(text: str, labels: Sequence[str]) -> dict[str, str]:
    """Each of ``labels`` that a list item of the Markdown ``text`` describes -> its description (the first such
    item; Markdown emphasis kept as written). Labels not described are absent."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = ITEM.match(line)
        if match and match["label"] in labels and match["label"] not in found:
            found[match["label"]] = match["text"]
    return found


def _version(row) -> GuidelinesVersion:
    return GuidelinesVersion(row.version, row.text, row.author, row.created_at)


def set_guidelines(store: Store, project: str, text: str, author: str) -> tuple[GuidelinesVersion, bool]:
    """Make ``text`` the project's guidelines: a new version unless it is the text in force already. Returns the
    version in force and whether it is new. Raises ``BertannoError`` for an empty text, one over ``MAX_BYTES``, or
    an unknown project."""
    if not text.strip():
        raise BertannoError("the guidelines are empty; write them in Markdown (a label's one-line description as "
                            "a list item: - LABEL: what it covers)")
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise BertannoError(f"the guidelines are {len(text.encode('utf-8')):,} bytes; at most {MAX_BYTES:,}: "
                            "link long material from them instead")
    handle = open_project(store, project)
    with store.transaction() as session:
        row, new = add_guidelines(session, handle.id, text.replace("\r\n", "\n"), author)
        return _version(row), new


def project_guidelines(store: Store, project: str, version: int | None = None) -> GuidelinesVersion | None:
    """Version ``version`` of the project's guidelines (default: the one in force); ``None`` when the project has
    none. Raises ``BertannoError`` for an unknown project or version."""
    handle = open_project(store, project)
    with store.transaction() as session:
        if version is None:
            row = latest_guidelines(session, handle.id)
            return None if row is None else _version(row)
        row = guidelines_version(session, handle.id, version)
        if row is None:
            latest = latest_guidelines(session, handle.id)
            raise BertannoError(f"project {project} has no guidelines version {version} "
                                + (f"(versions 1 to {latest.version})" if latest else "(it has no guidelines yet)"))
        return _version(row)


def history(store: Store, project: str) -> list[GuidelinesVersion]:
    """Every version of the project's guidelines, oldest first. Raises ``BertannoError`` for an unknown project."""
    handle = open_project(store, project)
    with store.transaction() as session:
        return [_version(row) for row in guidelines_history(session, handle.id)]


class GuidelinesInForce:
    """The version of a project's guidelines an annotation or review session shows: read when the session starts,
    checked again at each item (``check``), so that a new version reaches every annotator at their next item."""

    def __init__(self, store: Store, project_id: int):
        self.store, self.project_id = store, project_id
        self.current: GuidelinesVersion | None = None
        self.changed = False
        """Whether the last ``check`` found a newer version than the one shown before (not set at the start)."""
        self.check()
        self.changed = False

    @property
    def version(self) -> int | None:
        """The number of the version shown, ``None`` when the project has no guidelines."""
        return None if self.current is None else self.current.version

    def check(self) -> bool:
        """Read the version in force; when it is not the one shown, it becomes the one shown and ``changed`` is
        set (else cleared). Returns ``changed``."""
        with self.store.transaction() as session:
            number = version_in_force(session, self.project_id)
            self.changed = number != self.version
            if self.changed:
                self.current = _version(latest_guidelines(session, self.project_id))
        return self.changed

    def descriptions(self, labels: Sequence[str]) -> dict[str, str]:
        """The shown version's one-line label descriptions (none without guidelines)."""
        return {} if self.current is None else self.current.descriptions(labels)
