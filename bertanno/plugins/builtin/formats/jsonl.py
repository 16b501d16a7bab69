"""JSON lines: bertanno's own lossless layout, plus the span layouts of ChineseBLUE and CAIL2021.

Layouts recognised per line:
- ``{"text", "label"}``, ``{"text", "labels": [...]}``, ``{"text_a" | "text", "text_b", "label"}``
- ``{"text", "spans": [[start, end, label] | {"start", "end", "label", "text"?}]}`` (``"spans": null``: unlabelled)
- ChineseBLUE: ``{"text", "mention_data": [{"mention", "type", "offset"}]}``
- CAIL2021: ``{"context", "entities": [{"label", "span": ["start;end", ...]}]}``

Ends are exclusive unless the option ``end=inclusive`` is given. Where the file states a
span's surface text, it must equal ``text[start:end]``: a mismatch is an error, never fixed silently.
The option ``mention_case=ignore`` accepts a surface that differs only in letter case (ChineseBLUE's
JSON lowercases the text but not the mentions); the text is kept as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TextIO

from bertanno.plugins.specs import FileFormat, RowError
from bertanno.plugins.task import Example, Span


class BadRecord(ValueError):
    pass


@dataclass(frozen=True)
class SpanRules:
    inclusive: bool = False
    ignore_case: bool = False

    @classmethod
    def from_options(cls, options: dict) -> "SpanRules":
        return cls(options.get("end", "exclusive") == "inclusive", options.get("mention_case") == "ignore")

    def same_surface(self, found: str, stated: str) -> bool:
        return found.casefold() == stated.casefold() if self.ignore_case else found == stated


def _whole(value: Any, digits: bool = False) -> int | None:
    """``value`` as an offset: a JSON integer, or with ``digits`` (the ChineseBLUE and CAIL layouts, which
    write offsets as strings) a string of ASCII digits; ``None`` for anything else (3.5, true, "3a")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if digits and isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def _span(text: str, start: Any, end: Any, label: Any, surface: str | None, rules: SpanRules,
          digits: bool = False) -> Span:
    first, last = _whole(start, digits), _whole(end, digits)
    if first is None or last is None:
        raise BadRecord(f"span offsets must be whole numbers, got {start!r}..{end!r}")
    if not isinstance(label, str) or not label:
        raise BadRecord(f"a span needs a label (a string), got {label!r}")
    start, end = first, last + (1 if rules.inclusive else 0)
    if not (0 <= start < end <= len(text)):
        raise BadRecord(f"span {start}..{end} ({label}) is outside the text of length {len(text)}")
    if surface is not None and not rules.same_surface(text[start:end], surface):
        raise BadRecord(f"span {start}..{end} is {text[start:end]!r} in the text but the file says {surface!r}")
    return Span(start, end, label)


def _native_spans(text: str, spans: list, rules: SpanRules) -> list[Span]:
    result = []
    for span in spans:
        if isinstance(span, dict):
            result.append(_span(text, span.get("start"), span.get("end"), span.get("label"), span.get("text"), rules))
        elif isinstance(span, (list, tuple)) and len(span) == 3:
            result.append(_span(text, span[0], span[1], span[2], None, rules))
        else:
            raise BadRecord(f"a span must be [start, end, label] or an object, got {span!r}")
    return result


def _chineseblue_spans(text: str, mentions: list, rules: SpanRules) -> list[Span]:
    result = []
    for mention in mentions:
        surface = mention.get("mention")
        if surface is None or "offset" not in mention:
            raise BadRecord(f"mention without 'mention' or 'offset': {mention!r}")
        start = _whole(mention["offset"], digits=True)
        if start is None or not isinstance(surface, str):
            raise BadRecord(f"mention offset must be a whole number and mention a string: {mention!r}")
        exclusive = SpanRules(inclusive=False, ignore_case=rules.ignore_case)  # offset + len(mention) is exclusive
        result.append(_span(text, start, start + len(surface), mention.get("type"), surface, exclusive))
    return result


def _cail_spans(text: str, entities: list, rules: SpanRules) -> list[Span]:
    result = []
    for entity in entities:
        for position in entity.get("span", []):
            start, _, end = str(position).partition(";")
            result.append(_span(text, start, end, entity.get("label"), None, rules, digits=True))
    return result


