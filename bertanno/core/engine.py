"""Batched inference: length-sorted batches under a token budget, per-batch padding, inference mode.

Predictions come back in input order. Truncation (sequence tasks) is counted and
reported; token-level tasks window long texts instead, so every character is labelled.

On a CUDA GPU the model runs in bfloat16 (float16 on a GPU without it) through PyTorch's scaled-dot-product
attention kernels (transformers' ``sdpa``, the default for BERT-family models), and the token budget is sized by
the GPU's free memory (``memory_token_budget``). On the CPU it stays float32: without AVX-512-BF16 or AMX, bf16 is
emulated and ran at 0.7 texts/s against 4.5 in float32 (bert-base, 2 cores; issue 18's measurement).
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Sequence

import numpy as np

from bertanno.core.bundle import ModelBundle
from bertanno.core.crf import crf_scores_of
from bertanno.core.token_features import feature_logits, features_of, windows_feature_ids
from bertanno.errors import BertannoError
from bertanno.plugins.families import PredictStats, ServedModel
from bertanno.plugins.task import Encoded, Example, Prediction, Task

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
__all__ = ["PredictStats", "Predictor", "predict_payloads", "score_model"]

CPU_TOKEN_BUDGET = 8192
"""Padded tokens per batch on the CPU (``bertanno predict --token-budget``'s default)."""
CPU_MAX_BATCH_SIZE = 64
GPU_MAX_BATCH_SIZE = 1024
GPU_MAX_TOKEN_BUDGET = 1 << 18
"""The most padded tokens a GPU batch holds however much memory is free (1,024 windows of 256 tokens)."""
GPU_MEMORY_SHARE = 0.5
"""The share of the GPU's free memory, once the model is on it, that one batch's activations may take."""
ACTIVATION_VALUES_PER_TOKEN_AND_HIDDEN = 17
"""A transformer layer's activations per token, in units of its hidden size: 34 x hidden bytes at 16-bit
precision, from Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models",
section 4.1), without the 5 x heads x length / hidden term of the attention scores, which the fused SDPA kernels
never hold. That is what training keeps for the backward pass; inference frees a layer's activations before the
next, so it bounds one batch's peak from above."""


def check_device(name: str | None) -> None:
    """Raise ``BertannoError`` with a sentence when ``name`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``…) is no
    device torch knows or none this machine has; ``None`` (choose one) always passes."""
    if not name:
        return
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise BertannoError(f"--device {name!r} is no device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise BertannoError(f"--device {name}: this machine has no CUDA GPU that torch can use (torch "
                                f"{torch.__version__}); leave --device out, or use cpu")
        if device.index is not None and device.index >= count:
            raise BertannoError(f"--device {name}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}")
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise BertannoError(f"--device {name}: Apple's MPS is not available here; use cpu")


def pick_device(preferred: str | None = None):
    """The torch device for ``preferred`` (checked by ``check_device``), or a GPU when there is one."""
    import torch

    if preferred:
        check_device(preferred)
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def inference_dtype(device, bf16_supported: bool | None = None):
    """The torch dtype a model predicts in on ``device`` (a ``torch.device``): ``float32`` on the CPU and other
    devices; on CUDA ``bfloat16`` where the GPU computes in it (``torch.cuda.is_bf16_supported()``; Ampere and
    later), else ``float16``. ``bf16_supported`` overrides the check (tests, a planner without the GPU)."""
    import torch

    if device.type != "cuda":
        return torch.float32
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_supported else torch.float16


def memory_token_budget(hidden_size: int, free_bytes: int, dtype_bytes: int = 2,
                        share: float = GPU_MEMORY_SHARE) -> int:
    """Padded tokens per batch for a model of ``hidden_size`` when ``free_bytes`` of accelerator memory are free
    and activations take ``dtype_bytes`` per value: ``share`` of the free memory divided by one layer's activations
    per token (``ACTIVATION_VALUES_PER_TOKEN_AND_HIDDEN`` x hidden x dtype bytes), between ``CPU_TOKEN_BUDGET``
    and ``GPU_MAX_TOKEN_BUDGET``. bert-base (hidden 768) in bf16 with 10 GiB free: 205,603 tokens."""
    per_token = ACTIVATION_VALUES_PER_TOKEN_AND_HIDDEN * hidden_size * dtype_bytes
    return max(CPU_TOKEN_BUDGET, min(GPU_MAX_TOKEN_BUDGET, int(share * free_bytes / per_token)))


def length_batches(lengths: Sequence[int], token_budget: int, max_batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length whose padded size stays within ``token_budget``.

    A single input longer than the budget still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        # Sorted ascending, so the newest index is the longest: padded size = its length x batch size.
        if current and (len(current) == max_batch_size or lengths[index] * (len(current) + 1) > token_budget):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def pad_batch(windows: Sequence[dict], pad_token_id: int, keep_token_types: bool, with_labels: bool = False):
    """Tensors for one batch, padded to its own longest window."""
    import torch

    width = max(len(w["input_ids"]) for w in windows)
    size = (len(windows), width)
    batch = {
        "input_ids": torch.full(size, pad_token_id, dtype=torch.long),
        "attention_mask": torch.zeros(size, dtype=torch.long),
    }
    if keep_token_types:
        batch["token_type_ids"] = torch.zeros(size, dtype=torch.long)
    if "feature_ids" in windows[0]:  # lexicon features while training (core.token_features)
        batch["feature_ids"] = torch.zeros((*size, len(windows[0]["feature_ids"][0])), dtype=torch.long)
    if with_labels:
        batch["labels"] = torch.full(size, -100, dtype=torch.long) if isinstance(windows[0]["labels"], list) \
            else torch.zeros(len(windows), dtype=torch.long)
    for row, window in enumerate(windows):
        n = len(window["input_ids"])
        batch["input_ids"][row, :n] = torch.tensor(window["input_ids"])
        batch["attention_mask"][row, :n] = 1
        if keep_token_types and "token_type_ids" in window:
            batch["token_type_ids"][row, :n] = torch.tensor(window["token_type_ids"])
        if "feature_ids" in batch:
            batch["feature_ids"][row, :n] = torch.tensor(window["feature_ids"])
        if with_labels:
            labels = window["labels"]
            if isinstance(labels, list):
                batch["labels"][row, : len(labels)] = torch.tensor(labels)
            else:
                batch["labels"][row] = labels
    return batch


class Predictor:
    """Runs a bundle's task over examples. Build it once per process and reuse it.

    ``device``: ``pick_device``'s choice (a GPU when there is one). ``token_budget``: padded tokens per batch;
    ``None`` is ``CPU_TOKEN_BUDGET`` on the CPU and ``memory_token_budget`` on a GPU. ``max_batch_size``: windows
    per batch; ``None`` is 64 on the CPU, 1,024 on a GPU. On a GPU the forward pass runs under autocast to
    ``inference_dtype``: the weights stay as they are (a model scored between training epochs goes on training in
    float32) and the logits come back as float32."""

    def __init__(self, bundle: ModelBundle, device: str | None = None, token_budget: int | None = None,
                 max_batch_size: int | None = None):
        self.bundle = bundle
        self.device = pick_device(device)
        on_gpu = self.device.type == "cuda"
        self.model = bundle.model.to(self.device).eval()
        self.dtype = inference_dtype(self.device)
        self.token_budget = token_budget or (self._gpu_token_budget() if on_gpu else CPU_TOKEN_BUDGET)
        self.max_batch_size = max_batch_size or (GPU_MAX_BATCH_SIZE if on_gpu else CPU_MAX_BATCH_SIZE)
        config = self.model.config
        self.keep_token_types = getattr(config, "type_vocab_size", 1) > 1
        self.pad_token_id = bundle.tokenizer.pad_token_id or 0
        scores = crf_scores_of(bundle.model) if bundle.task.crf_decoding else None
        self.decoding = {"crf": scores} if scores else {}
        """What ``decode`` takes beside the logits: a CRF head's scores (``core.crf``)."""
        self.token_features = features_of(bundle) if bundle.task.head == "token" else None
        """A feature table whose scores are added to each token's logits (``core.token_features``), or ``None``."""

    def _gpu_token_budget(self) -> int:
        import torch

        free_bytes, _ = torch.cuda.mem_get_info(self.device)
        hidden = getattr(self.model.config, "hidden_size", 768)
        return memory_token_budget(hidden, free_bytes, torch.finfo(self.dtype).bits // 8)

    @property
    def task(self) -> Task:
        return self.bundle.task

    def encode(self, examples: Sequence[Example]) -> list[Encoded]:
        task, tokenizer, max_length = self.bundle.task, self.bundle.tokenizer, self.bundle.max_length
        return [task.encode(tokenizer, example, max_length) for example in examples]

    def window_logits(self, encoded: Sequence[Encoded],
                      progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
        """The model's float32 logits for every window of ``encoded``, flattened in order (example by example,
        window by window): ``[window length, labels]`` for a token head, ``[labels]`` for a sequence head.
        Length-sorted batches under the token budget, inference mode; ``progress(done, total)`` counts windows."""
        return self._logits([window for item in encoded for window in item.windows], progress)[0]

    def _logits(self, windows: list[dict], progress) -> tuple[list[np.ndarray], int]:
        """``window_logits`` of the flattened ``windows``, and how many batches ran."""
        import torch

        lengths = [len(window["input_ids"]) for window in windows]
        logits: list[np.ndarray | None] = [None] * len(windows)
        batches = length_batches(lengths, self.token_budget, self.max_batch_size)
        done = 0
        half = torch.autocast("cuda", dtype=self.dtype) if self.device.type == "cuda" else contextlib.nullcontext()
        with torch.inference_mode(), half:
            for batch_indices in batches:
                batch = pad_batch([windows[i] for i in batch_indices], self.pad_token_id, self.keep_token_types)
                output = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits
                output = output.float().cpu().numpy()
                for row, index in enumerate(batch_indices):
                    logits[index] = output[row, : lengths[index]] if output.ndim == 3 else output[row]
                done += len(batch_indices)
                if progress:
                    progress(done, len(windows))
        return logits, len(batches)

    def feature_scores(self, examples: Sequence[Example], encoded: Sequence[Encoded]) -> list[np.ndarray]:
        """The lexicon feature scores (``core.token_features``) to add to each window's logits, flattened as
        ``window_logits`` flattens them: ``[window length, labels]`` each. Only for a bundle with a feature table."""
        terms = self.bundle.added_terms
        return [feature_logits(self.token_features, ids) for example, item in zip(examples, encoded)
                for ids in windows_feature_ids(example.text, [w["offset_mapping"] for w in item.windows], terms)]

    def predict(
        self, examples: Sequence[Example], progress: Callable[[int, int], None] | None = None,
        encoded: Sequence[Encoded] | None = None,
    ) -> tuple[list[Prediction], PredictStats]:
        """Predictions in input order. ``progress(done, total)`` is called after each batch, counting windows.
        ``encoded``: ``encode(examples)`` done beforehand (e.g. in another thread while the model was busy)."""
        started = time.perf_counter()
        encoded = self.encode(examples) if encoded is None else encoded
        windows = [window for item in encoded for window in item.windows]
        logits, batches = self._logits(windows, progress)
        flat = iter(logits)
        per_example = [[next(flat) for _ in item.windows] for item in encoded]
        if self.token_features is not None:
            scores = iter(self.feature_scores(examples, encoded))
            per_example = [[window_logits + next(scores) for window_logits in item_logits] for item_logits in per_example]
        predictions = [
            self.bundle.task.decode(example, item, item_logits, **self.decoding)
            for example, item, item_logits in zip(examples, encoded, per_example)
        ]
        lengths = [len(window["input_ids"]) for window in windows]
        stats = PredictStats(
            examples=len(examples), windows=len(lengths), tokens=sum(lengths),
            truncated=sum(item.truncated for item in encoded), batches=batches,
            seconds=time.perf_counter() - started,
        )
        return predictions, stats


def scored_predictions(model: ServedModel, examples: Sequence[Example]) -> list[Prediction]:
    """What any served model proposes for each example, with its confidence, in input order; an example it gave
    no answer for (payload ``None``) as the task's ``no_answer`` with confidence 0 (scored wrong, never
    skipped)."""
    if not examples:
        return []
    predictions, _ = model.predict(examples)
    return [Prediction(model.task.no_answer(), 0.0, p.scores, p.details) if p.payload is None else p
            for p in predictions]


def predict_payloads(model: ServedModel, examples: Sequence[Example]) -> list:
    """What any served model proposes for each example (its payloads), in input order (``scored_predictions``)."""
    return [p.payload for p in scored_predictions(model, examples)]


def score_model(model: ServedModel, examples: Sequence[Example]) -> dict[str, float]:
    """The task's metrics for any served model (any family) on labelled ``examples``; ``{}`` for none.

    The first key is the task's headline metric (accuracy, entity F1, …).
    """
    if not examples:
        return {}
    return model.task.metrics([example.payload for example in examples], predict_payloads(model, examples))
