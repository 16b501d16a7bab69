"""``train`` on each shared dataset with a small randomly initialised Chinese BERT, against the frozen-encoder
variant of the tutorial pipeline, both in the same run.

No pretrained weights exist here, so both start from random weights built from the real
bert-base-chinese config and vocabulary, shrunk (default 2 layers x 128, 128 tokens). bertanno: full
fine-tuning (``TrainConfig(mode="full")``). Tutorial variant: the encoder frozen, only the
head trained (lr 2e-4, batch 16, the tutorial's recipe) on cached features. Training sets are
capped (``--max-train``) to fit a working session on 2 CPU cores; the cap is in the output.

    python -m benchmarks.train_quality [--datasets chnsenticorp,msra_ner] [--max-train 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from benchmarks.common import MODELS, REPO, machine_facts, use_threads
from benchmarks.datasets import NAMES, load

RESULTS = REPO / "benchmarks" / "results"


def run_one(name: str, args, data=None, base=None, checkpoints: Path | None = None) -> dict:
    """Train and score bertanno on one dataset; ``data`` saves a second read when the caller has it loaded;
    ``base(task)`` gives the model to start from (default: random weights, ``--layers`` x ``--hidden``);
    ``checkpoints``: a folder for a checkpoint after each epoch of the full fine-tuning, resumed from when one is
    there (``TrainConfig.checkpoint_dir``: a killed run continues where it was)."""
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.training import TrainConfig, score, train

    data = data if data is not None else load(name)
    task = get_plugins().task(data.task, labels=data.labels)
    train_examples = [e for e in data.train if e.payload is not None]
    random.Random(0).shuffle(train_examples)
    train_examples = train_examples[: args.max_train]
    cut = max(1, len(train_examples) // 10)
    validation, train_examples = train_examples[:cut], train_examples[cut:]
    test = list(data.test)
    random.Random(1).shuffle(test)  # the splits are ordered by label: cap a shuffled copy
    test = test[: args.max_test]

    def bundle():
        if base is not None:
            return base(task)
        return build_random_bundle(MODELS / "bert-base-chinese", task, layers=args.layers, hidden=args.hidden,
                                   max_length=args.max_length, seed=0)

    row = {"dataset": name, "task": data.task, "split": data.split, "train": len(train_examples),
           "validation": len(validation), "test": len(test), "reference (bert-base, not reproduced)": data.reference}
    full = train(bundle(), train_examples, validation,
                 TrainConfig(mode="full", epochs=args.epochs, learning_rate=args.lr, batch_size=32,
                             patience=getattr(args, "patience", 2), checkpoint_dir=checkpoints))
    started = time.perf_counter()
    row["bertanno_full"] = score(full.bundle, test)
    row["bertanno_seconds_per_epoch"] = round(full.seconds_per_epoch, 1)
    row["bertanno_epochs_run"] = len(full.history)
    # the epochs' seconds span every run of a resumed training; this process's clock would count the last only
    row["bertanno_total_seconds"] = round(full.seconds_per_epoch * len(full.history)
                                          + time.perf_counter() - started, 1)
    row["examples"] = (train_examples, test)  # for baselines on the identical examples; not written out
    if task.head == "sequence" and args.frozen_epochs:
        started = time.perf_counter()
        frozen = train(bundle(), train_examples, validation,
                       TrainConfig(mode="frozen", epochs=args.frozen_epochs, learning_rate=2e-4, batch_size=16,
                                   patience=args.frozen_epochs, class_weights=False))
        row["tutorial_frozen"] = score(frozen.bundle, test)
        row["tutorial_frozen_total_seconds"] = round(time.perf_counter() - started, 1)
    elif task.head != "sequence":
        row["tutorial_frozen"] = "n/a (the tutorial's frozen variant is a sentence classifier)"
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(NAMES))
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--max-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--frozen-epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "train_quality.jsonl")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    header = {"machine": machine_facts(args.threads), "settings": {k: v for k, v in vars(args).items() if k != "output"},
              "started": time.strftime("%Y-%m-%d %H:%M")}
    rows = []
    with open(args.output, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(header, ensure_ascii=False) + "\n")
        for name in args.datasets.split(","):
            row = run_one(name, args)
            row.pop("examples")
            rows.append(row)
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            stream.flush()
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return rows


if __name__ == "__main__":
    main()
