"""Training a project: its frozen evaluation split, candidate versions, the promotion gate, retrain,
rollback and evaluation. Every run is recorded, promoted or not."""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select, update

from bertanno.core.bundle import load_base, load_version, read_version_record, save_version
from bertanno.core.engine import score_model
from bertanno.core.project_predictions import predict_project
from bertanno.core.reading import read_examples
from bertanno.core.serving import DEFAULT_FAMILY, load_served
from bertanno.core.training import TrainConfig, TrainResult, headline, score, train
from bertanno.core.transfer import project_task
from bertanno.errors import BertannoError
from bertanno.plugins.families import ServedModel
from bertanno.plugins.manager import Plugins, get_plugins
from bertanno.plugins.task import Example, Task
from bertanno.store import Store, locks
from bertanno.store.annotations import current_annotations, standing
from bertanno.store.projects import get_project
from bertanno.store.schema import Annotation, Item, ModelVersion, Project
from bertanno.store.versions import (add_version, champion, finish_run, get_version, make_champion, next_version_name,
                                     previous_champion, set_metrics, start_run)
from bertanno.store.vocabularies import project_vocabulary, save_vocabulary
from bertanno.vocab.extend import apply_vocabulary
from bertanno.vocab.terms import vocabulary_hash

EVAL_FRACTION = 0.1
EVAL_SEED = 20261122
VALIDATION_FRACTION = 0.1
MODELS_ENV = "BERTANNO_MODELS"


@dataclass
class RunOutcome:
    decision: str  # promoted, kept, skipped, interrupted
    message: str
    version: str | None = None
    metrics: dict = field(default_factory=dict)
    champion_metrics: dict = field(default_factory=dict)
    result: TrainResult | None = None


def models_root() -> Path:
    return Path(os.environ.get(MODELS_ENV, "bertanno-models"))


def stratum(task: Task, payload) -> str:
    """What the evaluation split is stratified by: the label, or whether an item has entities."""
    if task.head == "token":
        return "entities" if payload else "none"
    return repr(sorted(payload)) if isinstance(payload, list) else str(payload)


def evaluation_items(session, project: Project, task: Task) -> set[int]:
    """The project's frozen evaluation split, chosen (stratified, seeded) the first time it is needed."""
    chosen = set(session.scalars(select(Item.id).where(Item.project_id == project.id, Item.split == "eval")))
    if chosen:
        return chosen
    groups: dict[str, list[int]] = defaultdict(list)
    for item_id, annotation in sorted(current_annotations(session, project.id).items()):
        groups[stratum(task, annotation.payload)].append(item_id)
    generator = random.Random(EVAL_SEED)
    for key in sorted(groups):
        members = groups[key]
        generator.shuffle(members)
        take = round(len(members) * EVAL_FRACTION) or (1 if len(members) >= 5 else 0)
        chosen.update(members[:take])
    ids = sorted(chosen)
    for start in range(0, len(ids), 500):  # bounded IN lists: SQLite caps bound parameters
        session.execute(update(Item).where(Item.id.in_(ids[start:start + 500])).values(split="eval"))
    return chosen


def project_data(session, project: Project, task: Task) -> tuple[list[tuple[int, Example]], list[Example]]:
    """(annotation id, example) pairs to train on, and the evaluation examples."""
    held_out = evaluation_items(session, project, task)
    labelled = current_annotations(session, project.id)
    items = {item.id: item for item in session.scalars(select(Item).where(Item.project_id == project.id))}
    training, evaluation = [], []
    for item_id in sorted(labelled):
        item, annotation = items[item_id], labelled[item_id]
        example = Example(item.text, item.text_b, task.payload_from_json(annotation.payload))
        if item_id in held_out:
            evaluation.append(example)
        else:
            training.append((annotation.id, example))
    return training, evaluation


def latest_human_decision(session, project_id: int) -> int:
    return session.scalar(select(func.max(Annotation.id)).where(
        Annotation.project_id == project_id, Annotation.source == "human")) or 0


def new_decisions_since(session, project_id: int, version: ModelVersion | None) -> int:
    since = (version.training_snapshot or {}).get("last_human_decision", 0) if version else 0
    return session.scalar(select(func.count()).select_from(Annotation).where(
        Annotation.project_id == project_id, Annotation.source == "human", Annotation.id > since, *standing())) or 0


