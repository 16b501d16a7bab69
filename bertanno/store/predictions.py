"""Model predictions, per item and model version, with their confidence."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bertanno.store.schema import Prediction


def add_predictions(session: Session, rows: list[dict]) -> None:
    """Rows of ``item_id``, ``model_version``, ``payload``, ``confidence``."""
    if rows:
        session.execute(insert(Prediction), rows)


def latest_predictions(session: Session, item_ids: list[int]) -> dict[int, Prediction]:
    newest = (select(Prediction.item_id, func.max(Prediction.id).label("id"))
              .where(Prediction.item_id.in_(item_ids)).group_by(Prediction.item_id).subquery())
    rows = session.scalars(select(Prediction).join(newest, Prediction.id == newest.c.id))
    return {prediction.item_id: prediction for prediction in rows}
