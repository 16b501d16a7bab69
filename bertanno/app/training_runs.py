"""Training a project: its frozen evaluation split, candidate versions, the promotion gate, retrain,
rollback and evaluation. Every run is recorded, promoted or not."""

from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from bertanno import files
from bertanno.core.bundle import (
    DEFAULT_FAMILY,
    load_base,
    load_version,
    read_version_record,
    record_family_name,
    save_version,
    write_version_record,
)
from bertanno.core.calibration import calibrate_predictions
from bertanno.core.engine import Predictor, score_model, scored_predictions
from bertanno.core.ensemble import ENSEMBLE, default_members, fit_ensemble
from bertanno.core.gate import MIN_ITEMS, GateVerdict, decide
from bertanno.core.guidelines import label_descriptions
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.pre_annotation import CHUNK_SIZE, BulkPrediction, predict_project
from bertanno.core.project import MIN_STRATUM, auto_training_examples, project_task, training_data
from bertanno.core.ray_predictions import ModelSource, RayJob, predict_project_on_ray
from bertanno.core.reading import read_examples
from bertanno.core.serving import load_served, record_family
from bertanno.core.training import TrainConfig, TrainResult, chosen_features, chosen_head, set_seed, train
from bertanno.errors import BertannoError
from bertanno.plugins.families import ServedModel
from bertanno.plugins.task import Example, Task, scored_on
from bertanno.store import Store, locks
from bertanno.store.annotations import human_decisions_since, latest_human_decision
from bertanno.store.guidelines import latest_guidelines
from bertanno.store.projects import get_project
from bertanno.store.schema import ModelVersion, Project
from bertanno.store.versions import (
    add_version,
    champion,
    finish_run,
    get_version,
    list_versions,
    make_champion,
    next_version_name,
    previous_champion,
    set_calibration,
    set_metrics,
    start_run,
    version_or_champion,
)
from bertanno.store.vocabularies import project_vocabulary, save_vocabulary
from bertanno.vocab.extend import apply_vocabulary
from bertanno.vocab.terms import vocabulary_hash

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
    gate: GateVerdict | None = None


def version_directory(models_dir: Path | None, project: Project, version_name: str) -> Path:
    """Where a version of a project is saved: ``MODELS/PROJECT-UID/VERSION``, where UID is the first 8
    characters of the project's unique id, so that projects of the same name in two databases never share a
    folder; always inside the models folder (``BertannoError`` otherwise, whatever the names hold)."""
    root = (models_dir or models_root()).resolve()
    folder = f"{project.name}-{project.uid[:8]}"
    single = all(Path(part).name == part and part not in ("", ".", "..") and "\\" not in part
                 for part in (folder, version_name))
    directory = (root / folder / version_name).resolve()
    if not single or directory.parent.parent != root:  # one folder per project, one per version, nothing else
        raise BertannoError(f"{folder}/{version_name} would be saved outside the models folder {root}")
    return directory


def next_adapted_directory(store: Store, project_name: str, models_dir: Path | None) -> Path:
    """The first free ``adapted-N`` folder of the project, for a domain-adapted copy of its model."""
    with store.transaction() as session:
        project = get_project(session, project_name)
    number = 1
    while version_directory(models_dir, project, f"adapted-{number}").exists():
        number += 1
    return version_directory(models_dir, project, f"adapted-{number}")


def adapt_checkpoints(store: Store, project_name: str, models_dir: Path | None) -> Path:
    """Where ``vocab adapt`` keeps the checkpoints of the project's run under way (removed when it ends)."""
    with store.transaction() as session:
        project = get_project(session, project_name)
    return version_directory(models_dir, project, ".adapt-checkpoints")


def models_root() -> Path:
    return Path(os.environ.get(MODELS_ENV, "bertanno-models"))


def new_decisions_since(session, project_id: int, version: ModelVersion | None) -> int:
    """Standing human decisions made after ``version`` was trained (all of them when there is no version)."""
    since = (version.training_snapshot or {}).get("last_human_decision", 0) if version else 0
    return human_decisions_since(session, project_id, since)



def split_validation(training: list[tuple[int, Example]], seed: int) -> tuple[list[Example], list[Example]]:
    examples = [example for _, example in training]
    if len(examples) < 10:
        return examples, []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    cut = max(1, round(len(examples) * VALIDATION_FRACTION))
    return [examples[i] for i in order[cut:]], [examples[i] for i in order[:cut]]


