"""Label Studio's JSON export, read and written: a JSON array of tasks.

A task (Label Studio's export documentation): ``{"id", "data": {"text": …}, "annotations": [{"completed_by",
"result": [...], "was_cancelled"}], "predictions": [{"model_version", "score", "result": [...]}]}``. A
result of type ``labels`` is a span, ``{"value": {"start", "end", "text", "labels": [TYPE]}}``, end
exclusive; one of type ``choices`` is a class, ``{"value": {"choices": [NAME, …]}}``.

Read: the task's first annotation that was not cancelled becomes the gold label, with ``completed_by`` as
its annotator (``meta["annotator"]``); later annotations of the same task are counted in a note (agreement
between them is not computed here). A prediction becomes a pre-annotation (``meta["prediction"]`` with its
``model_version`` and ``score``), never gold. A span whose ``text`` differs from the task text at its
offsets (Label Studio's known offset bug around emoji, whose offsets count UTF-16 units, or a text that
changed after annotating: label-studio#3078) is moved to the occurrence of its text nearest to the given
offsets and counted in the summary (``--option offsets=check`` refuses it instead, naming both); a span
whose text does not occur at all is a row error. Results of controls bertanno does not read (rectangles,
text areas, ratings …) are left out and counted by type; relations too, except in a ``relations`` project, which
reads them between the regions' ids (``direction`` ``left`` reversed) and writes them back. For pairs, ``text_b``
is the task's second text field (``--option text_b=FIELD``).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, TextIO

from bertanno.plugins.builtin.formats.jsonl import SHAPE_ERRORS, first_record, shape_error
from bertanno.plugins.specs import ANNOTATOR_META, PREDICTION_META, FileFormat, RowError, RowNote
from bertanno.plugins.task import Example, Relation, Span, SpanGraph


class BadTask(ValueError):
    pass


def _texts(data: Any, options: dict) -> tuple[str, str | None]:
    if not isinstance(data, dict):
        raise BadTask("no data: a Label Studio task has a 'data' object")
    fields = [(key, value) for key, value in data.items() if isinstance(value, str)]
    wanted = options.get("text", "text")
    key = wanted if isinstance(data.get(wanted), str) else (fields[0][0] if fields else None)
    if key is None:
        raise BadTask(f"no text in data (fields: {', '.join(data) or 'none'}); name it with --option text=FIELD")
    text, text_b = data[key], None
    if options.get("kind") == "pair":
        name = options.get("text_b")
        others = [value for other, value in fields if other != key]
        text_b = data.get(name) if name else (others[0] if others else None)
        if not isinstance(text_b, str):
            raise BadTask("a pair needs a second text field in data; name it with --option text_b=FIELD")
    return text, text_b


def _nearest(text: str, surface: str, start: int) -> int | None:
    found, position = [], text.find(surface)
    while position != -1:
        found.append(position)
        position = text.find(surface, position + 1)
    return min(found, key=lambda p: abs(p - start)) if found else None


USED_TYPES = ("labels", "choices")
"""The result types bertanno's tasks read (spans, classes); every other control's results are left out per
task and counted by type in the import's summary (``rectanglelabels``, ``textarea``, ``rating``, ``relation`` …)."""


