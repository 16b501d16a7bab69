"""doccano's own files, read and written: its JSONL for sequence labelling and text classification, and its CSV.

The layouts, from doccano's import and export documentation:

- sequence labelling: ``{"text": "张三住在上海", "label": [[0, 2, "PER"], [4, 6, "LOC"]]}``, offsets in code points,
  end exclusive; doccano before 1.0 wrote the same list under ``labels``;
- text classification: ``{"text": "很好吃", "label": ["positive"]}``, a list of label names (several for a
  multi-label project; older exports: ``labels``);
- intent detection: ``{"text": …, "entities": [[start, end, type], …], "cats": [name, …]}``;
- relation extraction: ``{"text": …, "entities": [{"id", "start_offset", "end_offset", "label"}, …],
  "relations": [{"id", "from_id", "to_id", "type"}, …]}``: read and written whole by a ``relations`` project;
  another project counts the relations and leaves them out;
- CSV (text classification): a header with ``text`` and ``label`` (and often ``id``); several labels of one
  text are joined with ``#``.

A file may hold one record per line (JSONL), one JSON array of records (doccano's JSON export), or records
pretty-printed over several lines (doccano's own export examples). Import projects may rename the text and
label fields (``column_data``/``column_label``): ``--option text=FIELD --option label=FIELD``.

Any other field (``id``, ``meta``, ``comments``…) is kept in the item's meta and written back.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from typing import Any, Iterable, Iterator, TextIO

from bertanno.plugins.builtin.formats.jsonl import BadRecord, SpanRules, _span, first_record, json_lines, listed
from bertanno.plugins.specs import FileFormat, RowError, RowNote, empty_is_annotated
from bertanno.plugins.task import Example, Relation, Span, SpanGraph

LABEL_KEYS = ("label", "labels")
MULTIPLE = "#"


def _labels_of(record: dict) -> tuple[str | None, Any]:
    for key in LABEL_KEYS:
        if key in record:
            return key, record[key]
    return None, None


def _is_span_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(entry, list) for entry in value)


LEFT_OUT = {
    "relations": "relation(s) left out: this project has no relation layer (a relations project keeps them)",
    "cats": "categor(ies) (cats) left out: this is an entity project",
    "entities": "entity span(s) left out: this is a classification project",
    "duplicates": "span(s) given twice (same characters, same type) kept once",
}
"""Why a part of a doccano record a project cannot hold is left out, each counted in the import's summary."""


def _entity(text: str, entry: Any) -> Span:
    """One doccano entity as a span: ``[start, end, type]`` (sequence labelling, intent detection) or
    ``{"id", "start_offset", "end_offset", "label"}`` (relation extraction)."""
    if isinstance(entry, list):
        if len(entry) != 3:
            raise BadRecord(f"a doccano span is [start, end, type], got {entry!r}")
        return _span(text, entry[0], entry[1], entry[2], None, SpanRules())
    if isinstance(entry, dict) and "start_offset" in entry:
        return _span(text, entry.get("start_offset"), entry.get("end_offset"), entry.get("label"), None, SpanRules())
    raise BadRecord(f"a doccano entity is [start, end, type] or {{id, start_offset, end_offset, label}}, "
                    f"got {entry!r}")


def _renamed_columns(record: dict) -> tuple[str, str | None] | None:
    """A record without ``text`` whose only string field is its text and only other list field its label (the
    column names a doccano import project chose): ``(text field, label field or None)``, else ``None``."""
    strings = [key for key, value in record.items() if isinstance(value, str)]
    lists = [key for key, value in record.items() if isinstance(value, list)
             and key not in ("entities", "cats", "relations")]
    if len(strings) != 1 or len(lists) > 1 or _names_a_file(strings[0], record[strings[0]]):
        return None
    return strings[0], (lists[0] if lists else None)


MEDIA = re.compile(r"\.(jpe?g|png|gif|bmp|tiff?|webp|wav|mp3|flac|ogg|m4a|mp4|webm|pdf)$", re.IGNORECASE)


def _names_a_file(key: str, value: str) -> bool:
    """A field that names an image, a recording or a URL (doccano's image and speech projects: ``filename``):
    not a text to annotate."""
    return key.lower() in ("filename", "file", "image", "audio", "url", "path") or bool(MEDIA.search(value.strip())) \
        or value.startswith(("http://", "https://", "/data/"))


