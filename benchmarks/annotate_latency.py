"""Key press to next item in the annotation session, with and without predict-ahead.

A bert-base-chinese-architecture classifier (random weights, full size, the real cost) pre-annotates
ChnSentiCorp dev reviews. A simulated person accepts each item after ``--think`` seconds; the time
measured is from the decision (the key press) to the next item drawn on a screen: the decision
committed, the next item leased, its pre-annotation ready, the screen rendered.

    python -m benchmarks.annotate_latency [--items 200] [--think 0.5] [--only-live]

A third run measures the same with the live model refitting: no transformer, the live ``linear`` family
refitted in the background every 20 decisions while the simulated person labels each item (the gold
label of the review), so refits run during the measured key presses.
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

    from bertanno.app.session import AnnotationSession
    from bertanno.app.terminal import Screen
    from bertanno.core.bundle import load_version
    from bertanno.core.engine import Predictor
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


def run_live(store_url: str, gold: dict, items: int, think: float, every: int = 20) -> tuple[list[float], int]:
    """Latencies while the live model refits; returns them and how many refits finished."""
    from rich.console import Console

    from bertanno.app.session import AnnotationSession
    from bertanno.app.terminal import Screen
    from bertanno.store import Store

    store = Store.open(store_url)
    session = AnnotationSession(store, "latency", "simulated", predict_ahead=True, live_every=every)
    screen = Screen(Console(file=io.StringIO(), width=100, force_terminal=True), session)
    latencies, served = [], set()
    session.next()
    screen.show()
    for _ in range(items):
        time.sleep(think)
        pressed = time.perf_counter()
        current = session.current
        want = gold[current.example.text]
        if current.prediction is not None and current.prediction.payload == want:
            session.decide("accept")
        else:
            session.decide("correct", want)
        if session.next() is None:
            break
        screen.show()
        latencies.append(time.perf_counter() - pressed)
        served.add(session.model_version)
    session.close()
    store.close()
    return latencies, len(served - {None})


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
    parser.add_argument("--only-live", action="store_true", help="measure only the run with the live model")
    args = parser.parse_args(argv)
    use_threads(args.threads)

    from bertanno.core.bundle import save_version
    from bertanno.core.reading import read_examples
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.transfer import import_file
    from bertanno.plugins.manager import get_plugins
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    task = get_plugins().task("sentiment", labels=["0", "1"])
    path = RESULTS / "annotate_latency.json"
    results = json.loads(path.read_text(encoding="utf-8")) if args.only_live and path.exists() else {}
    results.update({"machine": machine_facts(args.threads), "settings": vars(args)})
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        texts = read_examples(RAW / "chnsenticorp/chnsenticorp.zip/dev.tsv", task).examples[: 2 * args.items + 2]
        url = f"sqlite:///{folder / 'live.db'}"
        store = Store.open(url)
        with store.transaction() as session:
            create_project(session, "latency", "sentiment", ["0", "1"], "bert-base-chinese")
        pool = folder / "live-pool.txt"
        pool.write_text("".join(e.text + "\n" for e in texts), encoding="utf-8")
        import_file(store, "latency", pool)
        store.close()
        latencies, refits = run_live(url, {e.text: e.payload for e in texts}, args.items, args.think)
        results["live_refitting"] = {**summary(latencies), "models_served": refits}
        print("live_refitting", json.dumps(results["live_refitting"]), flush=True)
        if args.only_live:
            path.write_text(json.dumps(results, indent=2), encoding="utf-8")
            return results
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
