"""Built-in model family ``ensemble``: trained versions of other families combined by a learned combiner
(stacking; Wolpert 1992, "Stacked generalization"), served behind the same gate as any version.

A version holds its members (``members/FAMILY/``, each a version of its own family trained on the whole training
side) and a combiner learned on the members' *out-of-fold* predictions: the training side is cut into ``folds``,
each member is trained on all folds but one and predicts that one, so every prediction the combiner learns from
comes from a model that never saw the example (``out_of_fold``). At serving time each member predicts and the
combiner decides.

- Entity spans: a linear-chain CRF (CRFsuite) over the crf family's character features plus, per member, the
  tag its spans give each character, that tag beside its neighbours' and the member's confidence in the span
  (``SpanCombiner``): the CRF learns where to trust which member.
- Sentences and pairs: logistic regression on each member's log-odds of each label (``LabelCombiner``).

The default members: the transformer with the crf family for NER, the transformer with the linear family for
sentences and pairs (``DEFAULT_MEMBERS``).
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bertanno.core.serving import load_served
from bertanno.errors import BertannoError
from bertanno.plugins.bio import OUTSIDE, char_offsets, spans_to_tags, tags_to_spans
from bertanno.plugins.builtin.fast_families import balanced_class_weight, char_features, logistic_predictions
from bertanno.plugins.families import ModelFamily, ServedModel, Timer
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Span, Task

ENSEMBLE = "ensemble"
FOLDS = 3
"""Folds of the out-of-fold predictions: each member trains ``FOLDS`` times more, once on each share left out."""
DEFAULT_MEMBERS = {"spans": ("transformer", "crf"), "text": ("transformer", "linear"), "pair": ("transformer", "linear")}
MEMBERS_FOLDER = "members"
COMBINER_FILE = {"spans": "combiner.crfsuite", "text": "combiner.json", "pair": "combiner.json"}

MemberFitter = Callable[[list[Example], Path], ServedModel]
"""Trains one member on examples, saves it as a version in the folder given, returns it loaded to serve."""


def fold_indices(count: int, folds: int, seed: int = 0) -> list[list[int]]:
    """``count`` example indexes shuffled (seeded) and cut into ``folds`` shares of nearly equal size, each sorted;
    every index in exactly one share. Raises ``BertannoError`` when there are fewer examples than folds."""
    if folds < 2:
        raise BertannoError(f"out-of-fold predictions need at least 2 folds, got {folds}")
    if count < folds:
        raise BertannoError(f"an ensemble needs at least {folds} training examples for its {folds} folds, got {count}")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return [sorted(order[share::folds]) for share in range(folds)]


def out_of_fold(examples: Sequence[Example], folds: int, fit_predict: Callable[[list[Example], list[Example]],
                list[Prediction]], seed: int = 0, on_fold: Callable[[int, int], None] | None = None
                ) -> list[Prediction]:
    """One prediction per example, in input order, each made by a model fitted without it: for each share of
    ``fold_indices``, ``fit_predict(the other shares, this share)`` (a fresh model each time).
    ``on_fold(done, folds)`` after each share."""
    shares = fold_indices(len(examples), folds, seed)
    predictions: list[Prediction | None] = [None] * len(examples)
    for done, share in enumerate(shares, start=1):
        held = set(share)
        predicted = fit_predict([e for i, e in enumerate(examples) if i not in held], [examples[i] for i in share])
        if len(predicted) != len(share):
            raise BertannoError(f"a member predicted {len(predicted)} of the {len(share)} examples it was given")
        for index, prediction in zip(share, predicted):
            predictions[index] = prediction
        if on_fold:
            on_fold(done, len(shares))
    return predictions  # type: ignore[return-value]


# -- combiners ---------------------------------------------------------------------------------------------------------

class LabelCombiner:
    """Logistic regression over each member's log-odds of each label (probabilities clipped to [1e-4, 1 - 1e-4];
    a member that gives only its label and a confidence spreads the rest evenly over the other labels), its
    classes weighted by inverse frequency when imbalanced, as the members are (``balanced_class_weight``)."""

    def __init__(self, labels: Sequence[str], coef=None, intercept=None, classes=None):
        self.labels = list(labels)
        self.coef, self.intercept, self.classes = coef, intercept, classes

    def features(self, member_predictions: Sequence[Sequence[Prediction]]) -> np.ndarray:
        """``[examples, members x labels]``."""
        columns = []
        for predictions in member_predictions:
            rows = []
            for prediction in predictions:
                scores = prediction.scores if all(label in prediction.scores for label in self.labels) else {
                    label: prediction.confidence if label == prediction.payload
                    else (1 - prediction.confidence) / max(1, len(self.labels) - 1) for label in self.labels}
                p = np.clip([float(scores[label]) for label in self.labels], 1e-4, 1 - 1e-4)
                rows.append(np.log(p / (1 - p)))
            columns.append(np.array(rows).reshape(len(predictions), len(self.labels)))
        return np.hstack(columns)

    def fit(self, examples: Sequence[Example], member_predictions) -> "LabelCombiner":
        from sklearn.linear_model import LogisticRegression

        gold = [example.payload for example in examples]
        if len(set(gold)) < 2:
            raise BertannoError("the ensemble's combiner needs at least two labels among the training examples")
        # weighted as the members are: unweighted, it answered afqmc's majority class on every pair (F1 0.000)
        model = LogisticRegression(max_iter=1000, class_weight=balanced_class_weight(gold))
        model.fit(self.features(member_predictions), gold)
        self.coef, self.intercept, self.classes = model.coef_, model.intercept_, [str(c) for c in model.classes_]
        return self

    def predict(self, examples: Sequence[Example], member_predictions) -> list[Prediction]:
        return logistic_predictions(self.features(member_predictions), self.coef, self.intercept, self.classes)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"coef": np.asarray(self.coef).tolist(),
                                    "intercept": np.asarray(self.intercept).tolist(), "classes": self.classes}))

    @classmethod
    def load(cls, path: Path, labels: Sequence[str]) -> "LabelCombiner":
        stored = json.loads(path.read_text())
        return cls(labels, np.array(stored["coef"]), np.array(stored["intercept"]), stored["classes"])


def _bucket(confidence: float) -> str:
    """A confidence as one of five bands, so that the CRF can weigh a sure member apart from a hesitant one."""
    return str(min(4, int(max(0.0, min(1.0, confidence)) * 5)))


def member_char_tags(example: Example, prediction: Prediction) -> tuple[list[str], list[float]]:
    """A member's spans as one IOB2 tag per character of ``example.text`` (spans it cannot place, as overlaps,
    left out) and, per character, the member's confidence in the span covering it (its ``span_confidence`` when
    it gives one, else the prediction's confidence; 0 outside spans)."""
    spans = [Span(*s) for s in prediction.payload or ()]
    tags = [tag or OUTSIDE for tag in spans_to_tags(spans, char_offsets(len(example.text)))[0]]
    per_span = list(prediction.scores.get("span_confidence") or [])
    sure = [0.0] * len(example.text)
    for index, span in enumerate(spans):
        value = per_span[index] if index < len(per_span) else prediction.confidence
        for position in range(max(0, span.start), min(len(sure), span.end)):
            sure[position] = float(value)
    return tags, sure


