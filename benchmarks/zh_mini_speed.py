"""How much faster zh-mini predicts than bert-base on the CPU: the issue's "≥ 10× faster than bert-base" measured.

For each dataset, the same test texts (the first ``--texts``) through ``Predictor.predict`` (what ``bertanno
predict`` runs: length-sorted batches under a token budget, ``inference_mode``), with

- ``bert-base``: the bert-base-chinese architecture (12 x 768) with random weights (seed 0): its real cost;
- ``zh-mini``: the shipped model (4 x 256, pretrained here) with a fresh head for the task, in full precision;
- ``zh-mini+onnx-int8``: zh-mini with the ONNX Runtime int8 variant ``bertanno optimize`` can put in use.

Speed does not depend on the weights' values, so the random bert-base costs what the real one does. Each rate is
the best of ``--repeats`` passes after a warm-up batch.

    python -m benchmarks.zh_mini_speed [--texts 160] [--datasets chnsenticorp,waimai_10k,chineseblue_cmedqaner,afqmc]

Writes benchmarks/results/zh_mini_speed.json. Pause background jobs first: the figures are wall-clock rates.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, REPO, machine_facts, use_threads
from benchmarks.optimize_speed import mean_characters, rate, unlabelled_test

RESULTS = REPO / "benchmarks" / "results"
DATASETS = ("chnsenticorp", "waimai_10k", "chineseblue_cmedqaner", "afqmc")


def measure(name: str, texts: int, repeats: int, folder: Path) -> dict:
    from bertanno.core.bundle import load_base
    from bertanno.core.engine import Predictor
    from bertanno.core.optimize import prepare_variant
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle

    data, task, examples = unlabelled_test(name, texts)
    zh_mini = load_base("zh-mini", task, get_plugins())
    bundles = {"bert-base": build_random_bundle(MODELS / "bert-base-chinese", task, seed=0), "zh-mini": zh_mini,
               "zh-mini+onnx-int8": prepare_variant(zh_mini, "onnx-int8", folder / name)}
    row = {"dataset": name, "task": data.task, "texts": len(examples), "mean_characters": mean_characters(examples)}
    for model, bundle in bundles.items():
        predictor = Predictor(bundle, device="cpu")
        predictor.predict(examples[:8])
        row[f"{model}_texts_per_s"] = round(rate(lambda: predictor.predict(examples), len(examples), repeats), 2)
        print(name, model, row[f"{model}_texts_per_s"], flush=True)
    for model in list(bundles)[1:]:
        row[f"{model}_x_bert-base"] = round(row[f"{model}_texts_per_s"] / row["bert-base_texts_per_s"], 1)
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    use_threads(args.threads)
    result = {"machine": machine_facts(args.threads), "settings": vars(args),
              "started": time.strftime("%Y-%m-%d %H:%M"), "rows": []}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.datasets.split(","):
            result["rows"].append(measure(name, args.texts, args.repeats, Path(folder)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "zh_mini_speed.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
