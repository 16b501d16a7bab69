"""The quality suite's bertanno column from zh-mini, next to the same architecture from random weights.

    python -m benchmarks.zh_mini_quality [--datasets a,b] [--bases zh-mini,random-4x256] [quality suite options]

For each shared dataset and each base: ``train`` with the quality suite's recipe and sample (``benchmarks.quality``
options and seeds: the same training examples, validation split, test sample, epochs, learning rates and 128
tokens as the suite's own column, so the classical baselines of ``results/quality.jsonl`` score the identical
examples), from ``zh-mini`` (pretrained, shipped) or from random weights of zh-mini's own shape (4 x 256).
Rows are appended to ``benchmarks/results/quality_zh_mini.jsonl`` one (dataset, base, learning rate, pooling) at a
time and a rerun skips those already there, so a long run can stop and resume (run it niced in the background),
and a run at another learning rate (``--lr``, ``--ner-lr``: the suite's NER rate of 3e-3 suits its 2 x 128 random
model, not a pretrained one) or with mean pooling where a row had [CLS] adds rows beside the earlier ones. Within a
row, training keeps a checkpoint after each epoch in ``~/.cache/bertanno-runs/zh-mini-quality/`` (``--checkpoints``)
and a rerun resumes it, so a row longer than a working session (MSRA NER: hours on one core) still ends.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from benchmarks.common import MODELS, REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"
PATH = RESULTS / "quality_zh_mini.jsonl"
BASES = ("zh-mini", "random-4x256")


def base_factory(name: str, max_length: int):
    from bertanno.core.bundle import load_base
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle

    if name == "zh-mini":
        return lambda task: load_base("zh-mini", task, get_plugins())
    if name == "random-4x256":
        return lambda task: build_random_bundle(MODELS / "bert-base-chinese", task, layers=4, hidden=256,
                                                max_length=max_length, seed=0)
    raise SystemExit(f"unknown base {name!r}: one of {', '.join(BASES)}")


def main(argv=None) -> list[dict]:
    import argparse

    from benchmarks import quality
    from benchmarks.datasets import load
    from benchmarks.train_quality import run_one
    from bertanno.core.plugins import get_plugins

    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--bases", default=",".join(BASES))
    extra.add_argument("--checkpoints", type=Path, default=Path.home() / ".cache" / "bertanno-runs" / "zh-mini-quality")
    mine, rest = extra.parse_known_args(argv)
    args = quality.options(rest)
    use_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.zh_mini_quality " + " ".join(argv)
    done = set()
    if PATH.exists():
        lines = [json.loads(line) for line in PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
        # rows from before core.pooling carry no pooling: they pooled by [CLS]; rows from before a sentence task
        # read long texts in windows carry no long_texts: they truncated
        done = {(row["dataset"], row["base"], row["bertanno_settings"]["lr"], row.get("pooling", "[CLS]"),
                 row.get("long_texts", None if row["task"] == "ner" else "truncate")) for row in lines[1:]}
    else:
        header = {"suite": "quality_zh_mini", "command": command,
                  "started": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_facts(args.threads),
                  "settings": {**vars(args), "bases": mine.bases}}
        PATH.write_text(json.dumps(header, ensure_ascii=False) + "\n", encoding="utf-8")
    rows = []
    for name in args.datasets.split(","):
        data = None
        for base in mine.bases.split(","):
            data = data or load(name)
            settings = args
            if data.task == "ner":
                settings = argparse.Namespace(**{**vars(args), "epochs": args.ner_epochs, "lr": args.ner_lr})
            # core.pooling: zh-mini's sentence and pair heads pool by the mean since 2026-12-01
            pooling = "mean" if base == "zh-mini" and data.task != "ner" else "[CLS]"
            long_texts = getattr(get_plugins().task(data.task), "long_texts", None)  # how it reads a long text
            if (name, base, settings.lr, pooling, long_texts) in done:
                continue
            checkpoints = mine.checkpoints / (f"{name}-{base}-lr{settings.lr:g}-{pooling.strip('[]').lower()}"
                                              + ("-windows" if long_texts == "windows" else ""))
            row = run_one(name, settings, data, base_factory(base, args.max_length), checkpoints)
            row.pop("examples")
            row.update({"base": base, "command": command,
                        "bertanno_settings": {"epochs": settings.epochs, "lr": settings.lr, "patience": args.patience},
                        "pooling": pooling, "long_texts": long_texts})
            with open(PATH, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            shutil.rmtree(checkpoints, ignore_errors=True)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return rows


if __name__ == "__main__":
    main()