def record_to_example(record: Any, line: int, rules: SpanRules) -> Example:
    if not isinstance(record, dict):
        raise BadRecord(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text", record.get("text_a", record.get("context")))
    if not isinstance(text, str):
        raise BadRecord("no text: expected a string field 'text' (or 'text_a', 'context')")
    meta = dict(record.get("meta") or {})
    meta["line"] = line
    if "id" in record:
        meta["id"] = record["id"]
    if "spans" in record:
        payload = None if record["spans"] is None else _native_spans(text, record["spans"], rules)
    elif "mention_data" in record:
        payload = _chineseblue_spans(text, record["mention_data"] or [], rules)
    elif "entities" in record:
        payload = _cail_spans(text, record["entities"] or [], rules)
    elif "labels" in record:
        payload = [str(label) for label in record["labels"] or []]
    else:
        label = record.get("label")
        payload = None if label is None else str(label)
    text_b = record.get("text_b")
    if text_b is not None and not isinstance(text_b, str):
        raise BadRecord("text_b must be a string")
    return Example(text=text, text_b=text_b, payload=payload, meta=meta)


def json_lines(stream: TextIO, convert: Callable[[Any, int], Example]) -> Iterator[Example | RowError]:
    """``convert(record, line)`` for each non-blank line's JSON value; invalid JSON and ``BadRecord`` become
    ``RowError``s with the line number. Shared by every JSON-lines layout (jsonl, doccano)."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            yield convert(json.loads(raw), number)
        except json.JSONDecodeError as exc:
            yield RowError(number, f"not valid JSON: {exc.msg} at column {exc.colno}")
        except BadRecord as exc:
            yield RowError(number, str(exc))


def read_jsonl(stream: TextIO, options: dict) -> Iterator[Example | RowError]:
    """bertanno's layouts and the ChineseBLUE and CAIL span layouts (module docstring), one object per line."""
    rules = SpanRules.from_options(options)
    yield from json_lines(stream, lambda record, line: record_to_example(record, line, rules))


def example_to_record(example: Example, kind: str | None = None) -> dict:
    """The lossless record of an example. ``kind="spans"`` keeps an empty span list a span list (annotated: no
    entities) and writes an unlabelled example's as ``null``, as an unlabelled ``label`` is."""
    record: dict[str, Any] = {"text": example.text}
    if example.text_b is not None:
        record["text_b"] = example.text_b
    payload = example.payload
    looks_like_spans = isinstance(payload, list) and bool(payload) and not isinstance(payload[0], str)
    if kind == "spans" or (kind is None and looks_like_spans):
        record["spans"] = None if payload is None else [[s, e, label] for s, e, label in payload]
    elif isinstance(payload, list):
        record["labels"] = payload
    else:
        record["label"] = payload
    meta = {k: v for k, v in example.meta.items() if k != "line"}
    if meta:
        record["meta"] = meta
    return record


def write_jsonl(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    for example in examples:
        stream.write(json.dumps(example_to_record(example, options.get("kind")), ensure_ascii=False) + "\n")


def _looks_like_jsonl(lines: list[str]) -> bool:
    """A JSON object per line, unless ``label`` (or ``labels``) holds ``[start, end, type]`` lists or ``label`` a
    list of names: that is doccano's shape, which this reader would misread."""
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        record = json.loads(lines[0])
    except json.JSONDecodeError:
        return True  # a broken first line: jsonl reports it with its line number
    if not isinstance(record, dict):
        return True
    label, labels = record.get("label"), record.get("labels")
    doccano = isinstance(label, list) or (isinstance(labels, list) and any(isinstance(x, list) for x in labels))
    return not doccano


FORMATS = (
    FileFormat(
        name="jsonl",
        description="JSON lines: text/label, text_a/text_b/label or text/spans (also ChineseBLUE and CAIL span layouts)",
        kinds=frozenset({"text", "pair", "spans"}),
        read=read_jsonl,
        write=write_jsonl,
        extensions=(".jsonl", ".json"),
        sniff=_looks_like_jsonl,
        options=("end", "mention_case"),
        keeps_meta=True,
    ),
)
