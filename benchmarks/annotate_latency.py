"""Key press to next item in the annotation session, with and without predict-ahead.

A bert-base-chinese-architecture classifier (random weights, full size, the real cost) pre-annotates
ChnSentiCorp dev reviews. A simulated person accepts each item after ``--think`` seconds; the time
measured is from the decision (the key press) to the next item drawn on a screen: the decision
committed, the next item leased, its pre-annotation ready, the screen rendered.

    python -m benchmarks.annotate_latency [--items 200] [--think 0.5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, RAW, REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"


def run(store_url: str, model_dir: Path, items: int, think: float, predict_ahead: bool) -> list[float]:
    from rich.console import Console

    from bertanno.core.engine import Predictor
    from bertanno.core.bundle import load_version
    from bertanno.core.session import AnnotationSession
    from bertanno.core.terminal import Screen
    from bertanno.store import Store

    store = Store.open(store_url)
    session = AnnotationSession(store, "latency", "simulated", predictor=Predictor(load_version(model_dir)),
                                model_version=f"bench-{predict_ahead}", predict_ahead=predict_ahead)
    screen = Screen(Console(file=io.StringIO(), width=100, force_terminal=True), session)
    latencies = []
    session.next()
    screen.show()
    for _ in range(items):
        time.sleep(think)
        pressed = time.perf_counter()
        session.decide("accept")
        if session.next() is None:
            break
        screen.show()
        latencies.append(time.perf_counter() - pressed)
    session.close()
    store.close()
    return latencies


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"items": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--think", type=float, default=0.5, help="seconds the simulated person looks at an item")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    use_threads(args.threads)

    from bertanno.core.bundle import save_version
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.reading import read_examples
    from bertanno.core.transfer import import_file
    from bertanno.plugins.manager import get_plugins
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    task = get_plugins().task("sentiment", labels=["0", "1"])
    results = {"machine": machine_facts(args.threads), "settings": vars(args)}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model = save_version(build_random_bundle(MODELS / "bert-base-chinese", task, seed=0), folder / "bert-base")
        texts = read_examples(RAW / "chnsenticorp/chnsenticorp.zip/dev.tsv", task).examples[: 2 * args.items + 2]
        for predict_ahead in (True, False):
            url = f"sqlite:///{folder / f'{predict_ahead}.db'}"
            store = Store.open(url)
            with store.transaction() as session:
                create_project(session, "latency", "sentiment", ["0", "1"], str(model))
            pool = folder / "pool.txt"
            pool.write_text("".join(e.text + "\n" for e in texts), encoding="utf-8")
            import_file(store, "latency", pool)
            store.close()
            key = "predict_ahead" if predict_ahead else "no_predict_ahead"
            results[key] = summary(run(url, model, args.items, args.think, predict_ahead))
            print(key, json.dumps(results[key]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "annotate_latency.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
