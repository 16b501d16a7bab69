"""Autopilot: the champion labels the items it is sure enough of, as far as the evidence allows, and a blind audit
checks it.

1. **The threshold.** The champion's calibration (``core.calibration``, fitted on the evaluation split and refitted
   here when the split has grown) says how often it is right at each confidence. The undecided items it has
   predicted are sorted most confident first; for each cut, the expected accuracy of the items above it and a
   one-sided lower bound (``core.calibration.prefix_bounds``: Beta posteriors of the isotonic blocks, at
   ``level``) are computed, and autopilot takes the largest set, at most ``max_share`` of the pool, whose bound
   reaches ``target``. Cuts fall between different confidences, so the threshold means what it says: every
   undecided item at or above it.
2. **Auto labels.** Those items get the champion's label as an auto label (``store.autopilot``): a source of its
   own, never an annotation, never gold, never trained on unless asked (``train --with-auto``, after the audit
   passed); the items leave the queue while it stands.
3. **The audit.** A seeded random sample of them (``audit``, or by default the size at which a run as good as
   the calibration expects passes four times in five: ``core.autopilot.audit_size``) goes back to people first
   in the queue, without the
   pre-annotation, as blind controls are served. Their decisions estimate the auto labels' real accuracy with a
   Wilson 95 % interval (a reject counts as wrong). While the audit runs the labels are provisional; when the
   interval's lower end is below the target once the sample is decided, or earlier as soon as it must be (even if
   every item left agrees: ``core.autopilot.audit_verdict``), every label of the run is withdrawn and its items
   return to the queue; otherwise the run passes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from bertanno.app.training_runs import pre_annotate, rescore
from bertanno.core.autopilot import (
    LEVEL,
    AuditState,
    audit_size,
    audit_state,
    audit_verdict,
    choose_cut,
    smallest_audit,
)
from bertanno.core.calibration import Calibration, item_calibration
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import ProjectHandle, open_project, training_data
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store import autopilot as runs_q
from bertanno.store.items import project_item_ids
from bertanno.store.predictions import undecided_predictions
from bertanno.store.projects import get_project
from bertanno.store.versions import champion


@dataclass
class AutopilotPlan:
    """What a run would do: the ``version`` serving, its ``calibration`` line, the ``pool`` of undecided items it
    predicted, the items it would label (``chosen``, most confident first) at ``threshold`` with their expected
    accuracy ``estimate`` and its lower ``bound``, the ``audit`` sample, and ``reason`` when it labels nothing."""

    project: str
    version: str
    target: float
    max_share: float
    calibration: str
    pool: int
    chosen: list[int] = field(default_factory=list)
    threshold: float | None = None
    estimate: float | None = None
    bound: float | None = None
    audit: list[int] = field(default_factory=list)
    seed: int = 0
    capped: bool = False
    reason: str = ""
    labels: list[dict] = field(default_factory=list)

    def describe(self) -> str:
        """What the plan does, in a sentence or two."""
        if not self.chosen:
            return f"autopilot labels nothing: {self.reason}"
        cap = f" (capped at --max-share {self.max_share:g})" if self.capped else ""
        return (f"{len(self.chosen)} of {self.pool} undecided items{cap} at {self.version}'s confidence ≥ "
                f"{self.threshold:.4f}: expected accuracy {self.estimate:.3f}, at least {self.bound:.3f} at "
                f"{LEVEL:.0%} confidence (target {self.target:g}); {len(self.audit)} of them audited blind first")


def _refreshed_calibration(store: Store, handle: ProjectHandle, plugins: Plugins) -> tuple[str, Calibration]:
    """The champion's name and item calibration, refitted first when the evaluation split has grown since."""
    project_name = handle.name
    with store.transaction() as session:
        project = get_project(session, project_name)
        reigning = champion(session, project.id)
        if reigning is None:
            raise BertannoError(f"project {project_name!r} has no champion model yet; train one: "
                                f"bertanno train {project_name}")
        evaluation = training_data(session, project.id, handle.task)[1]
        name, directory, stored = reigning.name, reigning.directory, item_calibration(reigning.calibration)
    if not evaluation:
        raise BertannoError("autopilot needs the evaluation split to know how often the model is right, and it is "
                            "empty: decide more items (or import gold with --split eval), then train")
    if stored is None or stored.evaluation_items != len(evaluation):
        rescore(store, project, name, directory, evaluation, plugins, handle.task)
        with store.transaction() as session:
            stored = item_calibration(champion(session, project.id).calibration)
    return name, stored


