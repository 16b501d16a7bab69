"""Beyond one machine, the store part: PostgreSQL taking a bulk write of predictions while annotators keep deciding.

A project of ``--items`` items with overlap 2; ``--annotators`` processes decide items as people do (``--think``
seconds on each, then the decision committed and the next item drawn: a key press in ``annotate``), while one
more process writes predictions for every item in batches of ``--batch`` rows, round after round, as
``predict-project`` does, until the annotators are done. Measured: the predictions written per second, the
annotators' key-to-next-item latency (p50, p95; the goal: p95 under 50 ms), and that no decision was lost
and no item served twice to one annotator.

    python -m benchmarks.scale --postgres URL [--annotators 4] [--items 2000] [--think 0.5] [--batch 500]
        [--rates 0,2000]
    python -m benchmarks.scale --ray-items 100000 [--ray-runs local:2,ray:1x2,ray:2x1]

The writer runs once as fast as it can (a worst case: it takes a core from the annotators) and once paced at
2,000 rows/s (what a cluster of model workers delivers: one CPU predicts 20-65 texts/s, a GPU a few thousand).

The Ray half (``--ray-items``) pre-annotates that many distinct waimai_10k / ChnSentiCorp texts into a SQLite
project with a 4 x 256 classifier (zh-mini's shape, random weights: the cost is the same) three ways at equal cores:
the single-process bulk path (``local:THREADS``) and a local Ray instance with ACTORS actors of THREADS threads each
(``ray:ACTORSxTHREADS``); each run writes under its own version name. Measured: items/s and Ray's overhead at equal
cores. N machines then deliver ``min(N x actors x per-actor items/s, store write rate)`` (the write rate from the
PostgreSQL half).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time

from benchmarks.common import REPO, machine_facts
from benchmarks.team import annotator_process, load_project, percentile

RESULT = REPO / "benchmarks" / "results" / "scale.json"


def bulk_writer(url: str, project: str, batch: int, started, stop, output, rate: float = 0.0) -> None:
    """Write a prediction for every item of the project, ``batch`` rows per transaction, round after round, until
    ``stop`` is set, at most ``rate`` rows per second (0: as fast as it can); reports the rows written and the
    seconds spent."""
    from sqlalchemy import select

    from bertanno.store import Store
    from bertanno.store.predictions import add_predictions
    from bertanno.store.projects import get_project
    from bertanno.store.schema import Item

    store = Store.open(url)
    with store.transaction() as session:
        project_id = get_project(session, project).id
        item_ids = list(session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id)))
    started.wait()
    written, begin, round_number = 0, time.perf_counter(), 0
    while not stop.is_set():
        round_number += 1
        for start in range(0, len(item_ids), batch):
            if stop.is_set():
                break
            rows = [{"item_id": item_id, "model_version": f"bulk-{round_number}", "payload": "1",
                     "confidence": 0.9} for item_id in item_ids[start:start + batch]]
            with store.transaction() as session:
                add_predictions(session, rows)
            written += len(rows)
            if rate:  # paced like a cluster of model workers that predict ``rate`` items a second
                time.sleep(max(0.0, begin + written / rate - time.perf_counter()))
    output.put(("writer", written, time.perf_counter() - begin))
    store.close()


def load_with_bulk_writes(url: str, annotators: int, items: int, think: float, batch: int, rate: float = 0.0) -> dict:
    from sqlalchemy import func, select

    from bertanno.store.schema import Annotation

    store, name, project_id = load_project(url, "scale", items)
    context = multiprocessing.get_context("spawn")
    started, stop, output, writer_output = context.Event(), context.Event(), context.Queue(), context.Queue()
    people = [context.Process(target=annotator_process, args=(url, name, f"annotator-{n}", started, output, think))
              for n in range(annotators)]
    writer = context.Process(target=bulk_writer, args=(url, name, batch, started, stop, writer_output, rate))
    for process in (*people, writer):
        process.start()
    time.sleep(3.0)
    begin = time.perf_counter()
    started.set()
    results = [output.get() for _ in people]
    elapsed = time.perf_counter() - begin
    stop.set()
    _, written, writer_seconds = writer_output.get()
    for process in (*people, writer):
        process.join()
    key_to_next = [x for *_, keys in results for x in keys]
    acked = {(who, item) for who, _, mine, _ in results for item in mine}
    with store.transaction() as session:
        rows = session.execute(select(Annotation.annotator, Annotation.item_id).where(
            Annotation.project_id == project_id)).all()
        server = session.execute(select(func.version())).scalar()
    store.close()
    stored = [(who, item) for who, item in rows]
    return {"server": server.split(",")[0], "annotators": annotators, "items": items, "overlap": 2,
            "think_s": think, "batch": batch, "writer_rate_limit": rate or None, "seconds": round(elapsed, 1), "decisions": len(rows),
            "predictions_written": written, "predictions_per_s": round(written / writer_seconds),
            "key_to_next_ms_p50": percentile(key_to_next, 0.5), "key_to_next_ms_p95": percentile(key_to_next, 0.95),
            "key_to_next_ms_max": percentile(key_to_next, 1.0),
            "lost_decisions": len(acked - set(stored)), "double_assignments": len(stored) - len(set(stored))}


def ray_bulk(items: int, runs: list[str]) -> list[dict]:
    """Pre-annotate ``items`` texts once per run spec (``local:THREADS`` or ``ray:ACTORSxTHREADS``); one row each."""
    import tempfile
    from pathlib import Path

    import torch

    from benchmarks.bulk_predict import texts
    from benchmarks.common import MODELS
    from bertanno.core.bundle import save_version
    from bertanno.core.import_export import import_file
    from bertanno.core.plugins import get_plugins
    from bertanno.core.pre_annotation import predict_project
    from bertanno.core.ray_predictions import ModelSource, connect, predict_project_on_ray
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.serving import load_served
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    task = get_plugins().task("sentiment", labels=["negative", "positive"])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / "items.txt"
        data.write_text("\n".join(texts(items)) + "\n", encoding="utf-8")
        store = Store.open(f"sqlite:///{folder / 'ray.db'}")
        with store.transaction() as session:
            create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
        import_file(store, "p", data)
        model = save_version(build_random_bundle(MODELS / "bert-base-chinese", task, layers=4, hidden=256, heads=4,
                                                 seed=0), folder / "model")
        for spec in runs:
            engine, _, shape = spec.partition(":")
            version = spec.replace(":", "-")
            started = time.perf_counter()
            if engine == "local":
                torch.set_num_threads(int(shape))
                result = predict_project(store, "p", load_served(model), version)
                actors, threads, startup = 0, int(shape), 0.0
            else:
                actors, threads = (int(n) for n in shape.split("x"))
                began = time.perf_counter()
                connect(None, num_cpus=actors * threads)
                startup = time.perf_counter() - began
                result = predict_project_on_ray(store, "p", ModelSource(str(model)), version, actors=actors,
                                                threads=threads)
                import ray

                ray.shutdown()
            seconds = time.perf_counter() - started
            row = {"run": spec, "engine": engine, "actors": actors, "threads_each": threads, "items": items,
                   "predicted": result.predicted, "seconds": round(seconds, 1),
                   "ray_start_s": round(startup, 1), "items_per_s": round(result.predicted / seconds, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        store.close()
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="the PostgreSQL half: a server to load")
    parser.add_argument("--annotators", type=int, default=4)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rates", default="0,2000", metavar="R,R…",
                        help="the writer's pace in rows/s, one run each (0: as fast as it can)")
    parser.add_argument("--ray-items", type=int, metavar="N", help="the Ray half: N texts pre-annotated per run")
    parser.add_argument("--ray-runs", default="local:2,ray:1x2,ray:2x1", metavar="SPEC,SPEC…",
                        help="local:THREADS (the single-process bulk path) or ray:ACTORSxTHREADS (a local Ray instance)")
    args = parser.parse_args(argv)
    if not args.postgres and not args.ray_items:
        parser.error("give --postgres URL (the store half), --ray-items N (the Ray half), or both")
    shown = ["URL" if arg == args.postgres else arg for arg in argv or []]
    result = json.loads(RESULT.read_text(encoding="utf-8")) if RESULT.exists() else {}
    result["machine"] = machine_facts(threads=0)
    if args.postgres:
        result["command"] = "python -m benchmarks.scale " + " ".join(shown)
        result["postgres_bulk_and_annotators"] = []
        for rate in (float(value) for value in args.rates.split(",")):
            row = load_with_bulk_writes(args.postgres, args.annotators, args.items, args.think, args.batch, rate)
            print(json.dumps(row), flush=True)
            result["postgres_bulk_and_annotators"].append(row)
    if args.ray_items:
        result["ray_command"] = "python -m benchmarks.scale " + " ".join(shown)
        result["ray_bulk"] = ray_bulk(args.ray_items, args.ray_runs.split(","))
    RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
