"""Plain text: one unlabeled item per line."""

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


FORMATS = (
    FileFormat(
        name="txt",
        description="one text per line, no labels (input for pre-annotation)",
        kinds=frozenset({"text", "spans"}),
        read=read_lines,
        write=write_lines,
        extensions=(".txt",),
        sniff=lambda lines: True,
        options=(),
        cannot_carry=lines_cannot_carry,
        refuses="a line break in a text; a text starting with U+FEFF (labels are not written)",
        carries_labels=False,
    ),
)
