"""zh-mini's training plan for sentence and pair tasks on small sets: the plan's epochs against longer plans.

    python -m benchmarks.sentence_plan [--datasets chnsenticorp,waimai_10k,afqmc,chineseblue_cmedqq,cail2021_argmine]
        [--train 1500] [--test 1000] [--variants "plan;epochs=12,patience=3;layer_decay=0.8"] [--output NAME]

For each shared sentence or pair set: the first --train examples of the quality suite's training sample
(``benchmarks.linear_family.sample``), a tenth held out to choose the epoch, zh-mini fine-tuned once per variant
(seed 42; ``plan``: ``bertanno train``'s own plan; else ``TrainConfig`` fields and ``task.KEY`` task options,
``name=value`` joined by commas, e.g. ``task.long_texts=windows``) and scored on the first --test examples of the
suite's test sample with every metric of the task (compared by the task's headline, ``core.training.headline``:
sentiment by accuracy, pairs by macro F1), beside the classical baseline on the same examples (TF-IDF + logistic
regression, ``benchmarks.baselines``). Each finished row is kept in ``~/.cache/bertanno-runs/sentence_plan/
rows.jsonl``, so a killed run resumes at the row it was in. Writes
``benchmarks/results/sentence_plan.json`` after every row (``--output``: another name).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import FinishedRows, fit_zh_mini, parse_samples, sample_arguments, samples, write_rows

CHECKPOINTS = Path.home() / ".cache" / "bertanno-runs" / "sentence_plan"
SETS = "chnsenticorp,waimai_10k,afqmc,chineseblue_cmedqq,cail2021_argmine"


def parse_variant(text: str) -> tuple[dict, dict]:
    """``"epochs=12,patience=3,task.long_texts=truncate"`` -> ``({"epochs": 12, "patience": 3},
    {"long_texts": "truncate"})``: ``TrainConfig`` fields, then the task's config (keys after ``task.``);
    ``"plan"`` -> ``({}, {})``. Values are ints where they parse as ints, floats where they parse as floats,
    else words."""
    settings: dict = {}
    task_config: dict = {}
    if text.strip() == "plan":
        return settings, task_config
    for part in text.split(","):
        key, _, value = (piece.strip() for piece in part.partition("="))
        try:
            parsed = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            parsed = value
        if key.startswith("task."):
            task_config[key.removeprefix("task.")] = parsed
        else:
            settings[key] = parsed
    return settings, task_config


def main(argv=None) -> dict:
    from benchmarks.baselines import tfidf_logistic_regression

    parser = argparse.ArgumentParser(prog="python -m benchmarks.sentence_plan", description=__doc__.split("\n")[0])
    sample_arguments(parser, SETS)
    parser.add_argument("--variants", default="plan;epochs=12,patience=3",
                        help="';'-separated variants: 'plan', or TrainConfig fields and task.KEY task options as "
                             "name=value,...")
    parser.add_argument("--output", default="sentence_plan", help="results file name in benchmarks/results")
    args, plugins = parse_samples(parser, argv)
    from bertanno.core.training import headline

    finished = FinishedRows(CHECKPOINTS / "rows.jsonl",
                            lambda row: (row["dataset"], row["variant"], row["train"], row["test"]))
    rows = []
    for name, task, training, test in samples(args, plugins):
        gold = [example.payload for example in test]
        for variant in ["classical", *[v.strip() for v in args.variants.split(";")]]:
            if (row := finished.get((name, variant, len(training), len(test)))) is not None:
                rows.append(row)
                continue
            started = time.perf_counter()
            if variant == "classical":
                metrics, plan, best_epoch = tfidf_logistic_regression(task, training, test), "TF-IDF + LR", None
            else:
                settings, task_config = parse_variant(variant)
                predictor, config, result = fit_zh_mini(task.with_config(**task_config), training, plugins,
                                                        **settings)
                metrics = task.metrics(gold, [p.payload for p in predictor.predict(test)[0]])
                plan, best_epoch = config.describe(), result.best_epoch
            rows.append(finished.add({
                "dataset": name, "variant": variant, "train": len(training), "test": len(test), "plan": plan,
                "best_epoch": best_epoch, "seconds": round(time.perf_counter() - started, 1),
                "headline": headline(metrics), "metrics": metrics}))
            write_rows(args.output, "benchmarks.sentence_plan", argv, args.threads, rows)  # what is done so far
    return write_rows(args.output, "benchmarks.sentence_plan", argv, args.threads, rows)


if __name__ == "__main__":
    main()
