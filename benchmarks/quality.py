"""The quality suite: on each of the 8 shared datasets, bertanno ``train`` with a small model from random
weights, classical baselines on the identical training examples and test split, SnowNLP for sentiment,
and the published bert-base-chinese score as a reference (not reproduced: no pretrained weights here).

Training sets are capped (``--max-train``, a seeded sample; 10 % of it validates) so the whole suite fits
a working session on 2 CPU cores; the classical baselines also run on the full training split where that
is cheap (every TF-IDF model; CRFs up to ``--crf-full-limit`` sentences).
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import REPO
from benchmarks.datasets import NAMES, load

RESULTS = REPO / "benchmarks" / "results"


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks run --suite quality", add_help=False)
    parser.add_argument("--datasets", default=",".join(NAMES))
    parser.add_argument("--max-train", type=int, default=20000)
    parser.add_argument("--max-test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--ner-epochs", type=int, default=20,
                        help="NER learns slower from random weights: more epochs, a higher rate")
    parser.add_argument("--ner-lr", type=float, default=3e-3)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--crf-full-limit", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=2)
    args, _ = parser.parse_known_args(argv)
    args.frozen_epochs = 0
    return args


def run_dataset(name: str, args) -> dict:
    from benchmarks.baselines import crf, snownlp_sentiment, tfidf_logistic_regression
    from benchmarks.train_quality import run_one
    from bertanno.core.plugins import get_plugins

    data = load(name)
    if data.task == "ner":
        args = argparse.Namespace(**{**vars(args), "epochs": args.ner_epochs, "lr": args.ner_lr})
    row = run_one(name, args, data)
    row["bertanno_settings"] = {"epochs": args.epochs, "lr": args.lr, "patience": args.patience}
    same, test = row.pop("examples")
    task = get_plugins().task(data.task, labels=data.labels)
    full = [e for e in data.train if e.payload is not None]
    baseline = crf if task.head == "token" else tfidf_logistic_regression
    row["baseline"] = "CRF, character features" if task.head == "token" else "char 1-3-gram TF-IDF + logistic regression"
    started = time.perf_counter()
    row["baseline_same_train"] = baseline(task, same, test)
    row["baseline_same_train_seconds"] = round(time.perf_counter() - started, 1)
    if task.head != "token" or len(full) <= args.crf_full_limit:
        started = time.perf_counter()
        row["baseline_full_train"] = baseline(task, full, test)
        row["baseline_full_train_seconds"] = round(time.perf_counter() - started, 1)
        row["full_train"] = len(full)
    if data.task == "sentiment":
        started = time.perf_counter()
        row["snownlp"] = snownlp_sentiment(task, test)
        row["snownlp_seconds"] = round(time.perf_counter() - started, 1)
    return row
