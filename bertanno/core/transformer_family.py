"""Built-in model family ``transformer``: BERT-family models fine-tuned by ``bertanno train``.

It is the engine's own family, registered through ``register_model_families`` like every other, so
that a version directory is served the same way whatever made it. A version record without a
``family`` key is a transformer version.
"""

from __future__ import annotations

from pathlib import Path

from bertanno.core.bundle import load_version
from bertanno.core.engine import Predictor
from bertanno.core.optimize import FULL, serving_bundle
from bertanno.plugins.families import ModelFamily
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import EXAMPLE_KINDS, Task


class TransformerFamily(ModelFamily):
    name = "transformer"
    description = "BERT-family encoders (bert-base-chinese, medbert, Lawformer, …) fine-tuned on the project's labels"
    example_kinds = EXAMPLE_KINDS
    trainable = True  # through bertanno.app.training_runs: TrainConfig, the vocabulary, the Trainer
    modules = ("torch", "transformers")
    install = "pip install torch transformers"
    origin = "the project's domain model, fine-tuned here (bertanno train)"

    def load(self, directory: Path, record: dict, task: Task) -> Predictor:
        """The version with the optimised variant its record names as in use (``record["variant"]``; ``full``
        or none: as trained; ``core.optimize``)."""
        return Predictor(serving_bundle(load_version(directory, task=task), record.get("variant", FULL),
                                        directory))


@hookimpl
def register_model_families(register):
    register(TransformerFamily())