@dataclass
class Fitted:
    """A candidate just trained and saved: where, the model loaded to serve, and what the run logs."""

    directory: Path
    model: ServedModel
    interrupted: bool = False
    log: str = ""
    added_terms: list[str] = field(default_factory=list)
    result: TrainResult | None = None


def fit_transformer(task: Task, training: list[tuple[int, Example]], config: TrainConfig, start_from: str | None,
                    start_model: str, terms: list[str], directory: Path, metadata: dict, plugins: Plugins,
                    on_step=None, on_epoch=None, on_plan=None) -> Fitted:
    """Fine-tune the project's domain model (or the champion, ``start_from``) with its terms; save the version.
    Unset numbers of ``config`` come from ``training_defaults`` for the model; ``on_plan(line)`` hears them
    before training starts."""
    set_seed(config.seed)  # a base model's new head is drawn here: the same seed, the same head, the same run
    bundle = load_version(start_from, plugins) if start_from else load_base(start_model, task, plugins)
    apply_vocabulary(bundle, terms)
    train_examples, validation = split_validation(training, config.seed)
    given = config
    features = chosen_features(bundle, config.lexicon_features, config.mode)
    config, rule = replace(config, head=chosen_head(bundle, config.head), lexicon_features=features).for_model(
        bundle, len(train_examples))
    if on_plan is not None:
        defaulted = [name for name, value in (("--lr", given.learning_rate), ("--epochs", given.epochs),
                                              ("--batch-size", given.batch_size)) if value is None]
        why = (f"; {', '.join(defaulted)} by the rule for {rule.kind} ({rule.source})" if defaulted else " (as given)")
        on_plan(f"training with {config.describe()}{why}")
    result = train(bundle, train_examples, validation, config, on_step=on_step, on_epoch=on_epoch)
    save_version(result.bundle, directory, metadata)
    log = "\n".join([f"config: {config.describe()} (rule: {rule.kind})", *(str(record) for record in result.history)])
    return Fitted(directory, Predictor(result.bundle, device=config.device), result.interrupted, log,
                  list(bundle.added_terms), result)


def check_family_trains(family_name: str, task: Task, plugins: Plugins) -> None:
    """Raise ``BertannoError`` with a sentence unless ``family_name`` is a family that trains and serves
    ``task`` with its dependencies installed (the transformer always does): checked before any data is read, so
    ``train --family linear`` on a NER project says so rather than what its data lacks."""
    family = plugins.family(family_name)  # an unknown name: PluginError, naming the families there are
    if family_name == DEFAULT_FAMILY:
        return
    if not family.trainable:
        trainable = ", ".join(name for name in plugins.families if plugins.family(name).trainable)
        raise BertannoError(f"the {family_name} model family does not train (trainable families: "
                            f"{DEFAULT_FAMILY}, {trainable})")
    family.check_task(task)
    family.require()
    if family_name == ENSEMBLE:
        members = default_members(task)
        if not members:
            raise BertannoError(f"the ensemble family has no members for task {task.name!r}")
        for member in members:
            check_family_trains(member, task, plugins)


def fit_family(family_name: str, task: Task, training: list[Example], directory: Path, metadata: dict,
               plugins: Plugins, options: dict | None = None) -> Fitted:
    """Fit a trainable family (``linear``, ``crf``, a plugin's) on the training examples; save the version. A
    ``configured`` family's fit is also given ``options`` (those of the project's newest version of it:
    ``configured_options``)."""
    check_family_trains(family_name, task, plugins)
    family = plugins.family(family_name)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_directory(directory) as fresh:  # the version whole, or no folder under its name
        record = family.fit(task, training, fresh, **({"options": options} if family.configured else {}))
        fields = {"family": family.name, "base_model": family.name, **record, **metadata}
        write_version_record(fresh, task, fields)
    return Fitted(directory, family.load(directory, fields, task), log=str(record))


