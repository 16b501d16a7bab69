"""Inference speed of the optimised variants (``bertanno optimize``) against full precision, the tutorial
pipeline and transformers' ``pipeline()``, measured in one run on the real bert-base-chinese architecture with
random weights (the cost is exactly the real model's; the predictions are not).

For each dataset, the same test texts (the first ``--texts``) go through:

- tutorial (sentiment only): batches of 16 padded to 500 tokens under ``torch.no_grad()`` (benchmarks.predict_speed);
- ``pipeline()`` (sentiment only): transformers' text-classification pipeline, batch size 16, truncation on;
- bertanno ``full``, ``int8`` and ``onnx-int8``: ``Predictor.predict`` with the variant (``core.optimize``);
- ``student-3`` and ``student-3+onnx-int8``: a distilled student of the model's lowest 3 layers
  (``core.distill.student_from_layers``, what ``bertanno distill --student 3`` starts from), as trained and with
  the ONNX int8 variant on top (``bertanno optimize PROJECT s001``);
- ``zh-mini-s2+int8`` and ``zh-mini-s2+onnx-int8``: the lowest 2 of the shipped zh-mini's 4 layers with each int8
  variant, the shape of the students that ``benchmarks.optimize_gate`` distils from zh-mini teachers trained here
  and that pass the gate on gold (the model a project on zh-mini is served after ``distill --student 2``).

Reported: texts/s, × tutorial and × ``pipeline()``, each variant's peak resident memory when served alone (a fresh
process loads the saved version as ``predict`` does and predicts the same texts: ``peak_rss_mb``), and the CPU's
instruction-set flags (AVX2 / AVX-512 / VNNI / AMX decide which variant wins); and the machine's limit
(``benchmarks.machine``): tokens/s per variant, the arithmetic it does (GOP/s at the texts' mean length) and its
share of the peak of the precision it computes in (fp32 for ``full``, int8 for the quantised variants; a student's
share with its own, smaller architecture).

    python -m benchmarks.optimize_speed [--texts 160] [--datasets chnsenticorp,waimai_10k,chineseblue_cmedqaner,afqmc]
    python -m benchmarks.optimize_speed --memory-only     (the peak memory again, into the existing file's rows)

Writes benchmarks/results/optimize_speed.json. Pause background jobs first: the figures are wall-clock rates.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, REPO, machine_facts, save_with_variant, use_threads
from benchmarks.machine import cpu_flags, flops_per_token, peak

RESULTS = REPO / "benchmarks" / "results"
DATASETS = ("chnsenticorp", "waimai_10k", "chineseblue_cmedqaner", "afqmc")
VARIANTS = ("full", "int8", "onnx-int8", "student-3", "student-3+onnx-int8", "zh-mini-s2+int8", "zh-mini-s2+onnx-int8")
STUDENT_LAYERS = 3
ZH_MINI_STUDENT_LAYERS = 2


def rate(function, count: int, repeats: int = 1) -> float:
    """Texts per second of ``function`` (which predicts ``count`` texts): the fastest of ``repeats`` calls."""
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        fastest = min(fastest, time.perf_counter() - started)
    return count / fastest


def unlabelled_test(name: str, texts: int):
    """The shared set ``name``, its task and its first ``texts`` test examples without their annotations (what a
    speed measurement predicts): ``(data, task, examples)``."""
    from benchmarks.datasets import load
    from bertanno.core.plugins import get_plugins

    data = load(name)
    task = get_plugins().task(data.task, labels=data.labels)
    return data, task, [e.__class__(e.text, e.text_b, None) for e in data.test[:texts]]


def mean_characters(examples) -> float:
    """Characters per example (both texts of a pair), to one decimal."""
    return round(sum(len(e.text) + len(e.text_b or "") for e in examples) / len(examples), 1)


def served_peak_memory(bundle, variant: str, directory: Path, examples) -> int:
    """Peak resident memory (MiB) of a fresh process that loads ``bundle`` saved with ``variant`` in use, as
    ``bertanno predict`` does, and predicts ``examples``."""
    import pickle
    import subprocess
    import sys

    save_with_variant(bundle, directory, variant)
    (directory / "texts.pickle").write_bytes(pickle.dumps(list(examples)))
    probe = subprocess.run([sys.executable, "-m", "benchmarks.optimize_speed", "--probe", str(directory)],
                           capture_output=True, text=True, check=True, cwd=REPO)
    return int(probe.stdout.split()[-1])


def probe(directory: Path) -> None:
    """The child of ``served_peak_memory``: load, predict, print the peak RSS in MiB."""
    import pickle

    from bertanno.core.serving import load_served

    served = load_served(directory)
    served.predict(pickle.loads((directory / "texts.pickle").read_bytes()))
    print(own_peak_memory())


def own_peak_memory() -> int:
    """This process image's peak resident memory in MiB: ``VmHWM`` of /proc/self/status, the high-water mark of
    its own address space. Not ``getrusage``'s ``ru_maxrss``, which a child started by fork and exec inherits
    from its parent (Linux keeps it across execve: getrusage(2)), so every probe read at least the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def variant_parts(variant: str) -> tuple[str, str]:
    """(the model that serves: ``bert-base``, ``student-3`` or ``zh-mini-s2``; the optimised variant in use) for a
    column of ``VARIANTS``."""
    model, _, optimised = variant.partition("+")
    if model in ("full", "int8", "onnx-int8"):
        return "bert-base", model
    return model, optimised or "full"


