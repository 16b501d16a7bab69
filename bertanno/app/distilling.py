"""``bertanno distill``: train a small student from a project's transformer version (default: the champion) on
every item outside the evaluation split, labelled or not (``core.distill``), save it as a version of the project
(``s001``, ``s002``, …) scored on the evaluation split like any other, and let it pre-annotate in the teacher's
place when the promotion gate (``core.gate.decide``) says on gold that it is not confidently worse than the teacher;
its agreement with the teacher is reported (``core.optimize.judge_against``), not required."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from bertanno.app.optimizing import optimize as optimize_version
from bertanno.app.training_runs import split_validation, training_lock, version_directory
from bertanno.core.bundle import (
    load_base,
    load_version,
    read_version_record,
    record_family_name,
    save_version,
    update_version_record,
)
from bertanno.core.distill import (
    TEMPERATURE,
    check_temperature,
    choose_student_layers,
    distill,
    select_layers,
    student_from_layers,
    transfer_plan,
)
from bertanno.core.gate import MIN_ITEMS, decide
from bertanno.core.optimize import STUDENT, VARIANTS, GateFigures, judge_against, reference_run, timed_payloads
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import item_example, project_task, training_data
from bertanno.core.training import TrainConfig, TrainResult
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.annotations import latest_human_decision
from bertanno.store.items import item_splits, project_items
from bertanno.store.projects import get_project
from bertanno.store.versions import add_version, finish_run, next_version_name, start_run, version_or_champion
from bertanno.store.vocabularies import save_vocabulary
from bertanno.vocab.extend import apply_vocabulary
from bertanno.vocab.terms import vocabulary_hash

SPEED_SAMPLE = 200
"""Evaluation items at most that ``--faster`` times each candidate student on."""
STUDENT_PREFIX = "s"
"""Distilled students are versions ``s001``, ``s002``, … of the project."""


@dataclass
class DistillOutcome:
    """What ``distill_project`` made: the student's version and how it was made, its scores on the evaluation
    split, the gate's figures against the teacher, and whether it now predicts in the teacher's place."""

    version: str
    teacher: str
    student: str
    """How the student started: ``3 of 12 layers of v002`` or the model's name."""
    texts: int
    unlabelled: int
    metrics: dict
    figures: GateFigures
    in_use: bool
    interrupted: bool
    result: TrainResult
    speedups: dict = field(default_factory=dict)
    """``--faster``: each student size measured, layers → its speed-up over the teacher on this machine."""
    optimized: object = None
    """What ``optimize`` made of the student once it passed (``app.optimizing.OptimizeOutcome``), or the sentence
    saying why it was not optimised; ``None`` when it was not tried."""



