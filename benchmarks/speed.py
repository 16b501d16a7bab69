"""The speed suite, on the real architectures with random weights (same cost as the real models), 2 threads:

- ``predict`` texts/s and tokens/s on the sentiment, NER and pair tasks (bert-base-chinese), against the
  tutorial pipeline of ../shared/REFERENCE.md (every batch of 16 padded to 500, ``no_grad``, drop_last) and
  transformers' ``pipeline()`` with its defaults, on the same texts in the same run; peak resident memory;
- the cost as the input grows from 32 to 4,096 characters: Lawformer (Longformer, one pass up to 4,096
  tokens) and bert-base-chinese NER (overlapping 512-token windows);
- store import / export items/s (SQLite) and the annotation session's key-to-next-item latency, through
  ``benchmarks.store_speed`` and ``benchmarks.annotate_latency``.
"""

from __future__ import annotations

import argparse

from benchmarks.common import MODELS, RAW, peak_memory, stopwatch

TASKS = {
    "sentiment": ("text-classification", "chnsenticorp/chnsenticorp.zip/test.tsv", ["0", "1"], {}),
    "ner": ("token-classification", "chineseblue_cmedqaner/test.txt",
            "body crowd department disease drug feature physiology symptom test time treatment".split(), {}),
    "pair": ("text-classification", "afqmc/dev.txt", ["0", "1"], {"columns": "text,text_b,label"}),
}


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks run --suite speed", add_help=False)
    parser.add_argument("--texts", type=int, default=160, help="texts per task, the same for the three pipelines")
    parser.add_argument("--lengths", default="32,64,128,256,512,1024,2048,4096")
    parser.add_argument("--store-items", type=int, default=50_000)
    parser.add_argument("--latency-items", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args, _ = parser.parse_known_args(argv)
    return args


def tutorial_predict(bundle, examples, batch_size: int = 16, max_length: int = 500) -> list:
    """The tutorial's loop: fixed padding to 500, batches of 16, the last partial batch dropped."""
    import torch

    outputs = []
    usable = len(examples) - len(examples) % batch_size
    for start in range(0, usable, batch_size):
        chunk = examples[start:start + batch_size]
        pairs = [e.text_b for e in chunk] if chunk[0].text_b is not None else None
        batch = bundle.tokenizer([e.text for e in chunk], pairs, padding="max_length", max_length=max_length,
                                 truncation=True, return_tensors="pt")
        with torch.no_grad():
            outputs += list(bundle.model(**batch).logits.argmax(-1))
    return outputs


def pipeline_predict(bundle, pipeline_task: str, examples) -> list:
    from transformers import pipeline

    runner = pipeline(pipeline_task, model=bundle.model, tokenizer=bundle.tokenizer, device=-1)
    inputs = [{"text": e.text, "text_pair": e.text_b} if e.text_b is not None else e.text for e in examples]
    return list(runner(inputs))


def measure_task(name: str, args) -> dict:
    from bertanno.core.engine import Predictor
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples
    from bertanno.core.scratch import build_random_bundle

    pipeline_task, path, labels, format_options = TASKS[name]
    task = get_plugins().task(name, labels=labels)
    examples = [e for e in read_examples(RAW / path, task, options=format_options).examples
                if len(e.text) + len(e.text_b or "") <= 480][: args.texts]  # all three pipelines see whole texts
    bundle = build_random_bundle(MODELS / "bert-base-chinese", task, seed=0)
    predictor = Predictor(bundle)
    tokens = sum(len(bundle.tokenizer(e.text, e.text_b)["input_ids"]) for e in examples)
    predictor.predict(examples[:8]), tutorial_predict(bundle, examples[:16]), pipeline_predict(bundle, pipeline_task, examples[:4])
    row = {"task": name, "data": path, "texts": len(examples), "tokens": tokens}
    for label, run in (("tutorial", lambda: tutorial_predict(bundle, examples)),
                       ("pipeline", lambda: pipeline_predict(bundle, pipeline_task, examples)),
                       ("bertanno", lambda: predictor.predict(examples))):
        with peak_memory() as peak, stopwatch() as elapsed:
            output = run()
        done = len(output) if label == "tutorial" else len(examples)
        row[label] = {"texts_per_s": round(done / elapsed(), 2), "seconds": round(elapsed(), 1),
                      "peak_rss_mib": round(peak()), "texts": done}
        if label == "bertanno":
            row[label]["tokens_per_s"] = round(tokens / elapsed(), 1)
            predictions = output[0]
        if label == "tutorial":
            tutorial_output = output
    for baseline in ("tutorial", "pipeline"):
        row[f"speedup_vs_{baseline}"] = round(row["bertanno"]["texts_per_s"] / row[baseline]["texts_per_s"], 2)
    if task.head == "sequence":
        agree = sum(task.model_labels[int(t)] == p.payload for t, p in zip(tutorial_output, predictions))
        row["bertanno_and_tutorial_agree"] = f"{agree}/{len(tutorial_output)}"
    return row


def long_text(length: int) -> str:
    """Legal case text (CAIL2021 xxcq sentences, joined) of exactly ``length`` characters."""
    from benchmarks.datasets import load

    pieces, text = iter(load("cail2021_xxcq").train), ""
    while len(text) < length:
        text += next(pieces).text
    return text[:length]


def length_curve(args) -> list[dict]:
    """Seconds per text as the input grows: Lawformer in one pass, bert-base NER in 512-token windows."""
    from bertanno.core.engine import Predictor
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle
    from bertanno.plugins.task import Example

    plugins = get_plugins()
    lawformer = Predictor(build_random_bundle(MODELS / "lawformer", plugins.task("sentiment", labels=["0", "1"]), seed=0))
    windows = Predictor(build_random_bundle(MODELS / "bert-base-chinese", plugins.task("ner", labels=["NHCS"]), seed=0))
    rows = []
    for predictor in (lawformer, windows):
        predictor.predict([Example(long_text(64))])  # warm-up
    for length in [int(n) for n in args.lengths.split(",")]:
        example = Example(long_text(length))
        row = {"characters": length}
        for label, predictor in (("lawformer", lawformer), ("bert_base_ner_windows", windows)):
            with peak_memory() as peak, stopwatch() as elapsed:
                _, stats = predictor.predict([example])
            row[label] = {"seconds": round(elapsed(), 3), "tokens": stats.tokens, "windows": stats.windows,
                          "truncated": stats.truncated, "peak_rss_mib": round(peak())}
        rows.append(row)
        print("length", row, flush=True)
    return rows


def run(args) -> dict:
    from benchmarks import annotate_latency, store_speed

    result = {"predict": []}
    for name in TASKS:
        row = measure_task(name, args)
        print("predict", row, flush=True)
        result["predict"].append(row)
    result["length_curve"] = length_curve(args)
    result["store"] = store_speed.main(["--items", str(args.store_items)])
    latency = annotate_latency.main(["--items", str(args.latency_items), "--threads", str(args.threads)])
    result["annotate_latency"] = {k: v for k, v in latency.items() if k not in ("machine", "settings")}
    return result