def _payload(results: Any, text: str, repair: bool, tally: dict | None = None, relations: bool = False) -> Any:
    """The spans (sorted) or the class(es) of one annotation's or prediction's ``result`` list; ``None`` when
    none of its results is of a type bertanno reads (each one left out is counted in ``tally`` under
    ``"type:NAME"``, each span moved to its surface text under ``"re-anchored"``). With ``relations`` (a relations
    project): a ``SpanGraph`` of the spans and the ``relation`` results between their regions (``from_id`` to
    ``to_id``; ``direction`` ``left`` the other way round; one relation per label; one without a label is counted
    under ``"relation:unlabelled"``)."""
    if not isinstance(results, list):
        raise BadTask("'result' must be a list")
    tally = tally if tally is not None else {}
    spans, choices, used, regions, links = [], [], 0, {}, []
    for result in results:
        value = result.get("value") if isinstance(result, dict) else None
        kind = result.get("type") if isinstance(result, dict) else None
        if kind == "relation" or (isinstance(result, dict) and "from_id" in result and "to_id" in result):
            if relations:
                links.append(result)
            else:
                tally["type:relation"] = tally.get("type:relation", 0) + 1
            continue
        if not isinstance(value, dict):
            raise BadTask(f"a result needs a 'value' object, got {result!r}")
        if not ("labels" in value or "choices" in value) or (kind is not None and kind not in USED_TYPES):
            name = kind or next((key for key in value if key.endswith(("labels", "choices"))), "unknown")
            tally[f"type:{name}"] = tally.get(f"type:{name}", 0) + 1
            continue
        used += 1
        if "labels" in value:
            start, end, labels, surface = value.get("start"), value.get("end"), value.get("labels"), value.get("text")
            if not (isinstance(start, int) and isinstance(end, int) and isinstance(labels, list) and labels):
                raise BadTask(f"a labels result needs whole start and end and a label, got {value!r}")
            if isinstance(surface, str) and text[start:end] != surface:
                moved = _nearest(text, surface, start) if repair and surface else None
                if moved is None:
                    where = ("it does not occur in the text at all" if surface and surface not in text else
                             "--option offsets=repair moves it to the nearest occurrence of its text")
                    raise BadTask(f"span {start}..{end} is {text[start:end]!r} in the text but Label Studio says "
                                  f"{surface!r}; {where}")
                start, end = moved, moved + len(surface)
                tally["re-anchored"] = tally.get("re-anchored", 0) + 1
            if not 0 <= start < end <= len(text):
                raise BadTask(f"span {start}..{end} is outside the text of length {len(text)}")
            spans += [Span(start, end, str(label)) for label in labels]
            if result.get("id") is not None:
                regions[result["id"]] = spans[-1]
        elif "choices" in value:
            if not isinstance(value["choices"], list) or not value["choices"]:
                raise BadTask(f"a choices result needs a non-empty list, got {value!r}")
            choices += [str(choice) for choice in value["choices"]]
    if spans and choices:
        raise BadTask("spans and choices in one annotation: bertanno's tasks carry one or the other")
    if relations:
        found = []
        for link in links:
            ends = [regions.get(link.get(key)) for key in ("from_id", "to_id")]
            if None in ends:
                missing = link.get("from_id") if ends[0] is None else link.get("to_id")
                raise BadTask(f"a relation joins the region {missing!r}, which is no labelled span of the annotation")
            if link.get("direction") == "left":
                ends.reverse()
            names = link.get("labels") or []
            if not names:
                tally["relation:unlabelled"] = tally.get("relation:unlabelled", 0) + 1
            found += [Relation(ends[0], ends[1], str(name)) for name in names]
        if not used and not found and results:
            return None
        return SpanGraph(tuple(sorted(set(spans))), tuple(found))
    if choices:
        return choices[0] if len(choices) == 1 else choices
    if not used and results:
        return None  # only results of controls bertanno does not read: no label, not "no entities"
    return sorted(set(spans))


def _annotator(annotation: dict) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return None if who is None else str(who)


