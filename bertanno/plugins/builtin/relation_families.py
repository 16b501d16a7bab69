"""Built-in trainable family for relations projects that fits in seconds on CPU: ``relation-linear``.

A version holds two models trained together on the project's decisions:

- the entities: the ``crf`` family's linear-chain CRF over character features (``fast_families.CrfFamily``),
  trained on the items' spans;
- the relations: a logistic regression over every ordered pair of an item's entities that the schema allows
  some relation type between, classifying it as one of those types or as no relation (``NONE``). A pair's
  features (hashed into 2^18 dimensions, scikit-learn's ``FeatureHasher``): the two entity types and their
  order in the text, the distance between them (bucketed), how many entities and which types lie between,
  whether a clause ends between them (。；！？), the characters and character bigrams between them (the 20
  nearest each end when the gap is long), the two characters either side of each end, and each end's text.
  This is the classical feature set of relation extraction (Zhou et al., "Exploring Various Knowledge in
  Relation Extraction", ACL 2005: entity types, words between and around, mention distance), with characters
  for Chinese words.

When predicting, each pair's type is the likeliest among ``NONE`` and the types the schema allows for its
entity types; an undirected type is only considered for the pair in text order, so it is proposed once. The
item's confidence is the CRF's (the mean marginal of its tags) times the mean probability of the pairs'
decisions. Stored as ``model.crfsuite`` and ``relations.npz`` (coefficients, intercepts, class names): no
pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from bertanno.errors import BertannoError
from bertanno.plugins.builtin.fast_families import CRF_FILE, CrfFamily, CrfModel
from bertanno.plugins.families import ModelFamily, predict_each
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Relation, Span, SpanGraph, Task, softmax

RELATIONS_FILE = "relations.npz"
NONE = "NONE"
"""The class of a pair of entities with no relation between them."""
HASH_FEATURES = 2 ** 18
CLAUSE_ENDS = set("。；;！？!?\n")
NEAR = 20
MARK = "\u24ba"
"""What an entity between the two ends is written as in the characters between them (Ⓔ): ``容留Ⓔ、Ⓔ、Ⓔ`` is a
list of people sheltered, whoever they are."""
"""Characters next to each end that describe a long gap between two entities."""


def _bucket(n: int) -> str:
    for limit in (0, 2, 5, 10, 20, 40, 80):
        if n <= limit:
            return f"<={limit}"
    return ">80"


def pair_features(text: str, spans: Sequence[Span], head: int, tail: int) -> list[str]:
    """The hashed features of the pair ``spans[head]`` → ``spans[tail]`` of ``text`` (module docstring), as
    strings."""
    first, second = spans[head], spans[tail]
    forward = first.start < second.start
    order = "ht" if forward else "th"
    lo, hi = (first.end, second.start) if forward else (second.end, first.start)
    between = text[lo:hi] if hi > lo else ""
    types = f"{first.label}>{second.label}"
    inside = [s.label for s in spans if s.start >= lo and s.end <= hi]
    gap = _bucket(len(between))
    features = [f"types={types}", f"order={types}|{order}", f"gap={types}|{order}|{gap}",
                f"entities_between={min(len(inside), 6)}", f"same_type_between={inside.count(first.label) > 0}",
                f"clause={types}|{any(c in CLAUSE_ENDS for c in between)}",
                f"head={text[first.start:first.end]}", f"tail={text[second.start:second.end]}",
                f"head-2={text[max(first.start - 2, 0):first.start]}", f"head+2={text[first.end:first.end + 2]}",
                f"tail-2={text[max(second.start - 2, 0):second.start]}", f"tail+2={text[second.end:second.end + 2]}"]
    features += [f"between_type={label}" for label in set(inside)]
    for span in sorted((s for s in spans if s.start >= lo and s.end <= hi), reverse=True):  # entities as one mark
        between = between[:span.start - lo] + MARK + between[span.end - lo:]
    near = between if len(between) <= 2 * NEAR else between[:NEAR] + "\x00" + between[-NEAR:]
    features += [f"c={c}" for c in set(near) if c != "\x00"]
    features += [f"b={near[i:i + 2]}" for i in range(len(near) - 1) if "\x00" not in near[i:i + 2]]
    return features


def candidate_pairs(task, spans: Sequence[Span]) -> list[tuple[int, int, list[str]]]:
    """``(head, tail, allowed types)`` for every ordered pair of ``spans`` that the schema allows some type
    between; an undirected type only for the pair in text order."""
    pairs = []
    for head, first in enumerate(spans):
        for tail, second in enumerate(spans):
            if head == tail:
                continue
            allowed = [name for name in task.allowed_relations(first, second)
                       if task.relation_type(name).directed or first < second]
            if allowed:
                pairs.append((head, tail, allowed))
    return pairs


def _hasher():
    from sklearn.feature_extraction import FeatureHasher

    return FeatureHasher(n_features=HASH_FEATURES, input_type="string", alternate_sign=False)


def training_pairs(task, examples: Sequence[Example]) -> tuple[list[list[str]], list[str]]:
    """The features and the class (a relation type or ``NONE``) of every candidate pair of the examples' gold
    entities."""
    features, classes = [], []
    for example in examples:
        graph = task.graph(example.payload)
        spans = sorted(graph.spans)
        gold = {(tuple(r.head), tuple(r.tail)): r.label for r in (task.normal(r) for r in graph.relations)}
        for head, tail, allowed in candidate_pairs(task, spans):
            label = gold.get((tuple(spans[head]), tuple(spans[tail])))
            features.append(pair_features(example.text, spans, head, tail))
            classes.append(label if label in allowed else NONE)
    return features, classes


def decide_pairs(task, spans: Sequence[Span], pairs: Sequence[tuple[int, int, list[str]]], scores: np.ndarray,
                 classes: Sequence[str]) -> tuple[list[Relation], float]:
    """Each candidate pair's type from its ``scores`` row (one score per class of ``classes``): the likeliest of
    ``NONE`` and the types allowed for the pair; the relations chosen, and the mean probability of the
    decisions."""
    column = {name: index for index, name in enumerate(classes)}
    relations, sure = [], []
    for (head, tail, allowed), row in zip(pairs, scores):
        names = [NONE, *[name for name in allowed if name in column]]
        probabilities = softmax(np.asarray(row)[[column[name] for name in names]][None, :])[0]
        best = int(probabilities.argmax())
        sure.append(float(probabilities[best]))
        if names[best] != NONE:
            relations.append(task.normal(Relation(spans[head], spans[tail], names[best])))
    return sorted(set(relations)), float(np.mean(sure)) if sure else 1.0


class EntitiesThenRelations:
    """A relation version that serves as a project's model: its CRF tags the entities (``entities``; none: no
    entities), then ``relations_for(text, spans)`` (the subclass's) links them. The confidence is the CRF's times
    the mean probability of the pairs' decisions."""

    task: Task
    entities: CrfModel | None

    def relations_for(self, text: str, spans: Sequence[Span]) -> tuple[list[Relation], float]:
        raise NotImplementedError

    def predict(self, examples: Sequence[Example], progress=None):
        return predict_each(examples, self._predict_one, progress)

    def _predict_one(self, example: Example, stats) -> Prediction:
        entities = self.entities._predict_one(example, stats) if self.entities is not None else Prediction([], 1.0)
        spans = sorted(Span(*s) for s in entities.payload)
        relations, sure = self.relations_for(example.text, spans)
        return Prediction(SpanGraph(tuple(spans), tuple(relations)), entities.confidence * sure)


class RelationLinearModel(EntitiesThenRelations):
    """A ``relation-linear`` version: the CRF's entities, then the pairs' relations (``relations_for``)."""

    def __init__(self, task: Task, entities: CrfModel | None, coef: np.ndarray, intercept: np.ndarray,
                 classes: list[str]):
        self.task, self.entities = task, entities
        self.coef, self.intercept, self.classes = coef, intercept, classes

    def relations_for(self, text: str, spans: Sequence[Span]) -> tuple[list[Relation], float]:
        """The relations among ``spans`` of ``text`` (given entities, e.g. gold ones) and the mean probability of
        the pairs' decisions (1.0 when no pair is a candidate)."""
        spans = sorted(Span(*s) for s in spans)
        pairs = candidate_pairs(self.task, spans)
        if not pairs:
            return [], 1.0
        matrix = _hasher().transform([pair_features(text, spans, h, t) for h, t, _ in pairs])
        scores = np.asarray(matrix @ self.coef.T + self.intercept)
        if len(self.classes) == 2:
            scores = np.hstack([np.zeros_like(scores), scores])
        return decide_pairs(self.task, spans, pairs, scores, self.classes)


class RelationLinearFamily(ModelFamily):
    name = "relation-linear"
    description = ("Entities by a character CRF, relations by logistic regression over entity pairs: trains in "
                   "seconds (relations)")
    example_kinds = frozenset({"relations"})
    version_prefix = "r"
    trainable = True
    live = True
    modules = ("sklearn", "sklearn_crfsuite")
    install = "pip install scikit-learn sklearn-crfsuite"
    origin = "trained here on the project's labels (CRFsuite and scikit-learn)"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path) -> dict:
        """Train the CRF on the entities and the pair classifier on the relations of ``examples``. Raises
        ``BertannoError`` without a labelled entity, or without a relation to learn from."""
        from sklearn.linear_model import LogisticRegression

        self.require()
        usable = [e for e in examples if e.text and e.payload is not None]
        spans_only = [Example(e.text, payload=list(task.graph(e.payload).spans)) for e in usable]
        features, classes = training_pairs(task, usable)
        if len(set(classes) - {NONE}) < 1:
            raise BertannoError("the relation model needs at least one relation among its training examples")
        if len(set(classes)) < 2:  # every candidate pair related: the classifier has no NONE to learn
            raise BertannoError("the relation model needs a pair of entities without a relation too; every pair "
                                "of entities in the training examples is related")
        directory.mkdir(parents=True, exist_ok=True)
        CrfFamily().fit(task, spans_only, directory)
        model = LogisticRegression(C=2.0, max_iter=3000)
        model.fit(_hasher().transform(features), classes)
        np.savez_compressed(directory / RELATIONS_FILE, coef=model.coef_.astype(np.float32),
                            intercept=model.intercept_.astype(np.float32), classes=np.array(model.classes_, dtype=str))
        related = sum(label != NONE for label in classes)
        return {"examples": len(usable), "pairs": len(classes), "related_pairs": related}

    def load(self, directory: Path, record: dict, task: Task) -> RelationLinearModel:
        self.require()
        directory = Path(directory)
        try:
            stored = np.load(directory / RELATIONS_FILE, allow_pickle=False)
        except OSError as exc:
            raise BertannoError(f"cannot load the relation model in {directory}: {exc}") from None
        classes = [str(c) for c in stored["classes"]]
        foreign = [c for c in classes if c != NONE and task.relation_type(c) is None]
        if foreign:
            raise BertannoError(f"{directory}: the relation model predicts {', '.join(foreign)}, not relation types "
                                "of the project's schema")
        entities = CrfModel(task, directory / CRF_FILE) if (directory / CRF_FILE).is_file() else None
        return RelationLinearModel(task, entities, stored["coef"], stored["intercept"], classes)


@hookimpl
def register_model_families(register):
    register(RelationLinearFamily())
