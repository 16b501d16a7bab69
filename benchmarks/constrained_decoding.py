"""NER decoded by per-token argmax against constrained Viterbi (``plugins.bio.constrained_tags``), one model.

    python -m benchmarks.constrained_decoding [--datasets chineseblue_cmedqaner,cail2021_xxcq] [--train 1500]
        [--epochs N] [--test 1000]

For each shared NER set: zh-mini fine-tuned once with the softmax head (``bertanno train``'s plan for a token
task unless --epochs, seed 42) on the first --train examples of the quality suite's training sample (``benchmarks.linear_family.
sample``), then its predictions on the first --test examples of the suite's test sample decoded both ways, scored
with the task's strict entity F1 (seqeval, IOB2). ``argmax`` is the decoder before 2026-12-06: each token's most
likely tag, spans read back the way conlleval reads them (an I-X after O starts a span). Writes
``benchmarks/results/constrained_decoding.json``.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import fit_zh_mini, parse_samples, sample_arguments, samples, write_rows


def main(argv=None) -> dict:
    import numpy as np

    from bertanno.plugins import bio

    parser = argparse.ArgumentParser(prog="python -m benchmarks.constrained_decoding",
                                     description=__doc__.split("\n")[0])
    sample_arguments(parser, "chineseblue_cmedqaner,cail2021_xxcq")
    parser.add_argument("--epochs", type=int)
    args, plugins = parse_samples(parser, argv)
    rows = []
    for name, task, training, test in samples(args, plugins):
        started = time.perf_counter()
        # the softmax head: the decoders compared here read its per-token probabilities (a CRF head decodes by
        # its own transitions)
        predictor, config, result = fit_zh_mini(task, training, plugins, epochs=args.epochs, head="softmax")
        seconds = time.perf_counter() - started
        training = training[max(1, len(training) // 10):]
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
