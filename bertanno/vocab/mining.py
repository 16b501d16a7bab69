"""Proposing candidate terms from text, for a person to review before adding them.

Two sources: strings of Chinese characters that recur (kept only where they are not merely part of a
longer recurring string), and the surfaces of annotated entities. Both are kept only when the tokenizer
splits them into several tokens today.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
FUNCTION_CHARACTERS = set("的了是在和与及或也都就还很吗呢吧啊个有我你他她它这那么")
"""A recurring string that starts or ends with one of these is a phrase fragment (的治疗), not a term."""


@dataclass(frozen=True)
class Candidate:
    term: str
    count: int
    source: str
    """``recurring`` or ``entity:TYPE``."""
    pieces: int
    """Tokens the tokenizer splits it into today."""


def _phrase_fragment(string: str) -> bool:
    return string[0] in FUNCTION_CHARACTERS or string[-1] in FUNCTION_CHARACTERS


def recurring_strings(texts, min_count: int = 5, min_length: int = 2, max_length: int = 6,
                      dominance: float = 0.8) -> Counter:
    """Strings of ``min_length..max_length`` Chinese characters occurring at least ``min_count`` times.

    A string is dropped when one character more on either side keeps ``dominance`` of its occurrences
    (``冠状病`` inside ``冠状病毒``): it is a fragment of the longer string, not a term of its own.
    """
    counts: Counter = Counter()
    for text in texts:
        for run in CJK_RUN.findall(text or ""):
            for size in range(min_length, min(max_length + 1, len(run)) + 1):  # one longer, for the dominance test
                for start in range(len(run) - size + 1):
                    counts[run[start:start + size]] += 1
    counts = Counter({s: c for s, c in counts.items() if not _phrase_fragment(s)})  # before they can dominate
    frequent = Counter({s: c for s, c in counts.items() if c >= min_count})
    longer: dict[str, int] = defaultdict(int)
    for string, count in counts.items():
        if len(string) > min_length:
            for fragment in (string[1:], string[:-1]):
                longer[fragment] = max(longer[fragment], count)
    return Counter({s: c for s, c in frequent.items() if longer.get(s, 0) < dominance * c and len(s) <= max_length})


def mine(texts, tokenizer, entities: list[tuple[str, str]] = (), min_count: int = 5, max_length: int = 6,
         exclude: set[str] = frozenset(), top: int | None = 200) -> list[Candidate]:
    """Ranked candidates: annotated entity surfaces first (by count), then recurring strings (by count x length)."""
    def pieces(term: str) -> int:
        return len(tokenizer.tokenize(term))

    found: dict[str, Candidate] = {}
    by_surface: dict[str, Counter] = defaultdict(Counter)
    for surface, label in entities:
        by_surface[surface][label] += 1
    for surface, labels in by_surface.items():
        if len(surface) >= 2 and not any(ch.isspace() for ch in surface) and surface not in exclude:
            n = pieces(surface)
            if n > 1:
                found[surface] = Candidate(surface, sum(labels.values()), f"entity:{labels.most_common(1)[0][0]}", n)
    ranked_entities = sorted(found.values(), key=lambda c: (-c.count, c.term))
    strings = []
    for string, count in recurring_strings(texts, min_count, max_length=max_length).items():
        if string not in found and string not in exclude:
            n = pieces(string)
            if n > 1:
                strings.append(Candidate(string, count, "recurring", n))
    strings.sort(key=lambda c: (-c.count * len(c.term), c.term))
    ranked = ranked_entities + strings
    return ranked[:top] if top else ranked
