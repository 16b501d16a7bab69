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
- ``onnx-int8``: the model exported to ONNX (``torch.onnx.export``, TorchScript exporter, opset 17) and its
  weights quantised to int8 by ONNX Runtime's own ``quantize_dynamic``; served by ONNX Runtime's CPU provider.
  Stored in the version as ``onnx-int8/model.onnx``; needs ``pip install 'bertanno[onnx]'``. A family the
  exporter cannot trace (e.g. Longformer's attention) is refused with a sentence; a file that does not load
  falls back to full precision with a warning.
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

from bertanno.core.bundle import ModelBundle
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example

FULL = "full"
STUDENT = "student"
"""The variant in use when a distilled student predicts for the version (``bertanno distill``; the record's
``student`` names its folder)."""
VARIANTS = {"int8": "PyTorch dynamic int8 quantisation of the linear layers (weights int8, activations per batch)",
            "onnx-int8": "ONNX Runtime, weights quantised to int8 by its quantize_dynamic"}
ONNX_FILE = "model.onnx"
MIN_AGREEMENT = 0.99
"""The share of labels (NER: of entity spans, ``Task.agreement``) the variant must give as the full model does."""
MAX_LOSS_POINTS = 0.5
"""The most the headline metric may drop, in points (0.5 = half a percentage point of accuracy or F1)."""
MIN_ITEMS = 50
"""Labelled evaluation items the gate needs before it judges a variant."""


def _first_line(exc: Exception) -> str:
    """``TypeName: the message's first line`` (an exporter's or ONNX Runtime's messages run to pages)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else 'no message'}"


def check_variant(variant: str) -> str:
    """``variant`` if it is one this bertanno knows (``VARIANTS`` or ``full``); ``BertannoError`` otherwise."""
    if variant != FULL and variant not in VARIANTS:
        raise BertannoError(f"unknown optimisation {variant!r}: one of {', '.join(VARIANTS)} (or {FULL})")
    return variant


class OnnxModel:
    """An ONNX Runtime session in the place of the transformers model inside a ``Predictor``: called with the
    padded batch's tensors (``input_ids``, ``attention_mask`` and, when the graph takes them, ``token_type_ids``;
    ``[batch, length]`` int64), it returns an object whose ``logits`` is a float tensor as the model's are."""

    def __init__(self, path: Path, config, threads: int | None = None):
        import onnxruntime
        import torch

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.config = config

    def to(self, device):
        return self

    def eval(self):
        return self

    def __call__(self, **batch):
        import torch

        feeds = {name: batch[name].cpu().numpy() for name in self.inputs}
        return SimpleNamespace(logits=torch.from_numpy(self.session.run(["logits"], feeds)[0]))


def _input_names(model) -> list[str]:
    return ["input_ids", "attention_mask"] + (["token_type_ids"] if getattr(model.config, "type_vocab_size", 1) > 1
                                               else [])


def export_onnx_int8(bundle: ModelBundle, folder: Path) -> Path:
    """Export the bundle's model to ONNX in ``folder`` and quantise its weights to int8 there (ONNX Runtime's
    ``quantize_dynamic``); returns the quantised file. The full-precision export is removed. Raises
    ``BertannoError`` naming the model family when the export fails, and with the install line when
    ``onnxruntime`` or ``onnx`` is missing."""
    try:
        import onnx  # noqa: F401  (the quantiser needs it)
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise BertannoError("the onnx-int8 variant needs ONNX Runtime and onnx: pip install 'bertanno[onnx]'") \
            from None
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    model, names = bundle.model.eval(), _input_names(bundle.model)
    example = {name: torch.ones((2, 8), dtype=torch.long) if name != "token_type_ids"
               else torch.zeros((2, 8), dtype=torch.long) for name in names}
    plain = folder / "full.onnx"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            per_token = model(**example).logits.ndim == 3  # [batch, length, labels] or [batch, labels]
            torch.onnx.export(model, (), str(plain), kwargs=example, dynamo=False, input_names=names,
                              output_names=["logits"], opset_version=17,
                              dynamic_axes={**{name: {0: "batch", 1: "length"} for name in names},
                                            "logits": {0: "batch", 1: "length"} if per_token else {0: "batch"}})
        logging.disable(logging.WARNING)  # the quantiser's advice to pre-process, on the root logger
        try:
            quantize_dynamic(str(plain), str(folder / ONNX_FILE), weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)
        family = getattr(model.config, "model_type", type(model).__name__)
        raise BertannoError(f"the {family} model family could not be exported to ONNX ({_first_line(exc)}); "
                            "the model as trained stays in use") from None
    plain.unlink(missing_ok=True)
    return folder / ONNX_FILE


