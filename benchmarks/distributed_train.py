"""Training in several processes (``bertanno train --processes N``): training samples/s for 1, 2, … processes.

A classifier of ``--layers`` x ``--hidden`` (bert-base-chinese's vocabulary, random weights: the cost is the
same as pretrained ones) is trained for one epoch on ``--items`` ChnSentiCorp training reviews, cut to
``--max-length`` tokens, with the same recipe (lr, global batch) at each process count; the time includes the
launch of the ranks, as a user sees it. On CPU the ranks split the cores (gloo); with a GPU, one rank per GPU.

    python -m benchmarks.distributed_train [--processes 1,2] [--items 1024] [--layers 4 --hidden 256]

Writes benchmarks/results/distributed_train.json. Pause background jobs first.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from benchmarks.common import MODELS, RAW, REPO, machine_facts

RESULT = REPO / "benchmarks" / "results" / "distributed_train.json"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2", metavar="N,N…")
    parser.add_argument("--items", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.training import TrainConfig, train

    task = get_plugins().task("sentiment", labels=["0", "1"])
    examples = read_examples(RAW / "chnsenticorp/chnsenticorp.zip/train.tsv", task).examples[:args.items]
    result = {"command": "python -m benchmarks.distributed_train " + " ".join(argv or []),
              "machine": machine_facts(os.cpu_count()), "settings": vars(args),
              "model": f"{args.layers} x {args.hidden}, bert-base-chinese vocabulary, random weights", "runs": []}
    for processes in (int(n) for n in args.processes.split(",")):
        bundle = build_random_bundle(MODELS / "bert-base-chinese", task, layers=args.layers, hidden=args.hidden,
                                     heads=max(1, args.hidden // 64), max_length=args.max_length, seed=0)
        config = TrainConfig(epochs=1, batch_size=args.batch_size, learning_rate=1e-3, patience=1, seed=0,
                             device="cpu" if not _cuda() else None, processes=processes, class_weights=False)
        started = time.perf_counter()
        outcome = train(bundle, examples, examples[:64], config)
        seconds = time.perf_counter() - started
        row = {"processes": processes, "items": len(examples), "seconds": round(seconds, 1),
               "samples_per_s": round(len(examples) / seconds, 1),
               "seconds_per_epoch_in_ranks": round(outcome.seconds_per_epoch, 1),
               "validation_accuracy": round(outcome.validation.get("accuracy", 0.0), 3)}
        result["runs"].append(row)
        print(json.dumps(row), flush=True)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