def plan_autopilot(store: Store, project_name: str, target: float = 0.97, max_share: float = 0.8,
                   audit: int | None = None, seed: int = 0, plugins: Plugins | None = None,
                   progress=None) -> AutopilotPlan:
    """Choose what autopilot would label (module docstring, steps 1 and 3), predicting first the undecided items
    the champion has not predicted (``progress`` as ``pre_annotate`` takes it). Nothing is labelled. Raises
    ``BertannoError`` for a target or share out of range, no champion, an empty evaluation split, or a run still
    being audited."""
    if not 0.5 <= target < 1:
        raise BertannoError(f"--target is the accuracy the auto labels must reach, from 0.5 to under 1; got {target}")
    if not 0 < max_share <= 1:
        raise BertannoError(f"--max-share is the most of the undecided items autopilot may take, over 0 and at most "
                            f"1; got {max_share}")
    if audit is not None and audit < 1:
        raise BertannoError(f"--audit is a number of items, at least 1; got {audit}")
    plugins = plugins or get_plugins()
    handle = open_project(store, project_name, plugins)
    with store.transaction() as session:
        running = runs_q.open_run(session, handle.id)
        if running is not None:
            raise BertannoError(f"autopilot run {running.id} is still being audited; see bertanno autopilot "
                                f"{project_name} --status, or end it with --withdraw")
    version, calibration = _refreshed_calibration(store, handle, plugins)
    pre_annotate(store, project_name, progress=progress, plugins=plugins)
    with store.transaction() as session:
        pool = undecided_predictions(session, handle.id, version)
    plan = AutopilotPlan(project_name, version, target, max_share, calibration.describe(), len(pool), seed=seed)
    if not pool:
        plan.reason = "no undecided item has a prediction of the champion"
        return plan
    confidence = np.array([row[2] for row in pool])
    cut = choose_cut(calibration, confidence, target, max_share, seed)
    if not cut.size:
        plan.reason = cut.reason.replace("the calibration", f"{version}'s calibration")
        return plan
    size = cut.size
    plan.chosen = [row[0] for row in pool[:size]]
    plan.threshold, plan.estimate, plan.bound, plan.capped = cut.threshold, cut.estimate, cut.bound, cut.capped
    wanted = min(audit, size) if audit is not None else audit_size(plan.estimate, target, size)
    if wanted < (fewest := smallest_audit(target)):
        if audit is not None and audit < fewest:
            raise BertannoError(f"an audit of {audit} item(s) cannot show {target:g} even if every label is right: "
                                f"it needs at least {fewest}; leave --audit out or give at least {fewest}")
        plan.chosen = []
        plan.reason = (f"the {size} item(s) {version} is sure enough of are too few to audit: even all right, "
                       f"{size} cannot show {target:g} (at least {fewest} are needed)")
        return plan
    plan.audit = sorted(random.Random(seed).sample(plan.chosen, wanted))
    audited = set(plan.audit)
    probability = calibration.probability(confidence[:size])
    plan.labels = [{"item_id": item_id, "payload": payload, "confidence": float(confidence),
                    "probability": float(p), "audit": item_id in audited}
                   for (item_id, payload, confidence), p in zip(pool[:size], probability)]
    return plan


def start_autopilot(store: Store, plan: AutopilotPlan) -> int:
    """Record a plan's auto labels and audit sample as a run being audited; returns the run's id. Raises
    ``BertannoError`` for a plan that labels nothing, or when another run started meanwhile. Items decided
    since the plan was made are left out."""
    if not plan.chosen:
        raise BertannoError(plan.describe())
    with store.transaction() as session:
        project = get_project(session, plan.project)
        if runs_q.open_run(session, project.id) is not None:
            raise BertannoError("another autopilot run started meanwhile; see bertanno autopilot "
                                f"{plan.project} --status")
        still = set(project_item_ids(session, project.id, undecided=True))
        labels = [label for label in plan.labels if label["item_id"] in still]
        details = {"max_share": plan.max_share, "audit_size": sum(label["audit"] for label in labels),
                   "seed": plan.seed, "level": LEVEL, "pool": plan.pool, "calibration": plan.calibration}
        run = runs_q.add_run(session, project.id, plan.version, plan.target, plan.threshold, plan.estimate,
                             plan.bound, details, labels)
        return run.id


def check_audit(store: Store, project_name: str) -> AuditState | None:
    """Look at the running audit of the project and end it when the evidence says so (module docstring, step 3);
    returns its state (``None`` when no run is being audited). Called after every decision on an audit item."""
    with store.transaction() as session:
        project = get_project(session, project_name)
        run = runs_q.open_run(session, project.id)
        if run is None:
            return None
        state = audit_state(session, run)
        low, high = state.interval
        verdict = audit_verdict(state.right, state.audited, state.size, run.target)
        if verdict == "withdrawn" and state.audited < state.size:
            left = state.size - state.audited
            note = (f"withdrawn early: {state.right} of {state.audited} audited label(s) right; even if all {left} "
                    f"left are, the sample's 95 % interval would reach under the target {run.target:g}; its items "
                    "are back in the queue")
            runs_q.finish_run(session, run, runs_q.WITHDRAWN, note, withdraw=True)
        elif verdict == "withdrawn":
            note = (f"withdrawn: the audited accuracy's 95 % interval {low:.3f}–{high:.3f} reaches under the target "
                    f"{run.target:g}; its items are back in the queue")
            runs_q.finish_run(session, run, runs_q.WITHDRAWN, note, withdraw=True)
        elif verdict == "passed":
            note = f"passed: the audited accuracy is at least {low:.3f} (95 % interval), the target {run.target:g}"
            runs_q.finish_run(session, run, runs_q.PASSED, note)
        else:
            return state
        return audit_state(session, run)


def withdraw_autopilot(store: Store, project_name: str) -> AuditState:
    """Withdraw the labels of the run being audited by hand (its items back in the queue). Raises
    ``BertannoError`` when no run is being audited."""
    with store.transaction() as session:
        project = get_project(session, project_name)
        run = runs_q.open_run(session, project.id)
        if run is None:
            raise BertannoError(f"no autopilot run of {project_name} is being audited: nothing to withdraw")
        runs_q.finish_run(session, run, runs_q.WITHDRAWN, "withdrawn by hand; its items are back in the queue",
                          withdraw=True)
        return audit_state(session, run)


def autopilot_runs(store: Store, project_name: str) -> list[AuditState]:
    """Every run of the project with its audit, oldest first."""
    with store.transaction() as session:
        project = get_project(session, project_name)
        return [audit_state(session, run) for run in runs_q.runs(session, project.id)]
