"""Built-in task ``pair``: sentence-pair matching, encoded as ``[CLS] a [SEP] b [SEP]``."""

from typing import Any, Sequence

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
        from sklearn.metrics import f1_score

        scores = super().metrics(gold, predicted)
        if len(self.labels) == 2:
            f1 = f1_score(gold, predicted, pos_label=self.positive_label, average="binary", zero_division=0)
        else:
            f1 = scores["macro_f1"]
        return {"accuracy": scores["accuracy"], "f1": float(f1), "macro_f1": scores["macro_f1"]}


@hookimpl
def register_tasks(register):
    register(PairTask)