def fit_ensemble_version(task: Task, training: list[Example], config: TrainConfig, start_model: str, terms: list[str],
                         directory: Path, metadata: dict, plugins: Plugins, on_step=None, on_epoch=None,
                         on_plan=None) -> Fitted:
    """Train an ``ensemble`` version (``core.ensemble``): its default members for the task (the project's
    transformer, trained from ``start_model`` with ``terms`` by ``config``, and the crf or linear family), each on
    the folds and then on all ``training``, and the combiner on their out-of-fold predictions; save it whole.
    Ctrl-C during any fit raises ``KeyboardInterrupt`` and leaves no folder behind."""
    members = default_members(task)
    for name in members:
        check_family_trains(name, task, plugins)
    member_record = {key: value for key, value in metadata.items() if key != "version"}
    added_terms: list[str] = []

    def transformer(examples: list[Example], folder: Path) -> ServedModel:
        fitted = fit_transformer(task, list(enumerate(examples)), config, None, start_model, terms, folder,
                                 member_record, plugins, on_step, on_epoch, on_plan)
        if fitted.interrupted:  # Ctrl-C stops the whole ensemble, not just this member's fit
            raise KeyboardInterrupt
        added_terms[:] = fitted.added_terms
        return fitted.model

    def family(name: str):
        return lambda examples, folder: fit_family(name, task, examples, folder, member_record, plugins).model

    fitters = {name: transformer if name == DEFAULT_FAMILY else family(name) for name in members}
    directory.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_directory(directory) as fresh:
        record = fit_ensemble(task, training, fresh, fitters, seed=config.seed, on_stage=on_plan)
        fields = {"family": ENSEMBLE, "base_model": start_model, **record, **metadata}
        write_version_record(fresh, task, fields)
    return Fitted(directory, plugins.family(ENSEMBLE).load(directory, fields, task), log=str(record),
                  added_terms=added_terms)


def configured_options(session, project_id: int, family_name: str, plugins: Plugins) -> dict | None:
    """The options of the project's newest version of ``family_name`` when that family is ``configured`` (an
    ``llm`` version's endpoint and model): a new version of it is made with them. ``None`` for a family that is
    not configured or has no version in the project (its ``fit`` then says what to do)."""
    if not plugins.family(family_name).configured:
        return None
    for version in sorted(list_versions(session, project_id), key=lambda v: v.id, reverse=True):
        try:
            record = read_version_record(version.directory)
        except BertannoError:
            continue  # a version whose folder is gone
        if record_family_name(record) == family_name and record.get("options"):
            return dict(record["options"])
    return None


class TrainingBusy(BertannoError):
    """Another process is training the same project."""


def train_project(store: Store, project_name: str, config: TrainConfig, trigger: str = "manual", start: str = "base",
                  tolerance: float = 0.0, promote: bool = True, models_dir: Path | None = None,
                  plugins: Plugins | None = None,
                  on_step: Callable | None = None, on_epoch: Callable | None = None,
                  min_eval: int = MIN_ITEMS, family: str = DEFAULT_FAMILY,
                  on_plan: Callable[[str], None] | None = None, with_auto: bool = False) -> RunOutcome:
    """Train a candidate of ``family`` (the project's transformer by default; ``linear``, ``crf`` or a
    plugin's trainable family) on the project's annotations, and score it and the champion (of any family)
    on the evaluation split as it is now; promote it unless the paired bootstrap says it is confidently
    worse by more than ``tolerance`` (``bertanno.core.gate``). With fewer than ``min_eval`` evaluation items
    the point estimates decide against a trained champion, a zero-shot champion keeps serving, and the verdict
    says the split is too small to judge with a test.

    Every training of a project, manual, unattended or live, holds the project's ``train:PROJECT`` lock (in
    the database, so across processes and machines): ``TrainingBusy`` when another process holds it.
    ``on_plan(line)`` hears the learning rate, epochs and batch size a transformer trains with, and why.
    ``with_auto``: the labels of autopilot runs whose audit passed join the training side
    (``core.project.auto_training_examples``); never the evaluation split. ``start``: a transformer starts from
    the project's ``base`` model, its domain-adapted model (``adapted``, made by ``bertanno vocab adapt``;
    ``BertannoError`` when there is none) or its ``champion``.
    """
    with training_lock(store, project_name):
        return _train_locked(store, project_name, config, trigger, start, tolerance, promote, models_dir, plugins,
                             on_step, on_epoch, min_eval, family, on_plan, with_auto)


