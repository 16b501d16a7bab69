"""Every file of the shared datasets: parse counts, then import -> export JSONL -> import -> export.

Reports per file: examples read, rows refused, items added (duplicates of an earlier text are
not added twice), gold labels stored, and whether the second export equals the first.

    python -m benchmarks.datasets_roundtrip
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import RAW

CMED = "body crowd department disease drug feature physiology symptom test time treatment".split()
CAIL = "NHCS NHVI NCSM NCGV NCSP NASI NATS NT NS NO".split()
PAIRS_AB = {"columns": "text,text_b,label"}
PAIRS_LAB = {"columns": "label,text,text_b"}

FILES = [
    ("chnsenticorp/chnsenticorp.zip/train.tsv", "sentiment", ["0", "1"], None, {}),
    ("chnsenticorp/chnsenticorp.zip/dev.tsv", "sentiment", ["0", "1"], None, {}),
    ("chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", ["0", "1"], None, {}),
    ("waimai_10k/waimai_10k.csv", "sentiment", ["0", "1"], None, {}),
    ("msra_ner/peopledaily.zip/train.txt", "ner", ["PER", "LOC", "ORG"], None, {}),
    ("msra_ner/peopledaily.zip/dev.txt", "ner", ["PER", "LOC", "ORG"], None, {}),
    ("chineseblue_cmedqaner/train.txt", "ner", CMED, None, {}),
    ("chineseblue_cmedqaner/dev.txt", "ner", CMED, None, {}),
    ("chineseblue_cmedqaner/test.txt", "ner", CMED, None, {}),
    ("chineseblue_cmedqaner/train.json", "ner", CMED, None, {"mention_case": "ignore"}),
    ("chineseblue_cmedqaner/dev.json", "ner", CMED, None, {"mention_case": "ignore"}),
    ("chineseblue_cmedqaner/test.json", "ner", CMED, None, {"mention_case": "ignore"}),
    ("cail2021_xxcq/xxcq_mid.json", "ner", CAIL, None, {}),
    ("afqmc/train.txt", "pair", ["0", "1"], "tsv", PAIRS_AB),
    ("afqmc/dev.txt", "pair", ["0", "1"], "tsv", PAIRS_AB),
    ("afqmc/test.txt", "pair", ["0", "1"], "tsv", PAIRS_AB),
    ("chineseblue_cmedqq/train.txt", "pair", ["0", "1"], "tsv", PAIRS_LAB),
    ("chineseblue_cmedqq/dev.txt", "pair", ["0", "1"], "tsv", PAIRS_LAB),
    ("chineseblue_cmedqq/test.txt", "pair", ["0", "1"], "tsv", PAIRS_LAB),
    ("cail2021_argmine/SMP-CAIL2021-train.csv", "pair", ["0", "1"], None, {}),
]


def main() -> list[dict]:
    from bertanno.core.import_export import export_project, import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index, (path, task, labels, format_name, options) in enumerate(FILES):
            store = Store.open(f"sqlite:///{Path(folder) / f'{index}.db'}")
            with store.transaction() as session:
                create_project(session, "original", task, labels, "bert-base-chinese")
                create_project(session, "copy", task, labels, "bert-base-chinese")
            report = import_file(store, "original", RAW / path, format_name, dict(options), skip_bad=True)
            first = export_project(store, "original", "jsonl", None).text
            exported = Path(folder) / f"{index}.jsonl"
            exported.write_text(first, encoding="utf-8")
            again = import_file(store, "copy", exported)
            second = export_project(store, "copy", "jsonl", None).text
            rows.append({"file": path, "read": report.read, "refused": len(report.errors), "added": report.added,
                         "duplicates": report.duplicates, "conflicts": report.conflicts, "labelled": report.labelled,
                         "reimported": again.added, "lossless": first == second and again.labelled == report.labelled})
            store.close()
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


if __name__ == "__main__":
    main()
