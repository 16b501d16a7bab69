"""What an autopilot run's audit says (``app.autopilot`` starts and ends runs; ``stats`` reads them here).

The audit sample's items are decided by people without seeing the auto label; each decision agrees with the auto
label or not (a reject counts as disagreeing: the item was not one to label), and the share that agrees, with its
Wilson 95 % interval (Wilson 1927), estimates the accuracy of the run's auto labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bertanno.core.calibration import Calibration, prefix_bounds
from bertanno.core.stats import wilson_interval
from bertanno.plugins.task import payload_category
from bertanno.store import autopilot as runs_q
from bertanno.store.annotations import standing_by_item

LEVEL = 0.95
"""The confidence of the threshold's lower bound (one-sided)."""
CUTS = 400
"""At most this many cuts are tried (between different confidences, evenly over the pool)."""
Z_AUDIT = 1.96
"""The audit's interval: Wilson, two-sided 95 %."""
MAX_AUDIT = 2000
POWER = 0.8
"""The chance an audit passes a run whose labels are as good as the calibration expects (``audit_size``)."""


@dataclass
class Cut:
    """Where autopilot cuts a pool sorted most confident first: the first ``size`` items (0: none; ``reason`` says
    why), the lowest confidence among them (``threshold``), their expected accuracy (``estimate``) and its lower
    ``bound``, and whether ``max_share`` stopped it (``capped``)."""

    size: int = 0
    threshold: float | None = None
    estimate: float | None = None
    bound: float | None = None
    capped: bool = False
    reason: str = ""


def choose_cut(calibration: Calibration, confidence: np.ndarray, target: float, max_share: float,
               seed: int = 0) -> Cut:
    """The largest most-confident share of a pool (``confidence``: raw, sorted high to low), at most ``max_share``
    of it, whose expected accuracy's one-sided ``LEVEL`` lower bound (``core.calibration.prefix_bounds``) reaches
    ``target``. Cuts fall between different confidences only (at most ``CUTS`` of them tried, evenly spread),
    so every item at or above the threshold is in."""
    if not len(confidence):
        return Cut(reason="no undecided item has a prediction of the champion")
    cuts = [k for k in range(1, len(confidence) + 1) if k == len(confidence) or confidence[k] < confidence[k - 1]]
    allowed = [k for k in cuts if k <= max_share * len(confidence)]
    if not allowed:
        return Cut(capped=True, reason=f"--max-share {max_share:g} of {len(confidence)} items is less than the items "
                                       "tied at the highest confidence")
    tried = allowed if len(allowed) <= CUTS else [allowed[round(i)] for i in np.linspace(0, len(allowed) - 1, CUTS)]
    estimates, bounds = prefix_bounds(calibration, confidence, tried, LEVEL, seed=seed)
    passing = [i for i, bound in enumerate(bounds) if bound >= target]
    if not passing:
        best = int(np.argmax(bounds))
        return Cut(reason=f"the most confident {tried[best]} item(s) are right {estimates[best]:.3f} of the time by "
                          f"the calibration, but only at least {bounds[best]:.3f} at {LEVEL:.0%} confidence, under "
                          f"the target {target:g}; more evaluation items (or a better model) narrow the bound")
    chosen = passing[-1]
    size = tried[chosen]
    return Cut(size, float(confidence[size - 1]), float(estimates[chosen]), float(bounds[chosen]),
               len(allowed) < len(cuts) and size == allowed[-1])


def audit_power(size: int, accuracy: float, target: float) -> float:
    """The chance that an audit of ``size`` items, of labels right with probability ``accuracy``, ends with its
    Wilson 95 % interval's lower end at ``target`` or above (the run passes): the binomial probability of at least
    the fewest right answers that show it."""
    from scipy.stats import binom

    low, high = 0, size + 1  # the fewest right of ``size`` whose lower end reaches the target (size + 1: none)
    while low < high:
        middle = (low + high) // 2
        if wilson_interval(middle, size, Z_AUDIT)[0] >= target:
            high = middle
        else:
            low = middle + 1
    return 0.0 if low > size else float(binom.sf(low - 1, size, accuracy))


