"""The promotion gate: is a candidate model worse than the champion on the same evaluation split?

Both models' predictions on the same items are compared with a paired bootstrap (Koehn, 2004,
"Statistical Significance Tests for Machine Translation Evaluation"; Berg-Kirkpatrick et al., 2012): the
items are resampled with replacement, the task's headline metric is computed for both models on each
resample, and the 2.5th and 97.5th percentiles of the difference (candidate minus champion) give its 95 %
confidence interval. The metric is the task's own (``task.metrics``), so accuracy, entity F1 or a
plugin task's score are all handled the same way.

The decision: the candidate is promoted unless the interval lies entirely below ``-tolerance`` (it is
confidently worse by more than the tolerance). Below ``min_items`` evaluation items the split is too small
to test: the point estimates decide against a trained champion (the candidate is promoted unless worse by
more than the tolerance), a zero-shot champion keeps serving, and the verdict says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from bertanno.plugins.task import Task

RESAMPLES = 1000
CONFIDENCE = 0.95
MIN_ITEMS = 50
"""Fewer evaluation items than this and the gate does not refuse a candidate."""


@dataclass
class GateVerdict:
    promote: bool
    reason: str
    metric: str
    candidate: float
    champion: float | None
    delta: float | None
    low: float | None
    high: float | None
    items: int
    resamples: int
    tolerance: float

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for a person: the difference, its interval, the number of items, the decision."""
        if self.champion is None:
            return f"{self.metric} {self.candidate:.4f}: {self.reason}"
        interval = f" (95% CI {self.low:+.4f} … {self.high:+.4f})" if self.low is not None else ""
        return (f"{self.metric}: candidate {self.candidate:.4f}, champion {self.champion:.4f}, difference "
                f"{self.delta:+.4f}{interval} on {self.items} evaluation items: {self.reason}")


def headline_name(task: Task, gold: Sequence[Any]) -> str:
    return next(iter(task.metrics(gold[:1], gold[:1])))


def paired_bootstrap(task: Task, gold: Sequence[Any], candidate: Sequence[Any], champion: Sequence[Any],
                     resamples: int = RESAMPLES, seed: int = 0,
                     confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """The headline metric's difference (candidate minus champion) on all items, and its ``confidence``
    interval from ``resamples`` paired resamples of the items. All three sequences are payloads, one per
    evaluation item, in the same order."""
    def headline(indices, predicted):
        return next(iter(task.metrics([gold[i] for i in indices], [predicted[i] for i in indices]).values()))

    everything = range(len(gold))
    delta = headline(everything, candidate) - headline(everything, champion)
    generator = np.random.default_rng(seed)
    samples = generator.integers(0, len(gold), (resamples, len(gold)))
    fast = _statistics(task, gold, candidate, champion, delta)
    if fast is not None:
        ours, theirs = fast
        differences = task.headline_from(ours[samples].sum(axis=1)) - task.headline_from(theirs[samples].sum(axis=1))
    else:  # a task without item statistics: its metrics on every resample (slower, same result)
        differences = np.array([headline(indices, candidate) - headline(indices, champion) for indices in samples])
    low, high = percentile_interval(differences, confidence)
    return float(delta), low, high


def percentile_interval(resampled: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile-bootstrap interval of a statistic from its resampled values (Efron & Tibshirani 1993,
    ch. 13): the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles, as ``(low, high)``. The one
    place both bootstraps (the gate's paired one, ``bertanno stats``' medians) take their interval."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.asarray(resampled, dtype=float), [tail, 100 - tail])
    return float(low), float(high)


def _statistics(task: Task, gold, candidate, champion, delta: float):
    """Both models' item statistics, if the task has them and they reproduce its headline difference."""
    ours, theirs = task.item_statistics(gold, candidate), task.item_statistics(gold, champion)
    if ours is None or theirs is None:
        return None
    recomputed = float(task.headline_from(ours.sum(axis=0)) - task.headline_from(theirs.sum(axis=0)))
    return (ours, theirs) if abs(recomputed - delta) < 1e-9 else None


def decide(task: Task, gold: Sequence[Any], candidate: Sequence[Any], champion: Sequence[Any] | None,
           tolerance: float = 0.0, min_items: int = MIN_ITEMS, resamples: int = RESAMPLES,
           champion_zero_shot: bool = False) -> GateVerdict:
    """Whether the candidate replaces the champion (``champion`` is ``None`` when there is none yet).

    ``gold``, ``candidate`` and ``champion`` are payloads on the same evaluation items. Below ``min_items``
    the split cannot test: a trained champion is replaced unless the candidate's point estimate is worse by
    more than ``tolerance``; a zero-shot champion (``champion_zero_shot``: a model that ships with its
    package, measured elsewhere on far more data) keeps serving.
    """
    metric = headline_name(task, list(gold)) if gold else "score"
    if not gold:
        return GateVerdict(False, "kept as a candidate: no evaluation items, and a version without a score is never "
                                  "promoted", metric, 0.0, None, None, None, None, 0, 0, tolerance)
    scores = lambda predicted: next(iter(task.metrics(list(gold), list(predicted)).values()))  # noqa: E731
    if champion is None:
        return GateVerdict(True, "no champion yet: promoted", metric, scores(candidate), None, None, None, None,
                           len(gold), 0, tolerance)
    if len(gold) < min_items:
        candidate_score, champion_score = scores(candidate), scores(champion)
        too_few = f"{len(gold)} evaluation items are too few to judge with a test (the gate needs {min_items})"
        if champion_zero_shot:
            promote = False
            reason = f"kept as a candidate: {too_few}, and the zero-shot champion keeps serving until they are enough"
        elif candidate_score >= champion_score - tolerance:
            promote, reason = True, f"promoted: {too_few}; on them it is not worse than the champion"
        else:
            promote, reason = False, f"kept as a candidate: {too_few}; on them it is worse than the champion"
        return GateVerdict(promote, reason, metric, candidate_score, champion_score,
                           candidate_score - champion_score, None, None, len(gold), 0, tolerance)
    delta, low, high = paired_bootstrap(task, list(gold), list(candidate), list(champion), resamples)
    candidate_score, champion_score = scores(candidate), scores(champion)
    if high < -tolerance:
        reason = "kept as a candidate: confidently worse than the champion"
        promote = False
    elif low > 0:
        reason, promote = "promoted: confidently better than the champion", True
    else:
        reason, promote = "promoted: not confidently worse than the champion", True
    return GateVerdict(promote, reason, metric, candidate_score, champion_score, delta, low, high, len(gold),
                       resamples, tolerance)
