"""Character-per-line CoNLL: ``char TAG`` per line, a blank line between sentences.

Tags may be BIO, BIOES or BMES, with ``-`` or ``_`` after the prefix (``B-PER``, ``B_disease``).
Spans are computed in code points of the concatenated characters.
"""

from __future__ import annotations

from typing import Iterable, Iterator, TextIO

from bertanno.plugins.bio import char_offsets, spans_to_tags, split_tag, tags_to_spans
from bertanno.plugins.specs import FileFormat, RowError
from bertanno.plugins.task import Example, Span


def _split_line(line: str) -> tuple[str, str] | None:
    """``token TAG`` split at the last space or tab, so a token that is itself whitespace survives."""
    cut = max(line.rfind(" "), line.rfind("\t"))
    if cut <= 0 or cut == len(line) - 1:
        return None
    return line[:cut], line[cut + 1 :]


def read_conll(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    problem: RowError | None = None

    def sentence() -> Example | RowError | None:
        if problem is not None:
            return problem
        if not tokens:
            return None
        offsets, position = [], 0
        for token in tokens:
            offsets.append((position, position + len(token)))
            position += len(token)
        spans = tags_to_spans(tags, offsets)
        return Example(text="".join(tokens), payload=spans, meta={"line": first_line})

    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            result = sentence()
            if result is not None:
                yield result
            tokens, tags, problem = [], [], None
            continue
        if not tokens and problem is None:
            first_line = number
        parts = _split_line(line)
        if parts is None:
            problem = problem or RowError(number, f"expected 'CHARACTER TAG', got {line!r}")
            continue
        try:
            split_tag(parts[1])
        except ValueError as exc:
            problem = problem or RowError(number, str(exc))
            continue
        tokens.append(parts[0])
        tags.append(parts[1])
    result = sentence()
    if result is not None:
        yield result


def write_conll(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """Character-level BIO, one ``CHARACTER TAG`` line per code point, a blank line after each text. Given
    only examples that ``conll_cannot_carry`` accepts."""
    for example in examples:
        spans = [Span(*s) for s in example.payload or ()]
        tags, _ = spans_to_tags(spans, char_offsets(len(example.text)))
        for char, tag in zip(example.text, tags):
            stream.write(f"{char} {tag}\n")
        stream.write("\n")


def conll_cannot_carry(example: Example, kind: str) -> str | None:
    """What BIO lines cannot hold: a line-break character (a line of its own would end the line), a text
    starting with U+FEFF (read as a byte-order mark when first in the file), a label with whitespace (the
    tag is what follows the last space), and nested or overlapping spans (one tag per character)."""
    if "\n" in example.text or "\r" in example.text:
        return "the text holds a line break, which a CHARACTER TAG line cannot hold (use jsonl)"
    if example.text.startswith("\ufeff"):
        return "the text starts with U+FEFF, which is read as a byte-order mark (use jsonl)"
    spans = [Span(*s) for s in example.payload or ()]
    spaced = sorted({s.label for s in spans if any(ch.isspace() for ch in s.label)})
    if spaced:
        return f"the label {spaced[0]!r} holds whitespace, which a CoNLL tag cannot (use jsonl)"
    _, problems = spans_to_tags(spans, char_offsets(len(example.text)))
    if problems:
        return f"span {problems[0].span.start}..{problems[0].span.end} cannot be written as BIO: {problems[0].reason}"
    return None


def _looks_like_conll(lines: list[str]) -> bool:
    def ok(line):
        parts = _split_line(line)
        if parts is None:
            return False
        try:
            split_tag(parts[1])
        except ValueError:
            return False
        return True

    return bool(lines) and all(ok(line) for line in lines)


FORMATS = (
    FileFormat(
        name="conll",
        description="one 'CHARACTER TAG' per line (BIO, BIOES or BMES; B-X or B_X), blank line between sentences",
        kinds=frozenset({"spans"}),
        read=read_conll,
        write=write_conll,
        extensions=(".conll", ".bio", ".txt"),
        sniff=_looks_like_conll,
        options=(),
        cannot_carry=conll_cannot_carry,
        refuses="a line break in a text or U+FEFF at its start; nested or overlapping spans; a label with a space",
    ),
)
