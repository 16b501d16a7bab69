"""Settling a team's labels by each annotator's estimated reliability rather than by counting heads: Dawid–Skene
and MACE, fitted by expectation–maximisation over every item the team labelled (numpy only, no SQL).

- **Dawid–Skene**: each annotator has a confusion matrix (the probability of each label given the true one), the
  labels a prior; the true label of each item is a latent class. A. P. Dawid and A. M. Skene, "Maximum
  likelihood estimation of observer error-rates using the EM algorithm", *Journal of the Royal Statistical
  Society, Series C (Applied Statistics)* 28(1):20–28, 1979.
- **MACE** (Multi-Annotator Competence Estimation): each annotator either knows and gives the true label (with
  probability θ, their competence) or "spams" from a label distribution of their own. D. Hovy, T. Berg-
  Kirkpatrick, A. Vaswani and E. Hovy, "Learning Whom to Trust with MACE", *NAACL-HLT* 2013, 1120–1130. Fitted
  here by EM with add-one pseudo-counts (the paper also gives a variational-Bayes fit with priors).

EM finds a local optimum of the likelihood, and with few annotators a start from the votes alone can stay with the
majority (an optimum where a careful annotator outvoted by two careless ones is taken for the careless one). So
each method starts from the votes (the share of each label on an item) and once more from each annotator's own
labels leaning on the votes, and keeps the fit of the highest likelihood. With equally reliable annotators they
agree with majority vote; they differ where a reliable annotator is outvoted by unreliable ones, and on ties.
``aggregate`` returns each item's posterior over the labels and each annotator's competence: the probability
that their label is the true one (Dawid–Skene: the prior-weighted diagonal of the confusion matrix; MACE: θ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

METHODS = ("dawid-skene", "mace")
ITERATIONS = 200
TOLERANCE = 1e-7
SMOOTHING = 0.01


@dataclass
class Aggregate:
    """``posteriors[i]``: item i's probability of each of ``labels``; ``competence[name]``: the probability
    that annotator ``name``'s label is the true one; ``iterations`` of EM until the posteriors moved less than
    ``TOLERANCE``."""

    labels: list[Hashable]
    posteriors: np.ndarray
    competence: dict[str, float]
    iterations: int

    def best(self, item: int) -> tuple[Hashable, float]:
        """Item ``item``'s most probable label and its probability (the first of equals, in ``labels`` order)."""
        index = int(np.argmax(self.posteriors[item]))
        return self.labels[index], float(self.posteriors[item, index])


def aggregate(items: Sequence[Sequence[tuple[str, Hashable]]], method: str = "dawid-skene") -> Aggregate:
    """Fit ``method`` (``dawid-skene`` or ``mace``) to ``items``: for each item, the ``(annotator, label)`` pairs
    given (one per annotator; an item with none is allowed and gets the prior). Labels are any hashable values,
    ordered by first appearance. Raises ``ValueError`` for an unknown method."""
    if method not in METHODS:
        raise ValueError(f"the aggregation method is one of {', '.join(METHODS)}, got {method!r}")
    labels = list(dict.fromkeys(label for item in items for _, label in item))
    people = list(dict.fromkeys(who for item in items for who, _ in item))
    if not labels:
        return Aggregate([], np.zeros((len(items), 0)), {}, 0)
    index, person = {label: k for k, label in enumerate(labels)}, {who: j for j, who in enumerate(people)}
    # counts[i, j, l]: whether annotator j gave item i label l
    counts = np.zeros((len(items), len(people), len(labels)))
    for i, item in enumerate(items):
        for who, label in item:
            counts[i, person[who], index[label]] = 1.0
    fit = _dawid_skene if method == "dawid-skene" else _mace
    best = None
    for start in _starts(counts):
        fitted = fit(counts, start)
        if best is None or fitted[3] > best[3] + 1e-9:
            best = fitted
    posteriors, competence, iterations, _ = best
    return Aggregate(labels, posteriors, dict(zip(people, competence.tolist())), iterations)


