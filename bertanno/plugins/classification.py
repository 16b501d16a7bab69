"""Sequence classification over a configurable label set: the base of ``sentiment`` and ``pair``.

Third-party classification tasks can subclass it too.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bertanno.errors import BertannoError
from bertanno.plugins.task import (
    Encoded,
    Example,
    Prediction,
    Task,
    encode_text_windows,
    encode_texts,
    label_keys,
    softmax,
)

LONG_TEXTS = ("windows", "truncate")
"""How a sentence task reads a text longer than the model's input (``ClassificationTask.long_texts``)."""


class ClassificationTask(Task):
    head = "sequence"

    def __init__(self, labels=None, **config):
        super().__init__(labels, **config)
        if len(self.labels) < 2:
            raise BertannoError(f"task {self.name!r} chooses between labels: it needs at least two, got "
                                f"{', '.join(self.labels)}")

    def validate(self, example: Example) -> None:
        if not example.text:
            raise ValueError("empty text")
        if self.example_kind == "pair" and not example.text_b:
            raise ValueError("a sentence pair needs a second text")
        if example.payload is not None and example.payload not in self.labels:
            raise ValueError(f"label {example.payload!r} is not in the label set ({', '.join(self.labels)})")

    @property
    def long_texts(self) -> str:
        """How a text longer than the model's input is read (config ``long_texts``): ``truncate`` (the default)
        keeps its first tokens only; ``windows`` reads all of it in overlapping windows (config ``stride``,
        default 32 tokens shared), each trained on with the text's label, their logits averaged at prediction, as
        a long document is classified by its chunks (Sun et al. 2019, "How to Fine-Tune BERT for Text
        Classification?", section 5.3). Truncation is the default because windows bought nothing measurable and
        cost training time: zh-mini on ChnSentiCorp (31 % of its reviews exceed 128 tokens), accuracy 0.843
        against 0.841 truncated on 1,350 reviews at 2.7 times the training time (``python -m
        benchmarks.sentence_plan --variants 'plan;task.long_texts=truncate'``), 0.8967 against 0.9075 on 8,640
        (``python -m benchmarks.zh_mini_quality``). A version records how it was trained (``as_saved``). A pair is
        always truncated, the longer text first. Raises ``BertannoError`` for another value."""
        if self.example_kind == "pair":
            return "truncate"
        value = str(self.config.get("long_texts", "truncate"))
        if value not in LONG_TEXTS:
            raise BertannoError(f"task {self.name!r}: long_texts is {value!r}; it is one of {', '.join(LONG_TEXTS)}")
        return value

    def describe(self) -> dict:
        described = super().describe()
        if self.example_kind != "pair":
            described["config"]["long_texts"] = self.long_texts
        return described

    def as_saved(self, record: dict) -> Task:
        """A version record without ``long_texts`` in its config was saved when long texts were truncated (as
        pairs still are)."""
        saved = (record.get("config") or {}).get("long_texts", "truncate")
        return self if saved == self.long_texts else self.with_config(long_texts=saved)

    def encode(self, tokenizer, example: Example, max_length: int, with_labels: bool = False) -> Encoded:
        if self.long_texts == "windows":
            stride = min(int(self.config.get("stride", 32)), max(0, max_length // 2 - 2))
            windows, truncated = encode_text_windows(tokenizer, example.text, max_length, stride), False
        else:
            text_b = example.text_b if self.example_kind == "pair" else None
            features, truncated = encode_texts(tokenizer, example.text, text_b, max_length)
            windows = [features]
        if with_labels:
            for window in windows:
                window["labels"] = self.labels.index(example.payload)
        return Encoded(windows=windows, truncated=truncated)

    def decode(self, example: Example, encoded: Encoded, logits: list[np.ndarray]) -> Prediction:
        """The label of the mean of the windows' logits (one window unless ``long_texts`` is ``windows``)."""
        probabilities = softmax(np.mean(np.asarray(logits, dtype=np.float64), axis=0))
        best = int(probabilities.argmax())
        scores = {label: float(p) for label, p in zip(self.labels, probabilities)}
        return Prediction(payload=self.labels[best], confidence=float(probabilities[best]), scores=scores)

    def metrics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
        from sklearn.metrics import accuracy_score, f1_score

        return {
            "accuracy": float(accuracy_score(gold, predicted)),
            "macro_f1": float(f1_score(gold, predicted, labels=list(self.labels), average="macro", zero_division=0)),
        }

    def check_trainable(self, examples: Sequence[Example]) -> None:
        """A classifier needs examples of at least two labels."""
        super().check_trainable(examples)
        present = {label for e in examples for label in (e.payload if isinstance(e.payload, list) else [e.payload])}
        if len(present) < 2:
            raise BertannoError(f"training needs labelled examples of at least two labels; the training side holds "
                                f"{len(examples)} example(s), all {', '.join(map(str, present)) or 'unlabelled'}")

    def item_statistics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> np.ndarray:
        """``[correct, 1]`` per item: accuracy, the headline, is their column-sum ratio."""
        return np.array([[float(g == p), 1.0] for g, p in zip(gold, predicted)]).reshape(-1, 2)

    def headline_from(self, totals: np.ndarray) -> np.ndarray:
        return totals[..., 0] / np.maximum(totals[..., 1], 1.0)

    def key_correction(self, key: str, example: Example) -> Any:
        """The label ``key`` chooses (``task.label_keys``: a digit by position, or the digit label itself when
        every label is a digit), or ``None``."""
        label = dict(label_keys(self.labels)).get(key)
        return None if label is None else self.parse_correction(label, example)

    def parse_correction(self, typed: str, example: Example) -> Any:
        """A label as typed, or the key that chooses it (``label_keys``); ``ValueError`` naming them otherwise."""
        typed = typed.strip()
        if typed in self.labels:
            return typed
        keys = dict(label_keys(self.labels))
        if typed in keys:
            return keys[typed]
        options = ", ".join(f"{key} = {label}" for key, label in label_keys(self.labels))
        raise ValueError(f"{typed!r} is not a label; type a label or its key ({options})")
