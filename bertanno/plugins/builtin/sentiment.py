"""Built-in task ``sentiment``: single-label classification of one text."""

from bertanno.plugins.classification import ClassificationTask
from bertanno.plugins.hookspecs import hookimpl


class SentimentTask(ClassificationTask):
    name = "sentiment"
    description = "Single-label classification of one text (binary by default; any label set)."
    example_kind = "text"
    default_labels = ("negative", "positive")


@hookimpl
def register_tasks(register):
    register(SentimentTask)