@contextmanager
def training_lock(store: Store, project_name: str):
    """Hold the project's ``train:PROJECT`` lock (in the database, so across processes and machines) for the
    ``with`` block: every run that makes a version of the project holds it. Raises ``TrainingBusy`` when another
    process holds it and ``StoreError`` when there is no such project."""
    lock_name = f"train:{project_name}"
    with store.transaction() as session:
        get_project(session, project_name)
        busy = locks.acquire(session, lock_name)
    if busy:
        raise TrainingBusy(f"another training of {project_name} is running ({busy}); try again when it has "
                           "finished")
    try:
        yield
    finally:
        with store.transaction() as session:
            locks.release(session, lock_name)


def _train_locked(store: Store, project_name: str, config: TrainConfig, trigger: str, start: str, tolerance: float,
                  promote: bool, models_dir: Path | None, plugins: Plugins | None, on_step: Callable | None,
                  on_epoch: Callable | None, min_eval: int, family: str, on_plan: Callable | None,
                  with_auto: bool = False) -> RunOutcome:
    """``train_project`` once its lock is held."""
    plugins = plugins or get_plugins()
    prefix = plugins.family(family).version_prefix
    with store.transaction() as session:
        project = get_project(session, project_name)
        task = project_task(project, plugins)
        check_family_trains(family, task, plugins)
        training, evaluation = training_data(session, project.id, task)
        automatic = auto_training_examples(session, project.id, task) if with_auto else []
        training += automatic
        task.check_trainable([example for _, example in training])
        if not evaluation:
            raise BertannoError(f"nothing to evaluate a new version on: the evaluation split is empty (a label needs "
                                f"{MIN_STRATUM} labelled items before one is held out, or import a gold file with "
                                "--split eval); a version without a score is never made")
        reigning = champion(session, project.id)
        reigning_name, reigning_dir = (reigning.name, reigning.directory) if reigning else (None, None)
        reigning_family = record_family(reigning.training_snapshot, plugins) if reigning else None
        start_from = reigning.directory if start == "champion" and reigning else None
        if start == "adapted" and not project.adapted_model:
            raise BertannoError(f"project {project_name} has no domain-adapted model to start from; make one with "
                                f"bertanno vocab adapt {project_name}, or train from the base model (--from base)")
        # vocab adapt's model only when asked: measured on public sets, it never helped (benchmarks.adapt)
        start_model = project.adapted_model if start == "adapted" else project.model
        if start_from and family == ENSEMBLE:
            raise BertannoError("an ensemble trains its members afresh from the base model; leave out --from champion")
        if start_from and reigning_family.name != family:
            raise BertannoError(f"the champion {reigning.name} is not a {family} version, so training cannot "
                                "start from it; train from the base model instead (--from base)")
        snapshot = {"annotation_ids": [annotation_id for annotation_id, _ in training if annotation_id is not None],
                    "auto_labels": len(automatic),
                    "last_human_decision": latest_human_decision(session, project.id),
                    "evaluation_items": len(evaluation), "family": family,
                    "mode": config.mode if family == DEFAULT_FAMILY else None,
                    "started_from": start_from or start_model}
        configured = configured_options(session, project.id, family, plugins)
        guidelines = latest_guidelines(session, project.id)
        if configured is not None and guidelines is not None:  # the prompt of a new llm version says what each means
            configured["descriptions"] = label_descriptions(guidelines.text, task.labels)
        fitting = plugins.family(family)
        if fitting.configured and configured is None:
            raise BertannoError(f"the {family} model family takes its settings from a version of it, and project "
                                f"{project_name} has none; create the project with "
                                f"{fitting.configured_by or '--zero-shot ' + family}")
        counts = {"train": len(training) - len(automatic), "auto": len(automatic), "evaluation": len(evaluation)}
        run_id = start_run(session, project.id, trigger, counts).id
        version_name = next_version_name(session, project.id, prefix)
        vocabulary = project_vocabulary(session, project)
        terms = list(vocabulary.terms) if vocabulary else []
        project_id, base_model = project.id, project.model
    started = time.perf_counter()
    gold = [example.payload for example in evaluation]
    reigning_metrics, reigning_payloads = {}, None
    directory = version_directory(models_dir, project, version_name)
    metadata = {"project": project_name, "project_uid": project.uid, "version": version_name}
    try:
        if reigning_dir:  # both sides scored on the same split, as it is now
            reigning_metrics, reigning_payloads = rescore(store, project, reigning_name, reigning_dir, evaluation,
                                                          plugins, task)
        if family == DEFAULT_FAMILY:
            fitted = fit_transformer(task, training, config, start_from, start_model, terms, directory, metadata,
                                     plugins, on_step, on_epoch, on_plan)
        elif family == ENSEMBLE:
            fitted = fit_ensemble_version(task, [example for _, example in training], config, start_model, terms,
                                          directory, metadata, plugins, on_step, on_epoch, on_plan)
        else:
            fitted = fit_family(family, task, [example for _, example in training], directory, metadata, plugins,
                                configured)
            base_model = family
        predictions = scored_predictions(fitted.model, evaluation)
        payloads = [p.payload for p in predictions]
        metrics = scored_on(task.metrics(gold, payloads), len(gold))
        calibration = calibrate_predictions(task, gold, predictions)
        verdict = decide(task, gold, payloads, reigning_payloads, tolerance, min_eval,
                         champion_zero_shot=bool(reigning_family and reigning_family.zero_shot))
    except BaseException as exc:
        with store.transaction() as session:
            finish_run(session, run_id, "failed", False, log=f"{type(exc).__name__}: {exc}")
        raise
    decision = "interrupted" if fitted.interrupted else "kept"
    vocab_hash = vocabulary_hash(fitted.added_terms) if fitted.added_terms else None
    with store.transaction() as session:
        if vocab_hash:
            save_vocabulary(session, f"{project_name}/{version_name}", fitted.added_terms, vocab_hash)
        version = add_version(session, project_id, version_name, str(directory.resolve()), base_model, snapshot,
                              metrics, vocab_hash)
        set_calibration(session, version, calibration)
        if promote and not fitted.interrupted and verdict.promote:
            make_champion(session, version)
            decision = "promoted"
        finish_run(session, run_id, decision, True, metrics, version.id,
                   fitted.log + f"\nseconds: {time.perf_counter() - started:.1f}", gate=verdict.to_json())
    if decision == "promoted":
        announce_champion(store, project_name, version_name, plugins)
    message = {
        "promoted": f"{version_name} is the champion",
        "kept": f"{version_name} kept as a candidate: {verdict.reason.removeprefix('kept as a candidate: ')}"
                if not verdict.promote else f"{version_name} kept as a candidate (--no-promote)",
        "interrupted": f"{version_name} saved from the best epoch before the interruption (not promoted)",
    }[decision]
    return RunOutcome(decision, message, version_name, metrics, reigning_metrics, fitted.result, verdict)


