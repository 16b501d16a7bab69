"""Pre-annotate a project's items with a model version and store the predictions."""

from __future__ import annotations

from bertanno.core.project import open_project
from bertanno.plugins.families import PredictStats, ServedModel
from bertanno.plugins.manager import Plugins
from bertanno.store import Store


def predict_project(store: Store, project_name: str, predictor: ServedModel, version: str,
                    undecided_only: bool = False, progress=None, plugins: Plugins | None = None) -> PredictStats:
    """Predict the project's items (or only the undecided ones: no standing decision) and store the results
    under ``version``. ``progress(done, total)`` is called as batches finish."""
    project = open_project(store, project_name, plugins)
    items = project.items(undecided=undecided_only)
    predictions, stats = predictor.predict([example for _, example in items], progress=progress)
    project.save_predictions([item_id for item_id, _ in items], predictions, version)
    return stats
