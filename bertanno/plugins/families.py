"""Model families: the kinds of model that can serve a project's pre-annotations.

A model version is a directory with a ``bertanno.json`` record; the record's ``family`` names the
family that loads it (``transformer`` when absent: the fine-tuned BERT-family models). Families are
registered through ``register_model_families`` like every other plugin contribution; the built-in
ones (``transformer``, ``snownlp``, ``lac``) use the same hook as third-party families.

A *zero-shot* family brings its own model (inside its Python package) and its own label set; a
project maps those labels onto its own with a label map (family label -> project label) and can
serve it as its first champion before a single decision is made.
"""

from __future__ import annotations

import importlib.util
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Protocol, Sequence

from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Prediction, Task


@dataclass
class PredictStats:
    """What one ``predict`` call did: examples, model windows and tokens, and how long it took (seconds)."""

    examples: int = 0
    windows: int = 0
    tokens: int = 0
    truncated: int = 0
    batches: int = 0
    seconds: float = 0.0
    unaligned: int = 0
    """Spans a model proposed that did not line up with the text; dropped, never shifted."""
    unanswered: int = 0
    """Examples the model gave no usable answer for (an LLM's reply that did not check twice): their prediction's
    payload is ``None``, no pre-annotation."""

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


class ServedModel(Protocol):
    """A loaded model version, whatever its family: the task it serves and ``predict``.

    ``predict(examples, progress)`` returns one ``Prediction`` per example, in input order, and the
    call's ``PredictStats``; ``progress(done, total)`` may be called as work advances.
    """

    task: Task

    def predict(self, examples: Sequence[Example],
                progress: Callable[[int, int], None] | None = None) -> tuple[list[Prediction], PredictStats]: ...


KIND_WORDS = {"text": "single-text", "pair": "sentence-pair", "spans": "entity-span", "relations": "relation"}


class ServingUnavailable(BertannoError):
    """A served model that cannot answer now (an LLM endpoint that is down): an annotation session goes on
    without pre-annotations and says why, rather than stopping."""


class FamilyUnavailable(BertannoError):
    """A model family whose optional dependencies are not installed."""


