"""The task interface: everything the engine, the store and the terminal need to know about a task.

A task plugin subclasses ``Task`` and registers the class through ``register_tasks``.
A project instantiates it with its own label set (``MyTask(labels=[...])``).
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Sequence

import numpy as np

from bertanno.errors import BertannoError

EXAMPLE_KINDS = frozenset({"text", "pair", "spans", "relations"})
HEADS = frozenset({"sequence", "token"})
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]*")
NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""Characters that are not text: control characters (Unicode category Cc) other than tab, line feed and
carriage return, and lone surrogate halves (which no UTF-8 file can hold, but a JSON ``\\ud83d`` escape can)."""


def not_text(text: str) -> str | None:
    """Where ``text`` holds a character that is not text (``NOT_TEXT``), as a phrase such as
    ``"column 4: U+D83D is a lone surrogate, not text"`` (columns count code points from 1); ``None`` when
    it is clean."""
    found = NOT_TEXT.search(text)
    if found is None:
        return None
    code = ord(found.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return f"column {found.start() + 1}: U+{code:04X} is {kind}, not text"


def check_text(text: str, what: str = "text") -> None:
    """Raise ``ValueError`` naming ``what`` and the column when ``text`` holds a character that is not text."""
    problem = not_text(text)
    if problem is not None:
        raise ValueError(f"{what} {problem}")


class Span(NamedTuple):
    """An entity: code-point offsets into the text, end exclusive."""

    start: int
    end: int
    label: str


class Relation(NamedTuple):
    """A typed link from one entity span (``head``) to another (``tail``); an undirected relation is stored with
    its ends in text order (``Span`` order)."""

    head: Span
    tail: Span
    label: str


class SpanGraph(NamedTuple):
    """The annotation of a relations task: entity spans and the relations between them (events: a trigger span
    with a relation per role to each argument)."""

    spans: tuple[Span, ...] = ()
    relations: tuple[Relation, ...] = ()


@dataclass
class Example:
    """One input item and, when known, its annotation.

    ``payload`` is the task's annotation: a label (``str``) for classification and
    pairs, a list of ``Span`` for NER, whatever a plugin task defines otherwise.
    """

    text: str
    text_b: str | None = None
    payload: Any = None
    meta: dict = field(default_factory=dict)


EVALUATION_ITEMS = "evaluation_items"
"""The key under which a version's stored scores keep how many evaluation items they were computed on."""


def headline_scores(metrics: dict) -> dict[str, float]:
    """``metrics`` without the per-type scores (``f1/PER``) and without ``EVALUATION_ITEMS``: what a one-line
    view shows, in the task's order (the first is the headline the gate compares)."""
    return {name: value for name, value in (metrics or {}).items() if "/" not in name and name != EVALUATION_ITEMS}


def scored_on(metrics: dict, items: int) -> dict:
    """``metrics`` with the number of evaluation items they were computed on (``EVALUATION_ITEMS``)."""
    return {**metrics, EVALUATION_ITEMS: items}


@dataclass
class Prediction:
    """A model's output for one example: the payload it proposes and how sure it is (0..1); ``details``: what the
    model said beside it, stored with the prediction (an LLM's ``reason``, ``tokens_in``, ``tokens_out``,
    ``named`` and ``dropped`` entities; JSON values only)."""

    payload: Any
    confidence: float
    scores: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)


@dataclass
class Encoded:
    """A tokenized example: one window, or several for a long text in a token-level task."""

    windows: list[dict]
    truncated: bool = False
    unexpressible: list = field(default_factory=list)