def distill_project(store: Store, project_name: str, student: str | None, teacher_version: str | None = None,
                    config: TrainConfig | None = None, temperature: float = TEMPERATURE, use: bool = True,
                    models_dir: Path | None = None, plugins: Plugins | None = None,
                    on_step: Callable | None = None, on_epoch: Callable | None = None,
                    on_soft_labels: Callable[[int, int], None] | None = None,
                    on_plan: Callable[[str], None] | None = None, tolerance: float = 0.0,
                    min_eval: int = MIN_ITEMS, optimize_student: bool = True, faster: float | None = None,
                    transfer: str = "hidden") -> DistillOutcome:
    """Distil ``teacher_version`` (default: the champion; a fine-tuned transformer version) into ``student``: a
    number of the teacher's own layers (``core.distill.student_from_layers``) or a base model with the teacher's
    vocabulary (``zh-mini``; the teacher's added terms are added to it). The student learns the teacher's soft
    labels on every item outside the evaluation split; labelled training items give the validation that picks
    its best epoch. It is saved as the next ``s`` version, scored on the evaluation split, and judged there on gold
    like any candidate: the paired gate (``core.gate.decide`` with ``tolerance`` and ``min_eval``, the teacher in
    the champion's place) must not find it confidently worse than the teacher; its agreement with the teacher is
    reported, not required. When it passes (and ``use``), the teacher's record names it as its ``student`` variant, so that predict, predict-project and the annotation session use
    it in the teacher's place (``--precision full`` or ``optimize --variant full`` go back to the teacher). With
    ``optimize_student``, a student put in use is then optimised as ``optimize --variant auto`` does
    (``app.optimizing.optimize``: the fastest variant that keeps the student's own answers), so the teacher is
    served by the fastest gated model.

    ``student`` ``None`` with ``faster``: the most layers of the teacher that predict the evaluation items
    ``faster`` times as fast on this machine (``core.distill.choose_student_layers``; the speed-ups measured
    are in the outcome's ``speedups``). ``transfer``: ``hidden`` (the default) also teaches the student the
    teacher's hidden states where the widths match (TinyBERT), ``none`` its outputs only.

    Holds the project's training lock. Raises ``BertannoError`` with a sentence for a teacher that is not a
    fine-tuned transformer, a student that cannot be made (too many layers, another vocabulary), an evaluation
    split too small for the gate, and ``TrainingBusy`` when the project is training."""
    plugins = plugins or get_plugins()
    config = config or TrainConfig()
    check_temperature(temperature)
    with training_lock(store, project_name):
        with store.transaction() as session:
            project = get_project(session, project_name)
            task = project_task(project, plugins)
            teacher = version_or_champion(session, project.id, teacher_version, project_name,
                                          naming="name the teacher with --teacher VERSION")
            teacher_name, teacher_dir = teacher.name, teacher.directory
            training, evaluation = training_data(session, project.id, task)  # assigns every labelled item's split
            held_out = {item_id for item_id, split in item_splits(session, project.id).items() if split == "eval"}
            texts = [item_example(item, meta={}) for item in project_items(session, project.id)
                     if item.id not in held_out]
            version_name = next_version_name(session, project.id, STUDENT_PREFIX)
            last_decision = latest_human_decision(session, project.id)
            directory = version_directory(models_dir, project, version_name)
            project_id, project_uid = project.id, project.uid
        record = read_version_record(teacher_dir)
        if record_family_name(record) != "transformer":
            raise BertannoError(f"{teacher_name} is a {record_family_name(record)} model: distillation needs a "
                                "fine-tuned transformer teacher (train one: bertanno train PROJECT)")
        teacher_bundle = load_version(teacher_dir, plugins, task=task)
        reference = reference_run(teacher_bundle, evaluation)  # refuses too small a split before any training
        speedups: dict[int, float] = {}
        if student is None:
            if faster is None:
                raise BertannoError("name the student (--student LAYERS|MODEL) or how much faster it must be "
                                    "(--faster 5x)")
            chosen, speedups = choose_student_layers(teacher_bundle, reference.examples[:SPEED_SAMPLE], faster)
            student = str(chosen)
            if on_plan is not None:
                measured = ", ".join(f"{layers} layer(s) {ratio:.1f}×" for layers, ratio in sorted(speedups.items()))
                on_plan(f"--faster {faster:g}x: a student of {chosen} layer(s) (measured on this machine: {measured})")
        if student.isdigit():
            student_bundle = student_from_layers(teacher_bundle, int(student))
            layers = len(teacher_bundle.model.base_model.encoder.layer)
            origin = f"layers {select_layers(layers, int(student))} of {layers} of {teacher_name}"
        else:
            student_bundle = load_base(student, task, plugins)
            apply_vocabulary(student_bundle, list(teacher_bundle.added_terms))
            origin = student
        if on_plan is not None:
            on_plan(f"distilling {teacher_name} into {version_name} ({origin}) on {len(texts)} texts, "
                    f"{len(texts) - len(training)} of them unlabelled, temperature {temperature:g}")
        with store.transaction() as session:
            run_id = start_run(session, project_id, "distill", {"texts": len(texts), "evaluation": len(evaluation)}).id
        started = time.perf_counter()
        try:
            _, validation = split_validation(training, config.seed)
            result = distill(teacher_bundle, student_bundle, texts, validation, config, temperature, on_step,
                             on_epoch, on_soft_labels, transfer)
            metadata = {"project": project_name, "project_uid": project_uid, "version": version_name,
                        "distilled_from": teacher_name, "student_of": origin, "temperature": temperature,
                        "distilled_on": len(texts), "transfer": transfer if transfer_plan(
                            teacher_bundle, student_bundle, transfer) else "none"}
            save_version(result.bundle, directory, metadata)
            payloads, speed = timed_payloads(result.bundle, reference.examples)
            figures = judge_against(reference, task, STUDENT, payloads, speed)
            gold = [example.payload for example in reference.examples]
            verdict = decide(task, gold, payloads, reference.payloads, tolerance, min_eval)
            figures = replace(figures, accepted=verdict.promote,  # judged on gold; the agreement is reported
                              reason=verdict.reason.removeprefix("kept as a candidate: "))
            metrics = task.metrics(gold, payloads)
        except BaseException as exc:
            with store.transaction() as session:
                finish_run(session, run_id, "failed", False, log=f"{type(exc).__name__}: {exc}")
            raise
        in_use = use and figures.accepted and not result.interrupted
        snapshot = {"family": "transformer", "mode": f"distilled from {teacher_name}", "distilled_from": teacher_name,
                    "texts": len(texts), "evaluation_items": len(evaluation), "started_from": origin,
                    "last_human_decision": last_decision}
        added = list(result.bundle.added_terms)
        with store.transaction() as session:
            vocab_hash = vocabulary_hash(added) if added else None
            if vocab_hash:
                save_vocabulary(session, f"{project_name}/{version_name}", added, vocab_hash)
            version = add_version(session, project_id, version_name, str(directory.resolve()),
                                  result.bundle.base_model, snapshot, metrics, vocab_hash)
            finish_run(session, run_id, "interrupted" if result.interrupted else "kept", True, metrics, version.id,
                       "\n".join(str(row) for row in result.history)
                       + f"\nseconds: {time.perf_counter() - started:.1f}", gate=figures.as_record())
        changes = {"optimized": {**record.get("optimized", {}), STUDENT: {**figures.as_record(),
                                                                          "version": version_name}}}
        if in_use:
            changes.update({"variant": STUDENT, STUDENT: {"version": version_name,
                                                          "directory": str(directory.resolve())}})
        update_version_record(teacher_dir, changes)
    optimized = None
    if in_use and optimize_student:
        try:
            optimized = optimize_version(store, project_name, version_name, tuple(VARIANTS), plugins)
        except BertannoError as exc:
            optimized = str(exc)
    return DistillOutcome(version_name, teacher_name, origin, len(texts), len(texts) - len(training), metrics,
                          figures, in_use, result.interrupted, result, speedups, optimized)
