"""Calibration: from a model's confidence to the probability that its proposal is right.

A model's confidence (a softmax probability, a CRF's token marginal, an LLM's agreement across samples) is a
score, not a probability: a fine-tuned BERT is typically over-confident (Guo et al. 2017, "On Calibration of
Modern Neural Networks"). A version's calibration map is fitted on the evaluation split, where people's labels
say whether each proposal was right, by one of two methods, chosen by held-out log-loss (5-fold
cross-validation on the split):

- **isotonic** regression (Zadrozny & Elkan 2002): a non-decreasing step function; each step (a block of the
  pool-adjacent-violators fit, scikit-learn's ``IsotonicRegression``) holds ``k`` right of ``m`` units and
  maps to ``(k + 1) / (m + 2)``, the posterior mean under a uniform prior, so that no confidence maps to a
  certain 0 or 1 (steps that the prior would put below the step under them are pooled with it:
  ``monotone_blocks``);
- **Platt** scaling (Platt 1999): a logistic regression on the confidence's log-odds.

Units are items (is the whole proposal right?) or, for a task that scores its parts, those parts (a NER
task's proposed spans: is this span in the gold?), as ``Task.confidence_units`` gives them. The reliability is
the expected calibration error (ECE: the mean gap between confidence and accuracy over ten equal-width
bins, weighted by their counts; Naeini et al. 2015), before calibration and after it, the latter measured
out of fold so that a map is never judged on the units it was fitted on.

``accuracy_bound`` turns the isotonic blocks into a lower confidence bound on the accuracy of a set of new
items: each block's accuracy drawn from its Beta posterior, the set's mean accuracy as the draws weight it,
its lower percentile taken. ``autopilot`` chooses its threshold with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

METHODS = ("isotonic", "platt")
FOLDS = 5
BINS = 10
MIN_UNITS = 20
"""Fewer units than this and no map is fitted: the confidence is kept as it is (method ``identity``)."""
EPSILON = 1e-6


@dataclass
class Calibration:
    """A fitted calibration map and its reliability.

    ``method``: ``isotonic``, ``platt`` or ``identity`` (too few units, or one outcome only); ``level``:
    ``item`` or the task's unit (``span``); ``units``: how many it was fitted on; ``blocks``: the isotonic
    steps, each ``[low, high, right, units]`` over the raw confidence (kept whatever the method: the bound
    uses them); ``platt``: ``[slope, intercept]`` on the log-odds; ``log_loss``: each method's held-out
    log-loss; ``ece_raw`` / ``ece``: the expected calibration error before and after (out of fold);
    ``reliability``: ten bins ``[count, mean confidence, accuracy]`` of the raw confidence, for a plot;
    ``evaluation_items``: the size of the split it was fitted on (a grown split is refitted)."""

    method: str
    level: str
    units: int
    blocks: list = field(default_factory=list)
    platt: list | None = None
    log_loss: dict = field(default_factory=dict)
    ece_raw: float | None = None
    ece: float | None = None
    reliability: list = field(default_factory=list)
    evaluation_items: int = 0

    def probability(self, confidence: Sequence[float] | np.ndarray) -> np.ndarray:
        """The calibrated probability of being right for each raw ``confidence`` (0..1), shape as given."""
        values = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
        if self.method == "platt" and self.platt:
            return _sigmoid(self.platt[0] * _logit(values) + self.platt[1])
        if self.method == "isotonic" and self.blocks:
            return block_values(self.blocks)[block_of(self.blocks, values)]
        return values

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> "Calibration | None":
        return cls(**data) if data else None

    def describe(self) -> str:
        """One line for a person: the method, the ECE before and after, the units."""
        if self.method == "identity":
            return f"not calibrated ({self.units} {self.level} unit(s); a map needs {MIN_UNITS} with both outcomes)"
        return (f"{self.method}, ECE {self.ece:.3f} (raw {self.ece_raw:.3f}) on {self.units} {self.level} "
                "unit(s) of the evaluation split")


def _logit(values: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def block_values(blocks: Sequence[Sequence[float]]) -> np.ndarray:
    """Each isotonic block's probability: ``(right + 1) / (units + 2)``."""
    array = np.asarray(blocks, dtype=float).reshape(-1, 4)
    return (array[:, 2] + 1) / (array[:, 3] + 2)


def block_of(blocks: Sequence[Sequence[float]], confidence: np.ndarray) -> np.ndarray:
    """The index of the block each raw confidence falls in: the last block whose low edge is at most it (the
    first block for a confidence below every block)."""
    lows = np.asarray([b[0] for b in blocks], dtype=float)
    return np.clip(np.searchsorted(lows, np.asarray(confidence, dtype=float), side="right") - 1, 0, len(lows) - 1)


