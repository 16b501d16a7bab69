"""JSON lines: bertanno's own lossless layout, plus the span layouts of ChineseBLUE and CAIL2021.

Layouts recognised per line:
- ``{"text", "label"}``, ``{"text", "labels": [...]}``, ``{"text_a" | "text", "text_b", "label"}``
- ``{"text", "spans": [[start, end, label] | {"start", "end", "label", "text"?}]}`` (``"spans": null``: unlabelled)
- ChineseBLUE: ``{"text", "mention_data": [{"mention", "type", "offset"}]}``
- CAIL2021: ``{"context", "entities": [{"label", "span": ["start;end", ...]}]}``
- relations: ``{"text", "spans": [...], "relations": [[head, tail, type] | {"head", "tail", "label"}]}`` (head and
  tail index the spans as listed); DUTIR's legal layout ``{"sentText", "entityMentions": [{"start", "end", "text",
  "label"}], "relationMentions": [{"e1start", "em1Text", "e21start", "em2Text", "label"}]}`` (ends by start offset)
- Prodigy: any of the above with ``"answer": "accept" | "reject" | "ignore"`` (only ``accept`` is gold), and
  its choice interface's ``"options"`` with ``"accept": [ids]``

The file may also be one JSON array of such objects, or objects pretty-printed over several lines.

Ends are exclusive unless the option ``end=inclusive`` is given. Where the file states a
span's surface text, it must equal ``text[start:end]``: a mismatch is an error, never fixed silently.
The option ``mention_case=ignore`` accepts a surface that differs only in letter case (ChineseBLUE's
JSON lowercases the text but not the mentions); the text is kept as it is.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TextIO

from bertanno.plugins.specs import FileFormat, RowError, RowNote
from bertanno.plugins.task import Example, Relation, Span, SpanGraph


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


def _native_relations(spans: list[Span], relations: list) -> tuple[Relation, ...]:
    """``[[head, tail, type] | {"head", "tail", "label"}]``, head and tail indexes into ``spans`` as listed."""
    result = []
    for relation in relations:
        if isinstance(relation, dict):
            head, tail, label = relation.get("head"), relation.get("tail"), relation.get("label")
        elif isinstance(relation, (list, tuple)) and len(relation) == 3:
            head, tail, label = relation
        else:
            raise BadRecord(f"a relation must be [head, tail, type] or an object, got {relation!r}")
        if not isinstance(label, str) or not label:
            raise BadRecord(f"a relation needs a type (a string), got {label!r}")
        for end in (head, tail):
            if _whole(end) is None or not 0 <= end < len(spans):
                raise BadRecord(f"relation {label}: {end!r} is not the index of one of the {len(spans)} spans")
        result.append(Relation(spans[head], spans[tail], label))
    return tuple(result)


def _dutir_graph(text: str, record: dict, rules: SpanRules) -> SpanGraph:
    """DUTIR's legal layout: entity mentions with offsets, relations naming their ends by start offset."""
    spans = [_span(text, m.get("start"), m.get("end"), m.get("label"), m.get("text"), rules)
             for m in listed(record, "entityMentions")]
    by_start: dict[int, list[Span]] = {}
    for span in spans:
        by_start.setdefault(span.start, []).append(span)
    relations = []
    for mention in listed(record, "relationMentions"):
        ends = []
        for start_key, text_key in (("e1start", "em1Text"), ("e21start", "em2Text")):
            start, surface = _whole(mention.get(start_key), digits=True), mention.get(text_key)
            found = [s for s in by_start.get(start, []) if surface is None or text[s.start:s.end] == surface]
            if len(found) != 1:
                raise BadRecord(f"relation {mention.get('label')!r}: {'no' if not found else 'more than one'} entity "
                                f"mention starts at {mention.get(start_key)!r}"
                                + (f" with the text {surface!r}" if surface is not None else ""))
            ends.append(found[0])
        label = mention.get("label")
        if not isinstance(label, str) or not label:
            raise BadRecord(f"a relation mention needs a label, got {label!r}")
        relations.append(Relation(ends[0], ends[1], label))
    return SpanGraph(tuple(spans), tuple(relations))


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
        if not isinstance(entity, dict) or not isinstance(entity.get("span"), list):
            raise BadRecord(f"an entity of CAIL2021's layout is {{\"label\", \"span\": [\"start;end\", …]}}, got "
                            f"{entity!r}" + ("; doccano's layout (start_offset, end_offset): --format doccano"
                                            if isinstance(entity, (dict, list)) else ""))
        for position in entity["span"]:
            start, _, end = str(position).partition(";")
            result.append(_span(text, start, end, entity.get("label"), None, rules, digits=True))
    return result


