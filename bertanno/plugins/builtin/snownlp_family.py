"""Built-in model family ``snownlp``: SnowNLP's bundled sentiment model, useful with zero labels.

SnowNLP (MIT licence) ships a naive Bayes sentiment classifier trained by its author on shopping
reviews; ``sentiment.classify(text)`` gives the probability that a text is positive. Measured here
with no labels at all: accuracy 0.870 on the ChnSentiCorp test set, 0.788 on waimai_10k
(``python -m benchmarks.zero_shot``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from bertanno.plugins.families import ModelFamily, predict_each
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Task


class SnowNLPSentiment:
    """SnowNLP's classifier behind a project's labels: ``label_map`` maps ``negative``/``positive`` onto them."""

    def __init__(self, task: Task, label_map: dict[str, str]):
        from snownlp import sentiment

        self.task, self.label_map, self._classify = task, label_map, sentiment.classify

    def predict(self, examples: Sequence[Example], progress=None):
        return predict_each(examples, self._predict_one, progress)

    def _predict_one(self, example: Example, stats) -> Prediction:
        positive = float(self._classify(example.text)) if example.text.strip() else 0.5
        scores = {self.label_map["negative"]: 1.0 - positive, self.label_map["positive"]: positive}
        payload = max(scores, key=scores.get)
        return Prediction(payload, scores[payload], scores)


class SnowNLPFamily(ModelFamily):
    name = "snownlp"
    description = "SnowNLP's bundled sentiment model (naive Bayes, shopping reviews): two labels, zero training"
    example_kinds = frozenset({"text"})
    labels = ("negative", "positive")
    zero_shot = True
    version_prefix = "z"
    modules = ("snownlp",)
    install = "pip install 'bertanno[snownlp]'"
    origin = "SnowNLP (MIT licence), sentiment model trained by its author on shopping reviews, inside the package"

    def describe(self) -> dict:
        from importlib.metadata import version

        return {"family_version": f"snownlp {version('snownlp')}"}

    def load(self, directory: Path, record: dict, task: Task) -> SnowNLPSentiment:
        self.require()
        return SnowNLPSentiment(task, record["label_map"])


@hookimpl
def register_model_families(register):
    register(SnowNLPFamily())