def retrain_project(store: Store, project_name: str, config: TrainConfig, min_new: int, tolerance: float,
                    models_dir: Path | None = None, plugins: Plugins | None = None, on_step=None,
                    on_epoch=None, min_eval: int = MIN_ITEMS, on_plan=None, family: str = "transformer") -> RunOutcome:
    """The unattended job: only when enough new decisions exist, never two at once; trains ``family`` (any
    trainable family: the transformer, or crf, linear, lexicon, a plugin's)."""
    lock_name = f"retrain:{project_name}"
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project = get_project(session, project_name)
        check_family_trains(family, project_task(project, plugins), plugins)  # a wrong --family: said every run
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
                             models_dir=models_dir, plugins=plugins, on_step=on_step, on_epoch=on_epoch, on_plan=on_plan,
                             min_eval=min_eval, family=family)
    except TrainingBusy as exc:
        return RunOutcome("skipped", str(exc))
    finally:
        with store.transaction() as session:
            locks.release(session, lock_name)


def announce_champion(store: Store, project_name: str, version_name: str, plugins: Plugins | None = None) -> None:
    """After a version becomes champion: pre-annotate undecided items with it and tell the plugins."""
    plugins = plugins or get_plugins()
    repredict(store, project_name, plugins)
    plugins.notify("model_promoted", project=project_name, version=version_name)