def read_label_studio(stream: TextIO, options: dict) -> Iterator[Example | RowError | RowNote]:
    """One example per task (its first annotation, else unlabelled), plus one per prediction; ``meta["line"]``
    is the task's position in the array, from 1."""
    repair = options.get("offsets", "repair") == "repair"
    relations = options.get("kind") == "relations"
    try:
        tasks = json.load(stream)
    except json.JSONDecodeError as exc:
        yield RowError(exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}")
        return
    if not isinstance(tasks, list):
        yield RowError(1, "Label Studio's JSON export is an array of tasks; this file holds "
                          f"{type(tasks).__name__}")
        return
    several, tally, json_min = 0, {}, 0
    for number, task in enumerate(tasks, start=1):
        try:
            if not isinstance(task, dict):
                raise BadTask(f"a task must be an object, got {type(task).__name__}")
            if "data" not in task and MIN_MARKERS & set(task):
                task = _from_json_min(task, options)
                json_min += 1
            text, text_b = _texts(task.get("data"), options)
            meta = {"line": number, **({"id": task["id"]} if "id" in task else {})}
            for field in ("annotations", "predictions"):
                if task.get(field) is not None and not isinstance(task[field], list):
                    raise BadTask(f"'{field}' must be a list, got {type(task[field]).__name__}")
            annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
            several += len(annotations) > 1
            examples = []
            if annotations:
                first = annotations[0]
                who = _annotator(first)
                examples.append(Example(text, text_b, _payload(first.get("result"), text, repair, tally, relations),
                                        {**meta, **({ANNOTATOR_META: who} if who else {})}))
            else:
                examples.append(Example(text, text_b, None, dict(meta)))
            for prediction in task.get("predictions") or []:
                if not isinstance(prediction, dict):
                    raise BadTask("a prediction must be an object")
                score = prediction.get("score")
                score = min(1.0, max(0.0, float(score))) if isinstance(score, (int, float)) else 0.0
                model = str(prediction.get("model_version") or "label-studio")
                predicted = _payload(prediction.get("result"), text, repair, tally, relations)
                if predicted is not None:
                    examples.append(Example(text, text_b, predicted,
                                            {**meta, PREDICTION_META: {"model": model, "confidence": score}}))
        except BadTask as exc:
            yield RowError(number, f"task {task.get('id', number) if isinstance(task, dict) else number}: {exc}")
            continue
        except SHAPE_ERRORS as exc:
            yield RowError(number, shape_error(exc))
            continue
        yield from examples
    if json_min:
        yield RowNote(0, f"{json_min} task(s) in Label Studio's JSON-MIN layout: read as one annotation each "
                         "(its annotator kept)")
    for key, count in sorted(tally.items()):
        if key == "re-anchored":
            yield RowNote(0, f"{count} span(s) re-anchored to their surface text: the offsets Label Studio gave "
                             "pointed at other characters (it counts UTF-16 units around emoji, or the text "
                             "changed after annotating); --option offsets=check refuses them instead")
        elif key == "type:relation":
            yield RowNote(0, f"{count} relation(s) left out: this project has no relation layer (a relations "
                             "project keeps them)")
        elif key == "relation:unlabelled":
            yield RowNote(0, f"{count} relation(s) without a label left out: a relation of a relations project has "
                             "a type")
        else:
            yield RowNote(0, f"{count} result(s) of type {key.split(':', 1)[1]} left out: bertanno reads labels "
                             "(spans) and choices (classes) on text")
    if several:
        yield RowNote(0, f"{several} task(s) have several annotations: the first is kept as gold (with its "
                         "annotator), the others are left out")


def _results(example: Example, kind: str) -> list[dict]:
    payload = example.payload
    if payload is None:
        return []
    if kind == "relations":
        spans = sorted(tuple(s) for s in payload.spans)
        ids = {span: f"s{number}" for number, span in enumerate(spans, start=1)}
        return [{"id": ids[(s, e, label)], "value": {"start": s, "end": e, "text": example.text[s:e], "labels": [label]},
                 "from_name": "label", "to_name": "text", "type": "labels"} for s, e, label in spans] + \
               [{"from_id": ids[tuple(r.head)], "to_id": ids[tuple(r.tail)], "type": "relation", "direction": "right",
                 "labels": [r.label]} for r in payload.relations]
    if kind == "spans":
        return [{"value": {"start": s, "end": e, "text": example.text[s:e], "labels": [label]},
                 "from_name": "label", "to_name": "text", "type": "labels"} for s, e, label in payload]
    choices = list(payload) if isinstance(payload, list) else [payload]
    return [{"value": {"choices": choices}, "from_name": "choice", "to_name": "text", "type": "choices"}]


