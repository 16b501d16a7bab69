"""Key press to next item in the annotation session, with and without predict-ahead, through the real app.

A bert-base-chinese-architecture classifier (random weights, full size, the real cost) pre-annotates
ChnSentiCorp dev reviews. A simulated person presses a key on each item after ``--think`` seconds in the
full-screen app (``AnnotationApp``, headless, driven by Textual's pilot); the time measured is from the key
press to the app idle with the next item on screen: the decision committed, the next item leased, its
pre-annotation ready, the item view mounted and drawn. A last measurement opens one item of 1 MB of text.

    python -m benchmarks.annotate_latency [--items 200] [--think 0.5] [--only-live | --only-recording]

A third run measures the same with the live model refitting: no transformer, the live ``linear`` family
refitted in the background every 20 decisions while the simulated person labels each item (the gold
label of the review), so refits run during the measured key presses. ``--only-recording`` measures the decision
records' overhead instead: one session, blocks of 10 items alternating with recording on and off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, RAW, REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"


def drive(session, items: int, think: float, key_for) -> list[float]:
    """Run the real annotation app (``AnnotationApp``, headless at 100×30) and press ``key_for(current)`` on each
    item after ``think`` seconds; each latency is from the key press until the screen has been refreshed with
    the next item mounted (``call_after_refresh`` after ``show_next``). The pilot's own wait for an idle process
    is not timed: it also waits for the predict-ahead thread."""
    import asyncio

    from bertanno.app.line_screen import KEYS
    from bertanno.app.screen import AnnotationApp

    latencies: list[float] = []

    async def run_app():
        app = AnnotationApp(session, KEYS)
        drawn: dict[str, float] = {}
        show_next = app.show_next

        def show_and_time() -> None:
            show_next()
            app.call_after_refresh(lambda: drawn.__setitem__("at", time.perf_counter()))

        app.show_next = show_and_time
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            for _ in range(items):
                await asyncio.sleep(think)
                key = key_for(session.current)
                drawn.clear()
                pressed = time.perf_counter()
                await pilot.press(key)
                while "at" not in drawn:
                    await asyncio.sleep(0.001)
                if session.current is None:
                    break
                latencies.append(drawn["at"] - pressed)

    asyncio.run(run_app())
    return latencies


def run(store_url: str, model_dir: Path, items: int, think: float, predict_ahead: bool) -> list[float]:
    from bertanno.app.session import AnnotationSession
    from bertanno.core.bundle import load_version
    from bertanno.core.engine import Predictor
    from bertanno.store import Store

    store = Store.open(store_url)
    session = AnnotationSession(store, "latency", "simulated", predictor=Predictor(load_version(model_dir)),
                                model_version=f"bench-{predict_ahead}", predict_ahead=predict_ahead)
    latencies = drive(session, items, think, lambda current: "enter")
    session.close()
    store.close()
    return latencies


def run_recording(store_url: str, model_dir: Path, items: int, think: float, block: int = 10) -> dict:
    """Latencies with the decision records on and off in the same session (predict-ahead, bert-base): blocks of
    ``block`` items alternate. Off, ``AnnotationSession.touch`` does nothing and ``_how`` records nothing (the
    annotation columns keep their defaults); on, both are the real ones. Returns ``{"on": [...], "off": [...]}``."""
    from unittest import mock

    from bertanno.app.session import AnnotationSession
    from bertanno.core.bundle import load_version
    from bertanno.core.engine import Predictor
    from bertanno.store import Store

    recording = {"on": True}
    real_touch, real_how = AnnotationSession.touch, AnnotationSession._how

    def touch(self, *args, **kwargs):
        return real_touch(self, *args, **kwargs) if recording["on"] else None

    def how(self, *args, **kwargs):
        return real_how(self, *args, **kwargs) if recording["on"] else {}

    store = Store.open(store_url)
    modes: list[bool] = []

    def key_for(current):
        recording["on"] = (len(modes) // block) % 2 == 0
        modes.append(recording["on"])
        return "enter"

    with mock.patch.object(AnnotationSession, "touch", touch), mock.patch.object(AnnotationSession, "_how", how):
        session = AnnotationSession(store, "latency", "simulated", predictor=Predictor(load_version(model_dir)),
                                    model_version="bench-recording", predict_ahead=True)
        latencies = drive(session, items, think, key_for)
        session.close()
    store.close()
    return {"on": [t for t, on in zip(latencies, modes) if on], "off": [t for t, on in zip(latencies, modes) if not on]}


def run_live(store_url: str, gold: dict, items: int, think: float, every: int = 20) -> tuple[list[float], int]:
    """Latencies while the live model refits; returns them and how many refits finished."""
    from bertanno.app.session import AnnotationSession
    from bertanno.store import Store

    store = Store.open(store_url)
    session = AnnotationSession(store, "latency", "simulated", predict_ahead=True, live_every=every)
    served = set()

    def key_for(current):
        served.add(session.model_version)
        want = gold[current.example.text]
        if current.prediction is not None and current.prediction.payload == want:
            return "enter"
        return str(session.task.labels.index(want) + 1)

    latencies = drive(session, items, think, key_for)
    session.close()
    store.close()
    return latencies, len(served - {None})


def open_huge(folder: Path, megabytes: float = 1.0) -> dict:
    """Seconds from starting the app to its first idle screen with one item of ``megabytes`` MB of text, for a
    label task and for NER."""
    import asyncio

    from bertanno.app.line_screen import KEYS
    from bertanno.app.screen import AnnotationApp
    from bertanno.app.session import AnnotationSession
    from bertanno.core.import_export import import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    line = "患者张三，男，65岁，NT-proBNP 4580 pg/mL，在北京协和医院就诊。"
    text = line * int(megabytes * 1_000_000 / len(line.encode("utf-8")))
    timings = {"characters": len(text), "megabytes_utf8": round(len(text.encode("utf-8")) / 1e6, 2)}
    for task, labels in (("sentiment", ["0", "1"]), ("ner", ["PER", "LOC"])):
        store = Store.open(f"sqlite:///{folder / f'huge-{task}.db'}")
        with store.transaction() as db:
            create_project(db, "huge", task, labels, "bert-base-chinese")
        data = folder / f"huge-{task}.jsonl"
        data.write_text(json.dumps({"text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
        import_file(store, "huge", data)
        session = AnnotationSession(store, "huge", "simulated", predict_ahead=False)

        async def first_screen():
            started = time.perf_counter()
            async with AnnotationApp(session, KEYS).run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                return time.perf_counter() - started

        timings[f"{task}_seconds"] = round(asyncio.run(first_screen()), 2)
        session.close()
        store.close()
    return timings


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
    parser.add_argument("--only-recording", action="store_true",
                        help="measure only the decision records' overhead: recording on and off, same session")
    args = parser.parse_args(argv)
    use_threads(args.threads)

    from bertanno.core.bundle import save_version
    from bertanno.core.import_export import import_file
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples
    from bertanno.core.scratch import build_random_bundle
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    task = get_plugins().task("sentiment", labels=["0", "1"])
    path = RESULTS / "annotate_latency.json"
    partial = args.only_live or args.only_recording
    results = json.loads(path.read_text(encoding="utf-8")) if partial and path.exists() else {}
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
        model = save_version(build_random_bundle(MODELS / "bert-base-chinese", task, seed=0), folder / "bert-base")
        recording_url = f"sqlite:///{folder / 'recording.db'}"
        store = Store.open(recording_url)
        with store.transaction() as session:
            create_project(session, "latency", "sentiment", ["0", "1"], str(model))
        import_file(store, "latency", pool)
        store.close()
        if not args.only_live:
            split = run_recording(recording_url, model, args.items, args.think)
            results["recording"] = {"on": summary(split["on"]), "off": summary(split["off"]), "block": 10}
            print("recording", json.dumps(results["recording"]), flush=True)
        if args.only_recording:
            path.write_text(json.dumps(results, indent=2), encoding="utf-8")
            return results
        latencies, refits = run_live(url, {e.text: e.payload for e in texts}, args.items, args.think)
        results["live_refitting"] = {**summary(latencies), "models_served": refits}
        print("live_refitting", json.dumps(results["live_refitting"]), flush=True)
        if args.only_live:
            path.write_text(json.dumps(results, indent=2), encoding="utf-8")
            return results
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
        results["open_1mb_text"] = open_huge(folder)
        print("open_1mb_text", json.dumps(results["open_1mb_text"]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "annotate_latency.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
