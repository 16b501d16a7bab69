"""BIO tags <-> character spans, through offsets.

Spans are the source of truth; tags are derived per tokenizer from each token's
``(start, end)`` offsets. Character-level tags use ``(i, i + 1)`` offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from bertanno.plugins.task import Span

OUTSIDE = "O"
SPECIAL = (0, 0)


@dataclass(frozen=True)
class Unexpressible:
    """A span that the token boundaries cannot express, and why."""

    span: Span
    reason: str


def split_tag(tag: str) -> tuple[str, str | None]:
    """``B-PER``, ``B_PER``, ``M-PER``, ``S-PER``, ``O`` -> (prefix, type). Prefix is one of B I E S O."""
    if tag == OUTSIDE or not tag:
        return OUTSIDE, None
    if len(tag) < 3 or tag[1] not in "-_" or tag[0] not in "BIMES":
        raise ValueError(f"not a BIO/BMES tag: {tag!r}")
    prefix = "I" if tag[0] == "M" else tag[0]
    return prefix, tag[2:]


def tags_to_spans(tags: Sequence[str | None], offsets: Sequence[tuple[int, int]]) -> list[Span]:
    """Decode BIO / BIOES / BMES tags into spans, deterministically.

    An ``I-X`` that does not continue an ``X`` entity (after ``O`` or another type)
    starts a new entity, as conlleval does. ``None`` tags (special tokens) are skipped.
    """
    spans: list[Span] = []
    current: list | None = None  # [start, end, type]

    def close():
        nonlocal current
        if current is not None:
            spans.append(Span(current[0], current[1], current[2]))
            current = None

    for tag, (start, end) in zip(tags, offsets):
        if tag is None or (start, end) == SPECIAL:
            continue
        prefix, entity_type = split_tag(tag)
        if prefix == OUTSIDE:
            close()
        elif prefix in "BS" or current is None or current[2] != entity_type:
            close()
            current = [start, end, entity_type]
            if prefix == "S":
                close()
        else:  # I or E continuing the same type
            current[1] = end
            if prefix == "E":
                close()
    close()
    return spans


def spans_to_tags(
    spans: Sequence[Span], offsets: Sequence[tuple[int, int]]
) -> tuple[list[str | None], list[Unexpressible]]:
    """BIO tags for tokens with ``offsets``; ``None`` for special tokens.

    A span is expressible when a token starts exactly at its start, a token ends
    exactly at its end, and it does not overlap a span already placed. Every other
    span is returned in the second list with the reason, never dropped silently.
    """
    tags: list[str | None] = [None if tuple(o) == SPECIAL else OUTSIDE for o in offsets]
    problems: list[Unexpressible] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        inside = [i for i, (s, e) in enumerate(offsets) if (s, e) != SPECIAL and s < span.end and e > span.start]
        if not inside:
            problems.append(Unexpressible(span, "no token covers it (characters the tokenizer drops)"))
            continue
        first, last = offsets[inside[0]], offsets[inside[-1]]
        if first[0] != span.start or last[1] != span.end:
            problems.append(
                Unexpressible(span, f"a token crosses its boundary (tokens cover {first[0]}..{last[1]})")
            )
            continue
        if any(tags[i] != OUTSIDE for i in inside):
            problems.append(Unexpressible(span, "it overlaps another span (BIO cannot nest)"))
            continue
        tags[inside[0]] = f"B-{span.label}"
        for i in inside[1:]:
            tags[i] = f"I-{span.label}"
    return tags, problems


def char_offsets(length: int) -> list[tuple[int, int]]:
    """Offsets of a character-level tokenization: one unit per code point."""
    return [(i, i + 1) for i in range(length)]


def bio_transitions(labels: Sequence[str]):
    """``(allowed, first)``: ``allowed[i, j]`` whether tag ``labels[j]`` may follow ``labels[i]`` in IOB2 (an
    ``I-X`` only after ``B-X`` or ``I-X``), ``first[j]`` whether a sequence may start with it (not an ``I-``).
    Boolean numpy arrays ``[tags, tags]`` and ``[tags]``, read-only: worked out once per label set (every item a
    model decodes asks for them)."""
    return _bio_transitions(tuple(labels))


@lru_cache(maxsize=32)
def _bio_transitions(labels: tuple[str, ...]):
    import numpy as np

    kinds = [split_tag(label) for label in labels]
    allowed = np.ones((len(labels), len(labels)), dtype=bool)
    first = np.ones(len(labels), dtype=bool)
    for j, (prefix, kind) in enumerate(kinds):
        if prefix == "I":
            first[j] = False
            allowed[:, j] = [previous_kind == kind and previous_prefix in ("B", "I")
                             for previous_prefix, previous_kind in kinds]
    allowed.flags.writeable = first.flags.writeable = False
    return allowed, first


def constrained_tags(labels: Sequence[str], probabilities) -> list[int]:
    """The most probable tag sequence that IOB2 allows (Viterbi over ``log probabilities`` with the transitions
    ``bio_transitions`` forbids at minus infinity, every allowed one at 0): the indexes into ``labels``, one per
    row of ``probabilities`` (``[tokens, tags]``, each row a distribution). Where the per-token argmax is
    already a valid sequence it is the result; otherwise an ``I-X`` after ``O`` is never emitted (the decoder
    chooses the likelier of repairing it as ``B-X`` or as ``O``), as constrained decoding does in AllenNLP
    (``allowed_transitions``) and in a CRF with masked transitions."""
    import numpy as np

    emissions = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-300, 1.0))
    return crf_viterbi(labels, emissions)


def crf_scores(labels: Sequence[str], transitions=None, start=None, end=None):
    """``(transitions, start, end)`` as float64 numpy arrays ``[tags, tags]``, ``[tags]``, ``[tags]`` with what
    IOB2 forbids (``bio_transitions``) at minus infinity: the learned scores of a CRF head (each ``None``: all 0,
    plain constrained decoding)."""
    import numpy as np

    size = len(labels)
    allowed, first = bio_transitions(labels)
    transitions = np.zeros((size, size)) if transitions is None else np.asarray(transitions, dtype=np.float64)
    start = np.zeros(size) if start is None else np.asarray(start, dtype=np.float64)
    end = np.zeros(size) if end is None else np.asarray(end, dtype=np.float64)
    if transitions.shape != (size, size) or start.shape != (size,) or end.shape != (size,):
        raise ValueError(f"CRF scores for {size} tags must be [{size}, {size}], [{size}] and [{size}], got "
                         f"{list(transitions.shape)}, {list(start.shape)} and {list(end.shape)}")
    return np.where(allowed, transitions, -np.inf), np.where(first, start, -np.inf), end


def crf_viterbi(labels: Sequence[str], emissions, transitions=None, start=None, end=None) -> list[int]:
    """The best tag sequence of a linear-chain CRF (Lafferty, McCallum and Pereira 2001) whose score is
    ``start[y0] + sum_t emissions[t, yt] + sum_t transitions[y(t-1), yt] + end[yn]``, over the sequences IOB2
    allows (``crf_scores``): indexes into ``labels``, one per row of ``emissions`` (``[tokens, tags]``, any
    real numbers: a CRF head's logits, or log probabilities). ``[]`` for no tokens."""
    import numpy as np

    emissions = np.asarray(emissions, dtype=np.float64)
    if len(emissions) == 0:
        return []
    transitions, start, end = crf_scores(labels, transitions, start, end)
    score = emissions[0] + start
    back = []
    for row in emissions[1:]:
        candidates = score[:, None] + transitions
        back.append(candidates.argmax(axis=0))
        score = candidates.max(axis=0) + row
    path = [int((score + end).argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


def crf_marginals(labels: Sequence[str], emissions, transitions=None, start=None, end=None):
    """Each token's posterior distribution over tags under the CRF of ``crf_viterbi`` (forward-backward in log
    space): ``[tokens, tags]``, each row summing to 1, forbidden tags at 0. What a CRF head says of how sure it
    is of each token's tag: a span's confidence comes from these."""
    import numpy as np
    from scipy.special import logsumexp

    emissions = np.asarray(emissions, dtype=np.float64)
    if len(emissions) == 0:
        return np.zeros((0, len(labels)))
    transitions, start, end = crf_scores(labels, transitions, start, end)
    forward = np.empty_like(emissions)
    backward = np.empty_like(emissions)
    forward[0] = start + emissions[0]
    for t in range(1, len(emissions)):
        forward[t] = logsumexp(forward[t - 1][:, None] + transitions, axis=0) + emissions[t]
    backward[-1] = end
    for t in range(len(emissions) - 2, -1, -1):
        backward[t] = logsumexp(transitions + (emissions[t + 1] + backward[t + 1])[None, :], axis=1)
    total = logsumexp(forward[-1] + end)
    return np.exp(forward + backward - total)
