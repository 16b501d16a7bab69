"""NER decoded by per-token argmax against constrained Viterbi (``plugins.bio.constrained_tags``), one model.

    python -m benchmarks.constrained_decoding [--datasets chineseblue_cmedqaner,cail2021_xxcq] [--train 1500]
        [--epochs N] [--test 1000]

For each shared NER set: zh-mini fine-tuned once (``bertanno train``'s plan for a token task unless --epochs,
seed 42) on the first --train examples of the quality suite's training sample (``benchmarks.linear_family.
sample``), then its predictions on the first --test examples of the suite's test sample decoded both ways, scored
with the task's strict entity F1 (seqeval, IOB2). ``argmax`` is the decoder before 2026-12-06: each token's most
likely tag, spans read back the way conlleval reads them (an I-X after O starts a span). Writes
``benchmarks/results/constrained_decoding.json``.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import use_threads, write_rows


def main(argv=None) -> dict:
    import numpy as np

    from benchmarks.datasets import load
    from benchmarks.linear_family import sample
    from bertanno.core.bundle import load_base
    from bertanno.core.engine import Predictor
    from bertanno.core.plugins import get_plugins
    from bertanno.core.training import TrainConfig, set_seed, train
    from bertanno.plugins import bio

    parser = argparse.ArgumentParser(prog="python -m benchmarks.constrained_decoding",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="chineseblue_cmedqaner,cail2021_xxcq")
    parser.add_argument("--train", type=int, default=1500)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    plugins = get_plugins()
    rows = []
    for name in args.datasets.split(","):
        data = load(name)
        task = plugins.task(data.task, labels=data.labels)
        training, test = sample(data)
        training, test = training[:args.train], test[:args.test]
        cut = max(1, len(training) // 10)
        validation, training = training[:cut], training[cut:]
        set_seed(42)
        bundle = load_base("zh-mini", task, plugins)
        config, rule = TrainConfig(epochs=args.epochs, seed=42).for_model(bundle, examples=len(training))
        started = time.perf_counter()
        result = train(bundle, training, validation, config)
        seconds = time.perf_counter() - started
        predictor = Predictor(result.bundle)
        gold = [example.payload for example in test]
        constrained = [p.payload for p in predictor.predict(test)[0]]
        original = bio.constrained_tags
        bio_argmax = lambda labels, probabilities: [int(np.argmax(p)) for p in probabilities]  # noqa: E731
        from bertanno.plugins.builtin import ner

        ner.constrained_tags = bio_argmax  # the decoder as it was: each token on its own
        try:
            argmax = [p.payload for p in predictor.predict(test)[0]]
        finally:
            ner.constrained_tags = original
        row = {"dataset": name, "train": len(training), "test": len(test), "plan": config.describe(),
               "train_seconds": round(seconds, 1), "best_epoch": result.best_epoch,
               "argmax": task.metrics(gold, argmax)["f1"], "constrained": task.metrics(gold, constrained)["f1"]}
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return write_rows("constrained_decoding", "benchmarks.constrained_decoding", argv, args.threads, rows)


if __name__ == "__main__":
    main()
