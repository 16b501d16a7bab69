"""doccano's own files, read and written: its JSONL for sequence labelling and text classification, and its CSV.

The layouts, from doccano's import and export documentation:

- sequence labelling: ``{"text": "张三住在上海", "label": [[0, 2, "PER"], [4, 6, "LOC"]]}``, offsets in code points,
  end exclusive; doccano before 1.0 wrote the same list under ``labels``;
- text classification: ``{"text": "很好吃", "label": ["positive"]}``, a list of label names (several for a
  multi-label project; older exports: ``labels``);
- CSV (text classification): a header with ``text`` and ``label`` (and often ``id``); several labels of one
  text are joined with ``#``.

Any other field (``id``, ``meta``, ``comments``…) is kept in the item's meta and written back.
"""

from __future__ import annotations

import csv
import json
from typing import Any, Iterable, Iterator, TextIO

from bertanno.plugins.builtin.formats.jsonl import BadRecord, SpanRules, _span, json_lines
from bertanno.plugins.specs import FileFormat, RowError, empty_is_annotated
from bertanno.plugins.task import Example

LABEL_KEYS = ("label", "labels")
MULTIPLE = "#"


def _labels_of(record: dict) -> tuple[str | None, Any]:
    for key in LABEL_KEYS:
        if key in record:
            return key, record[key]
    return None, None


def _is_span_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(entry, list) for entry in value)