def rescore(store: Store, project: Project, name: str, directory: str, evaluation: list[Example],
            plugins: Plugins | None, task: Task) -> tuple[dict, list]:
    """Score a stored version of ``project`` on ``evaluation`` and record the scores with it, and its calibration
    refitted on it (``core.calibration``); returns the scores and the version's payloads, one per evaluation
    example."""
    predictions = scored_predictions(load_served(directory, plugins, task, project.uid), evaluation)
    gold, payloads = [example.payload for example in evaluation], [p.payload for p in predictions]
    metrics = scored_on(task.metrics(gold, payloads), len(evaluation))
    calibration = calibrate_predictions(task, gold, predictions)
    with store.transaction() as session:
        version = get_version(session, project.id, name)
        set_metrics(session, version, metrics)
        set_calibration(session, version, calibration)
    return metrics, payloads


def _reigning(session, project_name: str, required: bool) -> tuple[Project, ModelVersion | None]:
    """The project row and its champion row (None when there is none and it is not ``required``, else
    ``BertannoError`` naming the train command)."""
    project = get_project(session, project_name)
    reigning = champion(session, project.id)
    if reigning is None and required:
        raise BertannoError(f"project {project_name!r} has no champion model yet; train one: bertanno train {project_name}")
    return project, reigning


def champion_directory(store: Store, project_name: str) -> tuple[str, str, str]:
    """The champion's version directory, its name and the project's uid; ``BertannoError`` naming the train
    command when there is no champion."""
    with store.transaction() as session:
        project, reigning = _reigning(session, project_name, required=True)
        return reigning.directory, reigning.name, project.uid


def champion_model(store: Store, project_name: str, plugins: Plugins | None = None,
                   required: bool = True, precision: str | None = None) -> tuple[ServedModel | None, str | None]:
    """The champion loaded through its family (with its optimised variant unless ``precision`` is ``full``),
    and its name; ``(None, None)`` when there is none and it is not ``required``."""
    plugins = plugins or get_plugins()
    with store.transaction() as session:
        project, reigning = _reigning(session, project_name, required)
        if reigning is None:
            return None, None
        task = project_task(project, plugins)
        directory, name, uid = reigning.directory, reigning.name, project.uid
    return load_served(directory, plugins, task, uid, precision), name


def pre_annotate(store: Store, project_name: str, model: str | None = None, undecided_only: bool = True,
                 progress=None, chunk_size: int = CHUNK_SIZE, plugins: Plugins | None = None,
                 precision: str | None = None, ray: RayJob | None = None) -> tuple[str, BulkPrediction]:
    """Pre-annotate the project's undecided items (all of them without ``undecided_only``) that the model has not
    predicted yet: ``model`` (a saved version directory of any family, stored under its folder's name) or else
    the champion. Resumable (``core.pre_annotation.predict_project``). Returns the version's name and what
    was done (``precision="full"``: without the version's optimised variant). With ``ray``, the same on a Ray
    actor pool (``core.ray_predictions``; the directory must be readable on every Ray node). Raises
    ``BertannoError`` when the project has no champion and no ``model`` is given."""
    if ray is not None:
        directory, name, uid = (model, Path(model).name, None) if model else champion_directory(store, project_name)
        source = ModelSource(str(Path(directory).resolve()), uid, precision)
        return name, predict_project_on_ray(store, project_name, source, name, address=ray.address,
                                            actors=ray.actors, threads=ray.threads, gpus=ray.gpus,
                                            undecided_only=undecided_only,
                                            progress=progress, plugins=plugins, chunk_size=chunk_size)
    if model:
        served, name = load_served(model, plugins, precision=precision), Path(model).name
    else:
        served, name = champion_model(store, project_name, plugins, precision=precision)
    return name, predict_project(store, project_name, served, name, undecided_only=undecided_only, progress=progress,
                                 plugins=plugins, chunk_size=chunk_size)


def repredict(store: Store, project_name: str, plugins: Plugins | None = None) -> int:
    """Pre-annotate the undecided items with the champion; returns how many it predicted now."""
    return pre_annotate(store, project_name, plugins=plugins)[1].predicted


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
        version = version_or_champion(session, project.id, version_name, project_name)
        examples = (read_examples(file, task, format_name, options, plugins=plugins).examples if file
                    else training_data(session, project.id, task)[1])
        name, directory = version.name, version.directory
    labelled = [e for e in examples if e.payload is not None]
    if not labelled:
        raise BertannoError("nothing to evaluate on: no labelled examples")
    if file:
        return scored_on(score_model(load_served(directory, plugins, task, project.uid), labelled), len(labelled))
    return rescore(store, project, name, directory, labelled, plugins, task)[0]