def record_to_example(record: Any, line: int, annotated_when_empty: bool = False, kind: str | None = None,
                      columns: tuple[str, str | None] = ("text", None), left_out: Counter | None = None) -> Example:
    """One doccano record as an example, in any of doccano's text layouts: sequence labelling (``label`` as
    ``[[start, end, type], …]``), classification (``label`` as ``[name, …]``), intent detection (``entities``
    lists and ``cats``), relation extraction (``entities`` objects with ``start_offset``/``end_offset`` and
    ``relations``). ``kind``: the project's (``spans`` takes the entities, ``text`` the classes); what it
    cannot hold (relations, the other layer) is counted per reason in ``left_out`` (``LEFT_OUT``'s keys, and
    ``("renamed", text field, label field)`` for renamed columns read).
    ``columns``: the text and label field names (doccano's import lets a project name them, e.g.
    ``column_data``/``column_label``). doccano writes ``[]`` for a text nobody labelled and for a text without
    entities alike: it reads as unlabelled unless ``annotated_when_empty``. Raises ``BadRecord`` naming what
    is wrong."""
    if not isinstance(record, dict):
        raise BadRecord(f"expected a JSON object (doccano writes one per line), got {type(record).__name__}")
    text_key, label_key = columns
    if text_key == "text" and "text" not in record:
        renamed = _renamed_columns(record)
        if renamed is not None:  # doccano's import example names them column_data / column_label
            text_key, found_label = renamed
            label_key = label_key or found_label
            if left_out is not None:
                left_out["renamed", text_key, found_label] += 1
    text = record.get(text_key)
    if not isinstance(text, str):
        strings = [key for key, value in record.items() if isinstance(value, str)]
        if strings and all(_names_a_file(key, record[key]) for key in strings):
            raise BadRecord(f"no text: this record names a file ({', '.join(strings)}), as doccano's image and "
                            "speech projects write; bertanno annotates text")
        hint = f"; its string fields: {', '.join(strings)} (name one with --option text=FIELD)" if strings else ""
        raise BadRecord(f"no text: doccano's layout has a string field '{text_key}'{hint}")
    if label_key is not None:
        key, value = (label_key, record[label_key]) if label_key in record else (None, None)
    else:
        key, value = _labels_of(record)
    entities, cats = listed(record, "entities"), listed(record, "cats")
    relations = listed(record, "relations")
    meta = {k: v for k, v in record.items() if k not in (text_key, key, "entities", "cats", "relations")}
    meta["line"] = line
    counts = left_out if left_out is not None else Counter()
    if kind == "relations":
        return Example(text, payload=_graph(text, value if _is_span_list(value) else [], entities, relations),
                       meta=meta)
    if relations:
        counts["relations"] += len(relations)
    if value is not None and not isinstance(value, list):
        raise BadRecord(f"'{key}' must be a list: [[start, end, type], …] for spans or [name, …] for classes, "
                        f"got {value!r}")
    spans_given = _is_span_list(value) or "entities" in record
    if kind == "spans" or (kind is None and spans_given):
        if cats:
            counts["cats"] += len(cats)
        entries = (value if _is_span_list(value) else []) + entities
        if not entries and value is None and "entities" not in record:
            return Example(text, payload=None, meta=meta)
        found = [_entity(text, entry) for entry in entries]
        spans = sorted(set(found))
        if len(found) > len(spans):
            counts["duplicates"] += len(found) - len(spans)
        if not spans:  # doccano writes [] for a text nobody labelled, and for a text without entities
            return Example(text, payload=[] if annotated_when_empty else None, meta=meta)
        return Example(text, payload=spans, meta=meta)
    if entities or _is_span_list(value):
        counts["entities"] += len(entities) + (len(value) if _is_span_list(value) else 0)
    names = (value if value is not None and not _is_span_list(value) else []) + cats
    if not all(isinstance(name, str) and name for name in names):
        raise BadRecord(f"'{key or 'cats'}' must list label names or [start, end, type] spans, got {names!r}")
    names = list(dict.fromkeys(names))
    if not names:
        return Example(text, payload=None, meta=meta)
    return Example(text, payload=names[0] if len(names) == 1 else names, meta=meta)


def _graph(text: str, listed_spans: list, entities: list, relations: list) -> SpanGraph | None:
    """doccano's relation extraction layout as a ``SpanGraph``: the entities (objects with ``id``, or lists), the
    relations' ``from_id``/``to_id`` naming entity ids; ``None`` for a record with neither (unlabelled, as doccano
    writes a text nobody annotated). Raises ``BadRecord`` for a relation whose end is no entity's id."""
    by_id: dict[Any, Span] = {}
    spans = [_entity(text, entry) for entry in listed_spans]
    for entry in entities:
        span = _entity(text, entry)
        spans.append(span)
        if isinstance(entry, dict) and "id" in entry:
            by_id[entry["id"]] = span
    links = []
    for relation in relations:
        if not isinstance(relation, dict):
            raise BadRecord(f"a doccano relation is an object with from_id, to_id and type, got {relation!r}")
        ends = []
        for key in ("from_id", "to_id"):
            if relation.get(key) not in by_id:
                raise BadRecord(f"relation {relation.get('type')!r}: its {key} {relation.get(key)!r} is not the id of "
                                "one of the record's entities")
            ends.append(by_id[relation[key]])
        label = relation.get("type")
        if not isinstance(label, str) or not label:
            raise BadRecord(f"a doccano relation needs a type (a string), got {label!r}")
        links.append(Relation(ends[0], ends[1], label))
    if not spans and not links:
        return None
    return SpanGraph(tuple(sorted(set(spans))), tuple(links))


