"""Built-in task ``ner``: entity spans stored as character offsets, BIO tags derived per tokenizer."""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from bertanno.errors import BertannoError
from bertanno.plugins.bio import (
    OUTSIDE,
    SPECIAL,
    char_offsets,
    constrained_tags,
    crf_marginals,
    crf_viterbi,
    spans_to_tags,
    tags_to_spans,
)
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import (
    Encoded,
    Example,
    Prediction,
    Span,
    SpanGraph,
    Task,
    encode_token_windows,
    f1_from_counts,
    softmax,
    without_added_terms,
)

CORRECTION_ITEM = re.compile(r"^(?:(?P<start>\d+)-(?P<end>\d+)|(?P<surface>.+?)):(?P<label>[^:\s]+)$")


def pair_f1(matched: int, left: int, right: int) -> float:
    """The F1 of two annotators' units (spans, relations) with ``matched`` in common out of ``left`` and
    ``right``: ``2 matched / (left + right)``, symmetric; 1.0 when neither gives any."""
    return 1.0 if left + right == 0 else 2 * matched / (left + right)


def majority_units(marked: Sequence[set], decisions: int | None = None) -> set | None:
    """What a review proposes, unit by unit (a span, a relation), from the units each decision marked (``marked``,
    one set per decision that gave a payload; ``decisions`` counts the rejects too, default ``len(marked)``): when
    every decision marked the same units, those; else, among at least three decisions, each unit marked by a strict
    majority is in and each one left out by a strict majority is out; ``None`` when a unit is neither
    (contested), when two decisions differ, or when the units cancel out to none without a majority marking
    none."""
    decisions = len(marked) if decisions is None else decisions
    if len(marked) == decisions and all(units == marked[0] for units in marked):
        return set(marked[0])
    if decisions < 3:
        return None
    chosen = set()
    for unit in set().union(*marked):
        votes = sum(unit in units for units in marked)
        if 2 * votes > decisions:
            chosen.add(unit)
        elif 2 * (len(marked) - votes) <= decisions:
            return None  # contested: neither a majority for it nor one against it
    if not chosen and 2 * sum(not units for units in marked) <= decisions:
        return None
    return chosen


