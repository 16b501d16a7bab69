"""Import files into a project and export its annotations: formats (plugins) meet the store."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from bertanno import files
from bertanno.core.filters import matching_items
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import open_project
from bertanno.core.reading import read_examples
from bertanno.errors import BertannoError
from bertanno.plugins.specs import ANNOTATOR_META, PREDICTION_META, RowError, RowNote
from bertanno.plugins.task import Example, Prediction, Span, SpanGraph, Task
from bertanno.store import Store
from bertanno.store.annotations import current_annotations, decision_key, record_imports
from bertanno.store.items import add_items, assign_split, existing_hashes, input_hash, item_splits
from bertanno.store.predictions import add_predictions
from bertanno.store.projects import get_project


@dataclass
class ImportReport:
    read: int = 0
    added: int = 0
    duplicates: int = 0
    labelled: int = 0
    conflicts: int = 0
    """Texts already in the project whose label in the file differs from the one they have (theirs stays)."""
    unsettled: int = 0
    """New texts repeated in the file with different labels: stored without a gold label (never settled by
    which row came first), their labels and lines in the item's ``meta["conflicting_labels"]``, so that a
    person decides them in ``annotate``."""
    errors: list[RowError] = field(default_factory=list)
    evaluation: int = 0
    """With ``split="eval"``: items of the file now in the evaluation split."""
    kept_in_training: int = 0
    """With ``split="eval"``: items of the file already in the training split (a version may have trained on
    them), which stay there."""
    notes: list[RowNote] = field(default_factory=list)
    """What the format left out without refusing a row (brat's relations, say)."""
    predictions: int = 0
    """Rows written by ``bertanno predict`` (``meta.prediction``): stored as pre-annotations, not as gold."""


def prediction_examples(examples: Sequence[Example], predictions: Sequence[Prediction],
                        model_name: str) -> list[Example]:
    """Each example with its prediction as payload and ``meta["prediction"] = {"model", "confidence"}``: what
    ``bertanno predict`` writes (in jsonl) and what ``import_file`` stores back as pre-annotations."""
    return [Example(example.text, example.text_b, prediction.payload,
                    {**{k: v for k, v in example.meta.items() if k != "line"},
                     PREDICTION_META: {"model": model_name, "confidence": round(float(prediction.confidence), 4)}})
            for example, prediction in zip(examples, predictions)]


def predictions_jsonl(task: Task, examples: Sequence[Example], predictions: Sequence[Prediction], model_name: str,
                      plugins: Plugins | None = None) -> str:
    """The predictions as JSON lines, written by the registry's ``jsonl`` format (``prediction_examples``):
    ``bertanno import`` reads them back as pre-annotations."""
    stream = io.StringIO()
    (plugins or get_plugins()).formats.get("jsonl").write(prediction_examples(examples, predictions, model_name),
                                                          stream, {"kind": task.example_kind})
    return stream.getvalue()


def _split_prediction(example: Example, path: str | Path) -> tuple[Example, tuple[str, float] | None]:
    """``(the example without label and prediction meta, (model, confidence))`` for a predicted row; the
    example itself and ``None`` for any other. Raises ``BertannoError`` for a malformed prediction."""
    found = example.meta.get(PREDICTION_META)
    if found is None:
        return example, None
    line = example.meta.get("line", "?")
    confidence = found.get("confidence") if isinstance(found, dict) else None
    if not isinstance(confidence, (int, float)) or isinstance(confidence, bool) or not 0 <= confidence <= 1:
        raise BertannoError(f"{path}:{line}: meta.prediction must be {{\"model\": NAME, \"confidence\": 0..1}}, "
                            f"got {found!r}")
    if example.payload is None:
        raise BertannoError(f"{path}:{line}: a predicted row needs its predicted label")
    model = str(found.get("model") or f"import:{Path(path).name}")
    meta = {k: v for k, v in example.meta.items() if k != PREDICTION_META}
    return Example(example.text, example.text_b, None, meta), (model, float(confidence))


SPLITS = ("eval",)


def list_formats(plugins: Plugins | None = None) -> list[dict]:
    """Every registered file format, for ``bertanno formats``: its name, the plugin that registered it, the
    example kinds it carries, whether it reads and writes, file or directory, how it is recognised, its options,
    whether it carries labels and item meta (so pre-annotations), and what its writer refuses."""
    plugins = plugins or get_plugins()
    rows = []
    for name, entry in plugins.formats.items():
        spec = entry.value
        rows.append({
            "name": name, "plugin": entry.plugin, "description": spec.description, "kinds": sorted(spec.kinds),
            "reads": True, "writes": spec.write is not None, "directory": spec.directory,
            "extensions": list(spec.extensions), "sniffs": spec.sniff is not None,
            "options": ["label_map", *spec.options] if spec.options is not None else None,
            "labels": spec.carries_labels, "pre_annotations": spec.keeps_meta, "meta": spec.keeps_meta,
            "refuses": spec.refuses if spec.cannot_carry is not None else "", "notes": spec.notes,
        })
    return rows


BIO_TAG = re.compile(r"^(O|[BIESLU]-.*)$")


def label_writers(task: Task, plugins: Plugins) -> dict:
    """``{name: FileFormat}`` of the formats that write ``task``'s kind of example with its labels (formats of bare
    texts left out), in the registry's order."""
    return {name: entry.value for name, entry in plugins.formats.items()
            if entry.value.write is not None and task.example_kind in entry.value.kinds and entry.value.carries_labels}


def labels_formats_cannot_carry(task: Task, plugins: Plugins | None = None) -> dict[str, list[str]]:
    """For each of ``task``'s labels, the formats that write ``task``'s kind of example but cannot carry an item
    labelled with it (``FileFormat.cannot_carry`` on a two-character item holding that label alone), in the
    registry's order; formats of bare texts are left out. ``{"body part": ["brat", "conll", …], "drug": []}``."""
    plugins = plugins or get_plugins()
    kind = task.example_kind
    writers = label_writers(task, plugins)
    refused: dict[str, list[str]] = {}
    for label in task.labels:
        payload = [Span(0, 1, label)] if kind == "spans" else SpanGraph((Span(0, 1, label),)) \
            if kind == "relations" else label
        probe = Example("甲乙", "丙丁" if kind == "pair" else None, payload)
        refused[label] = [name for name, spec in writers.items()
                          if spec.cannot_carry is not None and spec.cannot_carry(probe, kind) is not None]
    return refused


def check_new_labels(task: Task, plugins: Plugins | None = None) -> list[str]:
    """What a new project's labels mean for the files it will write: raises ``BertannoError`` for an entity type
    that is a BIO tag (``O``, ``B-drug``: bertanno writes the tags itself, so CoNLL would read ``B-B-drug``) and
    for a label no format of the task can carry; returns one warning per label some formats cannot carry."""
    plugins = plugins or get_plugins()
    if task.example_kind in ("spans", "relations"):
        tags = [label for label in task.labels if BIO_TAG.match(label)]
        if tags:
            example = tags[0][2:] or "drug"
            raise BertannoError(f"entity type {tags[0]!r} is a BIO tag: name the type itself (e.g. {example!r}); "
                                "bertanno writes the B-/I- tags and O in CoNLL files itself")
    writers = set(label_writers(task, plugins))
    warnings = []
    for label, formats in labels_formats_cannot_carry(task, plugins).items():
        if formats and set(formats) >= writers:
            raise BertannoError(f"label {label!r} cannot be written by any format of a {task.name} project "
                                f"({', '.join(sorted(writers))}); choose another name")
        if formats:
            better = re.sub(r"\s+", "_", label)
            warnings.append(f"label {label!r} cannot be exported to {', '.join(formats)} (the other formats carry "
                            f"it); a name such as {better!r} goes everywhere")
    return warnings


def import_file(store: Store, project_name: str, path: str | Path, format_name: str | None = None,
                options: dict | None = None, skip_bad: bool = False, plugins: Plugins | None = None,
                split: str | None = None, progress: Callable[[str], None] | None = None) -> ImportReport:
    """All or nothing: every new item and every gold label of the file in one transaction. ``progress(line)``
    hears what is being done (rows read so far, then the storing).

    ``split="eval"`` makes the file a dedicated gold evaluation set: every row must carry a label, and its
    items join the evaluation split (never trained on), except items already in the training split, which
    stay there and are counted. Raises ``BertannoError`` for rows of another task, unknown labels (the
    format's row errors) and, with ``split="eval"``, rows without a label.

    Rows that carry a model's prediction (``meta.prediction``, as ``bertanno predict`` writes them) add their
    items and store the prediction as the item's pre-annotation under the model's name; never as gold.
    """
    if split is not None and split not in SPLITS:
        raise BertannoError(f"--split must be one of {', '.join(SPLITS)}")
    handle = open_project(store, project_name, plugins)
    task = handle.task
    # The whole file is read and checked before the write transaction opens: a long parse never holds the
    # database's write lock (annotators keep deciding meanwhile).
    result = read_examples(path, task, format_name, options, skip_bad, handle.plugins,
                           progress=(lambda rows: progress(f"reading {path}: {rows:,} rows")) if progress else None)
    if not result.examples and not result.errors:
        raise BertannoError(f"{path} holds no items (it is empty, or only blank lines or headers): nothing was "
                            "imported")
    digests = [input_hash(example.text, example.text_b) for example in result.examples]  # once per row
    predicted: list[tuple[str, str, object, float]] = []  # (input hash, model, payload, confidence)
    for index, (example, digest) in enumerate(zip(result.examples, digests)):
        stripped, prediction = _split_prediction(example, path)
        if prediction is not None:
            predicted.append((digest, prediction[0], task.payload_to_json(example.payload), prediction[1]))
            result.examples[index] = stripped
    if split == "eval":
        unlabelled = [e.meta.get("line", "?") for e in result.examples if e.payload is None]
        if unlabelled:
            raise BertannoError(f"{path}: an evaluation file needs a label on every row; line {unlabelled[0]} "
                                f"has none ({len(unlabelled)} such row(s))")
    if progress is not None:
        progress(f"storing {len(result.examples):,} items of {path} (one transaction: all or nothing)")
    with store.transaction() as session:
        project = get_project(session, project_name)
        report = ImportReport(read=len(result.examples), errors=result.errors, notes=result.notes)
        known = existing_hashes(session, project.id)
        standing = {item_id: a.payload for item_id, a in current_annotations(session, project.id).items()}
        kept = {digest: standing.get(item_id) for digest, item_id in known.items()}  # digest -> label kept
        rows, payloads, annotators, new_rows = [], [], [], {}
        late_labels = []  # (item_id, label, annotator) for stored items that had none
        given: dict[str, list[tuple[object, object]]] = {}  # digest of a new text -> its (line, label)s in the file
        for example, digest in zip(result.examples, digests):
            if digest not in known and example.payload is not None:
                given.setdefault(digest, []).append((example.meta.get("line"), task.payload_to_json(example.payload)))
        disputed = {digest for digest, labels in given.items()
                    if len({decision_key("accept", label) for _, label in labels}) > 1}
        report.unsettled = len(disputed)
        for example, digest in zip(result.examples, digests):
            payload = None if example.payload is None else task.payload_to_json(example.payload)
            if digest in disputed:  # different labels for one new text: none is gold; a person decides
                payload = None
            if digest in kept:
                report.duplicates += 1
                if payload is None:
                    continue
                if kept[digest] is None:  # a label for a text first seen without one
                    kept[digest] = payload
                    if digest in new_rows:
                        payloads[new_rows[digest]] = payload
                        annotators[new_rows[digest]] = example.meta.get(ANNOTATOR_META)
                    else:
                        late_labels.append((known[digest], payload, example.meta.get(ANNOTATOR_META)))
                elif payload != kept[digest]:
                    report.conflicts += 1
                continue
            kept[digest] = payload
            new_rows[digest] = len(rows)
            line = example.meta.get("line")
            meta = {k: v for k, v in example.meta.items() if k != "line"}
            if digest in disputed:
                meta.pop(ANNOTATOR_META, None)
                meta["conflicting_labels"] = [{"line": at, "label": label} for at, label in given[digest]]
            rows.append({"text": example.text, "text_b": example.text_b, "meta": meta, "input_hash": digest,
                         "source": f"{Path(path).name}:{line}" if line else Path(path).name})
            payloads.append(payload)
            annotators.append(example.meta.get(ANNOTATOR_META))
        ids = add_items(session, project.id, rows)
        labelled = [(item_id, payload, who) for item_id, payload, who in zip(ids, payloads, annotators)
                    if payload is not None]
        report.added = len(ids)
        report.labelled = record_imports(session, project.id, labelled + late_labels, str(path))
        if predicted:
            item_of = {**known, **{row["input_hash"]: item_id for row, item_id in zip(rows, ids)}}
            add_predictions(session, [{"item_id": item_of[digest], "model_version": model, "payload": payload,
                                       "confidence": confidence} for digest, model, payload, confidence in predicted])
            report.predictions = len(predicted)
        if split == "eval":
            splits = item_splits(session, project.id)
            mentioned = set(ids) | {known[digest] for digest in digests if digest in known}
            staying = {item_id for item_id in mentioned if splits.get(item_id) == "train"}
            assign_split(session, sorted(mentioned - staying), "eval")
            report.evaluation, report.kept_in_training = len(mentioned - staying), len(staying)
    return report


def annotated_examples(store: Store, project_name: str, only: str = "all", provenance: bool = False,
                       plugins: Plugins | None = None, where: str | None = None
                       ) -> tuple[Task, list[tuple[int, Example]]]:
    """The project's task, and its items with their standing annotation in item order as ``(item id, example)``
    (``ProjectHandle.annotated``); ``where``: only the items that meet that filter (``core.filters``)."""
    project = open_project(store, project_name, plugins)
    chosen = matching_items(project, where)
    rows = project.annotated(only, provenance)
    if chosen is not None:
        kept = set(chosen)
        rows = [(item_id, example) for item_id, example in rows if item_id in kept]
    return project.task, rows


@dataclass
class ExportReport:
    written: int
    """Annotated items written."""
    text: str | None = None
    """The export itself when no output path was given."""
    refused: list[tuple[int, str]] = field(default_factory=list)
    """``(item id, why)`` for each item the format cannot carry (``FileFormat.cannot_carry``); not written."""
    labels_not_written: int = 0
    """Items whose label was left out because the format carries bare texts (``txt``)."""


def export_format_for(output: str | Path | None, kind: str, plugins: Plugins | None = None) -> str:
    """The format an export to ``output`` takes when none is named: the one format that writes ``kind``
    examples and lists ``output``'s extension (``.conll`` for NER: ``conll``; ``.tsv``: ``tsv`` for classes,
    ``webanno-tsv`` for spans); ``jsonl`` for standard output, a name without extension, or when ``jsonl`` is
    among several. Raises ``BertannoError`` naming the candidates when several others match."""
    suffix = Path(output).suffix.lower() if output is not None else ""
    if not suffix:
        return "jsonl"
    plugins = plugins or get_plugins()
    writers = sorted(f.name for _, entry in plugins.formats.items() for f in [entry.value]
                     if f.write is not None and kind in f.kinds and suffix in f.extensions)
    if len(writers) == 1:
        return writers[0]
    if not writers or "jsonl" in writers:
        return "jsonl"
    raise BertannoError(f"{output}: several formats write {suffix} files for {kind} examples "
                        f"({', '.join(writers)}); pass --format")


def export_project(store: Store, project_name: str, format_name: str, output: str | Path | None, only: str = "all",
                   provenance: bool = False, plugins: Plugins | None = None, where: str | None = None) -> ExportReport:
    """Write the standing annotation of every annotated item (``where``: of those that meet that filter,
    ``core.filters``) to ``output`` (a file; a directory for ``hf``), or return the text when ``output`` is
    ``None``.

    Items the format cannot carry so that its own reader reads them back the same (a line break in a txt or
    CoNLL text, a tab in a TSV text, nested spans in CoNLL…) are left out and listed in the report with the
    reason; the rest are written. Raises ``BertannoError`` for a format that cannot write the task's examples.
    """
    plugins = plugins or get_plugins()
    task, rows = annotated_examples(store, project_name, only, provenance, plugins, where)
    file_format = plugins.formats.get(format_name)
    if file_format.write is None or task.example_kind not in file_format.kinds:
        raise BertannoError(f"format {format_name!r} cannot write {task.example_kind} examples")
    if file_format.directory:
        if output is None:
            raise BertannoError(f"format {format_name!r} writes a directory: give one with -o")
        check_export_folder(Path(output), file_format)
    report, carried = ExportReport(0), []
    for item_id, example in rows:
        why = file_format.cannot_carry(example, task.example_kind) if file_format.cannot_carry else None
        if why is None:
            carried.append(example)
        else:
            report.refused.append((item_id, why))
    if not file_format.carries_labels:
        report.labels_not_written = sum(example.payload is not None for example in carried)
    if file_format.directory:
        with files.atomic_directory(Path(output)) as fresh:  # swapped in whole, or the old folder stays
            file_format.write(carried, fresh, {"kind": task.example_kind})
        report.written = len(carried)
        return report
    stream = io.StringIO()
    try:
        file_format.write(carried, stream, {"kind": task.example_kind})
    except ValueError as exc:
        raise BertannoError(f"cannot export as {format_name}: {exc}") from None
    report.written = len(carried)
    if output is None:
        report.text = stream.getvalue()
    else:
        write_output(Path(output), stream.getvalue())
    return report


def check_output(path: Path) -> None:
    """Raise ``BertannoError`` when ``path`` cannot be an output file: it is a directory, or its folder does
    not exist. Checked before long work, so that the work is not lost at the end."""
    if path.is_dir():
        raise BertannoError(f"{path} is a directory: give a file name with -o")
    if not path.parent.is_dir():
        raise BertannoError(f"cannot write {path}: the folder {path.parent} does not exist")


def check_export_folder(path: Path, file_format) -> None:
    """Raise ``BertannoError`` when a directory format may not write to ``path``: a file stands there, its
    folder does not exist, or it is a non-empty folder that is not an earlier export of this format
    (``FileFormat.exported``), which would otherwise be mixed with or lost under the export."""
    if path.exists() and not path.is_dir():
        raise BertannoError(f"{path} is a file; format {file_format.name!r} writes a directory: give a new "
                            "directory with -o")
    if not path.parent.is_dir():
        raise BertannoError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        names = sorted(str(p.relative_to(path)).replace(os.sep, "/") for p in path.rglob("*") if not p.is_dir())
        if names and (file_format.exported is None or not file_format.exported(names)):
            raise BertannoError(f"{path} holds files that are not an earlier {file_format.name} export (such as "
                                f"{names[0]}): give a new or empty folder with -o (an earlier {file_format.name} "
                                "export there is replaced whole)")


def write_output(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` whole or not at all (``files.write_text``: a temporary file beside it,
    fsynced, renamed over it; a failure or a kill leaves the old file byte for byte); ``BertannoError`` with a
    sentence when it cannot be written (a directory, a folder that does not exist, no permission, a full
    disk)."""
    check_output(path)
    files.write_text(path, text)