class Task(ABC):
    """Base class of every task, built-in or third-party."""

    name: ClassVar[str]
    description: ClassVar[str]
    head: ClassVar[str]
    """``sequence`` (one output per input) or ``token`` (one output per token)."""
    example_kind: ClassVar[str]
    """``text``, ``pair`` or ``spans``: which file formats can feed this task."""
    default_labels: ClassVar[tuple[str, ...]]
    multi_label: ClassVar[bool] = False
    crf_decoding: ClassVar[bool] = False
    """Whether ``decode`` takes ``crf=`` (the learned scores of a CRF head, ``bertanno train --head crf``): a token
    task whose model labels are IOB2 tags."""
    view: ClassVar[str] = "labels"
    """The item view the annotation screens draw and correct it with (as a Prodigy recipe names its
    ``view_id``): bertanno's ``labels`` (a text and one key per label), ``pair`` or ``spans`` (the span
    editor; the payload is a list of ``Span``), or one a plugin registers (``register_views``)."""

    def __init__(self, labels: Sequence[str] | None = None, **config: Any):
        labels = tuple(str(label) for label in (labels or self.default_labels))
        for label in labels:
            problem = not_text(label)
            if problem is not None:
                raise BertannoError(f"label {label!r}, {problem}")
            if not label or label != label.strip() or any(mark in label for mark in "\t\r\n"):
                raise BertannoError(f"label {label!r}: a label is one line without tabs and without leading or "
                                    "trailing whitespace (every file format must be able to carry it)")
        if not labels:
            raise BertannoError(f"task {self.name!r} needs at least one label")
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise BertannoError(f"task {self.name!r}: duplicate labels {', '.join(duplicates)}")
        self.labels = labels
        self.config = config

    @property
    def model_labels(self) -> list[str]:
        """The model's output classes, in id order."""
        return list(self.labels)

    def model_config(self) -> dict:
        """Extra model config the head needs, e.g. ``{"problem_type": "multi_label_classification"}``."""
        return {}

    # -- data -----------------------------------------------------------------
    @abstractmethod
    def validate(self, example: Example) -> None:
        """Raise ``ValueError`` with a readable message if the example's payload is not valid."""

    # -- model ----------------------------------------------------------------
    @abstractmethod
    def encode(self, tokenizer, example: Example, max_length: int, with_labels: bool = False) -> Encoded:
        """Tokenize without padding. With ``with_labels``, each window carries ``labels``."""

    @abstractmethod
    def decode(self, example: Example, encoded: Encoded, logits: list[np.ndarray]) -> Prediction:
        """Turn the logits of each window of ``encoded`` into a prediction. A task with ``crf_decoding`` also
        takes ``crf=``: ``{"transitions": [[…]], "start": […], "end": […]}`` or ``None``."""

    def soft_target_loss(self, student_logits, teacher_logits, attention_mask, temperature: float):
        """The distillation loss of a batch (Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural
        Network"): the student's outputs against the teacher's, both softened by ``temperature`` and the loss
        scaled by its square so that its gradients keep their size. Single-label heads: KL divergence of the
        softmax distributions; multi-label heads: binary cross-entropy against the teacher's sigmoid outputs.
        Tensors ``[batch, labels]`` (sequence head) or ``[batch, length, labels]`` with ``attention_mask``
        ``[batch, length]`` choosing the tokens that count (token head); returns a scalar tensor."""
        import torch.nn.functional as F

        student, teacher = student_logits / temperature, teacher_logits.to(student_logits.dtype) / temperature
        if self.multi_label:
            per_unit = F.binary_cross_entropy_with_logits(student, teacher.sigmoid(), reduction="none").sum(-1)
        else:
            per_unit = F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1), reduction="none",
                                log_target=True).sum(-1)
        if per_unit.dim() == 2:  # one value per token: only the real tokens count
            mask = attention_mask.to(per_unit.dtype)
            return (per_unit * mask).sum() / mask.sum().clamp(min=1) * temperature ** 2
        return per_unit.mean() * temperature ** 2

    @abstractmethod
    def metrics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
        """Score predicted payloads against gold payloads; the first key is the headline metric."""

    def no_answer(self) -> Any:
        """What a model that gave no answer for an item (payload ``None``: an LLM whose reply did not check) is
        scored as: a label that is none of the task's (so it is wrong). Span tasks give no spans."""
        return ""

    def check_trainable(self, examples: Sequence[Example]) -> None:
        """Raise ``BertannoError``, stating the minimum, when ``examples`` cannot train a model of this task.
        The default asks for one example."""
        if not examples:
            raise BertannoError("nothing to train on: decide or import labelled items first")

    def item_statistics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> np.ndarray | None:
        """Per-item counts from which the headline metric can be recomputed for any subset of the items,
        shape ``[items, k]``; ``None`` when the task has none. The promotion gate resamples these rows
        (``headline_from`` over column sums) instead of calling ``metrics`` a thousand times; it checks
        once that they reproduce ``metrics``' headline and otherwise falls back to ``metrics``."""
        return None

    def headline_from(self, totals: np.ndarray) -> np.ndarray:
        """The headline metric from column sums of ``item_statistics``: ``totals`` is ``[..., k]``."""
        raise NotImplementedError

    confidence_unit: ClassVar[str | None] = None
    """What ``confidence_units`` scores (``span`` for a NER task), or ``None`` when the unit is the item."""

    def confidence_units(self, gold: Any, prediction: Prediction) -> list[tuple[float, bool]]:
        """The parts of one proposal that are right or wrong on their own, each with the model's confidence in it
        and whether the gold payload has it: the units of a calibration finer than the item
        (``core.calibration``; the task names them in ``confidence_unit``). The default: none."""
        return []

    def proposal(self, payloads: Sequence[Any], decisions: int | None = None) -> Any:
        """What a review proposes from several annotators' decisions, or ``None`` when nobody's word carries it.
        ``payloads``: the labels given (at least one; rejects are left out by the caller: a reject says the item
        is unusable and is never a vote for a label); ``decisions``: how many decisions there were, rejects
        included (default ``len(payloads)``). When every decision gave the same payload, that payload; else,
        among at least three decisions, the payload a strict majority of them gave; else ``None``: two decisions
        that differ have no majority, and the reviewer chooses. Span tasks vote span by span (``NerTask``).
        Raises ``ValueError`` without payloads."""
        if not payloads:
            raise ValueError("a proposal needs at least one decision")
        decisions = len(payloads) if decisions is None else decisions
        keys = [payload_category(p) for p in payloads]
        if len(set(keys)) == 1 and len(keys) == decisions:
            return payloads[0]
        if decisions < 3:
            return None
        best = max(range(len(keys)), key=lambda i: (keys.count(keys[i]), -i))
        return payloads[best] if 2 * keys.count(keys[best]) > decisions else None

    def union(self, payloads: Sequence[Any]) -> Any:
        """Several annotators' payloads joined into one, for a reviewer to start from when they have no
        majority: for list payloads (multi-label, spans) every unit any of them gave, sorted; ``None`` for a
        single label, which has no union."""
        if not payloads or not all(isinstance(p, list) for p in payloads):
            return None
        return sorted({unit for payload in payloads for unit in payload})

    def stratum(self, payload: Any) -> str:
        """What the evaluation split is stratified by for this annotation: by default the label (a sorted list
        of labels for a multi-label task); span tasks: whether the item has entities."""
        return repr(sorted(payload)) if isinstance(payload, list) else str(payload)

    def edit_summary(self, shown: Any, final: Any) -> dict[str, int]:
        """What the person changed in the pre-annotation ``shown`` to reach ``final`` (both payloads), as counts:
        a single label ``{"label changed": 1}``, a label list (multi-label) ``{"added": n, "removed": m}``;
        ``{}`` when nothing changed. Span tasks count spans (``NerTask``)."""
        if isinstance(shown, list) or isinstance(final, list):
            before, after = set(map(repr, shown or [])), set(map(repr, final or []))
            counts = {"added": len(after - before), "removed": len(before - after)}
            return {k: v for k, v in counts.items() if v}
        return {"label changed": 1} if shown != final else {}

    def agreement(self, first: Sequence[Any], second: Sequence[Any]) -> float:
        """How far two models' payloads for the same items agree, from 0 to 1: for single labels the share of
        items given the same label; for lists (entity spans, multi-label) the units both give over the units
        either gives, summed over the items (1.0 when neither gives any). The optimisation gate's agreement."""
        if len(first) != len(second):
            raise ValueError(f"payloads of {len(first)} and {len(second)} items: not the same items")
        if any(isinstance(payload, list) for payload in (*first, *second)):
            both = either = 0
            for one, other in zip(first, second):
                left, right = set(map(repr, one or [])), set(map(repr, other or []))
                both, either = both + len(left & right), either + len(left | right)
            return both / either if either else 1.0
        return sum(one == other for one, other in zip(first, second)) / len(first) if first else 1.0

    def pair_agreement(self, first: Sequence[Any], second: Sequence[Any]) -> dict[str, float]:
        """How two annotators (or an annotator and a model) agree on the same items, given their payloads in the
        same item order: ``percent`` (the share of items given the same label) and Cohen's kappa
        (``cohen_kappa``: agreement beyond chance, Cohen 1960, through scikit-learn's ``cohen_kappa_score``;
        1.0 when both give one and the same label throughout, where kappa is undefined). A list payload
        (multi-label) counts as one category. Span tasks give span F1 instead (``NerTask``)."""
        from sklearn.metrics import cohen_kappa_score

        left, right = [payload_category(p) for p in first], [payload_category(p) for p in second]
        if not left:
            return {}
        percent = sum(a == b for a, b in zip(left, right)) / len(left)
        kappa = 1.0 if len(set(left) | set(right)) == 1 else float(cohen_kappa_score(left, right))
        return {"percent": percent, "cohen_kappa": kappa}

    def group_agreement(self, units: Sequence[dict[str, Any]]) -> dict[str, float]:
        """Agreement of all annotators at once over items (``units``: one ``{annotator: payload}`` per item, any
        number of annotators each): Krippendorff's alpha for nominal data (Krippendorff 2011, "Computing
        Krippendorff's Alpha-Reliability"; the ``krippendorff`` package), which allows missing judgements.
        ``{}`` when fewer than two judgements fall on any item."""
        import krippendorff

        annotators = sorted({name for unit in units for name in unit})
        values = sorted({payload_category(payload) for unit in units for payload in unit.values()})
        if len(annotators) < 2 or not any(len(unit) >= 2 for unit in units):
            return {}
        if len(values) == 1:
            return {"krippendorff_alpha": 1.0}
        code = {value: index for index, value in enumerate(values)}
        data = np.full((len(annotators), len(units)), np.nan)
        for column, unit in enumerate(units):
            for name, payload in unit.items():
                data[annotators.index(name), column] = code[payload_category(payload)]
        return {"krippendorff_alpha": float(krippendorff.alpha(reliability_data=data,
                                                               level_of_measurement="nominal"))}

    def entity_spans(self, example: Example) -> list:
        """The entity spans an annotated example marks (``Span`` items), for the vocabulary tools that learn
        from entity surfaces; ``[]`` for a task without spans."""
        return []

    def key_correction(self, key: str, example: Example) -> Any:
        """The annotation one key gives on the line-by-line screen (a digit choosing a label), or ``None``
        when the key means nothing to this task. Default: none."""
        return None

    @abstractmethod
    def parse_correction(self, typed: str, example: Example) -> Any:
        """Turn what the person typed into a payload; raise ``ValueError`` with a hint if it is not valid."""

    # -- serialisation ----------------------------------------------------------
    def payload_to_json(self, payload: Any) -> Any:
        return payload

    def payload_from_json(self, value: Any) -> Any:
        return value

    def describe(self) -> dict:
        """The task, its labels and its config as a version record keeps them (``bertanno.json``)."""
        return {"task": self.name, "labels": list(self.labels), "config": dict(self.config)}

    def with_config(self, **changes: Any) -> Task:
        """A copy of this task with ``changes`` merged into its config (this one is left as it is)."""
        twin = copy.copy(self)
        twin.config = {**self.config, **changes}
        return twin

    def as_saved(self, record: dict) -> Task:
        """This task as the saved version ``record`` (its ``bertanno.json``) reads its inputs, for a reading that
        changed after versions were saved: versions are served as they were trained. Default: unchanged."""
        return self