class NerTask(Task):
    name = "ner"
    description = "Named entities as character spans; BIO tags derived per tokenizer; long texts windowed."
    head = "token"
    example_kind = "spans"
    default_labels = ("PER", "LOC", "ORG")
    view = "spans"
    crf_decoding = True

    @property
    def model_labels(self) -> list[str]:
        return [OUTSIDE] + [f"{prefix}-{label}" for label in self.labels for prefix in ("B", "I")]

    @property
    def stride(self) -> int:
        """Tokens shared by neighbouring windows of a long text."""
        return int(self.config.get("stride", 64))

    @property
    def char_level(self) -> bool:
        """Tokenize without the added domain terms, so that every character-level span stays expressible."""
        return str(self.config.get("char_level", False)).lower() in {"true", "1", "yes"}

    @property
    def allows_overlap(self) -> bool:
        """Whether a gold annotation may hold nested or overlapping spans (the project option ``nested``,
        default true: real corpora such as cMedQANER's JSON have them). They are stored and exported as JSONL;
        BIO gives each character one entity, so training skips the spans it cannot express (and says how
        many) and a CoNLL export leaves such items out, naming them. ``nested=false`` refuses them at import."""
        return str(self.config.get("nested", True)).lower() not in {"false", "0", "no"}

    def validate(self, example: Example) -> None:
        if isinstance(example.payload, SpanGraph):
            raise ValueError("the item holds relations, which a ner project does not keep: import it into a project "
                             "of the relations task (init --task relations --relations …)")
        for span in example.payload or ():
            start, end, label = span
            if not all(isinstance(o, int) and not isinstance(o, bool) for o in (start, end)):
                raise ValueError(f"span offsets must be whole numbers, got {start!r}..{end!r}")
            if not (0 <= start < end <= len(example.text)):
                raise ValueError(f"span {start}..{end} is outside the text (length {len(example.text)})")
            if label not in self.labels:
                raise ValueError(f"entity type {label!r} is not in the label set ({', '.join(self.labels)})")
        ordered = sorted(tuple(span) for span in example.payload or ())
        for before, after in zip(ordered, ordered[1:]):
            if before == after:
                raise ValueError(f"span {before[0]}..{before[1]} ({before[2]}) is given twice")
            if not self.allows_overlap and after[0] < before[1]:
                raise ValueError(f"spans {before[0]}..{before[1]} ({before[2]}) and {after[0]}..{after[1]} "
                                 f"({after[2]}) overlap, and this project takes no nested or overlapping spans "
                                 "(option nested=false)")

    def encode(self, tokenizer, example: Example, max_length: int, with_labels: bool = False) -> Encoded:
        stride = min(self.stride, max(0, max_length // 2 - 2))
        if self.char_level:
            tokenizer = without_added_terms(tokenizer)
        windows = encode_token_windows(tokenizer, example.text, max_length, stride)
        unexpressible = []
        if with_labels:
            label_ids = {tag: i for i, tag in enumerate(self.model_labels)}
            all_offsets = sorted({o for w in windows for o in w["offset_mapping"] if o != SPECIAL})
            tags, unexpressible = spans_to_tags([Span(*s) for s in example.payload or ()], all_offsets)
            tag_at = dict(zip(all_offsets, tags))
            for window in windows:
                window["labels"] = [
                    -100 if offset == SPECIAL else label_ids[tag_at[offset]] for offset in window["offset_mapping"]
                ]
        return Encoded(windows=windows, truncated=False, unexpressible=unexpressible)

    def decode(self, example: Example, encoded: Encoded, logits: list[np.ndarray], crf: dict | None = None
               ) -> Prediction:
        """Spans from the token head's logits. A token seen by several windows takes the window where it sits
        farthest from an edge. Without ``crf``: constrained Viterbi over the softmax probabilities (never an
        ``I-X`` after ``O``), each token's confidence its tag's probability. With ``crf`` (the learned scores of
        a CRF head, ``core.crf``): Viterbi over the logits and those scores, each token's confidence its tag's
        marginal probability (forward-backward)."""
        best: dict[tuple[int, int], tuple[int, np.ndarray]] = {}
        for window, window_logits in zip(encoded.windows, logits):
            offsets = window["offset_mapping"]
            rows = np.asarray(window_logits, dtype=np.float64)[: len(offsets)]
            for position, offset in enumerate(offsets):
                if offset == SPECIAL:
                    continue
                margin = min(position, len(offsets) - 1 - position)
                if offset not in best or margin > best[offset][0]:
                    best[offset] = (margin, rows[position])
        offsets = sorted(best)
        token_logits = np.array([best[o][1] for o in offsets]).reshape(len(offsets), len(self.model_labels))
        if crf:
            chosen = crf_viterbi(self.model_labels, token_logits, crf["transitions"], crf["start"], crf["end"])
            sure = crf_marginals(self.model_labels, token_logits, crf["transitions"], crf["start"], crf["end"])
        else:
            sure = softmax(token_logits)
            chosen = constrained_tags(self.model_labels, sure)  # never an I-X after O: Viterbi
        tags = [self.model_labels[index] for index in chosen]
        confidences = [float(p[index]) for p, index in zip(sure, chosen)]
        spans = tags_to_spans(tags, offsets)
        span_confidence = [
            float(np.mean([c for o, c in zip(offsets, confidences) if o[0] >= s.start and o[1] <= s.end]))
            for s in spans
        ]
        return Prediction(
            payload=spans,
            confidence=min(confidences, default=1.0),
            scores={"span_confidence": span_confidence},
        )

    confidence_unit = "span"

    def confidence_units(self, gold: Any, prediction: Prediction) -> list[tuple[float, bool]]:
        """Each proposed span with its confidence (``span_confidence``, else the item's) and whether the gold has
        it exactly (same characters, same type): a span-level calibration of precision."""
        spans = list(prediction.payload or [])
        confidences = prediction.scores.get("span_confidence") or [prediction.confidence] * len(spans)
        truth = set(gold or [])
        return [(float(c), span in truth) for span, c in zip(spans, confidences)]

    def no_answer(self) -> list:
        """No spans."""
        return []

    def metrics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
        """Strict entity-level precision, recall and F1 (seqeval, IOB2), overall and per type."""
        from seqeval.metrics import classification_report
        from seqeval.scheme import IOB2

        def char_tags(spans, length: int) -> list[str]:
            return spans_to_tags([Span(*s) for s in spans], char_offsets(length))[0]

        gold_tags, predicted_tags = [], []
        for gold_spans, predicted_spans in zip(gold, predicted):
            length = max((s[1] for s in [*(gold_spans or ()), *(predicted_spans or ())]), default=0)
            gold_tags.append(char_tags(gold_spans or (), length))
            predicted_tags.append(char_tags(predicted_spans or (), length))
        report = classification_report(
            gold_tags, predicted_tags, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
        )
        micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
        scores = {"f1": micro["f1-score"], "precision": micro["precision"], "recall": micro["recall"]}
        for label in self.labels:
            if label in report:
                scores[f"f1/{label}"] = report[label]["f1-score"]
                scores[f"precision/{label}"] = report[label]["precision"]
                scores[f"recall/{label}"] = report[label]["recall"]
        return {key: float(value) for key, value in scores.items()}

    def pair_agreement(self, first: Sequence[Any], second: Sequence[Any]) -> dict[str, float]:
        """Span-level agreement of two annotators (or an annotator and a model) on the same items: F1 of one's
        spans against the other's (symmetric), ``f1_exact`` for the same start, end and type, ``f1_overlap``
        when spans of the same type share at least one character (each span matched once, greedily in text
        order), per type ``f1_exact/TYPE``; ``percent``: the share of items with exactly the same spans. Span
        F1 is the usual inter-annotator figure for entities, where kappa's chance agreement is undefined
        (Hripcsak and Rothschild 2005, "Agreement, the F-measure, and reliability in information retrieval")."""
        if not first:
            return {}
        f1 = pair_f1
        exact = overlap = left_total = right_total = same = 0
        by_type: dict[str, list[int]] = {label: [0, 0, 0] for label in self.labels}
        for one, other in zip(first, second):
            left, right = [tuple(s) for s in one or ()], [tuple(s) for s in other or ()]
            same += set(left) == set(right)
            left_total, right_total = left_total + len(left), right_total + len(right)
            exact += len(set(left) & set(right))
            unmatched = sorted(right)
            for start, end, label in sorted(left):
                partner = next((s for s in unmatched if s[2] == label and s[0] < end and start < s[1]), None)
                if partner is not None:
                    unmatched.remove(partner)
                    overlap += 1
            for start, end, label in set(left) | set(right):
                counts = by_type.setdefault(label, [0, 0, 0])
                counts[0] += (start, end, label) in left and (start, end, label) in right
                counts[1] += (start, end, label) in left
                counts[2] += (start, end, label) in right
        scores = {"percent": same / len(first), "f1_exact": f1(exact, left_total, right_total),
                  "f1_overlap": f1(overlap, left_total, right_total)}
        for label, (matched, left, right) in by_type.items():
            if left + right:
                scores[f"f1_exact/{label}"] = f1(matched, left, right)
        return scores

    def group_agreement(self, units: Sequence[dict[str, Any]]) -> dict[str, float]:
        """Entities have no chance-corrected group figure here: ``{}`` (the pairwise span F1 says it)."""
        return {}

    def check_trainable(self, examples: Sequence[Example]) -> None:
        """A tagger needs at least one annotated entity."""
        super().check_trainable(examples)
        if not any(e.payload for e in examples):
            raise BertannoError(f"training needs at least one annotated entity; the training side holds "
                                f"{len(examples)} text(s) without any")

    def item_statistics(self, gold: Sequence[Any], predicted: Sequence[Any]) -> np.ndarray:
        """``[true positives, false positives, false negatives]`` of exact (start, end, type) span matches
        per item: entity F1, the headline, is ``2tp / (2tp + fp + fn)`` of their column sums."""
        rows = []
        for gold_spans, predicted_spans in zip(gold, predicted):
            g = {tuple(span) for span in gold_spans or ()}
            p = {tuple(span) for span in predicted_spans or ()}
            rows.append([len(g & p), len(p - g), len(g - p)])
        return np.array(rows, dtype=float).reshape(-1, 3)

    def headline_from(self, totals: np.ndarray) -> np.ndarray:
        return f1_from_counts(totals)

    def stratum(self, payload: Any) -> str:
        """Whether the item has entities: the evaluation split keeps items without any in proportion."""
        return "entities" if payload else "none"

    def edit_summary(self, shown: Any, final: Any) -> dict[str, int]:
        """Span by span: a shown span kept as it was counts nothing; one whose characters stay but whose type
        changed counts ``type changed``; one that overlaps a final span with other edges ``boundary moved``
        (and ``type changed`` too if the type differs); a shown span that overlaps nothing final was
        ``removed``, a final span that overlaps nothing shown was ``added``. Pairs are matched greedily in
        text order."""
        before = [s for s in (shown or []) if s not in (final or [])]
        after = [s for s in (final or []) if s not in (shown or [])]
        counts = {"added": 0, "removed": 0, "boundary moved": 0, "type changed": 0}
        for old in before:
            partner = next((new for new in after if new.start < old.end and old.start < new.end), None)
            if partner is None:
                counts["removed"] += 1
                continue
            after.remove(partner)
            if (partner.start, partner.end) != (old.start, old.end):
                counts["boundary moved"] += 1
            if partner.label != old.label:
                counts["type changed"] += 1
        counts["added"] += len(after)
        return {k: v for k, v in counts.items() if v}

    def entity_spans(self, example: Example) -> list[Span]:
        return list(example.payload or [])

    def proposal(self, payloads: Sequence[Any], decisions: int | None = None) -> list[Span] | None:
        """Span by span (same characters, same type), among the ``decisions`` (default ``len(payloads)``;
        rejects are not in ``payloads`` and vote for nothing): when every decision marked the same spans, those;
        else, among at least three decisions, each span marked by a strict majority of them is in and each span
        left out by a strict majority is out; when some span is neither (contested), or the decisions are two
        that differ, ``None``: no proposal, the reviewer chooses. The empty set is proposed only when a strict
        majority marked nothing, never because their marks cancel out. Raises ``ValueError`` without
        payloads."""
        if not payloads:
            raise ValueError("a proposal needs at least one decision")
        chosen = majority_units([set(spans or []) for spans in payloads], decisions)
        return None if chosen is None else sorted(chosen)

    def parse_correction(self, typed: str, example: Example) -> list[Span]:
        """``START-END:TYPE`` or ``SURFACE:TYPE`` items separated by spaces; empty means no entities.

        ``SURFACE`` picks its first occurrence not already used by an earlier item.
        """
        spans: list[Span] = []
        for item in typed.split():
            match = CORRECTION_ITEM.match(item)
            if not match:
                raise ValueError(f"{item!r}: write START-END:TYPE or TEXT:TYPE, e.g. 0-3:{self.labels[0]}")
            label = match["label"]
            if match["surface"] is not None:
                start = example.text.find(match["surface"])
                while start >= 0 and any(s.start <= start < s.end for s in spans):
                    start = example.text.find(match["surface"], start + 1)
                if start < 0:
                    raise ValueError(f"{match['surface']!r} does not occur in the text")
                span = Span(start, start + len(match["surface"]), label)
            else:
                span = Span(int(match["start"]), int(match["end"]), label)
            self.validate(Example(example.text, payload=[span]))
            spans.append(span)
        return sorted(spans)

    def payload_to_json(self, payload: Any) -> Any:
        """``[[start, end, label], …]`` in text order (by start, then end), whatever order they came in."""
        return [[s, e, label] for s, e, label in sorted(tuple(span) for span in payload or ())]

    def payload_from_json(self, value: Any) -> Any:
        return [Span(int(s), int(e), str(label)) for s, e, label in value or ()]


@hookimpl
def register_tasks(register):
    register(NerTask)
