"""The correction loop on ChnSentiCorp: a simulated annotator corrects the model, retrain after each batch.

A project in a fresh SQLite file holds the ChnSentiCorp training texts without labels. The
simulated person (the gold labels) works the queue, most uncertain first once predictions
exist: accepting a pre-annotation that matches gold, correcting one that does not. After 200,
400 and 800 decisions ``retrain`` runs (``--min-new`` the batch size), and the champion is scored
on the official test split. The base model (``--base``) is a small randomly initialised Chinese BERT
(``random``: ``--layers`` x ``--hidden``, lr 1e-3 by the rule) or a model by name (``zh-mini``: the shipped
one, lr by its rule unless ``--lr``).

    python -m benchmarks.correction_loop [--steps 200,400,800] [--base random|zh-mini] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, RAW, REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="200,400,800")
    parser.add_argument("--pool", type=int, default=1500, help="unlabelled training texts in the project")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, help="default: the base model's rule (1e-3 from random weights)")
    parser.add_argument("--base", default="random", help="random, or a model: alias, hub id or directory")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "correction_loop.jsonl")
    args = parser.parse_args(argv)
    use_threads(args.threads)

    from bertanno.app.training_runs import evaluate, retrain_project
    from bertanno.core.bundle import save_version
    from bertanno.core.import_export import import_file
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.training import TrainConfig
    from bertanno.store import Store
    from bertanno.store.annotations import record_decision
    from bertanno.store.items import input_hash
    from bertanno.store.predictions import latest_predictions
    from bertanno.store.projects import create_project
    from bertanno.store.queue import next_item

    task = get_plugins().task("sentiment", labels=["0", "1"])
    train = read_examples(RAW / "chnsenticorp/chnsenticorp.zip/train.tsv", task).examples[: args.pool]
    gold = {input_hash(e.text): e.payload for e in train}
    test_file = RAW / "chnsenticorp/chnsenticorp.zip/test.tsv"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        base = str(save_version(build_random_bundle(MODELS / "bert-base-chinese", task, layers=args.layers,
                                                    hidden=args.hidden, max_length=128, seed=0), folder / "base")) \
            if args.base == "random" else args.base
        store = Store.open(f"sqlite:///{folder / 'loop.db'}")
        with store.transaction() as session:
            project_id = create_project(session, "loop", "sentiment", ["0", "1"], base).id
        pool = folder / "pool.txt"
        pool.write_text("".join(e.text.replace("\n", " ") + "\n" for e in train), encoding="utf-8")
        import_file(store, "loop", pool)
        config = TrainConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=32, patience=2, seed=0)
        done, accepted = 0, 0
        for target in (int(step) for step in args.steps.split(",")):
            batch = target - done
            with store.transaction() as session:
                for _ in range(batch):
                    item = next_item(session, project_id, "simulated", "loop", order="uncertain")
                    truth = gold[input_hash(item.text)]
                    predicted = latest_predictions(session, [item.id]).get(item.id)
                    if predicted is not None and predicted.payload == truth:
                        record_decision(session, project_id, item.id, "simulated", "loop", "accept", truth, predicted.id)
                        accepted += 1
                    else:
                        record_decision(session, project_id, item.id, "simulated", "loop", "correct", truth,
                                        predicted.id if predicted else None)
            done = target
            started = time.perf_counter()
            plans: list[str] = []
            outcome = retrain_project(store, "loop", config, min_new=batch, tolerance=0.0, models_dir=folder / "models",
                                      on_plan=plans.append)
            seconds = time.perf_counter() - started
            scores = evaluate(store, "loop", outcome.version, str(test_file))
            row = {"base": args.base, "decisions": done, "accepted_pre_annotations": accepted, "version": outcome.version,
                   "decision": outcome.decision, "test_accuracy": round(scores["accuracy"], 4),
                   "test_macro_f1": round(scores["macro_f1"], 4), "retrain_seconds": round(seconds, 1),
                   "gate": outcome.gate.describe() if outcome.gate else None, "training": "; ".join(plans)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        store.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as stream:
        stream.write(json.dumps({"machine": machine_facts(args.threads), "settings": {
            k: v for k, v in vars(args).items() if k != "output"}}) + "\n")
        for row in rows:
            stream.write(json.dumps(row) + "\n")
    return rows


if __name__ == "__main__":
    main()