def label_keys(labels: Sequence[str]) -> list[tuple[str, str]]:
    """``(key, label)`` for the labels one key chooses: when every label is a single digit (a pair set labelled
    ``0``/``1``), each label's key is the label itself, so pressing 1 gives "1"; otherwise ``1``-``9`` by
    position, for the first nine (the rest are typed)."""
    if labels and all(len(label) == 1 and label.isdigit() for label in labels):
        return [(label, label) for label in labels]
    return [(str(number), label) for number, label in enumerate(labels[:9], start=1)]


def payload_category(payload: Any) -> str:
    """One payload as one category, for counting agreement: a list (labels of a multi-label task) in sorted
    order, so that two orders of the same labels are the same category."""
    return repr(sorted(payload, key=repr)) if isinstance(payload, list) else repr(payload)


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """F1, ``2tp / (2tp + fp + fn)``, of ``counts`` ``[..., 3]`` (true positives, false positives, false negatives):
    ``[...]``, 0 where all three are 0. What ``headline_from`` computes for tasks scored by F1."""
    counts = np.asarray(counts, dtype=float)
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator), where=denominator > 0)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def encode_texts(tokenizer, text: str, text_b: str | None, max_length: int) -> tuple[dict, bool]:
    """One window for a text or a text pair (``[CLS] a [SEP] b [SEP]``), truncated to ``max_length``.

    Returns the features and whether truncation happened, so callers can count it.
    """
    features = dict(tokenizer(text, text_b, truncation=False, verbose=False))
    if len(features["input_ids"]) <= max_length:
        return features, False
    features = dict(tokenizer(text, text_b, truncation="longest_first", max_length=max_length))
    return features, True


