"""One entry point for the benchmark suites.

    python -m benchmarks run --suite quality|speed|all [suite options]
    python -m benchmarks run --suite zh-mini [quality options] [--bases zh-mini,random-4x256]
    python -m benchmarks report            rebuild benchmarks/RESULTS.md and the plots from benchmarks/results/

``run`` writes benchmarks/results/{quality.jsonl,speed.json,optimize_speed.json} (the speed suite runs
``benchmarks.optimize_speed`` after its own part: the int8, ONNX Runtime int8 and distilled-student columns), then
RESULTS.md and PNG plots, and says where they are. ``--suite zh-mini`` is the quality suite's recipe from
the shipped zh-mini and from random weights of its shape (``benchmarks.zh_mini_quality``: rows appended to
quality_zh_mini.jsonl, resumable from epoch checkpoints; many hours on 2 CPU cores, so ``all`` leaves it
out). Every run records the machine (CPU count, torch and transformers versions), the settings and the seeds. Data come from ../shared/data/raw/ (or $BERTANNO_SHARED);
nothing needs a network.

Quality options: --datasets a,b --max-train 20000 --max-test 2000 --epochs 8 --patience 3 --lr 2e-4
                 --ner-epochs 20 --ner-lr 3e-3 --layers 2 --hidden 128 --crf-full-limit 6000
Speed options:   --texts 160 --lengths 32,...,4096 --store-items 50000 --latency-items 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.common import REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"
SEEDS = {"model_init": 0, "training": 42, "data_sample": "train 0, test 1", "splits": 13}


def run_quality(argv) -> None:
    from benchmarks import quality

    args = quality.options(argv)
    use_threads(args.threads)
    path = RESULTS / "quality.jsonl"
    header = {"suite": "quality", "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
              "started": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_facts(args.threads),
              "settings": vars(args), "seeds": SEEDS}
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(header, ensure_ascii=False) + "\n")
        for name in args.datasets.split(","):
            row = quality.run_dataset(name, args)
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            stream.flush()
            print(json.dumps(row, ensure_ascii=False), flush=True)
    print(f"quality results: {path}")


def run_speed(argv) -> None:
    from benchmarks import speed

    args = speed.options(argv)
    use_threads(args.threads)
    started = time.strftime("%Y-%m-%d %H:%M")
    result = speed.run(args)
    result = {"suite": "speed", "command": "python -m benchmarks " + " ".join(sys.argv[1:]), "started": started,
              "machine": machine_facts(args.threads), "settings": vars(args), "seeds": {"model_init": 0}, **result}
    path = RESULTS / "speed.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"speed results: {path}")
    from benchmarks import optimize_speed

    # the optimised variants' columns (int8, ONNX Runtime int8, the distilled 3-layer student) on the same texts
    optimize_speed.main(["--texts", str(args.texts), "--threads", str(args.threads)])
    print(f"optimised variants' speed: {RESULTS / 'optimize_speed.json'}")


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("--suite", choices=["quality", "speed", "all", "zh-mini"], default="all")
    args, rest = parser.parse_known_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.command == "run":
        if args.suite in ("quality", "all"):
            run_quality(rest)
        if args.suite in ("speed", "all"):
            run_speed(rest)
        if args.suite == "zh-mini":
            from benchmarks import zh_mini_quality

            zh_mini_quality.main(rest)
    from benchmarks.report import write_report

    for path in write_report():
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
