"""The live ``linear`` family against the classical TF-IDF + logistic regression baseline, on the same examples.

    python -m benchmarks.linear_family [--datasets chnsenticorp,waimai_10k,...] [--sizes 200,2000,all]

For each shared sentence or pair set and each training size: the quality suite's sample (the training split
shuffled with seed 0, capped at 20,000, its first tenth held out as the suite's validation and left out here;
the test split shuffled with seed 1, capped at 2,000), the first SIZE training examples, and three models
scored with the task's own metrics on the identical test examples: ``baseline`` (``benchmarks.baselines``:
scikit-learn's TfidfVectorizer, sublinear tf, min_df 2), ``linear`` (the family as bertanno trains it now:
hashed n-grams with the baseline's weighting, ``plugins.builtin.fast_families``) and ``linear-tf`` (the family
as it was before 2026-12-06: hashed counts, l2-normalised, no idf). Writes
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


def linear_family(task, train, test, idf: bool = True) -> dict:
    """The ``linear`` family fitted and served as bertanno does (``idf=False``: its weighting before idf)."""
    from bertanno.plugins.builtin import fast_families

    family = fast_families.LinearFamily()
    original = fast_families.learn_vocabulary

    import numpy as np

    def tf_alone(texts):  # the earlier weighting, no idf (over the n-grams kept today)
        columns, weights = original(texts)
        return columns, np.ones_like(weights)

    if not idf:
        fast_families.learn_vocabulary = tf_alone
    try:
        with tempfile.TemporaryDirectory() as folder:
            family.fit(task, train, Path(folder) / "v")
            model = family.load(Path(folder) / "v", {}, task)
            predictions, _ = model.predict(test)
    finally:
        fast_families.learn_vocabulary = original
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
                                ("linear", lambda: linear_family(task, subset, test)),
                                ("linear-tf", lambda: linear_family(task, subset, test, idf=False))):
                started = time.perf_counter()
                scores = fit()
                row[column] = {"score": next(iter(scores.values())), "metric": next(iter(scores)),
                               "seconds": round(time.perf_counter() - started, 1)}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return write_rows("linear_family", "benchmarks.linear_family", argv, 1, rows)


if __name__ == "__main__":
    main()