def split_validation(training: list[tuple[int, Example]], seed: int) -> tuple[list[Example], list[Example]]:
    examples = [example for _, example in training]
    if len(examples) < 10:
        return examples, []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    cut = max(1, round(len(examples) * VALIDATION_FRACTION))
    return [examples[i] for i in order[cut:]], [examples[i] for i in order[:cut]]


def is_better(candidate: dict, reigning: dict, tolerance: float) -> bool:
    """Promote unless the candidate is worse than the champion by more than ``tolerance``."""
    return not reigning or headline(candidate) >= headline(reigning) - tolerance


def train_project(store: Store, project_name: str, config: TrainConfig, trigger: str = "manual", start: str = "base",
                  tolerance: float = 0.0, promote: bool = True, models_dir: Path | None = None,
                  plugins: Plugins | None = None,
                  on_step: Callable | None = None, on_epoch: Callable | None = None) -> RunOutcome:
    """Train a candidate on the project's annotations, score it on the frozen split, promote it if it is
    not worse than the champion by more than ``tolerance``."""
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project = get_project(session, project_name)
        task = project_task(project, plugins)
        training, evaluation = project_data(session, project, task)
        reigning = champion(session, project.id)
        reigning_metrics = dict(reigning.metrics) if reigning else {}
        reigning_name, reigning_dir = (reigning.name, reigning.directory) if reigning else (None, None)
        start_from = reigning.directory if start == "champion" and reigning else None
        if start_from and read_version_record(start_from).get("family", DEFAULT_FAMILY) != DEFAULT_FAMILY:
            raise BertannoError(f"the champion {reigning.name} is not a fine-tuned transformer, so training cannot "
                                "start from it; train from the base model instead (--from base)")
        snapshot = {"annotation_ids": [annotation_id for annotation_id, _ in training],
                    "last_human_decision": latest_human_decision(session, project.id),
                    "evaluation_items": len(evaluation), "mode": config.mode,
                    "started_from": start_from or project.adapted_model or project.model}
        run_id = start_run(session, project.id, trigger, {"train": len(training), "evaluation": len(evaluation)}).id
        version_name = next_version_name(session, project.id, plugins.family(DEFAULT_FAMILY).version_prefix)
        vocabulary = project_vocabulary(session, project)
        terms = list(vocabulary.terms) if vocabulary else []
        project_id, base_model, start_model = project.id, project.model, project.adapted_model or project.model
    started = time.perf_counter()
    try:
        if reigning_dir and evaluation:  # both sides scored on the same split, as it is now
            reigning_metrics = rescore(store, project_id, reigning_name, reigning_dir, evaluation, plugins, task)
        bundle = load_version(start_from, plugins) if start_from else load_base(start_model, task, plugins)
        apply_vocabulary(bundle, terms)
        train_examples, validation = split_validation(training, config.seed)
        result = train(bundle, train_examples, validation, config, on_step=on_step, on_epoch=on_epoch)
        metrics = score(result.bundle, evaluation, config.device)
    except BaseException as exc:
        with store.transaction() as session:
            finish_run(session, run_id, "failed", False, log=f"{type(exc).__name__}: {exc}")
        raise
    directory = save_version(result.bundle, (models_dir or models_root()) / project_name / version_name,
                             {"project": project_name, "version": version_name, "metrics": metrics})
    decision = "interrupted" if result.interrupted else "kept"
    vocab_hash = vocabulary_hash(bundle.added_terms) if bundle.added_terms else None
    with store.transaction() as session:
        if vocab_hash:
            save_vocabulary(session, f"{project_name}/{version_name}", bundle.added_terms, vocab_hash)
        version = add_version(session, project_id, version_name, str(directory.resolve()), base_model, snapshot,
                              metrics, vocab_hash)
        if promote and not result.interrupted and is_better(metrics, reigning_metrics, tolerance):
            make_champion(session, version)
            decision = "promoted"
        log = "\n".join(str(record) for record in result.history)
        finish_run(session, run_id, decision, True, metrics, version.id,
                   log + f"\nseconds: {time.perf_counter() - started:.1f}")
    if decision == "promoted":
        announce_champion(store, project_name, version_name, plugins)
    message = {
        "promoted": f"{version_name} is the champion",
        "kept": f"{version_name} kept as a candidate: not better than the champion on the evaluation split",
        "interrupted": f"{version_name} saved from the best epoch before the interruption (not promoted)",
    }[decision]
    return RunOutcome(decision, message, version_name, metrics, reigning_metrics, result)


