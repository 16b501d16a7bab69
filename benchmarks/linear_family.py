"""The live ``linear`` family against the classical TF-IDF + logistic regression baseline, on the same examples.

    python -m benchmarks.linear_family [--datasets chnsenticorp,waimai_10k,...] [--sizes 200,2000,all]

For each shared sentence or pair set and each training size: the quality suite's sample (the training split
shuffled with seed 0, capped at 20,000, its first tenth held out as the suite's validation and left out here;
the test split shuffled with seed 1, capped at 2,000), the first SIZE training examples, and two models
scored with the task's own metrics on the identical test examples: ``baseline`` (``benchmarks.baselines``:
scikit-learn's TfidfVectorizer, sublinear tf, min_df 2) and ``linear`` (the family as bertanno trains it,
``plugins.builtin.fast_families``: since 2026-12-07 the baseline's own n-grams and idf). Writes
``benchmarks/results/linear_family.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_rows

SETS = "chnsenticorp,waimai_10k,afqmc,chineseblue_cmedqq,cail2021_argmine"


def sample(data, max_train: int = 20000, max_test: int = 2000):
    """The quality suite's training and test sample (``benchmarks.train_quality.run_one``) of ``data``."""
    train = [e for e in data.train if e.payload is not None]
    random.Random(0).shuffle(train)
    train = train[:max_train]
    train = train[max(1, len(train) // 10):]
    test = list(data.test)
    random.Random(1).shuffle(test)
    return train, test[:max_test]


def linear_family(task, train, test) -> dict:
    """The ``linear`` family fitted and served as bertanno does: the task's metrics on ``test``."""
    from bertanno.plugins.builtin import fast_families

    with tempfile.TemporaryDirectory() as folder:
        family = fast_families.LinearFamily()
        family.fit(task, train, Path(folder) / "v")
        predictions, _ = family.load(Path(folder) / "v", {}, task).predict(test)
    return task.metrics([e.payload for e in test], [p.payload for p in predictions])


def main(argv=None) -> dict:
    from benchmarks.baselines import tfidf_logistic_regression
    from benchmarks.datasets import load
    from bertanno.core.plugins import get_plugins

    parser = argparse.ArgumentParser(prog="python -m benchmarks.linear_family", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=SETS)
    parser.add_argument("--sizes", default="200,2000,all", help="Training sizes (all: the whole sample).")
    args = parser.parse_args(argv)
    rows = []
    for name in args.datasets.split(","):
        data = load(name)
        task = get_plugins().task(data.task, labels=data.labels)
        train, test = sample(data)
        for size in args.sizes.split(","):
            subset = train if size == "all" else train[:int(size)]
            row = {"dataset": name, "task": data.task, "train": len(subset), "test": len(test)}
            for column, fit in (("baseline", lambda: tfidf_logistic_regression(task, subset, test)),
                                ("linear", lambda: linear_family(task, subset, test))):
                started = time.perf_counter()
                scores = fit()
                row[column] = {"score": next(iter(scores.values())), "metric": next(iter(scores)),
                               "seconds": round(time.perf_counter() - started, 1)}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return write_rows("linear_family", "benchmarks.linear_family", argv, 1, rows)


if __name__ == "__main__":
    main()