def isotonic_blocks(confidence: np.ndarray, right: np.ndarray) -> list[list[float]]:
    """The pool-adjacent-violators blocks of ``right`` (0/1) against ``confidence``, in increasing order:
    ``[low, high, right, units]`` each (scikit-learn's ``IsotonicRegression``; tied confidences share a block),
    then pooled again wherever a block's ``(right + 1) / (units + 2)`` would fall below the block under it
    (``monotone_blocks``)."""
    from sklearn.isotonic import IsotonicRegression

    order = np.argsort(confidence, kind="stable")
    x, y = confidence[order], right[order].astype(float)
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y).predict(x)
    blocks: list[list[float]] = []
    start = 0
    for index in range(1, len(x) + 1):
        if index == len(x) or not np.isclose(fitted[index], fitted[start]):
            blocks.append([float(x[start]), float(x[index - 1]), float(y[start:index].sum()), float(index - start)])
            start = index
    return monotone_blocks(blocks)


def monotone_blocks(blocks: Sequence[Sequence[float]]) -> list[list[float]]:
    """Adjacent blocks (``[low, high, right, units]``, increasing confidence) pooled until their posterior means
    ``(right + 1) / (units + 2)`` never fall as the confidence rises. Pool-adjacent-violators makes the raw shares
    non-decreasing, but the prior pulls a small block harder: a top block of 5 units all right (0.857) sat above
    one of 68 right of 71 (0.945) in a calibration of the autopilot benchmark, so the most confident items were
    estimated and bounded (its Beta(6, 1) posterior: 0.61 at 95 %) below less confident ones, and every cut that
    held them fell short. Pooling the two (73 of 76: 0.949) keeps the map a step function that rises."""
    pooled: list[list[float]] = []
    for block in blocks:
        pooled.append([float(value) for value in block])
        while len(pooled) > 1 and (pooled[-1][2] + 1) / (pooled[-1][3] + 2) < (pooled[-2][2] + 1) / (pooled[-2][3] + 2):
            upper, lower = pooled.pop(), pooled.pop()
            pooled.append([lower[0], upper[1], lower[2] + upper[2], lower[3] + upper[3]])
    return pooled


def _platt(confidence: np.ndarray, right: np.ndarray) -> list[float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4).fit(_logit(confidence).reshape(-1, 1), right.astype(int))
    return [float(model.coef_[0, 0]), float(model.intercept_[0])]


def _fitted(method: str, confidence: np.ndarray, right: np.ndarray, level: str) -> Calibration:
    blocks = isotonic_blocks(confidence, right)
    return Calibration(method, level, len(confidence), blocks=blocks,
                       platt=_platt(confidence, right) if method == "platt" else None)


