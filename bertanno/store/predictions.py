"""Model predictions, per item and model version, with their confidence."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bertanno.store.annotations import undecided
from bertanno.store.schema import Item, Prediction


def add_predictions(session: Session, rows: list[dict]) -> None:
    """Rows of ``item_id``, ``model_version``, ``payload``, ``confidence`` and optionally ``details``."""
    if rows:
        session.execute(insert(Prediction), rows)


def newest_per_item(*conditions):
    """A subquery of ``(item_id, id)``: the newest prediction of each item among those matching ``conditions``,
    the one a session serves."""
    return (select(Prediction.item_id, func.max(Prediction.id).label("id"))
            .where(*conditions).group_by(Prediction.item_id).subquery())


def latest_predictions(session: Session, item_ids: list[int]) -> dict[int, Prediction]:
    """The newest prediction of each of these items (whatever model made it), by item id."""
    newest = newest_per_item(Prediction.item_id.in_(item_ids))
    rows = session.scalars(select(Prediction).join(newest, Prediction.id == newest.c.id))
    return {prediction.item_id: prediction for prediction in rows}


def undecided_predictions(session: Session, project_id: int, version: str, chunk: int = 5000
                          ) -> list[tuple[int, object, float]]:
    """``(item_id, payload, confidence)`` of each undecided item of the project (``annotations.undecided``) whose
    newest prediction is ``version``'s and proposes something, most confident first (ties in item order)."""
    ids = list(session.scalars(select(Item.id).where(Item.project_id == project_id, undecided(project_id))
                               .order_by(Item.id)))
    found = []
    for start in range(0, len(ids), chunk):
        for item_id, prediction in latest_predictions(session, ids[start:start + chunk]).items():
            if prediction.model_version == version and prediction.payload is not None:
                found.append((item_id, prediction.payload, prediction.confidence))
    return sorted(found, key=lambda row: (-row[2], row[0]))


def version_details(session: Session, project_id: int) -> dict[str, list[dict]]:
    """The ``details`` of every stored prediction of the project's items that has them, by model version, oldest
    first: what ``stats`` sums into tokens and hallucinated entities per version."""
    rows = session.execute(select(Prediction.model_version, Prediction.details)
                           .join(Item, Item.id == Prediction.item_id)
                           .where(Item.project_id == project_id, Prediction.details.is_not(None))
                           .order_by(Prediction.id))
    found: dict[str, list[dict]] = {}
    for version, details in rows:
        found.setdefault(version, []).append(details)
    return found
