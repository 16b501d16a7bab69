"""Import and export of 100,000 labelled items with the SQLite store, in items/s.

Texts are real reviews (ChnSentiCorp train and waimai_10k), numbered to make 100,000 distinct
items. Import is the whole path: read the JSONL file, validate, hash, insert items and gold
labels in one transaction. Export writes the lossless JSONL.

    python -m benchmarks.store_speed [--items 100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks.common import RAW, machine_facts, stopwatch


def write_items(path: Path, count: int) -> None:
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples

    task = get_plugins().task("sentiment", labels=["0", "1"])
    texts = [e for e in read_examples(RAW / "chnsenticorp/chnsenticorp.zip/train.tsv", task).examples]
    texts += read_examples(RAW / "waimai_10k/waimai_10k.csv", task).examples
    with open(path, "w", encoding="utf-8") as stream:
        for n in range(count):
            example = texts[n % len(texts)]
            stream.write(json.dumps({"text": f"{example.text}（{n}）", "label": example.payload}, ensure_ascii=False) + "\n")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args(argv)

    from bertanno.core.import_export import export_project, import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / "items.jsonl"
        write_items(data, args.items)
        store = Store.open(f"sqlite:///{folder / 'bench.db'}")
        with store.transaction() as session:
            create_project(session, "bench", "sentiment", ["0", "1"], "bert-base-chinese")
        with stopwatch() as import_time:
            report = import_file(store, "bench", data)
        with stopwatch() as reimport_time:
            again = import_file(store, "bench", data)
        with stopwatch() as export_time:
            exported = export_project(store, "bench", "jsonl", folder / "out.jsonl").written
        size_mb = (folder / "bench.db").stat().st_size / 1e6
        store.close()
    result = {
        "machine": machine_facts(threads=0),
        "items": args.items,
        "import_items_per_s": round(report.added / import_time()),
        "reimport_items_per_s (all duplicates)": round(again.duplicates / reimport_time()),
        "export_jsonl_items_per_s": round(exported / export_time()),
        "import_seconds": round(import_time(), 2),
        "export_seconds": round(export_time(), 2),
        "database_mb": round(size_mb, 1),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main()
