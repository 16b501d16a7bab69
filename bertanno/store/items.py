"""Items: text stored exactly as given; a hash of the normalised text keeps re-imports idempotent."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from bertanno.store.annotations import undecided as undecided_condition
from bertanno.store.predictions import newest_per_item
from bertanno.store.schema import Item, Prediction

WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC (full-width and half-width forms alike), whitespace runs folded, ends trimmed."""
    return WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def input_hash(text: str, text_b: str | None = None) -> str:
    key = normalise(text) if text_b is None else normalise(text) + "\x1f" + normalise(text_b)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def existing_hashes(session: Session, project_id: int) -> dict[str, int]:
    return dict(session.execute(select(Item.input_hash, Item.id).where(Item.project_id == project_id)).all())


def add_items(session: Session, project_id: int, rows: list[dict]) -> list[int]:
    """Insert rows (``text``, ``text_b``, ``meta``, ``source``, ``input_hash``); returns their ids in order."""
    if not rows:
        return []
    result = session.execute(
        insert(Item).returning(Item.id, sort_by_parameter_order=True),
        [{"project_id": project_id, **row} for row in rows],
    )
    return [row.id for row in result]


def item_splits(session: Session, project_id: int) -> dict[int, str | None]:
    """Every item of the project and its split (``eval``, ``train``, or ``None`` while unassigned)."""
    return dict(session.execute(select(Item.id, Item.split).where(Item.project_id == project_id)).all())


IN_LIST_SIZE = 500
"""Ids bound in one ``IN (...)``: SQLite caps the bound parameters of a statement."""


def _id_batches(item_ids: list[int]):
    """The ids sorted, in lists of at most ``IN_LIST_SIZE``."""
    ids = sorted(item_ids)
    return (ids[start:start + IN_LIST_SIZE] for start in range(0, len(ids), IN_LIST_SIZE))


def assign_split(session: Session, item_ids: list[int], split: str) -> None:
    """Put items into a split (``eval`` or ``train``)."""
    for batch in _id_batches(item_ids):
        session.execute(update(Item).where(Item.id.in_(batch)).values(split=split))


def _chosen(query, project_id: int, undecided: bool, unpredicted_by: str | None):
    query = query.where(Item.project_id == project_id)
    if undecided:
        query = query.where(undecided_condition(project_id))
    if unpredicted_by is not None:
        query = query.where(Item.id.not_in(select(Prediction.item_id).where(Prediction.model_version == unpredicted_by)))
    return query.order_by(Item.id)


def project_items(session: Session, project_id: int, *, undecided: bool = False, unpredicted_by: str | None = None,
                  limit: int | None = None) -> list[Item]:
    """The project's items in id order: all of them, or only the ``undecided`` ones (no standing decision,
    ``annotations.undecided``), or only those with no prediction from model version ``unpredicted_by``;
    at most ``limit``."""
    return list(session.scalars(_chosen(select(Item), project_id, undecided, unpredicted_by).limit(limit)))


def evaluation_item_ids(session: Session, project_id: int) -> set[int]:
    """The ids of the project's items in the evaluation split (``Item.split == "eval"``)."""
    return set(session.scalars(select(Item.id).where(Item.project_id == project_id, Item.split == "eval")))


def project_item_ids(session: Session, project_id: int, *, undecided: bool = False,
                     unpredicted_by: str | None = None, latest_not_by: str | None = None) -> list[int]:
    """The ids of the items ``project_items`` would return (same filters), without loading them;
    ``latest_not_by``: only items whose latest prediction (the one a session serves) is not from that version."""
    query = _chosen(select(Item.id), project_id, undecided, unpredicted_by)
    if latest_not_by is not None:
        latest = newest_per_item(Prediction.item_id.in_(select(Item.id).where(Item.project_id == project_id)))
        query = query.where(Item.id.not_in(select(Prediction.item_id).where(
            Prediction.id.in_(select(latest.c.id)), Prediction.model_version == latest_not_by)))
    return list(session.scalars(query))


def items_by_id(session: Session, item_ids: list[int]) -> list[Item]:
    """The items with these ids, in id order (missing ids are left out)."""
    found: list[Item] = []
    for batch in _id_batches(item_ids):
        found += session.scalars(select(Item).where(Item.id.in_(batch)).order_by(Item.id))
    return found


def item_position(session: Session, project_id: int, item_id: int) -> int:
    """Where the item stands in its project, from 1, in the order items were added (ids grow with each
    import): what a person calls "item 3", not its database id."""
    return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id,
                                                                       Item.id <= item_id)) or 0


def item_at_position(session: Session, project_id: int, position: int) -> Item | None:
    """The project's ``position``-th item, from 1 (``item_position``'s inverse); ``None`` past the end."""
    if position < 1:
        return None
    return session.scalar(select(Item).where(Item.project_id == project_id).order_by(Item.id)
                          .offset(position - 1).limit(1))


def item_predictions(session: Session, item_id: int) -> list[Prediction]:
    """Every stored prediction of the item, oldest first (a version's predictions and those imported)."""
    return list(session.scalars(select(Prediction).where(Prediction.item_id == item_id).order_by(Prediction.id)))


def count_items(session: Session, project_id: int) -> int:
    """How many items the project has."""
    return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id)) or 0
