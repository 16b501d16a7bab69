"""bertanno-topics: an example third-party plugin, written the way the README's "Writing a plugin" says.

It adds a multi-label task (``topics``: any number of topics per text), the item view it is drawn with
(``topics``: the text and the chosen topics, the full screen reusing bertanno's label keys), and a model alias.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from rich.text import Text

import bertanno
from bertanno import ClassificationTask, Encoded, Example, ModelSpec, Prediction, ViewSpec, encode_texts

THRESHOLD = 0.5


class TopicsTask(ClassificationTask):
    name = "topics"
    description = "Multi-label topic tagging: any number of topics per text."
    example_kind = "text"
    default_labels = ("symptom", "drug", "diet", "insurance")
    multi_label = True
    view = "topics"

    def model_config(self) -> dict:
        return {"problem_type": "multi_label_classification"}

    def validate(self, example: Example) -> None:
        if not example.text:
            raise ValueError("empty text")
        unknown = [t for t in example.payload or [] if t not in self.labels]
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; topics are {', '.join(self.labels)}")

    def encode(self, tokenizer, example: Example, max_length: int, with_labels: bool = False) -> Encoded:
        features, truncated = encode_texts(tokenizer, example.text, None, max_length)
        if with_labels:
            features["labels"] = [float(label in (example.payload or [])) for label in self.labels]
        return Encoded(windows=[features], truncated=truncated)

    def decode(self, example: Example, encoded: Encoded, logits: list[np.ndarray]) -> Prediction:
        probabilities = 1 / (1 + np.exp(-np.asarray(logits[0], dtype=np.float64)))
        chosen = [label for label, p in zip(self.labels, probabilities) if p >= THRESHOLD]
        # confidence: how far the least certain topic is from the threshold, scaled to 0..1
        confidence = float(np.min(np.abs(probabilities - THRESHOLD)) * 2)
        return Prediction(chosen, confidence, {label: float(p) for label, p in zip(self.labels, probabilities)})

    def metrics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
        true_positive = sum(len(set(g) & set(p)) for g, p in zip(gold, predicted))
        predicted_count = sum(len(p) for p in predicted)
        gold_count = sum(len(g) for g in gold)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / gold_count if gold_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"micro_f1": f1, "precision": precision, "recall": recall}

    def parse_correction(self, typed: str, example: Example) -> list[str]:
        topics = [t.strip() for t in typed.split(",") if t.strip()]
        self.validate(Example(example.text, payload=topics))
        return topics


@bertanno.hookimpl
def register_tasks(register):
    register(TopicsTask)


def render_topics(task, example: Example, prediction: Prediction | None):
    shown = ", ".join(prediction.payload) if prediction else "?"
    return Text(f"{example.text}\n→ topics: {shown}")


@bertanno.hookimpl
def register_views(register):
    register(ViewSpec(name="topics", description="the text and its topics", render=render_topics))


@bertanno.hookimpl
def register_models(register):
    register(ModelSpec(
        name="mc-bert",
        hub_id="freedomking/mc-bert",
        description="MC-BERT: Chinese BERT-base further pretrained on medical text (ChineseBLUE)",
    ))