def _starts(counts: np.ndarray) -> list[np.ndarray]:
    """The posteriors EM starts from: the votes, then for each annotator their own labels (where they gave one)
    weighed 2:1 against the votes."""
    votes = counts.sum(axis=1)
    given = votes.sum(axis=1, keepdims=True)
    uniform = 1.0 / counts.shape[2]
    shares = np.where(given > 0, votes / np.maximum(given, 1), uniform)
    starts = [shares]
    for person in range(counts.shape[1]):
        own = counts[:, person, :]
        starts.append(np.where(own.sum(axis=1, keepdims=True) > 0, (2 * own + shares) / 3, shares))
    return starts


def _normalised(log_scores: np.ndarray) -> np.ndarray:
    scores = np.exp(log_scores - log_scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


def _dawid_skene(counts: np.ndarray, posteriors: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, float]:
    """EM of Dawid and Skene (1979): M-step the class prior and each annotator's confusion matrix from the
    posteriors (smoothed by ``SMOOTHING``), E-step the posteriors from them. Returns the posteriors, each
    annotator's competence, the iterations and the log-likelihood of the labels."""
    items, people, classes = counts.shape
    for iteration in range(1, ITERATIONS + 1):
        prior = (posteriors.sum(axis=0) + SMOOTHING) / (items + classes * SMOOTHING)
        # confusion[j, k, l] = P(annotator j says l | true k)
        confusion = np.einsum("ik,ijl->jkl", posteriors, counts) + SMOOTHING
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_scores = np.log(prior)[None, :] + np.einsum("ijl,jkl->ik", counts, np.log(confusion))
        updated = _normalised(log_scores)
        moved = np.abs(updated - posteriors).max()
        posteriors = updated
        if moved < TOLERANCE:
            break
    competence = np.einsum("k,jkk->j", prior, confusion)
    return posteriors, competence, iteration, _log_likelihood(log_scores)


def _log_likelihood(log_scores: np.ndarray) -> float:
    """Σ over items of log Σ over labels of exp(``log_scores``): the data's log-likelihood under the fit."""
    top = log_scores.max(axis=1, keepdims=True)
    return float((top[:, 0] + np.log(np.exp(log_scores - top).sum(axis=1))).sum())


def _mace(counts: np.ndarray, posteriors: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, float]:
    """EM of MACE (Hovy et al. 2013) under a uniform prior over the true labels: P(annotator j says l | true k)
    = θ_j [l = k] + (1 - θ_j) ξ_j[l]; the M-step takes θ_j from the expected share of j's labels that were not
    spam, ξ_j from the expected spam, each with add-one pseudo-counts."""
    items, people, classes = counts.shape
    theta = np.full(people, 0.8)
    spam = np.full((people, classes), 1.0 / classes)
    eye = np.eye(classes)
    for iteration in range(1, ITERATIONS + 1):
        # M-step from the posteriors: for each (item, annotator, true k) the chance that the label was known
        given = counts.sum(axis=2)  # [i, j]: 1 when j labelled i
        said = np.einsum("ijl,kl->ijk", counts, eye)  # [i, j, k]: j's label on i is k
        known = theta[None, :, None] * said
        spammed = (1 - theta)[None, :, None] * np.einsum("ijl,jl->ij", counts, spam)[:, :, None]
        share_known = np.where(given[:, :, None] > 0, known / np.maximum(known + spammed, 1e-300), 0.0)
        expected_known = np.einsum("ik,ijk->j", posteriors, share_known)
        theta = (expected_known + 1.0) / (given.sum(axis=0) + 2.0)
        spam_mass = np.einsum("ik,ijk,ijl->jl", posteriors, 1.0 - share_known, counts) + 1.0
        spam = spam_mass / spam_mass.sum(axis=1, keepdims=True)
        # E-step: P(label l | true k) for each annotator, then the posteriors
        likelihood = theta[:, None, None] * eye[None] + (1 - theta)[:, None, None] * spam[:, None, :]
        log_scores = np.einsum("ijl,jkl->ik", counts, np.log(likelihood)) - np.log(classes)
        updated = _normalised(log_scores)
        moved = np.abs(updated - posteriors).max()
        posteriors = updated
        if moved < TOLERANCE:
            break
    return posteriors, theta, iteration, _log_likelihood(log_scores)
