"""A forecast of what the rest costs: the project's learning curve, fitted to the gate's history.

Each training run scored its candidate on the evaluation split at the number of decisions it trained on. Those
points, for the champion's model family, are fitted by an inverse power law, ``score(n) = a - b * n ** -c``
(the form that extrapolates learning curves best among those compared by Figueroa et al. 2012, "Predicting
sample size required for classification performance", *BMC Medical Informatics and Decision Making* 12:8),
with ``a`` at most 1 (scipy's ``curve_fit``). Its uncertainty comes from refitting on the points resampled with
replacement (a bootstrap of 200): the decisions a target score needs are given with the 2.5th and 97.5th
percentiles over the refits (a refit whose ceiling ``a`` stays under the target never reaches it: ``inf``).
The assumptions are printed with it: the same family, the same kind of items, and the split's score as the
truth.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

MIN_POINTS = 3
RESAMPLES = 200


def _curve(n, a, b, c):
    return a - b * np.power(n, -c)


@dataclass
class LearningCurve:
    """A fitted learning curve: ``a`` (the ceiling), ``b``, ``c``; the ``points`` it was fitted on
    (``[decisions, score]``), and the bootstrap refits' parameters (``refits``, ``[a, b, c]`` each)."""

    a: float
    b: float
    c: float
    points: list = field(default_factory=list)
    refits: list = field(default_factory=list)

    def score(self, decisions: float | np.ndarray) -> float | np.ndarray:
        """The fitted score at ``decisions`` (one or many)."""
        return _curve(np.asarray(decisions, dtype=float), self.a, self.b, self.c)

    def score_interval(self, decisions: float) -> tuple[float, float]:
        """The 95 % interval of the score at ``decisions`` over the refits."""
        scores = [_curve(decisions, *refit) for refit in self.refits] or [float(self.score(decisions))]
        return float(np.percentile(scores, 2.5)), float(np.percentile(scores, 97.5))

    def decisions_for(self, target: float) -> tuple[float, float, float]:
        """The decisions the fitted curve needs to reach ``target``, and its 95 % interval over the refits
        (``inf`` where a curve's ceiling stays at or under the target)."""
        needed = [_needed(target, *refit) for refit in self.refits] or [_needed(target, self.a, self.b, self.c)]
        return (_needed(target, self.a, self.b, self.c), float(np.percentile(needed, 2.5, method="nearest")),
                float(np.percentile(needed, 97.5, method="nearest")))  # nearest: never inf − inf


def _needed(target: float, a: float, b: float, c: float) -> float:
    if a <= target or b <= 0 or c <= 0:
        return math.inf if a <= target else 0.0
    return float(((a - target) / b) ** (-1 / c))


def _fit(sizes: np.ndarray, scores: np.ndarray) -> tuple[float, float, float] | None:
    from scipy.optimize import curve_fit

    start = (min(1.0, float(scores.max()) + 0.02), max(0.1, float(scores.max() - scores.min()) * 3), 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found, _ = curve_fit(_curve, sizes, scores, p0=start, bounds=([0.0, 0.0, 0.01], [1.0, 100.0, 3.0]),
                                 maxfev=5000)
    except (RuntimeError, ValueError):
        return None
    return tuple(float(v) for v in found)


def fit_learning_curve(decisions: Sequence[float], scores: Sequence[float], resamples: int = RESAMPLES,
                       seed: int = 0) -> LearningCurve | None:
    """Fit ``score = a - b * decisions ** -c`` to the points and bootstrap it (module docstring); ``None`` with
    fewer than ``MIN_POINTS`` different sizes, or when the fit fails. Raises ``ValueError`` when the two
    sequences differ in length."""
    sizes, values = np.asarray(decisions, dtype=float), np.asarray(scores, dtype=float)
    if sizes.shape != values.shape:
        raise ValueError(f"{len(sizes)} sizes and {len(values)} scores")
    if len(set(sizes.tolist())) < MIN_POINTS or (sizes <= 0).any():
        return None
    found = _fit(sizes, values)
    if found is None:
        return None
    generator = np.random.default_rng(seed)
    refits = []
    for _ in range(resamples):
        chosen = generator.integers(0, len(sizes), len(sizes))
        if len(set(sizes[chosen].tolist())) < MIN_POINTS:
            continue
        refit = _fit(sizes[chosen], values[chosen])
        if refit is not None:
            refits.append(list(refit))
    return LearningCurve(*found, points=[[float(n), float(s)] for n, s in zip(sizes, values)], refits=refits)
