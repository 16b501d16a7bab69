"""NER with zh-mini's softmax head against its CRF head (``train --head crf``), beside the classical CRF baseline.

    python -m benchmarks.crf_head [--datasets chineseblue_cmedqaner,cail2021_xxcq,msra_ner] [--train 1500]
        [--test 1000] [--epochs N] [--heads softmax,crf,crf+lexicon] [--layer-decay 0.8] [--output crf_head]

For each shared NER set: the first --train examples of the quality suite's training sample
(``benchmarks.linear_family.sample``), a tenth of them held out for choosing the epoch; zh-mini fine-tuned once
per head by ``bertanno train``'s plan for a token task (unless --epochs), seed 42, the same examples and the same
new classifier for both heads; each scored on the first --test examples of the suite's test sample with the task's
strict entity F1 (seqeval, IOB2). ``softmax`` decodes by constrained Viterbi over the token probabilities,
``crf`` by Viterbi over the logits and the learned transitions; ``HEAD+lexicon`` adds the lexicon and character
features beside the encoder (``train --lexicon-features``). ``crf baseline``: the quality suite's
sklearn-crfsuite model over character features (``benchmarks.baselines.crf``) on the same training examples
(the held-out tenth included). ``--layer-decay``: the transformer's layer-wise learning-rate decay. Each finished
row is kept in ``~/.cache/bertanno-runs/crf_head/rows.jsonl``, and the row in training keeps a checkpoint after
each epoch in a folder beside it (``TrainConfig.checkpoint_dir``), so a killed run resumes where it stopped, in the
epoch it was in: a row longer than a working session (MSRA's whole sample: hours on one core) still ends (its
``seconds`` then count the last run only). Writes ``benchmarks/results/crf_head.json`` after every row
(``--output``: another name, for a run that should not replace it).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from benchmarks.common import FinishedRows, fit_zh_mini, parse_samples, sample_arguments, samples, write_rows

CHECKPOINTS = Path.home() / ".cache" / "bertanno-runs" / "crf_head"


def main(argv=None) -> dict:
    from benchmarks.baselines import crf as crf_baseline

    parser = argparse.ArgumentParser(prog="python -m benchmarks.crf_head", description=__doc__.split("\n")[0])
    sample_arguments(parser)
    parser.add_argument("--heads", default="softmax,crf")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--layer-decay", type=float, default=1.0)
    parser.add_argument("--output", default="crf_head", help="results file name in benchmarks/results")
    args, plugins = parse_samples(parser, argv)
    finished = FinishedRows(CHECKPOINTS / "rows.jsonl", lambda row: (
        row["dataset"], row["head"], row["train"] + row["validation"], row["test"], row["epochs_asked"],
        row.get("layer_decay", 1.0)))
    rows = []
    for name, task, training, test in samples(args, plugins):
        gold = [example.payload for example in test]
        for head in ["crf baseline", *args.heads.split(",")]:
            decay = 1.0 if head == "crf baseline" else args.layer_decay
            if (row := finished.get((name, head, len(training), len(test), args.epochs, decay))) is not None:
                rows.append(row)
                continue
            started = time.perf_counter()
            if head == "crf baseline":
                f1, plan, best_epoch = crf_baseline(task, training, test)["f1"], "sklearn-crfsuite, 100 iterations", None
            else:
                layer, _, extra = head.partition("+")
                checkpoints = CHECKPOINTS / (f"{name}-{head}-{len(training)}-{len(test)}-e{args.epochs or 'plan'}"
                                             f"-d{decay:g}")
                predictor, config, result = fit_zh_mini(task, training, plugins, epochs=args.epochs, head=layer,
                                                        layer_decay=args.layer_decay,
                                                        lexicon_features=extra == "lexicon",
                                                        checkpoint_dir=checkpoints)
                predicted = [p.payload for p in predictor.predict(test)[0]]
                f1, plan, best_epoch = task.metrics(gold, predicted)["f1"], config.describe(), result.best_epoch
                shutil.rmtree(checkpoints, ignore_errors=True)  # the row is kept below; its epochs are not needed
            cut = max(1, len(training) // 10)
            rows.append(finished.add({
                "dataset": name, "head": head, "train": len(training) - cut, "validation": cut, "test": len(test),
                "epochs_asked": args.epochs, "layer_decay": decay, "plan": plan, "best_epoch": best_epoch,
                "seconds": round(time.perf_counter() - started, 1), "f1": f1}))
            write_rows(args.output, "benchmarks.crf_head", argv, args.threads, rows)  # what is done so far
    return write_rows(args.output, "benchmarks.crf_head", argv, args.threads, rows)


if __name__ == "__main__":
    main()