PRODIGY_ANSWERS = ("accept", "reject", "ignore")
"""Prodigy's ``answer``: only ``accept`` makes the example's label gold; a ``reject`` says what the label is
not, an ``ignore`` that the annotator skipped it: both come in as unlabelled items, counted in the summary."""


def listed(record: dict, key: str) -> list:
    """``record[key]`` when it is a list; ``[]`` when the field is missing or null. Raises ``BadRecord`` for a
    value of any other type (``"spans": 5``), naming the field."""
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord(f"'{key}' must be a list, got {type(value).__name__} {value!r}")
    return value


def _label_name(value: Any, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadRecord(f"'{key}' must be a label name, got {type(value).__name__} {value!r}")
    return str(value)


def record_to_example(record: Any, line: int, rules: SpanRules, answers: Counter | None = None) -> Example:
    """One object of bertanno's layouts (and ChineseBLUE's, CAIL2021's, Prodigy's) as an example. A record
    with Prodigy's ``answer`` keeps its label only when the answer is ``accept`` (``answers`` counts each
    answer); Prodigy's choice interface (``options`` and ``accept``, the chosen option ids) gives the label
    (several: a list). Raises ``BadRecord`` naming what is wrong, a field of the wrong JSON type included."""
    if not isinstance(record, dict):
        raise BadRecord(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text", record.get("text_a", record.get("context", record.get("sentText"))))
    if not isinstance(text, str):
        raise BadRecord("no text: expected a string field 'text' (or 'text_a', 'context', 'sentText')")
    given_meta = record.get("meta")
    if given_meta is not None and not isinstance(given_meta, dict):
        raise BadRecord(f"'meta' must be an object, got {type(given_meta).__name__} {given_meta!r}")
    meta = dict(given_meta or {})
    meta["line"] = line
    if "id" in record:
        meta["id"] = record["id"]
    if "spans" in record and "relations" in record:
        spans = [] if record["spans"] is None else _native_spans(text, listed(record, "spans"), rules)
        payload = None if record["spans"] is None else SpanGraph(tuple(spans), _native_relations(
            spans, listed(record, "relations")))
    elif "spans" in record:
        payload = None if record["spans"] is None else _native_spans(text, listed(record, "spans"), rules)
    elif "entityMentions" in record:
        payload = _dutir_graph(text, record, rules)
    elif "mention_data" in record:
        payload = _chineseblue_spans(text, listed(record, "mention_data"), rules)
    elif "entities" in record:
        payload = _cail_spans(text, listed(record, "entities"), rules)
    elif "labels" in record:
        payload = [_label_name(label, "labels") for label in listed(record, "labels")]
    elif "answer" in record and isinstance(record.get("options"), list) and "accept" in record:
        chosen = [_label_name(choice, "accept") for choice in listed(record, "accept")]
        payload = chosen[0] if len(chosen) == 1 else chosen
    else:
        label = record.get("label")
        payload = None if label is None else _label_name(label, "label")
    if "answer" in record:
        answer = record["answer"]
        if answer not in PRODIGY_ANSWERS:
            raise BadRecord(f"Prodigy's 'answer' is accept, reject or ignore, got {answer!r}")
        if answers is not None:
            answers[answer] += 1
        meta["answer"] = answer
        if answer != "accept":
            payload = None  # a reject says what the label is not; an ignore, that the annotator skipped it
    text_b = record.get("text_b")
    if text_b is not None and not isinstance(text_b, str):
        raise BadRecord("text_b must be a string")
    return Example(text=text, text_b=text_b, payload=payload, meta=meta)


def json_records(stream: TextIO) -> Iterator[tuple[int, Any] | RowError]:
    """Every top-level JSON value of a file as ``(line it starts on, value)``, however the tool laid them out:
    one per line (JSON lines), the elements of one JSON array (doccano's and Label Studio's JSON exports), or
    objects pretty-printed over several lines one after another (doccano's export examples), a comma between
    two of them tolerated. Invalid JSON is a ``RowError`` at its line, and reading resumes on the next line
    (in an array, whose structure is then lost, it stops)."""
    text = stream.read()
    starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def line_of(position: int) -> int:
        return bisect.bisect_right(starts, position)

    decoder, size, position = json.JSONDecoder(), len(text), 0
    array = text.lstrip().startswith("[")
    if array:
        position = text.index("[") + 1
    while True:
        while position < size and (text[position].isspace() or text[position] == ","):
            position += 1
        if position >= size:
            if array:
                yield RowError(line_of(size), "not valid JSON: the array is not closed with ]")
            return
        if array and text[position] == "]":
            rest = text[position + 1:].strip()
            if rest:
                yield RowError(line_of(position + 1 + text[position + 1:].index(rest[0])),
                               "not valid JSON: more after the array's closing ]")
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            line = line_of(exc.pos)
            yield RowError(line, f"not valid JSON: {exc.msg} at column {exc.pos - starts[line - 1] + 1}")
            if array:
                return
            following = text.find("\n", position)
            position = size if following == -1 else following + 1
            continue
        yield line_of(position), value
        position = end


SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)
"""What a converter raises on a field of a type it does not expect (``"spans": 5``, ``"meta": ["x"]``): a row
error naming the line, never a traceback."""


def shape_error(exc: Exception) -> str:
    """The row error's sentence for one of ``SHAPE_ERRORS``."""
    return f"a field holds a value of an unexpected type ({type(exc).__name__}: {exc})"


def json_lines(stream: TextIO, convert: Callable[[Any, int], Example]) -> Iterator[Example | RowError | RowNote]:
    """``convert(record, line)`` for each JSON value of the file (``json_records``); invalid JSON, ``BadRecord``
    and a field of an unexpected type become ``RowError``s with the line number. Shared by every JSON layout
    (jsonl, doccano, Prodigy's)."""
    for entry in json_records(stream):
        if isinstance(entry, RowError):
            yield entry
            continue
        number, record = entry
        try:
            yield convert(record, number)
        except BadRecord as exc:
            yield RowError(number, str(exc))
        except SHAPE_ERRORS as exc:
            yield RowError(number, shape_error(exc))


def read_jsonl(stream: TextIO, options: dict) -> Iterator[Example | RowError | RowNote]:
    """bertanno's layouts and the ChineseBLUE, CAIL and Prodigy layouts (module docstring), one object per
    line (or a JSON array of them); ends with a note of Prodigy's answers other than accept."""
    rules, answers = SpanRules.from_options(options), Counter()
    yield from json_lines(stream, lambda record, line: record_to_example(record, line, rules, answers))
    if answers.get("reject"):
        yield RowNote(0, f"{answers['reject']} example(s) the annotator rejected in Prodigy (answer reject) came "
                         "in without a label: a reject says what the label is not")
    if answers.get("ignore"):
        yield RowNote(0, f"{answers['ignore']} example(s) the annotator ignored in Prodigy (answer ignore) came in "
                         "without a label")


def example_to_record(example: Example, kind: str | None = None) -> dict:
    """The lossless record of an example. ``kind="spans"`` keeps an empty span list a span list (annotated: no
    entities) and writes an unlabelled example's as ``null``, as an unlabelled ``label`` is."""
    record: dict[str, Any] = {"text": example.text}
    if example.text_b is not None:
        record["text_b"] = example.text_b
    payload = example.payload
    looks_like_spans = isinstance(payload, list) and bool(payload) and not isinstance(payload[0], str)
    if kind == "relations" or isinstance(payload, SpanGraph):
        if payload is None:
            record["spans"], record["relations"] = None, []
        else:
            spans = sorted(tuple(s) for s in payload.spans)
            index = {span: number for number, span in enumerate(spans)}
            record["spans"] = [list(s) for s in spans]
            record["relations"] = sorted([index[tuple(r.head)], index[tuple(r.tail)], r.label]
                                         for r in payload.relations)
    elif kind == "spans" or (kind is None and looks_like_spans):
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


def first_record(lines: list[str]) -> Any:
    """The first JSON value of a file's first lines (``json_records``' layouts: a line, an array's first
    element, a pretty-printed object); for an object pretty-printed past the lines given, the keys seen so far,
    each with ``[...]`` for a list, ``{}`` for an object, ``...`` for any other value; ``None`` when it does not
    parse."""
    text = "\n".join(lines).lstrip()
    if text.startswith("["):
        text = text[1:].lstrip()
    try:
        return json.JSONDecoder().raw_decode(text)[0]
    except json.JSONDecodeError:
        if not text.startswith("{") or len(lines) < 2:
            return None
        # an object pretty-printed past the lines given: its keys so far, a value unknown (...) unless it opens
        # a list ([...]) or an object ({})
        return {key: [...] if opening == "[" else {} if opening == "{" else ...
                for key, opening in re.findall(r'"((?:[^"\\]|\\.)*)"\s*:\s*([\[{]?)', text)}


def _looks_like_jsonl(lines: list[str]) -> bool:
    """A JSON object per line (or an array of them), unless ``label`` (or ``labels``) holds ``[start, end, type]``
    lists or ``label`` a list of names, or ``entities`` holds doccano's spans, or there are ``cats``: that is
    doccano's shape, which this reader would misread; a Label Studio task (``data``) is not either."""
    if not lines or not lines[0].lstrip().startswith(("{", "[")):
        return False
    record = first_record(lines)
    if record is None:
        return lines[0].lstrip().startswith("{")  # a broken first line: jsonl reports it with its line number
    if not isinstance(record, dict):
        return True
    if "data" in record or {"annotator", "annotation_id", "lead_time"} & set(record):  # a Label Studio task
        return False
    label, labels = record.get("label"), record.get("labels")
    doccano = isinstance(label, list) or (isinstance(labels, list) and any(isinstance(x, list) for x in labels))
    entities = record.get("entities")
    doccano_entities = entities in (..., [...]) or (isinstance(entities, list) and any(
        isinstance(e, list) or (isinstance(e, dict) and "start_offset" in e) for e in entities))
    return not (doccano or doccano_entities or "cats" in record)


FORMATS = (
    FileFormat(
        name="jsonl",
        notes=('`{"text","label"}`, `{"text","text_b","label"}`, `{"text","spans":[[start,end,label]]}`, '
               '`{"text","spans":[…],"relations":[[head,tail,type]]}` (indexes into the spans); also the '
               'ChineseBLUE (`mention_data`) and CAIL2021 (`entities`) span layouts and the DUTIR relation layout '
               '(`entityMentions`, `relationMentions`); `--option end=inclusive`, `--option mention_case=ignore`'),
        description="JSON lines: text/label, text_a/text_b/label or text/spans (also ChineseBLUE and CAIL span layouts)",
        kinds=frozenset({"text", "pair", "spans", "relations"}),
        read=read_jsonl,
        write=write_jsonl,
        extensions=(".jsonl", ".json"),
        sniff=_looks_like_jsonl,
        options=("end", "mention_case"),
        keeps_meta=True,
    ),
)