def models_for(task) -> dict:
    """The models the columns of ``VARIANTS`` serve, for ``task``: bert-base-chinese's architecture with random
    weights (seed 0), its lowest ``STUDENT_LAYERS`` layers, and the shipped zh-mini's lowest
    ``ZH_MINI_STUDENT_LAYERS`` (a fresh head: the cost is what is measured), keyed as ``variant_parts`` names them."""
    from bertanno.core.bundle import load_base
    from bertanno.core.distill import student_from_layers
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle

    bundle = build_random_bundle(MODELS / "bert-base-chinese", task, seed=0)
    return {"bert-base": bundle, "student-3": student_from_layers(bundle, STUDENT_LAYERS),
            "zh-mini-s2": student_from_layers(load_base("zh-mini", task, get_plugins()), ZH_MINI_STUDENT_LAYERS)}


def memory_only(args) -> dict:
    """Each variant's peak memory (``served_peak_memory``) written into the rows of the existing results file,
    the rates left as measured (memory does not depend on a quiet machine)."""
    path = RESULTS / "optimize_speed.json"
    if not path.exists():
        raise SystemExit(f"--memory-only fills in the rows of {path}, which is not there: run without it first")
    result = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        for row in result["rows"]:
            _, task, examples = unlabelled_test(row["dataset"], row["texts"])
            models = models_for(task)
            for variant in VARIANTS:
                model, optimised = variant_parts(variant)
                row[f"{variant}_peak_rss_mb"] = served_peak_memory(
                    models[model], optimised, Path(folder) / row["dataset"] / variant, examples)
                print(row["dataset"], variant, row[f"{variant}_peak_rss_mb"], flush=True)
    result["memory_measured"] = time.strftime("%Y-%m-%d %H:%M")
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def measure(name: str, texts: int, folder: Path, threads: int) -> dict:
    from benchmarks.predict_speed import tutorial_predict
    from bertanno.core.engine import Predictor
    from bertanno.core.optimize import prepare_variant

    data, task, examples = unlabelled_test(name, texts)
    models = models_for(task)
    bundle = models["bert-base"]
    row = {"dataset": name, "task": data.task, "texts": len(examples), "mean_characters": mean_characters(examples)}
    if data.task == "sentiment":
        plain = [e.text for e in examples]
        tutorial_predict(bundle, plain[:16])
        row["tutorial_texts_per_s"] = round(rate(lambda: tutorial_predict(bundle, plain[:48]), len(plain[:48])), 2)
        from transformers import pipeline

        classify = pipeline("text-classification", model=bundle.model, tokenizer=bundle.tokenizer, device="cpu")
        classify(plain[:16], batch_size=16, truncation=True, max_length=512)
        row["pipeline_texts_per_s"] = round(rate(lambda: classify(plain, batch_size=16, truncation=True,
                                                                   max_length=512), len(plain)), 2)
    directory = folder / name
    directory.mkdir()
    lengths = [len(bundle.tokenizer(e.text, e.text_b, truncation=True, max_length=512)["input_ids"]) for e in examples]
    row["tokens"], row["mean_tokens"] = sum(lengths), round(sum(lengths) / len(lengths), 1)
    limit = peak(threads)
    for variant in VARIANTS:
        model, optimised = variant_parts(variant)
        base = models[model]
        served = prepare_variant(base, optimised, directory / variant) if optimised != "full" else base
        predictor = Predictor(served, device="cpu")
        predictor.predict(examples[:8])
        speed = rate(lambda: predictor.predict(examples), len(examples))
        row[f"{variant}_texts_per_s"] = round(speed, 2)
        tokens_per_s = speed * row["tokens"] / len(examples)
        row[f"{variant}_tokens_per_s"] = round(tokens_per_s, 1)
        achieved = tokens_per_s * flops_per_token(base.model.config, row["mean_tokens"])
        ceiling = limit["fp32_ops_per_s" if optimised == "full" else "int8_ops_per_s"]
        row[f"{variant}_gops"] = round(achieved / 1e9, 2)
        row[f"{variant}_share_of_peak"] = None if ceiling is None else round(achieved / ceiling, 4)
        row[f"{variant}_peak_rss_mb"] = served_peak_memory(base, optimised, directory / f"{variant}-alone", examples)
        for reference in ("tutorial", "pipeline"):
            if f"{reference}_texts_per_s" in row:
                row[f"{variant}_x_{reference}"] = round(speed / row[f"{reference}_texts_per_s"], 1)
        print(name, variant, speed, flush=True)
    row["peak_rss_mb_so_far"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory-only", action="store_true",
                        help="measure only each variant's peak memory, into the existing results file's rows")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    if args.probe:
        return probe(args.probe)
    if args.memory_only:
        return memory_only(args)
    result = {"machine": {**machine_facts(args.threads), "cpu_flags": cpu_flags(), "peak": peak(args.threads)},
              "settings": vars(args),
              "started": time.strftime("%Y-%m-%d %H:%M"),
              "model": "bert-base-chinese architecture (12 x 768), random weights (seed 0)", "rows": []}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.datasets.split(","):
            result["rows"].append(measure(name, args.texts, Path(folder), args.threads))
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / "optimize_speed.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
