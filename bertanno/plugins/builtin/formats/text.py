"""Plain text: one unlabeled item per line; and fastText's labelled lines (``__label__positive 很好吃``), which
doccano exports for text classification."""

from __future__ import annotations

from typing import Iterable, Iterator, TextIO

from bertanno.plugins.specs import FileFormat, RowError
from bertanno.plugins.task import Example


def read_lines(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip("\r\n")
        if line.strip():
            yield Example(text=line, meta={"line": number})


def write_lines(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    for example in examples:
        stream.write(example.text + "\n")


def lines_cannot_carry(example: Example, kind: str) -> str | None:
    """A text per line: not one with a line break (``\\r`` ends a line too), nor one that starts with U+FEFF
    (read as a byte-order mark when it is the first line)."""
    if "\n" in example.text or "\r" in example.text:
        return "the text holds a line break, and txt is one text per line (use jsonl)"
    if example.text.startswith("\ufeff"):
        return "the text starts with U+FEFF, which is read as a byte-order mark (use jsonl)"
    return None


FASTTEXT_PREFIX = "__label__"


def read_fasttext(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    """fastText's layout: each line's leading ``__label__NAME`` words are its labels (several: a list), the rest
    its text; a line without a label is an unlabelled item; one with labels and no text is a row error."""
    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        words, labels = line.split(" "), []
        while words and words[0].startswith(FASTTEXT_PREFIX):
            labels.append(words.pop(0)[len(FASTTEXT_PREFIX):])
        text = " ".join(words)
        if not text.strip():
            yield RowError(number, f"{', '.join(labels) or 'a line'} without a text after the labels")
            continue
        if any(not label for label in labels):
            yield RowError(number, f"{FASTTEXT_PREFIX} without a label name")
            continue
        payload = None if not labels else labels[0] if len(labels) == 1 else labels
        yield Example(text=text, payload=payload, meta={"line": number})


def write_fasttext(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """``__label__NAME … TEXT`` per line (an unlabelled item: the text alone)."""
    for example in examples:
        payload = example.payload
        names = [] if payload is None else list(payload) if isinstance(payload, list) else [payload]
        stream.write("".join(f"{FASTTEXT_PREFIX}{name} " for name in names) + example.text + "\n")


def fasttext_cannot_carry(example: Example, kind: str) -> str | None:
    """What a fastText line cannot hold: a line break in the text, a text starting with ``__label__`` or a
    space (read back as a label or lost), a label with whitespace (the next word would be the text)."""
    problem = lines_cannot_carry(example, kind)
    if problem is not None:
        return problem
    if example.text.startswith((FASTTEXT_PREFIX, " ")):
        return "the text starts with __label__ or a space, which a fastText line reads differently (use jsonl)"
    payload = example.payload
    names = [] if payload is None else list(payload) if isinstance(payload, list) else [payload]
    if any(not name or any(ch.isspace() for ch in name) for name in names):
        return "a label with whitespace cannot be a fastText __label__ word (use jsonl)"
    if isinstance(payload, list) and not payload:
        return "an empty label list reads back as no label in fastText's layout (use jsonl)"
    return None


FORMATS = (
    FileFormat(
        name="txt",
        notes=('one unlabeled text per line'),
        description="one text per line, no labels (input for pre-annotation)",
        kinds=frozenset({"text", "spans", "relations"}),
        read=read_lines,
        write=write_lines,
        extensions=(".txt",),
        sniff=lambda lines: True,
        options=(),
        cannot_carry=lines_cannot_carry,
        refuses="a line break in a text; a text starting with U+FEFF (labels are not written)",
        carries_labels=False,
    ),
    FileFormat(
        name="fasttext",
        notes=("`__label__NAME … TEXT` per line (doccano's text classification export; recognised by its `__label__`"
               ' words)'),
        description="fastText lines: __label__NAME … then the text (doccano's text classification export)",
        kinds=frozenset({"text"}),
        read=read_fasttext,
        write=write_fasttext,
        extensions=(".txt",),
        sniff=lambda lines: any(line.startswith(FASTTEXT_PREFIX) for line in lines),
        options=(),
        cannot_carry=fasttext_cannot_carry,
        refuses="a line break in a text; a text starting with __label__ or a space; a label with whitespace",
    ),
)
