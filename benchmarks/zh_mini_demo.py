"""The demo's project fine-tuned from zh-mini against the demo's own model from random weights.

    python -m benchmarks.zh_mini_demo [--runs random,zh-mini@1e-4,zh-mini@2e-4:8:16] [--epochs 4] [--append]

Each run builds the demo project (``bertanno demo``'s 1,200 labelled ChnSentiCorp reviews and 200 new ones) in a
fresh directory with the given base model, trains one version (``train_project``: the training split, early
stopping on the validation split, the gate against the zero-shot champion when SnowNLP is installed) and records
its accuracy on the demo's evaluation split, how long training took, and the mean confidence of its pre-annotations
of the 200 new reviews. ``random`` is the demo's model before zh-mini (2 x 128 from random weights, lr by the rule:
1e-3); ``zh-mini`` with no settings is what ``bertanno demo`` trains on a machine without bert-base-chinese;
``MODEL@LR`` fine-tunes MODEL at that learning rate, ``MODEL@LR:EPOCHS:BATCH`` also with that many epochs
(instead of ``--epochs``) and that batch size (instead of the model's rule), ``MODEL@LR:EPOCHS:BATCH:SEED`` with
that training seed (the demo's is 0; ``random@:::SEED``: the random model at its rule with that seed). Results:
``benchmarks/results/zh_mini_demo.jsonl`` (``--append``: added to the runs already there).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"


def random_model(folder: Path) -> str:
    """The demo's model before zh-mini shipped: 2 x 128 from random weights (bert-base-chinese's config and
    vocabulary), saved as a base model that trains by the random-weights rule (lr 1e-3)."""
    from bertanno.core.bundle import save_version
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle

    task = get_plugins().task("sentiment", labels=["negative", "positive"])
    return str(save_version(build_random_bundle(task=task, layers=2, hidden=128, seed=0), folder / "small-random",
                            {"note": "random weights from the bundled bert-base-chinese config, 2 layers x 128"}))


def one_run(spec: str, epochs: int) -> dict:
    import bertanno.app.demo as demo
    from bertanno.app.training_runs import champion_directory
    from bertanno.core.pooling import POOLING_KEY
    from bertanno.core.project import open_project
    from bertanno.store.predictions import latest_predictions

    model, _, settings = spec.partition("@")
    lr, epochs_given, batch, seed = (settings.split(":") + ["", "", ""])[:4]
    epochs = int(epochs_given) if epochs_given else epochs
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        setup = demo.prepare(folder, epochs=epochs, model=random_model(Path(folder)) if model == "random" else model,
                             learning_rate=float(lr) if lr else None, batch_size=int(batch) if batch else None,
                             seed=int(seed) if seed else 0)
        seconds = time.perf_counter() - started
        outcome = setup.outcome
        config = Path(champion_directory(setup.store, demo.PROJECT)[0]) / "config.json"
        pooling = json.loads(config.read_text(encoding="utf-8")).get(POOLING_KEY, "cls") \
            if config.exists() else None  # None: a champion of another family (zero-shot)
        ids = [item_id for item_id, _ in open_project(setup.store, demo.PROJECT).items(undecided=True)]
        with setup.store.transaction() as session:
            confidences = [p.confidence for p in latest_predictions(session, ids).values()
                           if p.model_version == setup.champion]
        setup.store.close()
    metrics = outcome.metrics if outcome is not None else {}
    return {"run": spec, "model": model, "lr": float(lr) if lr else None, "epochs": epochs,
            "batch_size": int(batch) if batch else None, "pooling": pooling,
            "epochs_run": len(outcome.result.history) if outcome is not None and outcome.result else None,
            "seed": int(seed) if seed else 0,  # the demo's own is 0
            "accuracy": round(metrics.get("accuracy", float("nan")), 4),
            "macro_f1": round(metrics.get("macro_f1", float("nan")), 4),
            "decision": outcome.decision if outcome is not None else None, "champion": setup.champion,
            "mean_confidence_of_champion_pre_annotations": round(sum(confidences) / len(confidences), 3)
            if confidences else None, "seconds": round(seconds, 1)}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="random,zh-mini@1e-4,zh-mini@2e-4,zh-mini@5e-5")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--append", action="store_true", help="add to the runs in the results file")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "zh_mini_demo.jsonl"
    rows = []
    with open(path, "a" if args.append else "w", encoding="utf-8") as out:
        out.write(json.dumps({"machine": machine_facts(args.threads), "settings": vars(args),
                              "date": time.strftime("%Y-%m-%d")}) + "\n")
        for spec in args.runs.split(","):
            row = one_run(spec, args.epochs)
            rows.append(row)
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    main()
