"""Built-in task ``pair``: sentence-pair matching, encoded as ``[CLS] a [SEP] b [SEP]``."""

from typing import Any, Sequence

import numpy as np

from bertanno.plugins.classification import ClassificationTask
from bertanno.plugins.hookspecs import hookimpl


class PairTask(ClassificationTask):
    name = "pair"
    description = "Sentence-pair matching (match / no match by default; any label set)."
    example_kind = "pair"
    default_labels = ("no_match", "match")
    view = "pair"

    @property
    def positive_label(self) -> str:
        """The label whose F1 is reported: ``positive_label`` in the config, else the last label."""
        return str(self.config.get("positive_label", self.labels[-1]))

    def metrics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
        """``f1`` (the headline: the positive label's F1 for two labels, as MRPC and QQP are scored; macro F1 for
        more), ``accuracy`` and ``macro_f1``. The headline is not accuracy because matching pairs are usually the
        minority: on afqmc (about 70 % no match) a model that answers "no match" to every pair has accuracy 0.71
        and F1 0, and the gate and early stopping, which judge by the headline, would prefer it."""
        from sklearn.metrics import f1_score

        scores = super().metrics(gold, predicted)
        if len(self.labels) == 2:
            f1 = f1_score(gold, predicted, pos_label=self.positive_label, average="binary", zero_division=0)
        else:
            f1 = scores["macro_f1"]
        return {"f1": float(f1), "accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}

    def _scored_labels(self) -> list[str]:
        return [self.positive_label] if len(self.labels) == 2 else list(self.labels)

    def item_statistics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> np.ndarray:
        """Per item ``[true positive, false positive, false negative]`` for the positive label (two labels) or
        for each label in turn (more): ``[items, 3 x scored labels]``; the headline is the mean of
        ``2tp / (2tp + fp + fn)`` over the scored labels of the column sums."""
        rows = [[value for label in self._scored_labels()
                 for value in (g == p == label, p == label != g, g == label != p)] for g, p in zip(gold, predicted)]
        return np.array(rows, dtype=float).reshape(-1, 3 * len(self._scored_labels()))

    def headline_from(self, totals: np.ndarray) -> np.ndarray:
        totals = np.asarray(totals, dtype=float)
        counts = totals.reshape(*totals.shape[:-1], -1, 3)
        tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
        denominator = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(denominator), where=denominator > 0)
        return f1.mean(axis=-1)


@hookimpl
def register_tasks(register):
    register(PairTask)
