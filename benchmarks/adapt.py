"""Task-adaptive pretraining (``vocab adapt``) measured: zh-mini fine-tuned as it ships and after masked-LM training
on the task's own unlabelled training texts (Gururangan et al. 2020, "Don't Stop Pretraining").

    python -m benchmarks.adapt [--datasets chineseblue_cmedqaner,cail2021_xxcq,msra_ner] [--train 1500]
        [--test 1000] [--corpus 5000] [--epochs 1] [--lr 1e-4] [--output adapt]

For each shared set: the quality suite's training sample (``benchmarks.linear_family.sample``); its first --corpus
texts, labels dropped, are the adaptation corpus (the test sample is never among them); zh-mini continues its
masked-LM training on them for --epochs at --lr (``bertanno.vocab.adapt.adapt``, checkpoints kept, so a killed run
resumes). Both models, as shipped and adapted, are then fine-tuned on the first --train examples by ``bertanno
train``'s plan (seed 42, a tenth held out to choose the epoch) and scored on the first --test examples of the test
sample with the task's headline metric. The adapted model and each finished row are kept under
``~/.cache/bertanno-runs/adapt/``. Writes ``benchmarks/results/OUTPUT.json`` (default ``adapt``), keeping its
rows of other sets.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import fit_zh_mini, parse_samples, sample_arguments, samples, write_rows

CHECKPOINTS = Path.home() / ".cache" / "bertanno-runs" / "adapt"


def main(argv=None) -> dict:
    from benchmarks.linear_family import sample
    from bertanno.vocab.adapt import AdaptConfig, adapt

    parser = argparse.ArgumentParser(prog="python -m benchmarks.adapt", description=__doc__.split("\n")[0])
    sample_arguments(parser)
    parser.add_argument("--corpus", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--output", default="adapt", help="results file name under benchmarks/results/")
    args, plugins = parse_samples(parser, argv)
    rows = []
    for name, task, labelled, test in samples(args, plugins):
        from benchmarks.datasets import load

        corpus = [t for e in sample(load(name))[0][:args.corpus] for t in (e.text, e.text_b) if t]
        folder = CHECKPOINTS / f"{name}-{len(corpus)}-{args.epochs}-{args.lr:g}"
        model = folder / "model"
        started = time.perf_counter()
        if not (model / "bertanno-adapted.json").is_file():
            adapt("zh-mini", [], corpus, model, AdaptConfig(epochs=args.epochs, learning_rate=args.lr,
                                                            checkpoint_dir=folder / "checkpoints"))
        adapted_record = json.loads((model / "bertanno-adapted.json").read_text(encoding="utf-8"))
        adapt_seconds = round(time.perf_counter() - started, 1)
        fitted = len(labelled) - max(1, len(labelled) // 10)
        scores = {}
        for start in ("zh-mini", str(model)):
            key = folder / f"score-{'adapted' if start != 'zh-mini' else 'shipped'}-{fitted}-{len(test)}.json"
            if key.is_file():
                scores[start] = json.loads(key.read_text())
                continue
            predictor, config, result = fit_zh_mini(task, labelled, plugins, start=start)
            gold = [e.payload for e in test]
            predicted = [p.payload for p in predictor.predict(test)[0]]
            scores[start] = {"score": next(iter(task.metrics(gold, predicted).values())), "plan": config.describe(),
                             "best_epoch": result.best_epoch}
            key.write_text(json.dumps(scores[start]))
        row = {"dataset": name, "corpus": len(corpus), "adapt_epochs": args.epochs, "adapt_lr": args.lr,
               "adapt_steps": adapted_record["steps"], "mlm_loss_before": adapted_record["loss_before"],
               "mlm_loss_after": adapted_record["loss_after"], "train": fitted, "test": len(test),
               "shipped": scores["zh-mini"], "adapted": scores[str(model)], "adapt_seconds": adapt_seconds}
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return write_rows(args.output, "benchmarks.adapt", argv, args.threads, rows, merge=True)


if __name__ == "__main__":
    main()