def write_label_studio(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """A JSON array of tasks, one annotation each (``completed_by`` from ``meta["annotator"]`` when known)."""
    kind = options.get("kind", "text")
    tasks = []
    for number, example in enumerate(examples, start=1):
        data = {"text": example.text, **({"text_b": example.text_b} if example.text_b is not None else {})}
        annotation: dict[str, Any] = {"result": _results(example, kind)}
        if example.meta.get(ANNOTATOR_META) is not None:
            annotation["completed_by"] = example.meta[ANNOTATOR_META]
        tasks.append({"id": example.meta.get("id", number), "data": data, "annotations": [annotation]})
    stream.write(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")


def label_studio_cannot_carry(example: Example, kind: str) -> str | None:
    """An annotated item without entities or with an empty label list reads back as unannotated."""
    if not example.payload or (kind == "relations" and not example.payload.spans):
        return "an empty annotation reads back as an unannotated task in Label Studio's layout; use jsonl"
    return None


MIN_MARKERS = {"annotator", "annotation_id", "lead_time"}
"""The fields of a JSON-MIN task that no data field has: Label Studio writes them beside the data and results."""
MIN_META = MIN_MARKERS | {"id", "created_at", "updated_at"}


def _from_json_min(task: dict, options: dict) -> dict:
    """A JSON-MIN task (``[{"text": …, "label": [{"start", "end", "text", "labels"}], "sentiment": "Positive",
    "annotator": 1, "annotation_id": 2, "lead_time": 3.5}]``: data fields and each control's results flat) as a
    task of the full JSON layout with one annotation: a list of objects with ``labels`` is a span result, an
    object with ``choices`` or, in a classification project, a string field other than the text a choice; the
    other fields are data."""
    data, result = {}, []
    text_key = options.get("text", "text")
    for key, value in task.items():
        if key in MIN_META:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and "labels" in v for v in value):
            result += [{"type": "labels", "value": v} for v in value]
        elif isinstance(value, dict) and isinstance(value.get("choices"), list):
            result.append({"type": "choices", "value": {"choices": value["choices"]}})
        elif isinstance(value, str) and key != text_key and options.get("kind") == "text" and text_key in task:
            result.append({"type": "choices", "value": {"choices": [value]}})
        else:
            data[key] = value
    return {**({"id": task["id"]} if "id" in task else {}), "data": data,
            "annotations": [{"completed_by": task.get("annotator"), "result": result}] if result else []}


def looks_like_label_studio(lines: list[str]) -> bool:
    """A JSON array whose first task has ``data`` (Label Studio's JSON export) or JSON-MIN's ``annotator`` /
    ``annotation_id`` / ``lead_time``; an array of records without them (doccano's JSON export, bertanno's
    layouts) is not."""
    if not lines or not lines[0].lstrip().startswith("["):
        return False
    record = first_record(lines)
    return record is None or (isinstance(record, dict) and ("data" in record or bool(MIN_MARKERS & set(record))))


FORMATS = (
    FileFormat(
        name="label-studio",
        notes=("Label Studio's JSON export (an array of tasks): the first annotation that was not cancelled is gold,"
               ' with `completed_by` as its annotator; predictions come in as pre-annotations with their '
               '`model_version` and `score`; a span whose `text` differs from the task text at its offsets (Label '
               "Studio's UTF-16 offsets around emoji, a text edited later) is moved to the nearest occurrence of its"
               ' text and counted (`--option offsets=check` refuses it); a relations project reads and writes '
               '`relation` results between regions; results of other controls are counted and '
               'left out; also the JSON-MIN export (data and results flat, one annotation a task); `--option '
               'text=FIELD`, `text_b=FIELD` name the data fields'),
        description="Label Studio JSON export: tasks with data.text, annotations (spans or choices; the annotator "
                    "kept), predictions read as pre-annotations",
        kinds=frozenset({"text", "pair", "spans", "relations"}),
        read=read_label_studio,
        write=write_label_studio,
        extensions=(".json",),
        sniff=looks_like_label_studio,
        options=("text", "text_b", "offsets"),
        cannot_carry=label_studio_cannot_carry,
        refuses="an annotated item without entities or labels",
    ),
)
