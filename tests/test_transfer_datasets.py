"""Each dataset layout (the fixtures of ``test_datasets``): import -> export JSONL -> import elsewhere -> export
again, nothing lost. ``python -m benchmarks.datasets_roundtrip`` does the same on the whole shared datasets."""

import json

import pytest
from test_datasets import CAIL_TYPES, CMED_TYPES, raw  # noqa: F401  (raw: the fixture files)

from bertanno.core.import_export import export_project, import_file
from bertanno.core.reading import read_examples
from bertanno.store import Store
from bertanno.store.items import input_hash
from bertanno.store.projects import create_project

DATASETS = [
    ("chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", ["0", "1"], None, {}),
    ("waimai_10k/waimai_10k.csv", "sentiment", ["0", "1"], None, {}),  # line 4 holds a U+0008: a bad row
    ("msra_ner/peopledaily.zip/dev.txt", "ner", ["PER", "LOC", "ORG"], None, {}),
    ("chineseblue_cmedqaner/test.txt", "ner", CMED_TYPES, None, {}),
    ("cail2021_xxcq/xxcq_mid.json", "ner", CAIL_TYPES, None, {}),
    ("afqmc/dev.txt", "pair", ["0", "1"], "tsv", {"columns": "text,text_b,label"}),
    ("chineseblue_cmedqq/test.txt", "pair", ["0", "1"], "tsv", {"columns": "label,text,text_b"}),
    ("cail2021_argmine/SMP-CAIL2021-train.csv", "pair", ["0", "1"], None, {}),
]

BAD_ROWS = {"waimai_10k/waimai_10k.csv": [4]}


@pytest.mark.parametrize("path, task, labels, format_name, options", DATASETS, ids=[d[0].split("/")[0] for d in DATASETS])
def test_jsonl_export_round_trips(tmp_path, plugins, raw, path, task, labels, format_name, options):  # noqa: F811
    source = raw / path
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "original", task, labels, "bert-base-chinese")
        create_project(session, "copy", task, labels, "bert-base-chinese")
    report = import_file(store, "original", source, format_name, dict(options), plugins=plugins, skip_bad=True)
    assert [error.line for error in report.errors] == BAD_ROWS.get(path, [])
    exported = export_project(store, "original", "jsonl", None, plugins=plugins).text
    copy = tmp_path / "export.jsonl"
    copy.write_text(exported, encoding="utf-8")
    assert import_file(store, "copy", copy, plugins=plugins).added == report.labelled
    exported_again = export_project(store, "copy", "jsonl", None, plugins=plugins).text
    assert exported_again == exported

    # and the export says what the file said: first occurrence of each text, its label or spans
    examples = read_examples(source, plugins.task(task, labels=labels), format_name, dict(options), plugins=plugins,
                             skip_bad=True).examples
    first_seen = {}
    for example in examples:
        first_seen.setdefault(input_hash(example.text, example.text_b), example)
    expected = [e for e in first_seen.values() if e.payload is not None]
    records = [json.loads(line) for line in exported.splitlines()]
    assert len(records) == len(expected) == report.labelled
    for record, example in zip(records, expected):
        assert record["text"] == example.text and record.get("text_b") == example.text_b
        assert record.get("label", record.get("spans")) == (
            [list(s) for s in sorted(example.payload)] if task == "ner" else example.payload)  # stored in text order
    store.close()