def log_loss(probability: np.ndarray, right: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of the outcomes ``right`` (0/1) under ``probability``."""
    p = np.clip(probability, EPSILON, 1 - EPSILON)
    return float(-np.mean(right * np.log(p) + (1 - right) * np.log(1 - p)))


def reliability_bins(probability: np.ndarray, right: np.ndarray, bins: int = BINS) -> list[list[float]]:
    """``bins`` equal-width bins over 0..1: ``[count, mean probability, accuracy]`` each (zeros when empty)."""
    index = np.clip((np.asarray(probability) * bins).astype(int), 0, bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        count = int(chosen.sum())
        rows.append([count, float(probability[chosen].mean()) if count else 0.0,
                     float(right[chosen].mean()) if count else 0.0])
    return rows


def expected_calibration_error(probability: Sequence[float], right: Sequence[bool], bins: int = BINS) -> float:
    """ECE: the count-weighted mean of |mean probability − accuracy| over ``bins`` equal-width bins (Naeini et
    al. 2015; Guo et al. 2017); 0.0 for no units."""
    p, y = np.asarray(probability, dtype=float), np.asarray(right, dtype=float)
    if not len(p):
        return 0.0
    return float(sum(count * abs(mean - accuracy) for count, mean, accuracy in reliability_bins(p, y, bins)) / len(p))


def fit_calibration(confidence: Sequence[float], right: Sequence[bool], level: str = "item",
                    evaluation_items: int = 0, seed: int = 0) -> Calibration:
    """Fit the calibration map of ``confidence`` (raw, 0..1, one per unit) against ``right`` (whether each unit
    was right), choosing isotonic or Platt by 5-fold held-out log-loss; ECE before and (out of fold) after.
    Fewer than ``MIN_UNITS`` units, or only one outcome: the ``identity`` map, its ECE measured as it is.
    Raises ``ValueError`` when the two sequences differ in length."""
    from sklearn.model_selection import StratifiedKFold

    x, y = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0), np.asarray(right, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"{len(x)} confidences and {len(y)} outcomes")
    raw = expected_calibration_error(x, y)
    bins = reliability_bins(x, y) if len(x) else []
    minority = int(min(y.sum(), len(y) - y.sum())) if len(y) else 0
    if len(x) < MIN_UNITS or minority < 2:
        blocks = isotonic_blocks(x, y) if len(x) else []
        return Calibration("identity", level, len(x), blocks=blocks, ece_raw=raw, ece=raw, reliability=bins,
                           evaluation_items=evaluation_items)
    folds = StratifiedKFold(n_splits=min(FOLDS, minority), shuffle=True, random_state=seed)
    held_out = {method: np.zeros(len(x)) for method in METHODS}
    for fit_index, test_index in folds.split(x.reshape(-1, 1), y.astype(int)):
        for method in METHODS:
            fitted = _fitted(method, x[fit_index], y[fit_index], level)
            held_out[method][test_index] = fitted.probability(x[test_index])
    losses = {method: log_loss(held_out[method], y) for method in METHODS}
    chosen = min(METHODS, key=lambda method: (losses[method], method))
    calibration = _fitted(chosen, x, y, level)
    calibration.log_loss = {**losses, "identity": log_loss(x, y)}
    calibration.ece_raw, calibration.ece = raw, expected_calibration_error(held_out[chosen], y)
    calibration.reliability, calibration.evaluation_items = bins, evaluation_items
    return calibration


def accuracy_bound(calibration: Calibration, confidence: Sequence[float], level: float = 0.95, draws: int = 4000,
                   seed: int = 0) -> tuple[float, float]:
    """The expected accuracy of proposals with these raw confidences (new items, not those it was fitted on),
    and a one-sided lower bound at ``level``: each isotonic block's accuracy drawn ``draws`` times from its Beta
    posterior (``Beta(right + 1, wrong + 1)``, a uniform prior), the items' mean accuracy computed for each
    draw as the blocks they fall in weight it, its ``1 - level`` quantile taken. A block of 60 units all right
    bounds its items at 0.952 (the Clopper–Pearson bound for 60 of 60 is 0.951), so a small split cannot
    claim a high accuracy. ``(nan, nan)`` for no confidences or a map without blocks."""
    values = np.asarray(confidence, dtype=float)
    if not len(values) or not calibration.blocks:
        return float("nan"), float("nan")
    estimate, bound = prefix_bounds(calibration, values, [len(values)], level, draws, seed)
    return float(estimate[0]), float(bound[0])


def calibrate_predictions(task, gold: Sequence, predictions: Sequence) -> dict:
    """A version's calibration maps from its ``predictions`` (``Prediction``, one per evaluation item, as
    ``engine.scored_predictions`` gives them) against the ``gold`` payloads: ``{"item": …}`` (is the whole
    proposal right: the same payload, a list in any order) and, for a task with finer units
    (``Task.confidence_unit``), ``{unit: …}`` too; each a ``Calibration.to_json()``."""
    from bertanno.plugins.task import payload_category

    if len(gold) != len(predictions):
        raise ValueError(f"{len(gold)} gold payloads and {len(predictions)} predictions")
    right = [payload_category(g) == payload_category(p.payload) for g, p in zip(gold, predictions)]
    maps = {"item": fit_calibration([p.confidence for p in predictions], right, "item", len(gold)).to_json()}
    if task.confidence_unit:
        units = [unit for g, p in zip(gold, predictions) for unit in task.confidence_units(g, p)]
        maps[task.confidence_unit] = fit_calibration([c for c, _ in units], [r for _, r in units],
                                                     task.confidence_unit, len(gold)).to_json()
    return maps


def item_calibration(maps: dict | None) -> Calibration | None:
    """The item-level map of a version's stored calibration (``ModelVersion.calibration``), or ``None``."""
    return Calibration.from_json((maps or {}).get("item"))


def prefix_bounds(calibration: Calibration, confidence: Sequence[float], sizes: Sequence[int], level: float = 0.95,
                  draws: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``accuracy_bound`` of the first ``k`` items of ``confidence`` (sorted most confident first) for each ``k`` in
    ``sizes`` (each at least 1), from one set of posterior draws: the expected accuracies and their lower bounds,
    one each per size. Raises ``ValueError`` for a map without blocks."""
    if not calibration.blocks:
        raise ValueError("a calibration without blocks (no evaluation units) bounds nothing")
    blocks = np.asarray(calibration.blocks, dtype=float)
    index = block_of(calibration.blocks, np.asarray(confidence, dtype=float))
    counts = np.zeros((len(index) + 1, len(blocks)))
    counts[np.arange(1, len(index) + 1), index] = 1
    counts = np.cumsum(counts, axis=0)[np.asarray(sizes, dtype=int)]
    weights = counts / counts.sum(axis=1, keepdims=True)
    samples = np.random.default_rng(seed).beta(blocks[:, 2] + 1, blocks[:, 3] - blocks[:, 2] + 1,
                                               size=(draws, len(blocks)))
    return weights @ block_values(calibration.blocks), np.quantile(samples @ weights.T, 1 - level, axis=0)
