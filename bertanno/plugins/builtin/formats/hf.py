"""A Hugging Face ``datasets`` dataset saved to disk (``Dataset.save_to_disk``): written and read back.

Columns: ``text``; ``text_b`` for pairs; ``label`` (a string, or a list of strings for multi-label tasks) or
``spans`` (``[{"start", "end", "label"}]``, end exclusive) for NER; ``meta`` as a JSON string. Needs the
``datasets`` package (``pip install 'bertanno[hf]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from bertanno.errors import BertannoError
from bertanno.plugins.specs import FileFormat, RowError
from bertanno.plugins.task import Example, Span


def _datasets():
    try:
        import datasets
    except ImportError:
        raise BertannoError("the hf format needs the datasets package: pip install 'bertanno[hf]'") from None
    return datasets


def example_to_record(example: Example, kind: str) -> dict:
    """One row of the dataset: text, text_b (pairs), label or spans, meta (JSON)."""
    record = {"text": example.text}
    if kind == "pair":
        record["text_b"] = example.text_b
    if kind == "spans":
        record["spans"] = [{"start": s, "end": e, "label": label} for s, e, label in example.payload or []]
    else:
        record["label"] = example.payload
    record["meta"] = json.dumps({k: v for k, v in example.meta.items() if k != "line"}, ensure_ascii=False)
    return record


def write_dataset(examples: Iterable[Example], directory: Path, options: dict) -> None:
    """``Dataset.from_list(records).save_to_disk(directory)``."""
    kind = options.get("kind", "text")
    _datasets().Dataset.from_list([example_to_record(example, kind) for example in examples]).save_to_disk(
        str(directory))


def read_dataset(directory: Path, options: dict) -> Iterator[Example | RowError]:
    """Each row of a saved dataset as an example; ``meta["line"]`` is the row number from 1."""
    datasets = _datasets()
    try:
        dataset = datasets.load_from_disk(str(directory))
    except (FileNotFoundError, ValueError) as exc:
        raise BertannoError(f"{directory} is not a saved Hugging Face dataset: {exc}") from None
    if isinstance(dataset, datasets.DatasetDict):
        raise BertannoError(f"{directory} holds several splits ({', '.join(dataset)}); give one split's "
                            "directory")
    for number, row in enumerate(dataset, start=1):
        text = row.get("text")
        if not isinstance(text, str):
            yield RowError(number, "no text: expected a string column 'text'")
            continue
        try:
            meta = json.loads(row["meta"]) if row.get("meta") else {}
        except json.JSONDecodeError as exc:
            yield RowError(number, f"meta is not JSON: {exc.msg}")
            continue
        meta["line"] = number
        if row.get("spans") is not None:
            payload = [Span(int(span["start"]), int(span["end"]), str(span["label"])) for span in row["spans"]]
        else:
            payload = row.get("label")
        yield Example(text, row.get("text_b"), payload, meta)


FORMATS = (
    FileFormat(
        name="hf",
        notes=('a Hugging Face `datasets` directory (`save_to_disk`): `text`, `text_b`, `label` or `spans`, `meta`; '
               'needs `bertanno[hf]`; a directory is read as this format'),
        description="a Hugging Face datasets directory (save_to_disk): text, text_b, label or spans, meta",
        kinds=frozenset({"text", "pair", "spans"}),
        read=read_dataset,
        write=write_dataset,
        sniff=lambda names: "dataset_info.json" in names or "dataset_dict.json" in names,
        options=(),
        keeps_meta=True,
        directory=True,
        exported=lambda names: "dataset_info.json" in names and "state.json" in names
        and all(name.endswith((".arrow", ".json")) and "/" not in name for name in names),
    ),
)
