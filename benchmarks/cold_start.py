"""The first decisions of a young project: how much do pre-annotations help before there is any model?

    python -m benchmarks.cold_start [--decisions 500] [--pool 2000] [--every 20] [--test 300]

A simulated annotator who knows the gold labels works a fresh project's queue, most uncertain first,
through bertanno's own AnnotationSession: it accepts a pre-annotation that equals the gold label and
corrects anything else. Scenarios:

- ``a none``: no help until the end;
- ``b gazetteer`` (NER): the built-in ``medical`` term list (made from the training split) serves g001;
- ``c live``: the live fast family (linear / crf) refitted every ``--every`` decisions, gated;
- ``z zero-shot + live`` (sentiment): SnowNLP serves z001 first, the live model competes under the gate;
- ``d live + transformer``: (c) plus a gated transformer retrain every 200 decisions (a 2 x 128 Chinese
  BERT from random weights, 4 epochs at lr 1e-3, the recipe of the demo);
- ``e live + zh-mini``: (c) plus a gated retrain of the shipped zh-mini every 200 decisions by ``bertanno
  train``'s own plan (the token plan for NER);
- ``f live + ensemble``: (c) plus a gated ``train --family ensemble`` (zh-mini by that plan with the crf or
  linear family, stacked on out-of-fold predictions) every 200 decisions.

``--scenarios e,f --output cold_start_zh_mini`` runs only those and writes their own results file.

The annotator's think time is taken to be longer than a refit (a person spends seconds on an item): after
each decision, a refit in progress is allowed to finish before the next item is drawn. Reported per 50
decisions: the share of pre-annotations accepted unchanged, keystrokes per item (accept: 1; a label: 1;
an NER correction: ``c``, then each span command typed, ``+ START-END:TYPE`` or ``- N``, with its Enter,
and a final Enter), and the serving model's score on a fixed test sample. After each scenario, ``bertanno
stats`` of its project per model version (acceptance, edit mix, keystrokes per item) from the decision records
the simulated annotator left. Data: the training splits are
the pool (a seeded sample), the test splits the test sample. Writes benchmarks/results/cold_start.jsonl,
cold_start.png and RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"
DATASETS = {"chnsenticorp": ("sentiment", ["a", "z", "c", "d"]),
            "chineseblue_cmedqaner": ("ner", ["a", "b", "c", "d"]),
            "chineseblue_cmedqq": ("pair", ["a", "c", "d"]),
            "cail2021_xxcq": ("ner", ["a", "c"])}
DEFAULT_SETS = "chnsenticorp,chineseblue_cmedqaner,chineseblue_cmedqq"
NAMES = {"a": "a none", "b": "b gazetteer", "c": "c live", "z": "z zero-shot + live", "d": "d live + transformer",
         "e": "e live + zh-mini", "f": "f live + ensemble"}


def keystrokes(task, predicted, gold) -> int:
    if predicted == gold:
        return 1
    if task.head == "sequence":
        return 1
    have = {tuple(s) for s in predicted or ()}
    want = {tuple(s) for s in gold or ()}
    typed = 1 + 1  # c ... final Enter
    typed += sum(len(f"+ {s}-{e}:{label}") + 1 for s, e, label in want - have)
    typed += sum(len("- 1") + 1 for _ in have - want)
    return typed


def key_of(example) -> tuple:
    return (example.text, example.text_b)


def run_scenario(name: str, task_name: str, scenario: str, data, args, folder: Path) -> list[dict]:
    from bertanno.app.new_project import create_project
    from bertanno.app.session import AnnotationSession
    from bertanno.app.training_runs import champion_model, train_project
    from bertanno.core.bundle import save_version
    from bertanno.core.engine import score_model
    from bertanno.core.import_export import import_file
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.training import TrainConfig
    from bertanno.store import Store

    plugins = get_plugins()
    task = plugins.task(task_name, labels=data.labels)
    generator = random.Random(0)
    pool = generator.sample(data.train, min(args.pool, len(data.train)))
    test = random.Random(1).sample(data.test, min(args.test, len(data.test)))
    gold = {key_of(e): e.payload for e in pool}
    store = Store.open(f"sqlite:///{folder / f'{name}-{scenario}.db'}")
    models = folder / f"models-{name}-{scenario}"
    base = folder / "small-bert"
    if not base.exists():
        save_version(build_random_bundle(task=plugins.task("sentiment"), layers=2, hidden=128, seed=0), base)
    options = {}
    if scenario == "z":
        options = {"zero_shot": "snownlp", "label_map": {"negative": "0", "positive": "1"}}
    if scenario == "b":
        options = {"gazetteer": ["medical"]}
    create_project(store, "p", task, "zh-mini" if scenario in ("e", "f") else str(base), models_dir=models,
                   plugins=plugins, **options)
    unlabelled = folder / f"{name}-{scenario}.jsonl"
    unlabelled.write_text("".join(json.dumps({"text": e.text, **({"text_b": e.text_b} if e.text_b else {})},
                                             ensure_ascii=False) + "\n" for e in pool), encoding="utf-8")
    import_file(store, "p", unlabelled, "jsonl", plugins=plugins)
    model, version = champion_model(store, "p", plugins, required=False)
    session = AnnotationSession(store, "p", "simulated", "uncertain", model, version, predict_ahead=False,
                                plugins=plugins, live_every=args.every if scenario in ("c", "z", "d", "e", "f") else None,
                                models_dir=models)
    rows, window = [], []
    transformer = TrainConfig(epochs=4, batch_size=32, learning_rate=1e-3, patience=2, seed=0)
    for decided in range(1, args.decisions + 1):
        current = session.next()
        if current is None:
            break
        want = gold[key_of(current.example)]
        predicted = current.prediction.payload if current.prediction is not None else None
        if predicted is not None and task.payload_to_json(predicted) == task.payload_to_json(want):
            session.touch(1)
            session.decide("accept")
            window.append((True, 1))
        else:
            typed = (keystrokes(task, predicted, want) if predicted is not None else
                     keystrokes(task, [], want) if task.head == "token" else 1)
            session.touch(typed)
            session.decide("correct", want)
            window.append((False, typed))
        if session.live is not None:
            session.live.wait()
        if scenario in ("d", "e", "f") and decided % 200 == 0:
            config = transformer if scenario == "d" else TrainConfig(seed=0)  # zh-mini: bertanno train's own plan
            train_project(store, "p", config, trigger="retrain", models_dir=models, plugins=plugins,
                          family="ensemble" if scenario == "f" else "transformer")
            session.serve_champion()
        if decided % 50 == 0:
            served, served_name = champion_model(store, "p", plugins, required=False)
            score = score_model(served, test) if served is not None else {}
            rows.append({"dataset": name, "scenario": NAMES[scenario], "decisions": decided,
                         "accepted": round(sum(a for a, _ in window) / len(window), 3),
                         "keystrokes_per_item": round(sum(k for _, k in window) / len(window), 2),
                         "serving": served_name, "test": {k: round(v, 4) for k, v in score.items() if "/" not in k}})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
            window = []
    session.close()
    rows.append(stats_row(store, name, scenario))
    print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    store.close()
    return rows


def stats_row(store, name: str, scenario: str) -> dict:
    """``bertanno stats`` of the scenario's project, per model version shown (``core.stats.project_stats``): the
    decision records the simulated annotator left. Its time per item is the machine's, not a person's: left out."""
    from bertanno.core.stats import project_stats

    figures = project_stats(store, "p", by="version")
    keep = ("decisions", "accepted", "corrected", "labelled", "acceptance_rate", "edits", "keystrokes_per_item")
    return {"dataset": name, "scenario": NAMES[scenario], "stats": {
        version: {key: group[key] for key in keep} for version, group in figures["groups"].items()}}


def plot(rows: list[dict], name: str = "cold_start") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if "stats" not in r]
    names = list(dict.fromkeys(r["dataset"] for r in rows))
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for axis, name in zip(axes[0], names):
        for scenario in dict.fromkeys(r["scenario"] for r in rows if r["dataset"] == name):
            points = [r for r in rows if r["dataset"] == name and r["scenario"] == scenario]
            axis.plot([p["decisions"] for p in points], [p["accepted"] for p in points], marker="o", label=scenario)
        axis.set_title(name)
        axis.set_xlabel("decisions")
        axis.set_ylabel("pre-annotations accepted (per 50)")
        axis.set_ylim(0, 1)
        axis.legend(fontsize=8)
    figure.tight_layout()
    path = RESULTS / f"{name}.png"
    figure.savefig(path, dpi=110)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--datasets", default=DEFAULT_SETS)
    parser.add_argument("--scenarios", help="Only these scenarios (e.g. e,f), where a set has them.")
    parser.add_argument("--output", default="cold_start", help="Results file name (in benchmarks/results).")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    from benchmarks.datasets import load

    path = RESULTS / f"{args.output}.jsonl"
    header = {"suite": "cold_start", "command": " ".join(["python -m benchmarks.cold_start", *sys.argv[1:]]),
              "started": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_facts(args.threads),
              "settings": vars(args)}
    rows = []
    with tempfile.TemporaryDirectory() as folder, open(path, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(header, ensure_ascii=False) + "\n")
        for name in args.datasets.split(","):
            task_name, scenarios = DATASETS[name]
            if args.scenarios:
                scenarios = [s for s in args.scenarios.split(",") if s in NAMES]
            data = load(name)
            for scenario in scenarios:
                for row in run_scenario(name, task_name, scenario, data, args, Path(folder)):
                    rows.append(row)
                    stream.write(json.dumps(row, ensure_ascii=False) + "\n")
                    stream.flush()
    print(f"cold-start results: {path}; plot: {plot(rows, args.output)}")
    from benchmarks.report import write_report

    write_report()


if __name__ == "__main__":
    main()