class ModelFamily(ABC):
    """Base class of a model family. Subclass it and register an instance through
    ``register_model_families``."""

    name: ClassVar[str]
    description: ClassVar[str]
    example_kinds: ClassVar[frozenset[str]]
    """Which tasks it can serve, by their ``example_kind``: ``text``, ``pair``, ``spans``."""
    labels: ClassVar[tuple[str, ...]] = ()
    """The labels a zero-shot family produces (entity types for spans); empty for a family that learns
    the project's own labels."""
    zero_shot: ClassVar[bool] = False
    partial_map: ClassVar[bool] = False
    """Whether a label map may leave some of the family's labels out (their outputs are then dropped:
    fine for entity types, not for the classes of a single-label classifier)."""
    merge_labels: ClassVar[bool] = False
    """Whether several of the family's labels may map onto one project label (fine for entity types)."""
    configured: ClassVar[bool] = False
    """Whether the family's labels come from the options a version is created with (a gazetteer's term
    types) rather than from ``labels``."""
    configured_by: ClassVar[str] = ""
    """For a ``configured`` family that also trains: the options that make its first version in a project, which
    its later versions take their settings from (the ``llm`` family: ``--zero-shot llm --llm-model NAME``)."""
    trainable: ClassVar[bool] = False
    """Whether ``fit`` trains a version of it on the project's labels (``bertanno train --family``)."""
    live: ClassVar[bool] = False
    """Whether it trains fast enough (seconds) to be refitted while a person annotates."""
    version_prefix: ClassVar[str] = "v"
    """Versions of this family are named PREFIX001, PREFIX002, …"""
    modules: ClassVar[tuple[str, ...]] = ()
    """Python modules that must be importable for the family to work."""
    install: ClassVar[str] = ""
    """The command that installs what the family needs."""
    origin: ClassVar[str] = ""
    """Where the family's model comes from and under which licence."""
    confidence_note: ClassVar[str] = ""
    """What its predictions' confidence means when it is not a probability (the annotation screen says this
    instead of "N% sure"); empty for a family whose confidence is the model's probability."""

    # -- what it needs ----------------------------------------------------------------------------------------------
    def missing(self) -> str | None:
        """``None`` when everything the family needs imports; otherwise a sentence naming the install line."""
        absent = [module for module in self.modules if importlib.util.find_spec(module) is None]
        if not absent:
            return None
        return (f"the {self.name} model family needs the Python package {', '.join(absent)}, which is not "
                f"installed; install it with: {self.install}")

    def require(self) -> None:
        """Raise ``FamilyUnavailable`` when a dependency is missing."""
        message = self.missing()
        if message:
            raise FamilyUnavailable(message)

    # -- labels -------------------------------------------------------------------------------------------------------
    def check_task(self, task: Task) -> None:
        """Raise ``BertannoError`` when the family cannot serve ``task`` at all."""
        if task.example_kind not in self.example_kinds:
            kinds = " and ".join(KIND_WORDS.get(kind, kind) for kind in sorted(self.example_kinds))
            kind = KIND_WORDS.get(task.example_kind, task.example_kind)
            article = "an" if kind[:1] in "aeiou" else "a"
            raise BertannoError(f"the {self.name} model family pre-annotates {kinds} tasks; task {task.name!r} "
                                f"is {article} {kind} task, so it cannot serve it")

    def source_labels(self, options: dict | None = None) -> tuple[str, ...]:
        """The labels this family produces with ``options`` (by default its declared ``labels``)."""
        return tuple(self.labels)

    def source_name(self, options: dict | None = None) -> str:
        """What a version's predictions come from, as recorded in the store (by default the family's name)."""
        return self.name

    def label_map(self, task: Task, mapping: dict[str, str] | None = None,
                  options: dict | None = None) -> dict[str, str]:
        """The complete map family label -> project label, from ``mapping`` plus same-named labels.

        Raises ``BertannoError`` for a family label the family does not have, a project label the
        project does not have, two family labels on one project label unless ``merge_labels``, a
        family label left unmapped where ``partial_map`` is false, and a map that maps nothing.
        """
        self.check_task(task)
        mapping = dict(mapping or {})
        labels = self.source_labels(options)
        if not labels:
            if mapping:
                raise BertannoError(f"the {self.name} model family learns the project's own labels; it takes no --map")
            return {}
        unknown = sorted(set(mapping) - set(labels))
        if unknown:
            raise BertannoError(f"{', '.join(unknown)}: not a label of the {self.name} model family "
                                f"(its labels: {', '.join(labels)})")
        foreign = sorted({target for target in mapping.values() if target not in task.labels})
        if foreign:
            raise BertannoError(f"{', '.join(foreign)}: not a label of this project (its labels: "
                                f"{', '.join(task.labels)})")
        complete = {label: mapping.get(label, label) for label in labels
                    if label in mapping or label in task.labels}
        if not complete:
            raise BertannoError(
                f"none of the {self.name} model family's labels ({', '.join(labels)}) is a label of this "
                f"project ({', '.join(task.labels)}); map them, e.g. --map {labels[0]}={task.labels[0]}")
        unmapped = [label for label in labels if label not in complete]
        if unmapped and not self.partial_map:
            raise BertannoError(f"{', '.join(unmapped)}: a label of the {self.name} model family with no project "
                                f"label; every one of its labels must be mapped (--map {unmapped[0]}=LABEL)")
        if not self.merge_labels and len(set(complete.values())) < len(complete):
            raise BertannoError(f"two of the {self.name} model family's labels are mapped onto one project label; "
                                "a single-label classifier needs them apart")
        return complete

    def cannot_produce(self, task: Task, label_map: dict[str, str]) -> list[str]:
        """The project's labels this family never proposes under ``label_map``, in the project's order."""
        if not label_map:
            return []
        produced = set(label_map.values())
        return [label for label in task.labels if label not in produced]

    def describe(self) -> dict:
        """What a version of this family records about where its model came from (family version, …)."""
        return {}

    # -- training and serving -------------------------------------------------------------------------------------------
    def fit(self, task: Task, examples: Sequence[Example], directory: Path) -> dict:
        """Train on labelled ``examples`` and write the model into ``directory``; returns what the version's
        record should say about it. Only for ``trainable`` families; raise ``BertannoError`` when the
        examples cannot train it (one label only, no entities). A ``configured`` family's ``fit`` is called with
        ``options=``, the options of the project's newest version of it (``None`` when there is none)."""
        raise NotImplementedError(f"the {self.name} model family does not train")

    @abstractmethod
    def load(self, directory: Path, record: dict, task: Task) -> ServedModel:
        """Load the version stored in ``directory`` (its ``bertanno.json`` already read into ``record``)
        to serve ``task``. Raise ``FamilyUnavailable`` when a dependency is missing, ``BertannoError``
        when the directory cannot be served."""


class Timer:
    """``PredictStats`` for families that predict without the transformer engine."""

    def __init__(self, examples: int):
        self.stats = PredictStats(examples=examples, windows=examples, batches=1 if examples else 0)
        self._started = time.perf_counter()

    def done(self) -> PredictStats:
        self.stats.seconds = time.perf_counter() - self._started
        return self.stats


def predict_each(examples: Sequence[Example], predict_one: Callable[[Example, PredictStats], Prediction],
                 progress: Callable[[int, int], None] | None = None,
                 every: int = 256) -> tuple[list[Prediction], PredictStats]:
    """``ServedModel.predict`` for a family that predicts one example at a time: ``predict_one(example,
    stats)`` may add to the stats (unaligned spans, …); ``progress(done, total)`` every ``every`` examples
    and at the end."""
    timer = Timer(len(examples))
    predictions = []
    for done, example in enumerate(examples, start=1):
        predictions.append(predict_one(example, timer.stats))
        if progress and (done % every == 0 or done == len(examples)):
            progress(done, len(examples))
    return predictions, timer.done()
