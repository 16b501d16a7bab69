"""Optimised variants of a fine-tuned transformer version, for faster inference, each accepted only when an
accuracy gate finds that it predicts as the full-precision model does.

A variant is recorded in the version's ``bertanno.json``: ``optimized`` keeps each variant's gate figures and
speed (accepted or refused), ``variant`` names the one in use. Loading a version (``TransformerFamily.load``,
``bertanno predict``) applies the variant in use unless full precision is asked for (``precision="full"``).

Variants:

- ``int8``: PyTorch dynamic quantisation of every ``nn.Linear`` (int8 weights, activations quantised per batch
  at run time; ``torch.ao.quantization.quantize_dynamic``; Jacob et al., CVPR 2018, for the integer
  arithmetic). The weights on disk stay the version's own: the variant is a recipe applied when the model is
  loaded (about a second for bert-base), so there is no second copy to go stale.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Sequence

from bertanno.core.bundle import ModelBundle
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example

FULL = "full"
VARIANTS = {"int8": "PyTorch dynamic int8 quantisation of the linear layers (weights int8, activations per batch)"}
MIN_AGREEMENT = 0.99
"""The share of labels (NER: of entity spans, ``Task.agreement``) the variant must give as the full model does."""
MAX_LOSS_POINTS = 0.5
"""The most the headline metric may drop, in points (0.5 = half a percentage point of accuracy or F1)."""
MIN_ITEMS = 50
"""Labelled evaluation items the gate needs before it judges a variant."""


def check_variant(variant: str) -> str:
    """``variant`` if it is one this bertanno knows (``VARIANTS`` or ``full``); ``BertannoError`` otherwise."""
    if variant != FULL and variant not in VARIANTS:
        raise BertannoError(f"unknown optimisation {variant!r}: one of {', '.join(VARIANTS)} (or {FULL})")
    return variant


def with_variant(bundle: ModelBundle, variant: str) -> ModelBundle:
    """The bundle with ``variant`` applied to its model (``full``: the bundle itself). Raises ``BertannoError``
    for an unknown variant."""
    check_variant(variant)
    if variant == FULL:
        return bundle
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch announces the move of its quantisation to torchao
        warnings.simplefilter("ignore")
        model = quantize_dynamic(bundle.model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
    return replace(bundle, model=model)


def serving_bundle(bundle: ModelBundle, precision: str | None = None) -> ModelBundle:
    """The bundle as it should serve: the variant its record names as in use, or ``precision`` when given
    (``full`` forces the original). A variant this bertanno does not know falls back to full precision."""
    variant = precision or bundle.metadata.get("variant", FULL)
    if variant != FULL and variant not in VARIANTS:
        return bundle
    return with_variant(bundle, variant)


@dataclass
class GateFigures:
    """One variant against the full model on the same labelled items."""

    variant: str
    items: int
    headline: str
    agreement: float
    full_score: float
    variant_score: float
    loss_points: float
    full_items_per_second: float
    variant_items_per_second: float
    accepted: bool
    reason: str

    def as_record(self) -> dict:
        return asdict(self)


def _timed(bundle: ModelBundle, examples: Sequence[Example]) -> tuple[list, float]:
    from bertanno.core.engine import Predictor

    predictor = Predictor(bundle, device="cpu")
    predictor.predict(examples[:8])  # warm-up: the first batch pays for allocation
    started = time.perf_counter()
    predictions, _ = predictor.predict(examples)
    seconds = time.perf_counter() - started
    return [p.payload for p in predictions], len(examples) / seconds if seconds else 0.0


def gate_variant(bundle: ModelBundle, variant: str, examples: Sequence[Example]) -> GateFigures:
    """Predict labelled ``examples`` with the full model and with ``variant`` (on the CPU, timed), and judge:
    accepted when the variant agrees on at least ``MIN_AGREEMENT`` of the labels (``Task.agreement``) and loses
    at most ``MAX_LOSS_POINTS`` of the headline metric. Raises ``BertannoError`` with fewer than ``MIN_ITEMS``
    labelled examples or an unknown variant."""
    check_variant(variant)
    labelled = [e for e in examples if e.payload is not None]
    if len(labelled) < MIN_ITEMS:
        raise BertannoError(f"the optimisation gate needs at least {MIN_ITEMS} labelled evaluation items, the "
                            f"project has {len(labelled)}: import gold with --split eval, or annotate more")
    task = bundle.task
    gold = [e.payload for e in labelled]
    full_payloads, full_speed = _timed(bundle, labelled)
    variant_payloads, variant_speed = _timed(with_variant(bundle, variant), labelled)
    full_metrics, variant_metrics = task.metrics(gold, full_payloads), task.metrics(gold, variant_payloads)
    headline = next(iter(full_metrics))
    agreement = task.agreement(full_payloads, variant_payloads)
    loss = (full_metrics[headline] - variant_metrics[headline]) * 100
    problems = []
    if agreement < MIN_AGREEMENT:
        problems.append(f"agrees with full precision on {agreement:.1%} (needs {MIN_AGREEMENT:.0%})")
    if loss > MAX_LOSS_POINTS:
        problems.append(f"loses {loss:.2f} points of {headline} (at most {MAX_LOSS_POINTS})")
    reason = "; ".join(problems) or (f"agrees on {agreement:.1%}, {headline} {'-' if loss > 0 else '+'}"
                                     f"{abs(loss):.2f} points")
    return GateFigures(variant, len(labelled), headline, agreement, full_metrics[headline], variant_metrics[headline],
                       loss, full_speed, variant_speed, not problems, reason)