class SpanCombiner:
    """A CRFsuite model over the crf family's character features and, per member ``m``, the member's tag at the
    character (``m:tag``), the tag with the member's confidence band (``m:tag|band``) and the tags one
    character before and after (``m:tag-1``, ``m:tag+1``)."""

    def __init__(self, members: Sequence[str], path: Path | None = None):
        self.members = list(members)
        self.path = path

    def features(self, example: Example, predictions: Sequence[Prediction]) -> list[dict]:
        rows = char_features(example.text)
        for name, prediction in zip(self.members, predictions):
            tags, sure = member_char_tags(example, prediction)
            for position, row in enumerate(rows):
                tag = tags[position]
                row[f"{name}:tag"] = tag
                row[f"{name}:tag|band"] = f"{tag}|{_bucket(sure[position])}"
                row[f"{name}:tag-1"] = tags[position - 1] if position else "<s>"
                row[f"{name}:tag+1"] = tags[position + 1] if position + 1 < len(tags) else "</s>"
        return rows

    def fit(self, examples: Sequence[Example], member_predictions, path: Path) -> "SpanCombiner":
        import sklearn_crfsuite

        usable = [i for i, e in enumerate(examples) if e.text]
        model = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100,
                                     all_possible_transitions=True, model_filename=str(path))
        rows = [self.features(examples[i], [predictions[i] for predictions in member_predictions]) for i in usable]
        gold = [[t or OUTSIDE for t in spans_to_tags([Span(*s) for s in examples[i].payload or ()],
                                                     char_offsets(len(examples[i].text)))[0]] for i in usable]
        model.fit(rows, gold)
        self.path = path
        return self

    def predict(self, examples: Sequence[Example], member_predictions) -> list[Prediction]:
        import sklearn_crfsuite

        model = sklearn_crfsuite.CRF(model_filename=str(self.path))
        predictions = []
        for index, example in enumerate(examples):
            if not example.text:
                predictions.append(Prediction([], 1.0))
                continue
            rows = self.features(example, [predictions_of[index] for predictions_of in member_predictions])
            tags = model.predict_single(rows)
            marginals = model.predict_marginals_single(rows)
            spans = tags_to_spans(tags, char_offsets(len(example.text)))
            sure = [marginal.get(tag, 0.0) for marginal, tag in zip(marginals, tags)]
            span_confidence = [float(np.mean(sure[s.start:s.end])) for s in spans]
            predictions.append(Prediction(spans, float(min(sure, default=1.0)),
                                          {"span_confidence": span_confidence}))
        return predictions


