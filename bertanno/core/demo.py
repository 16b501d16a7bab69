"""The demo job on the embedded default: everything that exists, end to end, with no network.

A project in a local SQLite file, the bundled ChnSentiCorp sample imported (gold labels
included), a small Chinese BERT built from the bundled config and vocabulary and saved as a
model version, every item pre-annotated and the predictions stored, the labels exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bertanno.core.bundle import is_version_dir, load_version, save_version
from bertanno.core.engine import PredictStats, Predictor
from bertanno.core.project_predictions import predict_project
from bertanno.core.scratch import build_random_bundle
from bertanno.core.transfer import ImportReport, export_project, import_file
from bertanno.plugins.manager import get_plugins
from bertanno.store import Store
from bertanno.store.annotations import current_annotations
from bertanno.store.predictions import latest_predictions
from bertanno.store.projects import create_project, find_project, get_project
from bertanno.store.schema import Item

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "chnsenticorp_dev_sample.tsv"
PROJECT = "demo-reviews"
VERSION = "demo-v1"


@dataclass
class DemoResult:
    database: Path
    version_dir: Path
    export: Path
    imported: ImportReport
    stats: PredictStats
    rows: list[tuple[str, str, str, float]]  # text, gold, predicted, confidence
    metrics: dict[str, float]


def run_demo(directory: str | Path) -> DemoResult:
    """Safe to run again: the import adds nothing twice and the saved version is reused."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "bertanno.db"
    store = Store.open(f"sqlite:///{database}")
    task = get_plugins().task("sentiment")
    with store.transaction() as session:
        if find_project(session, PROJECT) is None:
            create_project(session, PROJECT, task.name, list(task.labels), "bert-base-chinese (random weights)")
    imported = import_file(store, PROJECT, SAMPLE, "tsv", {"label_map": "0=negative,1=positive"})

    version_dir = directory / "models" / VERSION
    if not is_version_dir(version_dir):
        bundle = build_random_bundle(task=task, layers=2, hidden=128, seed=0)
        save_version(bundle, version_dir, {"note": "random weights, untrained"})
    stats = predict_project(store, PROJECT, Predictor(load_version(version_dir)), VERSION)

    with store.transaction() as session:
        project_id = get_project(session, PROJECT).id
        gold = {item_id: a.payload for item_id, a in current_annotations(session, project_id).items()}
        items = session.execute(select(Item.id, Item.text).where(Item.project_id == project_id).order_by(Item.id)).all()
        predicted = latest_predictions(session, [item_id for item_id, _ in items])
    rows = [(text, gold.get(item_id), predicted[item_id].payload, predicted[item_id].confidence)
            for item_id, text in items]
    labelled = [row for row in rows if row[1] is not None]
    metrics = task.metrics([row[1] for row in labelled], [row[2] for row in labelled])
    export = directory / f"{PROJECT}.jsonl"
    export_project(store, PROJECT, "jsonl", export)
    store.close()
    return DemoResult(database, version_dir, export, imported, stats, rows, metrics)
