"""CoNLL as the tools and the shared tasks write it: one token per line with its tag in the last column, a blank
line between sentences.

- Columns: ``char TAG`` (bertanno's own, character per line), and any number of columns with the token first
  and the tag last (``EU NNP B-NP B-ORG`` of CoNLL-2003, ``EU -X- _ B-ORG`` of Label Studio's converter); the
  middle columns are left out. A token that is itself whitespace (a space character of a character-level
  file) is kept.
- Tags: BIO (IOB2), IOB1 (an ``I-`` after ``O`` starts an entity, as conlleval reads it), BIOES and BMES, with
  ``-`` or ``_`` after the prefix (``B-PER``, ``B_disease``); the scheme needs no option.
- Structure: ``-DOCSTART-`` lines (document boundaries, CoNLL-2003 and the converter) end a sentence and are
  counted, not read as tokens; CoNLL-U comment lines (``# text = …``) are skipped.
- Text: a character-level file's tokens are joined as they are; a word-level file's (a token of several
  characters) with a space between two tokens that end and begin with a Latin letter or digit and none
  elsewhere (Chinese characters join without one), and the summary says so.

Spans are computed in code points of the joined text.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, TextIO

from bertanno.plugins.bio import char_offsets, spans_to_tags, split_tag, tags_to_spans
from bertanno.plugins.specs import FileFormat, RowError, RowNote
from bertanno.plugins.task import Example, Span

DOCSTART = "-DOCSTART-"
COMMENT = re.compile(r"#\s*[\w.-]+\s*=")
"""A CoNLL-U comment line (``# sent_id = 3``, ``# text = …``); a character-level line ``# O`` is a token."""


def _structure(line: str) -> str | None:
    """``"document"`` for a ``-DOCSTART-`` line, ``"comment"`` for a CoNLL-U comment, ``None`` for any other."""
    stripped = line.strip()
    if stripped.startswith(DOCSTART):
        return "document"
    return "comment" if COMMENT.match(stripped) else None


def _split_line(line: str) -> tuple[str, str, bool] | None:
    """``(token, TAG, extra columns?)``: the tag after the last space or tab, the token the first column before
    it (the whole of it when it is only whitespace: a space character of a character-level file)."""
    cut = max(line.rfind(" "), line.rfind("\t"))
    if cut <= 0 or cut == len(line) - 1:
        return None
    before, tag = line[:cut], line[cut + 1:]
    if not before.strip():
        return before, tag, False
    columns = before.split()
    return columns[0], tag, len(columns) > 1


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def join_tokens(tokens: list[str]) -> tuple[str, list[tuple[int, int]], int]:
    """The text of a sentence's tokens, each token's ``(start, end)`` in it, and how many spaces were put in:
    tokens of one character are joined as they are; word tokens with a space between two that end and begin
    with a Latin letter or digit (English words, numbers) and none elsewhere (Chinese)."""
    words = any(len(token) > 1 for token in tokens)
    text, offsets, spaces = "", [], 0
    for token in tokens:
        if words and text and _latin(text[-1]) and _latin(token[0]):
            text += " "
            spaces += 1
        offsets.append((len(text), len(text) + len(token)))
        text += token
    return text, offsets, spaces


def read_conll(stream: TextIO, options: dict) -> Iterator[Example | RowError | RowNote]:
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    problem: RowError | None = None
    counts = {"documents": 0, "columns": 0, "spaced": 0, "comments": 0}

    def sentence() -> Example | RowError | None:
        if problem is not None:
            return problem
        if not tokens:
            return None
        text, offsets, spaces = join_tokens(tokens)
        counts["spaced"] += bool(spaces)
        return Example(text=text, payload=tags_to_spans(tags, offsets), meta={"line": first_line})

    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip("\r\n")
        structure = _structure(line)
        if not line.strip() or structure:
            if structure:
                counts[f"{structure}s"] += 1
            result = sentence()
            if result is not None:
                yield result
            tokens, tags, problem = [], [], None
            continue
        if not tokens and problem is None:
            first_line = number
        parts = _split_line(line)
        if parts is None:
            problem = problem or RowError(number, f"expected 'TOKEN … TAG' (the tag in the last column), got {line!r}")
            continue
        try:
            split_tag(parts[1])
        except ValueError as exc:
            problem = problem or RowError(number, f"{exc} (the tag is the last column)")
            continue
        tokens.append(parts[0])
        tags.append(parts[1])
        counts["columns"] += parts[2]
    result = sentence()
    if result is not None:
        yield result
    if counts["documents"]:
        yield RowNote(0, f"{counts['documents']} document marker(s) ({DOCSTART}) read as boundaries, not as text")
    if counts["comments"]:
        yield RowNote(0, f"{counts['comments']} comment line(s) (# key = value) skipped")
    if counts["columns"]:
        yield RowNote(0, f"{counts['columns']} token line(s) have columns between the token and the tag: left out "
                         "(the token is the first column, the tag the last)")
    if counts["spaced"]:
        yield RowNote(0, f"{counts['spaced']} sentence(s) of word tokens: their text was rebuilt with a space "
                         "between Latin words and numbers, none between Chinese characters")


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
        if _structure(line):
            return True
        parts = _split_line(line)
        if parts is None:
            return False
        try:
            split_tag(parts[1])
        except ValueError:
            return False
        return True

    return bool(lines) and all(ok(line) for line in lines) and not all(_structure(line) for line in lines)


FORMATS = (
    FileFormat(
        name="conll",
        notes=('one `CHARACTER TAG` per line; BIO, BIOES or BMES; `B-X` or `B_X`'),
        description="one token per line, its tag last (BIO, IOB1, BIOES or BMES; B-X or B_X), blank line between "
                    "sentences; -DOCSTART- and extra columns understood",
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