def audit_verdict(right: int, audited: int, size: int, target: float) -> str:
    """Where an audit of ``size`` items stands after ``audited`` decisions, ``right`` of them agreeing with the auto
    label: ``withdrawn`` as soon as the run can no longer pass (even if every item left agrees, the Wilson 95 %
    interval of the whole sample would have its lower end under ``target``), ``passed`` once the sample is decided
    and its interval's lower end is at ``target`` or above, else ``auditing``.

    Withdrawing early only when the end is already certain keeps the audit one test at its stated level, however
    often it is looked at: a rule that withdrew whenever the interval so far lay below the target would throw out
    a run right 96 % of the time whose first audited label happened to be wrong (0 of 1 has the interval
    0–0.79). ``audit_power`` is therefore exact for it too. Raises ``ValueError`` for counts that do not fit."""
    if not 0 <= right <= audited <= size:
        raise ValueError(f"an audit of {size} item(s) cannot have {audited} decided with {right} right")
    if wilson_interval(right + size - audited, size, Z_AUDIT)[0] < target:
        return "withdrawn"
    return "passed" if audited == size else "auditing"


def smallest_audit(target: float) -> int:
    """The fewest audit items that can show ``target`` at all: ``n`` right of ``n`` has the Wilson lower end
    ``n / (n + z²)``, so ``n ≥ z² · target / (1 − target)`` (16 for 0.8, 73 for 0.95, 125 for 0.97). A smaller
    audit withdraws its run whatever people decide."""
    size = max(1, int(np.ceil(Z_AUDIT ** 2 * target / (1 - target))) - 1)
    while wilson_interval(size, size, Z_AUDIT)[0] < target:
        size += 1
    return size


def audit_size(estimate: float, target: float, available: int) -> int:
    """The smallest audit that, if the labels are right as often as ``estimate`` says, passes with probability
    ``POWER`` (``audit_power``): at most ``available`` and ``MAX_AUDIT`` items, all of those when even that
    does not suffice. An audit sized to pass only at the estimate would fail half the runs that are as good as
    claimed."""
    ceiling = min(available, MAX_AUDIT)
    for size in range(10, ceiling + 1):
        if audit_power(size, estimate, target) >= POWER:
            return size
    return ceiling


@dataclass
class AuditState:
    """Where a run's audit stands: ``labelled`` items it took out of the queue (its audit sample aside), ``audited``
    of ``size`` sample items decided by people, ``right`` of them
    agreeing with the auto label, the Wilson 95 % ``interval`` of the auto labels' accuracy, and the run's
    ``status`` (``auditing``, ``passed``, ``withdrawn``) with the ``note`` it ended with."""

    run: int
    version: str
    target: float
    threshold: float
    estimate: float
    bound: float
    labelled: int
    size: int
    audited: int
    right: int
    interval: tuple[float, float]
    status: str
    note: str = ""

    @property
    def accuracy(self) -> float | None:
        return self.right / self.audited if self.audited else None

    def to_json(self) -> dict:
        """Every field, and the audited ``accuracy`` (``None`` before the first audited item)."""
        return {**asdict(self), "accuracy": self.accuracy}

    def describe(self) -> str:
        """The run in a line: its labels, the audit so far, the verdict."""
        audit = (f"audit {self.audited} of {self.size} decided" if not self.audited else
                 f"audit {self.audited} of {self.size}: {self.right} right ({self.accuracy:.1%}, 95 % interval "
                 f"{self.interval[0]:.3f}–{self.interval[1]:.3f})")
        state = {"auditing": "provisional while the audit runs", "passed": "passed",
                 "withdrawn": "withdrawn"}[self.status]
        return (f"run {self.run} ({self.version}, confidence ≥ {self.threshold:.4f}, target {self.target:g}): "
                f"{self.labelled} auto label(s), {state}; {audit}" + (f"; {self.note}" if self.note else ""))


def audit_state(session, run) -> AuditState:
    """Compare the run's audit sample with people's standing decisions on those items (the latest one each)."""
    sample = {label.item_id: label for label in runs_q.run_labels(session, run.id, audit=True)}
    decisions = standing_by_item(session, run.project_id, list(sample))
    audited = right = 0
    for item_id, label in sample.items():
        made = [a for a in decisions.get(item_id, []) if a.source in ("human", "review")]
        if not made:
            continue
        audited += 1
        latest = made[-1]
        right += latest.decision != "reject" and payload_category(latest.payload) == payload_category(label.payload)
    return AuditState(run.id, run.version, run.target, run.threshold, run.estimate, run.bound,
                      runs_q.count_run_labels(session, run.id), len(sample),
                      audited, right, wilson_interval(right, audited, Z_AUDIT), run.status,
                      (run.details or {}).get("note", ""))