def read_doccano(stream: TextIO, options: dict) -> Iterator[Example | RowError | RowNote]:
    """Every doccano text layout (``record_to_example``), one record per line, a JSON array of them (doccano's
    JSON export) or pretty-printed records; ends with a note per kind of part left out. Options:
    ``empty=no-entities`` (for NER, ``"label": []`` is an annotated text without entities; default: an
    unlabelled text, which is what doccano writes for a text nobody annotated); ``text=FIELD`` and
    ``label=FIELD`` (the record's text and label fields, as named in doccano's import)."""
    try:
        annotated = empty_is_annotated(options) and options.get("kind") == "spans"
    except ValueError as exc:
        yield RowError(0, str(exc))
        return
    columns, left_out = (options.get("text", "text"), options.get("label")), Counter()
    yield from json_lines(stream, lambda record, line: record_to_example(
        record, line, annotated, options.get("kind"), columns, left_out))
    for reason, count in left_out.items():
        if isinstance(reason, tuple):  # ("renamed", text field, label field)
            _, text_field, label_field = reason
            label = f" and {label_field!r} as the label" if label_field is not None else ""
            yield RowNote(0, f"{count} record(s) have no 'text': read {text_field!r} as the text{label} (the "
                             "columns a doccano import names; --option text=FIELD --option label=FIELD choose)")
        else:
            yield RowNote(0, f"{count} {LEFT_OUT[reason]}")


def example_to_record(example: Example, kind: str | None) -> dict:
    """doccano's object: spans as ``[start, end, type]`` lists, classes as a list of names; meta fields as they
    came (``line`` left out)."""
    record: dict[str, Any] = {k: v for k, v in example.meta.items() if k not in ("line", "text", "label")}
    record["text"] = example.text
    payload = example.payload
    if kind == "relations":
        spans = sorted(tuple(s) for s in (payload.spans if payload is not None else ()))
        ids = {span: number for number, span in enumerate(spans)}
        record["entities"] = [{"id": ids[span], "start_offset": span[0], "end_offset": span[1], "label": span[2]}
                              for span in spans]
        record["relations"] = [{"id": number, "from_id": ids[tuple(r.head)], "to_id": ids[tuple(r.tail)],
                                "type": r.label} for number, r in enumerate(payload.relations if payload else ())]
    elif kind == "spans":
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
    if kind == "relations" and (example.payload is None or not example.payload.spans):
        return "doccano writes no entities and no annotation the same way (empty lists); use jsonl"
    if isinstance(example.payload, list) and not example.payload and kind != "spans":
        return "an empty label list reads back as no annotation in doccano's layout; use jsonl"
    return None


def looks_like_doccano(lines: list[str]) -> bool:
    """The first object (of a line, an array or a pretty-printed object) has doccano's shape: ``label``/``labels``
    a list (bertanno's jsonl has one name in ``label`` and spans in ``spans``), or ``entities`` as ``[start, end,
    type]`` lists or objects with ``start_offset``, or ``cats``."""
    record = first_record(lines)
    if not isinstance(record, dict) or "spans" in record or "data" in record or "annotation_id" in record:
        return False
    entities = record.get("entities")
    if entities in (..., [...]) or (isinstance(entities, list) and any(
            isinstance(e, list) or (isinstance(e, dict) and "start_offset" in e) for e in entities)):
        return True  # (... : pretty-printed past the lines sniffed; CAIL2021's entities come one record a line)
    if isinstance(record.get("cats"), list):
        return True
    if "text" not in record and _renamed_columns(record) is not None and _renamed_columns(record)[1] is not None:
        return True  # renamed columns: {"column_data": …, "column_label": [...]}
    return isinstance(_labels_of(record)[1], list) and (record.get("label") is not None
                                                       or _is_span_list(record.get("labels")))


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
        notes=('doccano\'s JSONL: `{"text", "label": [[start, end, type]]}` (also the older `labels`) or `{"text", '
               '"label": [names]}`; recognised from its shape; `--option empty=no-entities` reads `[]` as a text '
               'without entities (default: unlabelled, as doccano writes an unannotated text); a relations project '
               'reads and writes `entities` objects with ids and `relations` (`from_id`, `to_id`, `type`)'),
        description="doccano JSONL/JSON: label [[start, end, type], …] or [name, …]; entities and cats (intent); "
                    "entity objects and relations (relation extraction)",
        kinds=frozenset({"text", "spans", "relations"}),
        read=read_doccano,
        write=write_doccano,
        extensions=(".jsonl", ".json"),
        sniff=looks_like_doccano,
        options=("empty", "text", "label"),
        cannot_carry=doccano_cannot_carry,
        refuses="an annotated NER item without entities; an empty label list",
        keeps_meta=True,
    ),
    FileFormat(
        name="doccano-csv",
        notes=("doccano's classification CSV: `id,text,label`, several labels joined with `#`; chosen with `--format"
               ' doccano-csv`'),
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