def with_variant(bundle: ModelBundle, variant: str, directory: Path | None = None) -> ModelBundle:
    """The bundle with ``variant`` applied to its model (``full``: the bundle itself). ``onnx-int8`` loads
    ``directory/onnx-int8/model.onnx`` (``export_onnx_int8`` writes it). Raises ``BertannoError`` for an unknown
    variant or an ONNX file that is missing or does not load."""
    check_variant(variant)
    if variant == FULL:
        return bundle
    if variant == "onnx-int8":
        path = Path(directory or ".") / variant / ONNX_FILE
        try:
            return replace(bundle, model=OnnxModel(path, bundle.model.config))
        except Exception as exc:
            raise BertannoError(f"the onnx-int8 variant of {directory} does not load ({_first_line(exc)})") \
                from None
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch announces the move of its quantisation to torchao
        warnings.simplefilter("ignore")
        model = quantize_dynamic(bundle.model.eval(), {torch.nn.Linear}, dtype=torch.qint8)
    return replace(bundle, model=model)


def serving_bundle(bundle: ModelBundle, precision: str | None = None, directory: Path | None = None,
                   device: str | None = None) -> ModelBundle:
    """The bundle as it should serve: the variant its record names as in use, or ``precision`` when given
    (``full`` forces the original); ``directory``: the version's, where a stored variant lies. ``student``: the
    distilled student the record names (``bertanno distill``), with its own variant in use. A variant this
    bertanno does not know, or one that does not load (a corrupted file, ONNX Runtime not installed, a student
    folder gone), falls back to full precision with a warning. The int8 variants are CPU kernels: when the model
    will run on a GPU (``device``, or ``pick_device``'s choice without it) the model serves unquantised, in the
    GPU's half precision (``Predictor``)."""
    from bertanno.core.engine import pick_device

    variant = precision or bundle.metadata.get("variant", FULL)
    if variant == FULL:
        return bundle
    on_cpu = pick_device(device).type == "cpu"
    try:
        if variant == STUDENT:
            return student_bundle(bundle, on_cpu)
        return with_variant(bundle, variant, directory) if on_cpu else bundle
    except BertannoError as exc:
        warnings.warn(f"{exc}; serving the model as trained (run bertanno optimize again)", stacklevel=2)
        return bundle


def student_bundle(bundle: ModelBundle, on_cpu: bool = True) -> ModelBundle:
    """The distilled student that serves for ``bundle``'s version (its record's ``student.directory``), loaded with
    the variant its own record has in use (``on_cpu`` false: without it, as ``serving_bundle`` on a GPU). Raises
    ``BertannoError`` when the record names no student or the student's folder does not load."""
    from bertanno.core.bundle import load_version

    directory = (bundle.metadata.get(STUDENT) or {}).get("directory")
    if not directory:
        raise BertannoError("the version's record names no distilled student")
    student = load_version(directory, task=bundle.task)
    own = student.metadata.get("variant", FULL)
    return student if own in (FULL, STUDENT) or not on_cpu else with_variant(student, own, Path(directory))


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


def prepare_variant(bundle: ModelBundle, variant: str, directory: Path) -> ModelBundle:
    """``with_variant``, after writing what the variant stores in the version ``directory`` (ONNX: the export)."""
    if variant == "onnx-int8":
        export_onnx_int8(bundle, Path(directory) / variant)
    return with_variant(bundle, variant, directory)