def record_to_example(record: Any, line: int, annotated_when_empty: bool = False) -> Example:
    """One doccano JSONL object as an example: spans for ``[[start, end, type], …]``, a label (one name) or a
    list of names for classification. doccano writes ``[]`` for a text nobody labelled and for a text without
    entities alike: it reads as unlabelled unless ``annotated_when_empty`` (then: annotated, no entities).
    Raises ``BadRecord`` naming what is wrong."""
    if not isinstance(record, dict):
        raise BadRecord(f"expected a JSON object (doccano writes one per line), got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        raise BadRecord("no text: doccano's layout has a string field 'text'")
    key, value = _labels_of(record)
    meta = {k: v for k, v in record.items() if k not in ("text", key)}
    meta["line"] = line
    if value is None:
        return Example(text, payload=None, meta=meta)
    if not isinstance(value, list):
        raise BadRecord(f"'{key}' must be a list: [[start, end, type], …] for spans or [name, …] for classes, "
                        f"got {value!r}")
    if _is_span_list(value):
        spans = []
        for entry in value:
            if len(entry) != 3:
                raise BadRecord(f"a doccano span is [start, end, type], got {entry!r}")
            spans.append(_span(text, entry[0], entry[1], entry[2], None, SpanRules()))
        return Example(text, payload=sorted(spans), meta=meta)
    if not all(isinstance(name, str) and name for name in value):
        raise BadRecord(f"'{key}' must list label names or [start, end, type] spans, got {value!r}")
    if not value:  # doccano writes [] for a text nobody labelled, and for a text without entities
        return Example(text, payload=[] if annotated_when_empty else None, meta=meta)
    return Example(text, payload=value[0] if len(value) == 1 else list(value), meta=meta)


def read_doccano(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    """Option ``empty=no-entities``: for NER, ``"label": []`` is an annotated text without entities (default:
    an unlabelled text, which is what doccano writes for a text nobody annotated)."""
    try:
        annotated = empty_is_annotated(options) and options.get("kind") == "spans"
    except ValueError as exc:
        yield RowError(0, str(exc))
        return
    yield from json_lines(stream, lambda record, line: record_to_example(record, line, annotated))


def example_to_record(example: Example, kind: str | None) -> dict:
    """doccano's object: spans as ``[start, end, type]`` lists, classes as a list of names; meta fields as they
    came (``line`` left out)."""
    record: dict[str, Any] = {k: v for k, v in example.meta.items() if k not in ("line", "text", "label")}
    record["text"] = example.text
    payload = example.payload
    if kind == "spans":
        record["label"] = [[start, end, label] for start, end, label in payload or ()]
    elif payload is None:
        record["label"] = []
    else:
        record["label"] = list(payload) if isinstance(payload, list) else [payload]
    return record


def write_doccano(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """One doccano object per line (``example_to_record``); ``options["kind"]`` is the task's example kind."""
    for example in examples:
        stream.write(json.dumps(example_to_record(example, options.get("kind")), ensure_ascii=False) + "\n")


def doccano_cannot_carry(example: Example, kind: str) -> str | None:
    """doccano writes ``[]`` both for an unlabelled text and for a text without entities: an annotated NER
    item without entities would read back as unlabelled (unless read with ``empty=no-entities``), and a
    classification item with an empty label list likewise."""
    if kind == "spans" and not example.payload:
        return "doccano writes no entities and no annotation the same way ([]); use jsonl"
    if isinstance(example.payload, list) and not example.payload and kind != "spans":
        return "an empty label list reads back as no annotation in doccano's layout; use jsonl"
    return None


def looks_like_doccano(lines: list[str]) -> bool:
    """The first object's ``label``/``labels`` is a list: doccano's shape (bertanno's jsonl has one name in
    ``label`` and spans in ``spans``)."""
    try:
        record = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and isinstance(_labels_of(record)[1], list) and "spans" not in record \
        and (record.get("label") is not None or _is_span_list(record.get("labels")))


# -- CSV ------------------------------------------------------------------------------------------------------

def read_doccano_csv(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    """Rows of a CSV with a ``text`` column and a ``label`` column (names joined with ``#``); ``id`` kept in
    meta; a row with more fields than the header names is a row error."""
    reader = csv.DictReader(stream)
    fields = [name.strip().lower() for name in reader.fieldnames or []]
    if "text" not in fields:
        yield RowError(1, f"doccano's CSV has a 'text' column; the header is {reader.fieldnames}")
        return
    for row in reader:
        line = reader.line_num
        cells = {name.strip().lower(): value for name, value in row.items() if name is not None}
        if None in row:
            yield RowError(line, f"{len(fields) + len(row[None])} fields, the header names {len(fields)}")
            continue
        label = (cells.get("label") or "").strip()
        names = [name.strip() for name in label.split(MULTIPLE) if name.strip()]
        meta = {"line": line, **({"id": cells["id"]} if cells.get("id") else {})}
        payload = None if not names else names[0] if len(names) == 1 else names
        yield Example(cells["text"], payload=payload, meta=meta)


def write_doccano_csv(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """``id,text,label``; several labels joined with ``#``; CRLF line ends (RFC 4180)."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(["id", "text", "label"])
    for number, example in enumerate(examples, start=1):
        payload = example.payload
        label = "" if payload is None else MULTIPLE.join(payload) if isinstance(payload, list) else payload
        writer.writerow([example.meta.get("id", number), example.text, label])


def doccano_csv_cannot_carry(example: Example, kind: str) -> str | None:
    """A label holding ``#`` or outer spaces (the reader splits and strips), and an empty label list."""
    names = example.payload if isinstance(example.payload, list) else [example.payload] * (example.payload is not None)
    for name in names:
        if MULTIPLE in name or name != name.strip():
            return f"the label {name!r} holds '#' or outer spaces, which doccano's CSV cannot carry; use jsonl"
    if isinstance(example.payload, list) and not example.payload:
        return "an empty label list reads back as no annotation in doccano's CSV; use jsonl"
    return None


FORMATS = (
    FileFormat(
        name="doccano",
        description="doccano JSONL: text with label [[start, end, type], …] (sequence labelling) or [name, …]",
        kinds=frozenset({"text", "spans"}),
        read=read_doccano,
        write=write_doccano,
        extensions=(".jsonl", ".json"),
        sniff=looks_like_doccano,
        options=("empty",),
        cannot_carry=doccano_cannot_carry,
        refuses="an annotated NER item without entities; an empty label list",
        keeps_meta=True,
    ),
    FileFormat(
        name="doccano-csv",
        description="doccano CSV (text classification): id, text, label; several labels joined with #",
        kinds=frozenset({"text"}),
        read=read_doccano_csv,
        write=write_doccano_csv,
        # the same header as bertanno's csv: no extension of its own, chosen with --format doccano-csv
        options=(),
        cannot_carry=doccano_csv_cannot_carry,
        refuses="a label with # or outer spaces; an empty label list",
    ),
)
