"""The main job end to end on bundled data, offline: a project in a local SQLite file (served by SnowNLP
from the first item when ``bertanno[snownlp]`` is installed), a model trained on
1,200 labelled reviews (bert-base-chinese when its weights are on this machine, else zh-mini, the small encoder
shipped with bertanno: ``core.hub.default_model``), 200 new reviews pre-annotated by the champion, then the annotation
session: in a terminal the real one, without one a short scripted session that decides like a careful
annotator (accepts right pre-annotations, corrects wrong ones from the sample's labels)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bertanno import DATA_DIR
from bertanno.app.new_project import create_project
from bertanno.app.session import AnnotationSession, session_predictor
from bertanno.app.training_runs import RunOutcome, repredict, train_project
from bertanno.core.bundle import DEFAULT_FAMILY, record_family_name
from bertanno.core.hub import PREFERRED_MODEL, default_model
from bertanno.core.import_export import ImportReport, export_project, import_file
from bertanno.core.plugins import get_plugins
from bertanno.core.reading import read_examples
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.annotations import session_decisions
from bertanno.store.predictions import latest_predictions
from bertanno.store.projects import find_project, get_project
from bertanno.store.versions import champion, list_versions

SAMPLES = DATA_DIR / "samples"
TRAIN_SAMPLE = SAMPLES / "chnsenticorp_train_sample.tsv"
NEW_SAMPLE = SAMPLES / "chnsenticorp_dev_sample.tsv"
PROJECT = "demo-reviews"
LABELS = "0=negative,1=positive"
ZERO_SHOT = "snownlp"
"""Serves the first pre-annotations when its extra is installed (bertanno[snownlp])."""


@dataclass
class DemoSetup:
    store: Store
    database: Path
    model: str
    reason: str
    """Why ``model``: ``default_model``'s sentence, or that it was asked for."""
    imported: list[ImportReport]
    outcome: RunOutcome | None
    champion: str
    gold: dict[str, str] = field(default_factory=dict)
    """The new reviews' labels from the sample file: what the scripted annotator knows."""
    first_version: str | None = None
    """The zero-shot version that pre-annotated before any training (``z001``), if one did."""
    first_served: int = 0
    """How many reviews it pre-annotated."""