# -- serving -----------------------------------------------------------------------------------------------------------

class EnsembleModel:
    """Members and their combiner, served as one model (``ServedModel``)."""

    def __init__(self, task: Task, members: Sequence[ServedModel], combiner):
        self.task, self.members, self.combiner = task, list(members), combiner

    def predict(self, examples: Sequence[Example], progress=None):
        timer = Timer(len(examples))
        member_predictions = []
        for done, member in enumerate(self.members, start=1):
            member_predictions.append(member.predict(examples)[0])
            if progress:
                progress(done * len(examples) // (len(self.members) + 1), len(examples))
        predictions = self.combiner.predict(examples, member_predictions) if examples else []
        if progress:
            progress(len(examples), len(examples))
        return predictions, timer.done()


def fit_ensemble(task: Task, examples: Sequence[Example], directory: Path, fitters: dict[str, MemberFitter],
                 folds: int = FOLDS, seed: int = 0, on_stage: Callable[[str], None] | None = None) -> dict:
    """Train an ensemble version into ``directory`` (which exists): for each member (``fitters``: family name ->
    ``MemberFitter``, in order) its out-of-fold predictions on ``examples`` (``folds`` fits, in a scratch folder
    removed after) and a final fit on all of them into ``members/NAME``; then the combiner on the out-of-fold
    predictions. Returns the version record's fields (members, folds, examples). ``on_stage(line)`` hears each
    fit as it starts. Raises ``BertannoError`` when a member cannot be trained or the task has no combiner."""
    kind = task.example_kind
    if kind not in COMBINER_FILE:
        raise BertannoError(f"the ensemble family combines {', '.join(COMBINER_FILE)} tasks; task {task.name!r} "
                            f"is a {kind} task")
    if len(fitters) < 2:
        raise BertannoError("an ensemble needs at least two members")
    examples = list(examples)
    scratch = directory / ".folds"
    member_predictions = []
    try:
        for name, fit in fitters.items():
            counter = itertools.count(1)

            def fit_predict(train: list[Example], held: list[Example], name=name, fit=fit, counter=counter
                            ) -> list[Prediction]:
                number = next(counter)
                fold = scratch / f"{name}-{number}"
                if on_stage:
                    on_stage(f"ensemble: {name}, fold {number} of {folds} ({len(train):,} examples)")
                predictions = fit(train, fold).predict(held)[0]
                shutil.rmtree(fold, ignore_errors=True)
                return predictions

            member_predictions.append(out_of_fold(examples, folds, fit_predict, seed))
            if on_stage:
                on_stage(f"ensemble: {name} on all {len(examples):,} examples")
            fit(examples, directory / MEMBERS_FOLDER / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    names = list(fitters)
    if kind == "spans":
        SpanCombiner(names).fit(examples, member_predictions, directory / COMBINER_FILE[kind])
    else:
        LabelCombiner(task.labels).fit(examples, member_predictions).save(directory / COMBINER_FILE[kind])
    return {"members": names, "folds": folds, "examples": len(examples)}


class EnsembleFamily(ModelFamily):
    name = ENSEMBLE
    description = ("Stacking: the transformer with the crf (NER) or linear (sentences, pairs) family, combined by a "
                   "model learned on their out-of-fold predictions")
    example_kinds = frozenset(DEFAULT_MEMBERS)
    version_prefix = "e"
    trainable = True
    modules = ("sklearn_crfsuite",)
    install = "pip install sklearn-crfsuite"
    origin = "trained here on the project's labels: its members and their combiner"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path) -> dict:
        """Members of families that train by ``ModelFamily.fit`` alone; ``bertanno train --family ensemble``
        gives the transformer member its own fitter (``app.training_runs``)."""
        raise BertannoError("an ensemble is trained by bertanno train --family ensemble, which trains its "
                            "transformer member")

    def load(self, directory: Path, record: dict, task: Task) -> EnsembleModel:
        self.require()
        directory = Path(directory)
        names = list(record.get("members") or [])
        if len(names) < 2:
            raise BertannoError(f"{directory}: the ensemble's record names fewer than two members")
        members = [load_served(directory / MEMBERS_FOLDER / name, task=task) for name in names]
        path = directory / COMBINER_FILE.get(task.example_kind, "")
        if not path.is_file():
            raise BertannoError(f"cannot load the ensemble in {directory}: its combiner {path.name} is missing")
        combiner = SpanCombiner(names, path) if task.example_kind == "spans" else LabelCombiner.load(path, task.labels)
        return EnsembleModel(task, members, combiner)


def default_members(task: Task) -> tuple[str, ...]:
    """The families an ensemble combines for ``task`` (``DEFAULT_MEMBERS``)."""
    return DEFAULT_MEMBERS.get(task.example_kind, ())


@hookimpl
def register_model_families(register):
    register(EnsembleFamily())

