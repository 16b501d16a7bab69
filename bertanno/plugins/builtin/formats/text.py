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
        if "\n" in example.text:
            raise ValueError(f"a text with a line break cannot be written one per line: {example.text[:30]!r}…")
        stream.write(example.text + "\n")


FORMATS = (
    FileFormat(
        name="txt",
        description="one text per line, no labels (input for pre-annotation)",
        kinds=frozenset({"text", "spans"}),
        read=read_lines,
        write=write_lines,
        extensions=(".txt",),
        sniff=lambda lines: True,
    ),
)