def prepare(directory: str | Path, epochs: int | None = None, on_step: Callable | None = None,
            on_epoch: Callable | None = None, model: str | None = None,
            learning_rate: float | None = None, batch_size: int | None = None, seed: int = 0) -> DemoSetup:
    """Project, imports, a trained champion and its pre-annotations. Safe to run again: nothing is added
    twice and an existing champion is kept. ``model``: a base model to start from instead of
    ``core.hub.default_model``'s choice; ``learning_rate``, ``batch_size``: instead of the model's rule, ``seed``:
    the training's (benchmarks compare them)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "bertanno.db"
    store = Store.open(f"sqlite:///{database}")
    plugins = get_plugins()
    task = plugins.task("sentiment", labels=["negative", "positive"])
    with store.transaction() as session:
        existing = find_project(session, PROJECT)
        existing_model = existing.model if existing is not None else None
    if existing_model is not None:  # a second run: the project keeps the model it was made with
        model, reason = existing_model, "the demo project's model since its first run"
    else:
        model, reason = (model, "asked for") if model else default_model(plugins)
    zero_shot = ZERO_SHOT if plugins.family(ZERO_SHOT).missing() is None else None
    if existing_model is None:
        create_project(store, PROJECT, task, model, zero_shot, models_dir=directory / "models", plugins=plugins)
    options = {"label_map": LABELS}
    new_reviews = read_examples(NEW_SAMPLE, task, "tsv", options).examples
    with tempfile.TemporaryDirectory() as scratch:  # the new reviews go in without their labels
        unlabelled = Path(scratch) / "new-reviews.txt"
        unlabelled.write_text("".join(e.text.replace("\n", " ") + "\n" for e in new_reviews), encoding="utf-8")
        imported = [import_file(store, PROJECT, TRAIN_SAMPLE, "tsv", options),
                    import_file(store, PROJECT, unlabelled, "txt")]
    with store.transaction() as session:
        project_id = get_project(session, PROJECT).id
        first = champion(session, project_id)
        first_name = first.name if first is not None else None
        trained = any(record_family_name(version.training_snapshot) == DEFAULT_FAMILY
                      for version in list_versions(session, project_id))
    outcome, first_served = None, 0
    if not trained:
        if first_name is not None:  # a zero-shot champion pre-annotates before any training
            first_served = repredict(store, PROJECT, plugins)
        if epochs is None and model == PREFERRED_MODEL:
            epochs = 2  # the demo's two minutes on bert-base; zh-mini takes its rule's 4
        config = TrainConfig(epochs=epochs, seed=seed, learning_rate=learning_rate,
                             batch_size=batch_size)  # the rest by the model
        outcome = train_project(store, PROJECT, config, models_dir=directory / "models", on_step=on_step,
                                on_epoch=on_epoch, plugins=plugins)
        if outcome.decision not in ("promoted", "kept") or (outcome.decision == "kept" and first_name is None):
            raise BertannoError(f"the demo's training did not produce a champion: {outcome.message}")
    with store.transaction() as session:
        name = champion(session, get_project(session, PROJECT).id).name
    return DemoSetup(store, database, model, reason, imported, outcome, name,
                     {e.text.replace("\n", " ").strip(): e.payload for e in new_reviews},
                     first_name if first_served else None, first_served)


def verdict_in_words(outcome, first_version: str) -> str:
    """What the gate did with the demo's trained version against the zero-shot ``first_version``, in words a
    newcomer reads right: both scores on the same evaluation reviews, and, when the trained one scored lower
    and still took over, that the gap could be chance (the gate promotes unless a version is confidently
    worse) rather than a "takes over" that reads as "is better"."""
    gate, version = outcome.gate, outcome.version
    if gate is None or gate.champion is None:
        return f"{version} takes over from {first_version}" if outcome.decision == "promoted" else \
            f"{version} does not take over from {first_version}: {outcome.message}"
    scores = (f"{version} scored {gate.metric} {gate.candidate:.3f}, {first_version} ({ZERO_SHOT}) "
              f"{gate.champion:.3f} on the same {gate.items} evaluation reviews")
    if outcome.decision != "promoted":
        return f"{scores}: {version} is confidently worse, so {first_version} keeps serving the session"
    if gate.candidate >= gate.champion:
        return f"{scores}: {version} takes over and serves the session"
    interval = f" (95 % interval of the difference {gate.low:+.3f} … {gate.high:+.3f})" if gate.low is not None else ""
    return (f"{scores}: lower, but by a gap that could be chance{interval}, so the gate lets {version} take over "
            f"— unlike {ZERO_SHOT}, it learns from your corrections")


def open_session(setup: DemoSetup, annotator: str) -> AnnotationSession:
    predictor, version = session_predictor(setup.store, PROJECT)
    return AnnotationSession(setup.store, PROJECT, annotator, "uncertain", predictor, version)


def scripted_session(setup: DemoSetup, items: int = 12) -> list[dict]:
    """Decide ``items`` reviews, most uncertain first, as a careful annotator would; returns what was stored."""
    session = open_session(setup, "demo-annotator")
    try:
        for _ in range(items):
            current = session.next()
            if current is None:
                break
            gold = setup.gold[current.example.text.strip()]
            session.touch()  # one key: Enter to accept, or the label's digit
            if current.prediction is not None and current.prediction.payload == gold:
                session.decide("accept")
            else:
                session.decide("correct", gold)
    finally:
        session.close()
    return stored_decisions(setup.store, session.session_id)


def stored_decisions(store: Store, session_id: str) -> list[dict]:
    with store.transaction() as session:
        rows = [(annotation, item.text) for annotation, item in session_decisions(session, session_id)]
        predicted = latest_predictions(session, [annotation.item_id for annotation, _ in rows])
        return [{"text": text, "predicted": predicted[a.item_id].payload if a.item_id in predicted else None,
                 "confidence": predicted[a.item_id].confidence if a.item_id in predicted else None,
                 "decision": a.decision, "label": a.payload, "annotator": a.annotator, "ms": a.duration_ms}
                for a, text in rows]


def export(setup: DemoSetup, directory: str | Path) -> Path:
    path = Path(directory) / f"{PROJECT}.jsonl"
    export_project(setup.store, PROJECT, "jsonl", path, only="human")
    return path