def retrain_project(store: Store, project_name: str, config: TrainConfig, min_new: int, tolerance: float,
                    models_dir: Path | None = None, plugins: Plugins | None = None, on_step=None,
                    on_epoch=None) -> RunOutcome:
    """The unattended job: only when enough new decisions exist, never two at once."""
    lock_name = f"retrain:{project_name}"
    with store.transaction() as session:
        project = get_project(session, project_name)
        reigning = champion(session, project.id)
        new = new_decisions_since(session, project.id, reigning)
        if reigning is not None and new < min_new:
            return RunOutcome("skipped", f"{new} new decision(s) since {reigning.name} was trained; "
                                         f"retraining starts at {min_new}")
        busy = locks.acquire(session, lock_name)
    if busy:
        return RunOutcome("skipped", f"another retrain is running: {busy}")
    try:
        return train_project(store, project_name, config, trigger="retrain", tolerance=tolerance,
                             models_dir=models_dir, plugins=plugins, on_step=on_step, on_epoch=on_epoch)
    finally:
        with store.transaction() as session:
            locks.release(session, lock_name)


def announce_champion(store: Store, project_name: str, version_name: str, plugins: Plugins | None = None) -> None:
    """After a version becomes champion: pre-annotate undecided items with it and tell the plugins."""
    plugins = plugins or get_plugins()
    repredict(store, project_name, plugins)
    plugins.notify("model_promoted", project=project_name, version=version_name)


def rescore(store: Store, project_id: int, name: str, directory: str, evaluation: list[Example],
            plugins: Plugins | None, task: Task) -> dict:
    """Score a stored version on ``evaluation`` and record the scores with it."""
    metrics = score_model(load_served(directory, plugins, task), evaluation)
    with store.transaction() as session:
        set_metrics(session, get_version(session, project_id, name), metrics)
    return metrics


def champion_model(store: Store, project_name: str, plugins: Plugins | None = None,
                   required: bool = True) -> tuple[ServedModel | None, str | None]:
    """The champion loaded through its family, and its name; ``(None, None)`` when there is none and it
    is not ``required``."""
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project = get_project(session, project_name)
        task = project_task(project, plugins)
        reigning = champion(session, project.id)
        if reigning is None:
            if not required:
                return None, None
            raise BertannoError(f"project {project_name!r} has no champion model yet; train one: bertanno train {project_name}")
        directory, name = reigning.directory, reigning.name
    return load_served(directory, plugins, task), name


def repredict(store: Store, project_name: str, plugins: Plugins | None = None) -> int:
    """Pre-annotate the undecided items with the champion; returns how many."""
    model, name = champion_model(store, project_name, plugins)
    return predict_project(store, project_name, model, name, undecided_only=True).examples


def promote(store: Store, project_name: str, version_name: str, plugins: Plugins | None = None) -> str:
    with store.transaction() as session:
        project = get_project(session, project_name)
        previous = make_champion(session, get_version(session, project.id, version_name))
    announce_champion(store, project_name, version_name, plugins)
    return f"{version_name} is the champion" + (f" (was {previous.name})" if previous else "")


def rollback(store: Store, project_name: str, plugins: Plugins | None = None) -> str:
    with store.transaction() as session:
        project = get_project(session, project_name)
        earlier = previous_champion(session, project.id)
        if earlier is None:
            raise BertannoError(f"project {project_name!r} has no earlier champion to roll back to")
        replaced = make_champion(session, earlier, rollback=True)
    announce_champion(store, project_name, earlier.name, plugins)
    return f"{earlier.name} is the champion again" + (f" ({replaced.name} retired)" if replaced else "")


def evaluate(store: Store, project_name: str, version_name: str | None = None, file: str | None = None,
             format_name: str | None = None, options: dict | None = None, plugins: Plugins | None = None) -> dict:
    """Score a version (default: the champion) on the frozen split, or on a labelled file."""
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project = get_project(session, project_name)
        task = project_task(project, plugins)
        version = get_version(session, project.id, version_name) if version_name else champion(session, project.id)
        if version is None:
            raise BertannoError(f"project {project_name!r} has no champion; name a version")
        examples = (read_examples(file, task, format_name, options, plugins=plugins).examples if file
                    else project_data(session, project, task)[1])
        project_id, name, directory = project.id, version.name, version.directory
    labelled = [e for e in examples if e.payload is not None]
    if not labelled:
        raise BertannoError("nothing to evaluate on: no labelled examples")
    if file:
        return score_model(load_served(directory, plugins, task), labelled)
    return rescore(store, project_id, name, directory, labelled, plugins, task)