def discard_variant(variant: str, directory: Path) -> None:
    """Remove what ``prepare_variant`` stored for a refused variant."""
    shutil.rmtree(Path(directory) / variant, ignore_errors=True)


def timed_payloads(bundle: ModelBundle, examples: Sequence[Example]) -> tuple[list, float]:
    """The bundle's payloads for ``examples`` on the CPU, and its speed in items per second (after a warm-up
    batch of 8, which the first batch's allocations would otherwise slow)."""
    from bertanno.core.engine import Predictor

    predictor = Predictor(bundle, device="cpu")
    predictor.predict(examples[:8])  # warm-up: the first batch pays for allocation
    started = time.perf_counter()
    predictions, _ = predictor.predict(examples)
    seconds = time.perf_counter() - started
    return [p.payload for p in predictions], len(examples) / seconds if seconds else 0.0


@dataclass
class Reference:
    """The model as trained on the gate's items, run once for every variant it is compared with: the labelled
    examples, its payloads for them and its speed (items per second, CPU)."""

    examples: list[Example]
    payloads: list
    items_per_second: float


def reference_run(bundle: ModelBundle, examples: Sequence[Example]) -> Reference:
    """Predict the labelled ``examples`` with the model as trained (timed). Raises ``BertannoError`` with fewer
    than ``MIN_ITEMS`` labelled examples."""
    labelled = [e for e in examples if e.payload is not None]
    if len(labelled) < MIN_ITEMS:
        raise BertannoError(f"the optimisation gate needs at least {MIN_ITEMS} labelled evaluation items, the "
                            f"project has {len(labelled)}: import gold with --split eval, or annotate more")
    payloads, speed = timed_payloads(bundle, labelled)
    return Reference(labelled, payloads, speed)


def gate_variant(bundle: ModelBundle, variant: str, examples: Sequence[Example],
                 directory: Path | None = None, reference: Reference | None = None) -> GateFigures:
    """Predict labelled ``examples`` with the full model (or take ``reference``, its ``reference_run`` on them)
    and with ``variant`` (on the CPU, timed), and judge: accepted when the variant agrees on at least
    ``MIN_AGREEMENT`` of the labels (``Task.agreement``) and loses at most ``MAX_LOSS_POINTS`` of the headline
    metric. Raises ``BertannoError`` with fewer than ``MIN_ITEMS`` labelled examples or an unknown variant."""
    check_variant(variant)
    reference = reference or reference_run(bundle, examples)
    payloads, speed = timed_payloads(prepare_variant(bundle, variant, directory or Path(".")), reference.examples)
    return judge_against(reference, bundle.task, variant, payloads, speed)


def judge_against(reference: Reference, task, variant: str, payloads: Sequence, items_per_second: float) -> GateFigures:
    """The gate's verdict on a faster model (an optimised variant, a distilled student) named ``variant`` whose
    ``payloads`` for ``reference.examples`` were made at ``items_per_second``: accepted when it agrees with the
    model as trained on at least ``MIN_AGREEMENT`` of the labels (``Task.agreement``) and loses at most
    ``MAX_LOSS_POINTS`` of the headline metric."""
    gold = [e.payload for e in reference.examples]
    full_metrics, variant_metrics = task.metrics(gold, reference.payloads), task.metrics(gold, payloads)
    headline = next(iter(full_metrics))
    agreement = task.agreement(reference.payloads, payloads)
    loss = (full_metrics[headline] - variant_metrics[headline]) * 100
    problems = []
    if agreement < MIN_AGREEMENT:
        problems.append(f"agrees with the model as trained on {agreement:.1%} (needs {MIN_AGREEMENT:.0%})")
    if loss > MAX_LOSS_POINTS:
        problems.append(f"loses {loss:.2f} points of {headline} (at most {MAX_LOSS_POINTS})")
    reason = "; ".join(problems) or (f"agrees on {agreement:.1%}, {headline} {'-' if loss > 0 else '+'}"
                                     f"{abs(loss):.2f} points")
    return GateFigures(variant, len(reference.examples), headline, agreement, full_metrics[headline],
                       variant_metrics[headline], loss, reference.items_per_second, items_per_second, not problems,
                       reason)