def encode_text_windows(tokenizer, text: str, max_length: int, stride: int) -> list[dict]:
    """The whole of one ``text`` in windows of at most ``max_length`` tokens (``[CLS] piece [SEP]`` each),
    neighbours sharing ``stride`` tokens; a text that fits is the one window ``encode_texts`` makes, from one
    tokenizer pass. Raises whatever the tokenizer raises."""
    features = dict(tokenizer(text, truncation=False, verbose=False))
    if len(features["input_ids"]) <= max_length:
        return [features]
    return _overflow_windows(tokenizer, text, max_length, stride, offsets=False)


def encode_token_windows(tokenizer, text: str, max_length: int, stride: int) -> list[dict]:
    """Overlapping windows over a long text; every window keeps offsets into the original text."""
    return _overflow_windows(tokenizer, text, max_length, stride, offsets=True)


def _overflow_windows(tokenizer, text: str, max_length: int, stride: int, offsets: bool) -> list[dict]:
    """The tokenizer's own overlapping windows of ``text`` (``return_overflowing_tokens``), one dict each;
    ``offsets``: with ``offset_mapping`` as ``(start, end)`` tuples."""
    encoding = tokenizer(text, truncation=True, max_length=max_length, stride=stride, return_overflowing_tokens=True,
                         return_offsets_mapping=offsets, verbose=False)
    windows = []
    for index in range(len(encoding["input_ids"])):
        window = {key: encoding[key][index] for key in encoding.keys() if key != "overflow_to_sample_mapping"}
        if offsets:
            window["offset_mapping"] = [tuple(pair) for pair in window["offset_mapping"]]
        windows.append(window)
    return windows


def without_added_terms(tokenizer):
    """The same tokenizer with its added (non-special) tokens removed: the base vocabulary's tokenization.

    Token ids are unchanged (added tokens only ever take ids after the base vocabulary), so a model
    whose vocabulary was extended reads this tokenization as it read it before the extension. The
    copy is kept on the tokenizer until tokens are added to it again.
    """
    cached = getattr(tokenizer, "_bertanno_without_added", None)
    if cached is not None and cached[0] == len(tokenizer):
        return cached[1]
    import copy
    import json

    from tokenizers import Tokenizer

    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state["added_tokens"] = [token for token in state.get("added_tokens", ()) if token["special"]]
    base = copy.copy(tokenizer)  # a copy even when nothing was added: the caller may extend the original
    base._tokenizer = Tokenizer.from_str(json.dumps(state))
    base._bertanno_without_added = (len(base), base)
    tokenizer._bertanno_without_added = (len(tokenizer), base)
    return base
