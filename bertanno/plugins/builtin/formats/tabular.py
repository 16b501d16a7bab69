"""CSV and TSV with a header or named columns, and the CAIL2021 argument-pair CSV."""

from __future__ import annotations

import csv
from typing import Iterable, Iterator, TextIO

from bertanno.plugins.specs import FileFormat, RowError
from bertanno.plugins.task import Example

COLUMN_ALIASES = {
    "text": ("text", "text_a", "review", "sentence", "sentence1", "content", "question1", "query1"),
    "text_b": ("text_b", "sentence2", "question2", "query2"),
    "label": ("label", "labels", "class"),
}
ROLES = tuple(COLUMN_ALIASES)
ARGMINE_COLUMNS = {"sc", "A", "B", "C", "D", "E", "answer"}


def _positions(header: list[str], options: dict) -> dict[str, int]:
    """Which column holds each role: an explicit ``text=COLUMN`` option first, else a known alias."""
    lowered = [name.strip().lower() for name in header]
    positions = {}
    for role in ROLES:
        wanted = (options[role],) if role in options else COLUMN_ALIASES[role]
        for name in wanted:
            if name.lower() in lowered:
                positions[role] = lowered.index(name.lower())
                break
    return positions


def read_delimited(stream: TextIO, options: dict, delimiter: str) -> Iterator[Example | RowError]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(stream, delimiter=delimiter, quoting=quoting)
    if "columns" in options:  # no header: the columns are named in order
        names = [name.strip() for name in options["columns"].split(",")]
        unknown = set(names) - set(ROLES) - {"_"}
        if unknown:
            yield RowError(0, f"columns option: unknown role(s) {sorted(unknown)}; use {', '.join(ROLES)} or _ to ignore")
            return
        positions = {name: i for i, name in enumerate(names) if name != "_"}
        width = len(names)
        if "text" not in positions:
            yield RowError(0, "columns option: name the text column, e.g. columns=label,text")
            return
    else:
        header = next(reader, None)
        if header is None:
            return
        positions = _positions(header, options)
        width = len(header)
        if "text" not in positions:
            yield RowError(reader.line_num, f"no text column in the header {header}; name it with the option "
                           "text=COLUMN, or give columns=text,label for a file without a header")
            return
    required = max(positions[r] for r in positions if r != "label") + 1
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) > width or len(row) < required:
            yield RowError(line, f"{len(row)} fields, expected {width}")
            continue
        cells = {role: row[i] if i < len(row) else None for role, i in positions.items()}
        label = cells.get("label")
        yield Example(
            text=cells["text"],
            text_b=cells.get("text_b"),
            payload=label.strip() if label not in (None, "") else None,
            meta={"line": line},
        )


def _rows(examples: Iterable[Example], options: dict) -> Iterator[list[str]]:
    """The header, then one ``[text, (text_b,) label]`` row per example (an empty cell: no label)."""
    examples = list(examples)
    with_pair = options.get("kind") == "pair" or any(e.text_b is not None for e in examples)
    yield ["text", "text_b", "label"] if with_pair else ["text", "label"]
    for example in examples:
        label = "" if example.payload is None else example.payload
        yield [example.text, example.text_b, label] if with_pair else [example.text, label]


def write_csv(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """RFC 4180 CSV: CRLF line ends, so that every Python version quotes a field holding a lone ``\r``
    (before 3.13 the writer quotes only the characters of its line terminator)."""
    csv.writer(stream, lineterminator="\r\n").writerows(_rows(examples, options))


def write_tsv(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """Tab-separated without quoting, as the reader reads it (``"`` is an ordinary character); texts that
    hold a tab or a line break are refused by ``tsv_cannot_carry``."""
    for row in _rows(examples, options):
        stream.write("\t".join(row) + "\n")


def _label_of(example: Example) -> str | None:
    return example.payload if isinstance(example.payload, str) else None


def csv_cannot_carry(example: Example, kind: str) -> str | None:
    label = _label_of(example)
    if label is not None and label != label.strip():
        return f"the label {label!r} starts or ends with whitespace, which the reader strips"
    if example.payload is not None and label is None:
        return "a CSV cell holds one label, not a list"
    return None


def tsv_cannot_carry(example: Example, kind: str) -> str | None:
    for name, value in (("text", example.text), ("text_b", example.text_b), ("label", _label_of(example))):
        if value is not None and any(mark in value for mark in "\t\r\n"):
            return f"the {name} holds a tab or a line break, which TSV cannot carry (use jsonl or csv)"
    return csv_cannot_carry(example, kind)


def read_argument_pairs(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    """CAIL2021 argument mining: a prosecution argument ``sc``, five defence candidates A-E, ``answer`` 1-5.

    Each row becomes five pairs: (sc, candidate) labelled ``1`` for the answer, ``0`` otherwise.
    """
    reader = csv.DictReader(stream)
    if reader.fieldnames is None or not ARGMINE_COLUMNS <= set(reader.fieldnames):
        yield RowError(1, f"expected the columns {sorted(ARGMINE_COLUMNS)}, found {reader.fieldnames}")
        return
    for row in reader:
        line = reader.line_num
        answer = (row.get("answer") or "").strip()
        if answer not in {"1", "2", "3", "4", "5"}:
            yield RowError(line, f"answer must be 1..5, got {answer!r}")
            continue
        for index, letter in enumerate("ABCDE", start=1):
            yield Example(
                text=row["sc"],
                text_b=row[letter],
                payload="1" if int(answer) == index else "0",
                meta={"line": line, "id": f"{row.get('id', line)}-{letter}"},
            )


def _looks_like_argmine(lines: list[str]) -> bool:
    return bool(lines) and ARGMINE_COLUMNS <= set(next(csv.reader(lines[:1])))


def _looks_tabbed(lines: list[str]) -> bool:
    return bool(lines) and all("\t" in line for line in lines)


FORMATS = (
    FileFormat(
        name="csv",
        notes=('header naming `text`/`text_a`/`review`…, `text_b`, `label`; or `--option text=COL --option '
               'label=COL`'),
        description="comma-separated, a header naming text / text_b / label columns (or options text=, label=)",
        kinds=frozenset({"text", "pair"}),
        read=lambda stream, options: read_delimited(stream, options, ","),
        write=write_csv,
        extensions=(".csv",),
        options=ROLES + ("columns",),
        cannot_carry=csv_cannot_carry,
        refuses="a label with outer spaces; a list of labels",
    ),
    FileFormat(
        name="tsv",
        notes=('as csv; `--option columns=label,text,text_b` for files without a header'),
        description="tab-separated, a header or the option columns=text,text_b,label for files without one",
        kinds=frozenset({"text", "pair"}),
        read=lambda stream, options: read_delimited(stream, options, "\t"),
        write=write_tsv,
        extensions=(".tsv", ".txt"),
        sniff=_looks_tabbed,
        options=ROLES + ("columns",),
        cannot_carry=tsv_cannot_carry,
        refuses="a tab or line break in a text or label; a label with outer spaces; a list of labels",
    ),
    FileFormat(
        name="cail-argmine",
        notes=('CAIL2021 argument pairs: one prosecution argument, five candidates, five pairs per row'),
        description="CAIL2021 argument pairs: sc, candidates A-E, answer; five pairs per row",
        kinds=frozenset({"pair"}),
        read=read_argument_pairs,
        extensions=(".csv",),
        sniff=_looks_like_argmine,
        options=(),
    ),
)
