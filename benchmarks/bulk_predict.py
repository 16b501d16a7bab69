"""Bulk pre-annotation into the store (``bertanno predict-project``): items/s and total time, per variant, and
the kill-and-resume check.

``--items`` waimai_10k texts (then ChnSentiCorp training texts unless ``--texts waimai``, cycled; each numbered so
that every item is distinct) are
imported into a fresh SQLite project whose champion is a bert-base-chinese-architecture classifier with random
weights (the real cost). Each variant (``full``, ``int8``, ``onnx-int8``: ``core.optimize``; ``student``: the
distilled student's architecture, ``--student-layers`` of the teacher's 12 layers taken as ``bertanno distill``
takes them, untrained, since its speed does not depend on its weights; ``student-onnx-int8``: that student with its
own onnx-int8 variant in use) then pre-annotates every item through ``predict-project`` as a subprocess; the first
variant's run is killed (SIGKILL) after ``--kill-after`` seconds and started again, and the store is checked for
items predicted twice.

    python -m benchmarks.bulk_predict [--items 3000] [--variants full,int8,onnx-int8,student,student-onnx-int8]
        [--kill-after 60] [--student-layers 3] [--texts mixed|waimai] [--output bulk_predict.json]

Writes benchmarks/results/OUTPUT (bulk_predict.json; the 100,000-item run keeps its own file,
bulk_predict_100k.json) after each variant. Pause background jobs first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, RAW, REPO, machine_facts, save_with_variant

RESULTS = REPO / "benchmarks" / "results"


TEXTS = ("mixed", "waimai")


def texts(count: int, source: str = "mixed") -> list[str]:
    """``count`` distinct texts, each prefixed with its number: waimai_10k's 11,987 short reviews, then (``mixed``)
    ChnSentiCorp's 9,600 long training reviews, cycled. ``waimai`` cycles the short reviews alone, so that any
    number of items has the length profile of the first 11,987 (a rate measured on 3,000 holds for 100,000)."""
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples

    task = get_plugins().task("sentiment", labels=["0", "1"])
    pool = [e.text for e in read_examples(RAW / "waimai_10k/waimai_10k.csv", task, skip_bad=True).examples]
    if source == "mixed":
        pool += [e.text for e in read_examples(RAW / "chnsenticorp/chnsenticorp.zip/train.tsv", task).examples]
    return [f"{n}. {pool[n % len(pool)]}".replace("\n", " ") for n in range(count)]


def counts(url: str, version: str) -> tuple[int, int]:
    """(items with a prediction from ``version``, predictions from it)."""
    from sqlalchemy import func, select

    from bertanno.store import Store
    from bertanno.store.schema import Prediction

    store = Store.open(url)
    with store.transaction() as session:
        rows = session.execute(select(func.count(func.distinct(Prediction.item_id)), func.count())
                               .where(Prediction.model_version == version)).one()
    store.close()
    return int(rows[0]), int(rows[1])


def run(url: str, directory: Path, kill_after: float | None = None) -> tuple[float, bool]:
    """Seconds the ``predict-project`` subprocess ran; whether it was killed."""
    command = [sys.executable, "-m", "bertanno", "--db", url, "predict-project", "p", "--model", str(directory)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=kill_after)
        return time.perf_counter() - started, False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return time.perf_counter() - started, True


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--variants", default="full,int8,onnx-int8,student,student-onnx-int8")
    parser.add_argument("--kill-after", type=float, default=60.0)
    parser.add_argument("--student-layers", type=int, default=3)
    parser.add_argument("--texts", choices=TEXTS, default="mixed",
                        help="waimai: the short reviews alone, cycled (the length profile of a 3,000-item run)")
    parser.add_argument("--output", default="bulk_predict.json", help="file name under benchmarks/results/")
    args = parser.parse_args(argv)

    from bertanno.core.bundle import save_version, update_version_record
    from bertanno.core.distill import student_from_layers
    from bertanno.core.import_export import import_file
    from bertanno.core.optimize import FULL, STUDENT
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    task = get_plugins().task("sentiment", labels=["negative", "positive"])
    result = {"machine": machine_facts(os.cpu_count()), "settings": vars(args),
              "started": time.strftime("%Y-%m-%d %H:%M"),
              "model": "bert-base-chinese architecture (12 x 768), random weights (seed 0)",
              "student": f"{args.student_layers} of its 12 layers (core.distill.select_layers)", "runs": []}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / "items.txt"
        data.write_text("\n".join(texts(args.items, args.texts)) + "\n", encoding="utf-8")
        bundle = build_random_bundle(MODELS / "bert-base-chinese", task, seed=0)
        for index, variant in enumerate(args.variants.split(",")):
            url = f"sqlite:///{folder / f'{variant}.db'}"
            store = Store.open(url)
            with store.transaction() as session:
                create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
            import_file(store, "p", data)
            store.close()
            if variant.startswith(STUDENT):
                directory = save_version(bundle, folder / variant)
                student_dir = save_with_variant(student_from_layers(bundle, args.student_layers),
                                                folder / f"{variant}-student",
                                                variant.removeprefix(STUDENT).lstrip("-") or FULL)
                update_version_record(directory, {"variant": STUDENT, STUDENT: {"directory": str(student_dir)}})
            else:
                directory = save_with_variant(bundle, folder / variant, variant)
            row = {"variant": variant, "items": args.items}
            seconds, killed = run(url, directory, args.kill_after if index == 0 else None)
            if killed:
                row["killed_after_s"] = round(seconds, 1)
                row["stored_when_killed"] = counts(url, variant)[0]
                more, _ = run(url, directory)
                seconds += more
            items, predictions = counts(url, variant)
            row.update({"seconds": round(seconds, 1), "items_per_s": round(items / seconds, 2),
                        "items_predicted": items, "predictions_stored": predictions,
                        "hours_for_100k": round(100_000 / (items / seconds) / 3600, 2)})
            result["runs"].append(row)
            print(json.dumps(row), flush=True)
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / args.output).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
