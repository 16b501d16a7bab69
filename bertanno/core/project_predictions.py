"""Pre-annotate a project's items with a model version and store the predictions."""

from __future__ import annotations

from sqlalchemy import select

from bertanno.plugins.families import PredictStats, ServedModel
from bertanno.plugins.task import Example
from bertanno.store import Store
from bertanno.store.annotations import current_annotations
from bertanno.store.predictions import add_predictions
from bertanno.store.projects import get_project
from bertanno.store.schema import Item


def predict_project(store: Store, project_name: str, predictor: ServedModel, version: str,
                    undecided_only: bool = False, progress=None) -> PredictStats:
    """Predict the project's items (or only those nobody has decided) and store the results under ``version``."""
    with store.transaction() as session:
        project_id = get_project(session, project_name).id
        items = session.execute(select(Item.id, Item.text, Item.text_b).where(Item.project_id == project_id)
                                .order_by(Item.id)).all()
        if undecided_only:
            decided = current_annotations(session, project_id)
            items = [row for row in items if row[0] not in decided]
    examples = [Example(text, text_b) for _, text, text_b in items]
    predictions, stats = predictor.predict(examples, progress=progress)
    task = predictor.task
    with store.transaction() as session:
        add_predictions(session, [
            {"item_id": item_id, "model_version": version, "payload": task.payload_to_json(p.payload),
             "confidence": p.confidence}
            for (item_id, _, _), p in zip(items, predictions)
        ])
    return stats
