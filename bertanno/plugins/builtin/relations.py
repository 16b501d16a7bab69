"""Built-in task ``relations``: entity spans and typed links between them, under a schema.

The schema (the project option ``relations``, given as ``init --relations``) names each relation type with the
entity types it may join: ``sell_drugs_to:Nh>Nh`` (directed, head ``Nh`` to tail ``Nh``), ``traffic_in:Nh>NDR``,
``married:PER-PER`` (``-``: undirected), ``located_in:PER|ORG>LOC`` (``|``: any of these types), ``mentions:*>*``
(any type). **Events** are the same structure: a trigger is a span of its own entity type (``Sale``) and each
role a relation from it to the argument (``buyer:Sale>Nh,drug:Sale>NDR``), as brat's ``E`` lines and event sets
with typed roles are read.

The payload is a ``SpanGraph``: the spans, and the relations between them. The entities are what a token model
tags (this task is ``ner``'s tagger underneath, so the transformer, with a CRF head and lexicon features, serves
them); the relations are scored strictly: head span and type, tail span and type and relation type all equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from bertanno.errors import BertannoError
from bertanno.plugins.builtin.ner import NerTask, majority_units, pair_f1
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Encoded, Example, Prediction, Relation, Span, SpanGraph

ANY = "*"
SCHEMA_ITEM = re.compile(r"^(?P<name>[^:\s,]+):(?P<heads>[^<>\-]+)(?P<arrow>>|-)(?P<tails>[^<>\-]+)$")
RELATION_ITEM = re.compile(r"^(?P<head>\d+)(?P<arrow>>|-)(?P<tail>\d+):(?P<label>[^:\s]+)$")


@dataclass(frozen=True)
class RelationType:
    """One relation type of the schema: the entity types its head and its tail may have (``*``: any) and
    whether it is directed."""

    name: str
    heads: tuple[str, ...]
    tails: tuple[str, ...]
    directed: bool = True

    def allows(self, head: str, tail: str) -> bool:
        """Whether a relation of this type may join an entity of type ``head`` to one of type ``tail`` (either
        way round when it is undirected)."""
        def fits(types, label):
            return ANY in types or label in types

        forward = fits(self.heads, head) and fits(self.tails, tail)
        return forward or (not self.directed and fits(self.heads, tail) and fits(self.tails, head))

    def text(self) -> str:
        """The schema item as it is written: ``name:HEADS>TAILS``."""
        return f"{self.name}:{'|'.join(self.heads)}{'>' if self.directed else '-'}{'|'.join(self.tails)}"


def parse_schema(text: str, entity_types: Sequence[str]) -> tuple[RelationType, ...]:
    """The relation types of a schema written ``name:HEADS>TAILS,…`` (module docstring). Raises
    ``BertannoError`` for an item that is not of that shape, a relation type named twice, and an entity type
    that is not one of ``entity_types``, each naming the item."""
    types: list[RelationType] = []
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        match = SCHEMA_ITEM.match(item.replace(" ", ""))
        if not match:
            raise BertannoError(f"relation {item!r}: write NAME:HEAD>TAIL (directed) or NAME:A-B (undirected), "
                                "types separated by |, * for any; e.g. sell_drugs_to:Nh>Nh,traffic_in:Nh>NDR")
        heads, tails = (tuple(t for t in match[side].split("|") if t) for side in ("heads", "tails"))
        unknown = [t for t in (*heads, *tails) if t != ANY and t not in entity_types]
        if unknown or not heads or not tails:
            raise BertannoError(f"relation {item!r}: {', '.join(unknown) or 'an empty side'} is not an entity "
                                f"type of the project ({', '.join(entity_types)})")
        if any(existing.name == match["name"] for existing in types):
            raise BertannoError(f"relation {match['name']!r} is named twice in the schema; give one item with "
                                "its types joined by |")
        types.append(RelationType(match["name"], heads, tails, match["arrow"] == ">"))
    return tuple(types)


def relation_key(relation: Relation) -> tuple:
    """A relation as a tuple that compares strictly: head span, tail span, type."""
    return (tuple(relation.head), tuple(relation.tail), relation.label)


class RelationsTask(NerTask):
    name = "relations"
    description = ("Entities as character spans and typed relations between them under a schema (--relations); "
                   "events as a trigger's role relations")
    example_kind = "relations"
    default_labels = ("PER", "ORG", "LOC")
    default_relations = "works_for:PER>ORG,located_in:PER|ORG>LOC"
    view = "relations"

    def __init__(self, labels: Sequence[str] | None = None, **config: Any):
        super().__init__(labels, **config)
        schema = config.get("relations") if config.get("relations") is not None else (
            self.default_relations if tuple(self.labels) == self.default_labels else "")
        self.relation_types = parse_schema(schema, self.labels)
        if not self.relation_types:
            raise BertannoError("a relations project needs its relation types: --relations NAME:HEAD>TAIL,… (e.g. "
                                f"--relations rel:{self.labels[0]}>{self.labels[-1]})")
        self.config["relations"] = ",".join(t.text() for t in self.relation_types)

    @property
    def relation_labels(self) -> list[str]:
        return [t.name for t in self.relation_types]

    def relation_type(self, name: str) -> RelationType | None:
        return next((t for t in self.relation_types if t.name == name), None)

    def allowed_relations(self, head: Span, tail: Span) -> list[str]:
        """The relation types the schema allows from ``head`` to ``tail``, in schema order."""
        return [t.name for t in self.relation_types if t.allows(head.label, tail.label)]

    def normal(self, relation: Relation) -> Relation:
        """An undirected relation with its ends in text order; a directed one as it is."""
        kind = self.relation_type(relation.label)
        if kind is not None and not kind.directed and tuple(relation.tail) < tuple(relation.head):
            return Relation(relation.tail, relation.head, relation.label)
        return relation

    def graph(self, payload: Any) -> SpanGraph:
        """``payload`` as a ``SpanGraph``: a graph as it is, its stored JSON form read, a list of spans (entities
        without relations, as an NER file or family gives them) as one without relations; ``None`` as an empty
        graph. Raises ``ValueError`` for anything else."""
        if payload is None:
            return SpanGraph()
        if isinstance(payload, SpanGraph):
            return payload
        if isinstance(payload, dict):  # the stored JSON form (payload_to_json)
            return self.payload_from_json(payload)
        if isinstance(payload, (list, tuple)) and all(isinstance(s, (Span, tuple, list)) and len(s) == 3
                                                      for s in payload):
            return SpanGraph(tuple(sorted(Span(*s) for s in payload)), ())
        raise ValueError(f"a relations annotation is entity spans and relations, got {type(payload).__name__}")

    # -- data ---------------------------------------------------------------------------------------------------------
    def validate(self, example: Example) -> None:
        graph = self.graph(example.payload)
        super().validate(Example(example.text, payload=list(graph.spans)))
        spans, seen = set(graph.spans), set()
        for relation in graph.relations:
            head, tail, label = relation
            for end, what in ((head, "head"), (tail, "tail")):
                if tuple(end) not in {tuple(s) for s in spans}:
                    raise ValueError(f"relation {label}: its {what} {end[0]}..{end[1]} ({end[2]}) is not an entity "
                                     "of the item")
            kind = self.relation_type(label)
            if kind is None:
                raise ValueError(f"relation type {label!r} is not in the schema ({', '.join(self.relation_labels)})")
            if tuple(head) == tuple(tail):
                raise ValueError(f"relation {label}: its head and tail are the same entity")
            if not kind.allows(head[2], tail[2]):
                raise ValueError(f"relation {label} may not join {head[2]} to {tail[2]} (schema: {kind.text()})")
            key = relation_key(self.normal(relation))
            if key in seen:
                raise ValueError(f"relation {label} between {head[0]}..{head[1]} and {tail[0]}..{tail[1]} is given "
                                 "twice")
            seen.add(key)

    # -- model: the entities are tagged as ner tags them ----------------------------------------------------------
    def encode(self, tokenizer, example: Example, max_length: int, with_labels: bool = False) -> Encoded:
        spans = list(self.graph(example.payload).spans) if example.payload is not None else None
        return super().encode(tokenizer, Example(example.text, example.text_b, spans, example.meta), max_length,
                              with_labels)

    def decode(self, example: Example, encoded: Encoded, logits: list[np.ndarray], crf: dict | None = None
               ) -> Prediction:
        """The entities as ``ner`` decodes them, without relations (a relation family proposes those)."""
        entities = super().decode(example, encoded, logits, crf)
        return Prediction(SpanGraph(tuple(entities.payload), ()), entities.confidence, entities.scores)

    def no_answer(self) -> SpanGraph:
        """No entities and no relations."""
        return SpanGraph()

    # -- scores ---------------------------------------------------------------------------------------------------
    def _relation_sets(self, payload) -> set[tuple]:
        return {relation_key(self.normal(r)) for r in self.graph(payload).relations}

    def metrics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
        """Strict relation precision, recall and F1, micro over the items (a relation counts when its head span
        and type, tail span and type and relation type all equal the gold one's), the headline ``f1``; per type
        ``f1/TYPE``; and the entities' strict F1 as ``ner`` scores them, as ``entity_f1`` (and per type
        ``entity_f1/TYPE``)."""
        pairs = [(self._relation_sets(g), self._relation_sets(p)) for g, p in zip(gold, predicted)]
        statistics = self.item_statistics(gold, predicted, pairs).sum(axis=0)
        tp, fp, fn = statistics
        scores = {"f1": float(self.headline_from(statistics)),
                  "precision": float(tp / (tp + fp)) if tp + fp else 0.0,
                  "recall": float(tp / (tp + fn)) if tp + fn else 0.0}
        for name in self.relation_labels:
            kept = [({k for k in g if k[2] == name}, {k for k in p if k[2] == name}) for g, p in pairs]
            hits = sum(len(g & p) for g, p in kept)
            total = sum(len(g) + len(p) for g, p in kept)
            if total:
                scores[f"f1/{name}"] = 2 * hits / total
        entities = NerTask.metrics(self, [list(self.graph(g).spans) for g in gold],
                                   [list(self.graph(p).spans) for p in predicted])
        scores.update({f"entity_{key}": value for key, value in entities.items()})
        return scores

    def item_statistics(self, gold: Sequence[Any], predicted: Sequence[Any],
                        pairs: Sequence[tuple[set, set]] | None = None) -> np.ndarray:
        """``[true positives, false positives, false negatives]`` of strict relation matches per item: the headline
        F1 is ``2tp / (2tp + fp + fn)`` of their column sums (``headline_from``, as ``ner``'s). ``pairs``: each
        item's gold and predicted relation sets when the caller has them already."""
        if pairs is None:
            pairs = [(self._relation_sets(g), self._relation_sets(p)) for g, p in zip(gold, predicted)]
        rows = [[len(g & p), len(p - g), len(g - p)] for g, p in pairs]
        return np.array(rows, dtype=float).reshape(-1, 3)

    def stratum(self, payload: Any) -> str:
        graph = self.graph(payload)
        return "relations" if graph.relations else "entities" if graph.spans else "none"

    def agreement(self, first: Sequence[Any], second: Sequence[Any]) -> float:
        """Entities and relations both give over those either gives, summed over the items (1.0 when neither
        gives any)."""
        if len(first) != len(second):
            raise ValueError(f"payloads of {len(first)} and {len(second)} items: not the same items")
        both = either = 0
        for one, other in zip(first, second):
            left = {tuple(s) for s in self.graph(one).spans} | self._relation_sets(one)
            right = {tuple(s) for s in self.graph(other).spans} | self._relation_sets(other)
            both, either = both + len(left & right), either + len(left | right)
        return both / either if either else 1.0

    def pair_agreement(self, first: Sequence[Any], second: Sequence[Any]) -> dict[str, float]:
        """Relation F1 of one side against the other: ``relation_f1_exact`` (same spans and type at both ends,
        same relation type), ``relation_f1_overlap`` (each end overlaps the other's end of the same entity type;
        each relation matched once, in order), per type ``relation_f1_exact/TYPE``; the entities' figures as
        ``ner`` gives them (``f1_exact``, ``f1_overlap``…); ``percent``: items with exactly the same spans and
        relations."""
        if not first:
            return {}
        scores = super().pair_agreement([list(self.graph(p).spans) for p in first],
                                        [list(self.graph(p).spans) for p in second])
        f1 = pair_f1

        def overlaps(a, b) -> bool:
            return a[2] == b[2] and a[0] < b[1] and b[0] < a[1]

        exact = overlap = left_total = right_total = same = 0
        by_type: dict[str, list[int]] = {}
        for one, other in zip(first, second):
            left, right = self._relation_sets(one), self._relation_sets(other)
            same += left == right and set(self.graph(one).spans) == set(self.graph(other).spans)
            left_total, right_total, exact = left_total + len(left), right_total + len(right), exact + len(left & right)
            unmatched = sorted(right)
            for head, tail, label in sorted(left):
                partner = next((r for r in unmatched if r[2] == label and overlaps(head, r[0]) and overlaps(tail, r[1])),
                               None)
                if partner is not None:
                    unmatched.remove(partner)
                    overlap += 1
            for key in left | right:
                counts = by_type.setdefault(key[2], [0, 0, 0])
                counts[0] += key in left and key in right
                counts[1] += key in left
                counts[2] += key in right
        scores.update({"percent": same / len(first), "relation_f1_exact": f1(exact, left_total, right_total),
                       "relation_f1_overlap": f1(overlap, left_total, right_total)})
        for label, (matched, left, right) in by_type.items():
            scores[f"relation_f1_exact/{label}"] = f1(matched, left, right)
        return scores

    def proposal(self, payloads: Sequence[Any], decisions: int | None = None) -> SpanGraph | None:
        """The spans as ``ner`` proposes them, and relation by relation the same majority rule (no relations only
        when a strict majority marked none); ``None`` when the spans have no proposal, a relation is contested, or
        a relation kept joins a span left out."""
        if not payloads:
            raise ValueError("a proposal needs at least one decision")
        graphs = [self.graph(p) for p in payloads]
        spans = super().proposal([list(g.spans) for g in graphs], decisions)
        if spans is None:
            return None
        chosen = majority_units([self._relation_sets(g) for g in graphs], decisions)
        if chosen is None:
            return None
        kept = {tuple(s) for s in spans}
        if any(head not in kept or tail not in kept for head, tail, _ in chosen):
            return None
        return SpanGraph(tuple(sorted(Span(*s) for s in spans)),
                         tuple(sorted(Relation(Span(*h), Span(*t), label) for h, t, label in chosen)))

    def union(self, payloads: Sequence[Any]) -> SpanGraph | None:
        """Every span and every relation any of the payloads gives."""
        if not payloads:
            return None
        graphs = [self.graph(p) for p in payloads]
        return SpanGraph(tuple(sorted({Span(*s) for g in graphs for s in g.spans})),
                         tuple(sorted({self.normal(r) for g in graphs for r in g.relations})))

    def edit_summary(self, shown: Any, final: Any) -> dict[str, int]:
        """The spans' edits as ``ner`` counts them, and ``relation added`` / ``relation removed`` /
        ``relation type changed`` (same ends, another type)."""
        before, after = self.graph(shown), self.graph(final)
        counts = super().edit_summary(list(before.spans), list(after.spans))
        old, new = self._relation_sets(before), self._relation_sets(after)
        ends_old = {(h, t): label for h, t, label in old - new}
        ends_new = {(h, t): label for h, t, label in new - old}
        changed = set(ends_old) & set(ends_new)
        extra = {"relation type changed": len(changed), "relation added": len(set(ends_new) - changed),
                 "relation removed": len(set(ends_old) - changed)}
        return {**counts, **{k: v for k, v in extra.items() if v}}

    def entity_spans(self, example: Example) -> list[Span]:
        return list(self.graph(example.payload).spans)

    def check_trainable(self, examples: Sequence[Example]) -> None:
        """The entity tagger needs at least one annotated entity."""
        super().check_trainable([Example(e.text, payload=list(self.graph(e.payload).spans)) for e in examples])

    def parse_correction(self, typed: str, example: Example) -> SpanGraph:
        """Entities as ``ner`` reads them (``START-END:TYPE`` or ``TEXT:TYPE``), then relations ``H>T:TYPE`` where
        ``H`` and ``T`` number the entities in text order (from 1): ``张三:PER 北京:LOC 1>2:located_in``."""
        words = typed.split()
        relations = [w for w in words if RELATION_ITEM.match(w)]
        typed_order = NerTask.parse_correction(self, " ".join(w for w in words if w not in relations), example)
        links = []
        for item in relations:
            match = RELATION_ITEM.match(item)
            ends = []
            for side in ("head", "tail"):
                number = int(match[side])
                if not 1 <= number <= len(typed_order):
                    raise ValueError(f"{item!r}: there is no entity {number} (typed: {len(typed_order)})")
                ends.append(typed_order[number - 1])
            links.append(self.normal(Relation(ends[0], ends[1], match["label"])))
        graph = SpanGraph(tuple(typed_order), tuple(sorted(links)))
        self.validate(Example(example.text, payload=graph))
        return graph

    # -- serialisation --------------------------------------------------------------------------------------------
    def payload_to_json(self, payload: Any) -> Any:
        """``{"spans": [[start, end, type], …], "relations": [[head, tail, type], …]}``: spans in text order,
        each relation's ends as indexes into them."""
        graph = self.graph(payload)
        spans = sorted(tuple(s) for s in graph.spans)
        index = {span: number for number, span in enumerate(spans)}
        relations = sorted([index[tuple(r.head)], index[tuple(r.tail)], r.label]
                           for r in (self.normal(r) for r in graph.relations))
        return {"spans": [list(s) for s in spans], "relations": relations}

    def payload_from_json(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):  # entities alone (a span list)
            return self.graph(value)
        spans = [Span(int(s), int(e), str(label)) for s, e, label in value.get("spans") or ()]
        relations = [self.normal(Relation(spans[int(h)], spans[int(t)], str(label)))
                     for h, t, label in value.get("relations") or ()]
        return SpanGraph(tuple(sorted(spans)), tuple(sorted(relations)))


@hookimpl
def register_tasks(register):
    register(RelationsTask)
