"""Beyond one machine, the store part: PostgreSQL taking a bulk write of predictions while annotators keep deciding.

A project of ``--items`` items with overlap 2; ``--annotators`` processes decide items as people do (``--think``
seconds on each, then the decision committed and the next item drawn: a key press in ``annotate``), while one
more process writes predictions for every item in batches of ``--batch`` rows, round after round, as
``predict-project`` does, until the annotators are done. Measured: the predictions written per second, the
annotators' key-to-next-item latency (p50, p95; the goal: p95 under 50 ms), and that no decision was lost
and no item served twice to one annotator.

    python -m benchmarks.scale --postgres URL [--annotators 4] [--items 2000] [--think 0.5] [--batch 500]
        [--rates 0,2000]

The writer runs once as fast as it can (a worst case: it takes a core from the annotators) and once paced at
2,000 rows/s (what a cluster of model workers delivers: one CPU predicts 20-65 texts/s, a GPU a few thousand).
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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", required=True)
    parser.add_argument("--annotators", type=int, default=4)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rates", default="0,2000", metavar="R,R…",
                        help="the writer's pace in rows/s, one run each (0: as fast as it can)")
    args = parser.parse_args(argv)
    shown = ["URL" if arg == args.postgres else arg for arg in argv or []]
    result = {"command": "python -m benchmarks.scale " + " ".join(shown), "machine": machine_facts(threads=0),
              "postgres_bulk_and_annotators": []}
    for rate in (float(value) for value in args.rates.split(",")):
        row = load_with_bulk_writes(args.postgres, args.annotators, args.items, args.think, args.batch, rate)
        print(json.dumps(row), flush=True)
        result["postgres_bulk_and_annotators"].append(row)
    RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
