"""``predict`` against the tutorial pipeline of ../shared/REFERENCE.md, measured in one run.

Both run the same randomly initialised bert-base-chinese-architecture classifier (12 x 768,
the real config and vocabulary), so the cost is exactly the real model's:

- tutorial: every batch of 16 encoded with ``padding="max_length", max_length=500``, forward
  under ``torch.no_grad()``, ``drop_last=True``;
- bertanno: ``Predictor.predict`` (length-sorted batches under a token budget, per-batch
  padding, ``torch.inference_mode()``).

The tutorial runs on a prefix of the texts (it is slow); bertanno runs on the same prefix and
on all texts. Their predictions on the prefix are compared: same model, so they must agree.

    python -m benchmarks.predict_speed [--threads 2] [--tutorial-texts 160]
"""

from __future__ import annotations

import argparse
import json

from benchmarks.common import MODELS, RAW, machine_facts, stopwatch, use_threads


def tutorial_predict(bundle, texts: list[str], batch_size: int = 16, max_length: int = 500) -> list[int]:
    import torch

    predictions = []
    usable = len(texts) - len(texts) % batch_size  # drop_last=True
    for start in range(0, usable, batch_size):
        batch = bundle.tokenizer(texts[start:start + batch_size], padding="max_length", max_length=max_length,
                                 truncation=True, return_tensors="pt")
        with torch.no_grad():
            logits = bundle.model(**batch).logits
        predictions += logits.argmax(-1).tolist()
    return predictions


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tutorial-texts", type=int, default=160, help="texts the tutorial pipeline runs on")
    parser.add_argument("--token-budget", type=int, default=8192)
    args = parser.parse_args(argv)

    from bertanno.core.engine import Predictor
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples
    from bertanno.core.scratch import build_random_bundle

    use_threads(args.threads)
    task = get_plugins().task("sentiment", labels=["0", "1"])
    examples = read_examples(RAW / "chnsenticorp/chnsenticorp.zip/test.tsv", task).examples
    texts = [example.text for example in examples]
    bundle = build_random_bundle(MODELS / "bert-base-chinese", task, seed=0)
    predictor = Predictor(bundle, token_budget=args.token_budget)
    prefix = examples[: args.tutorial_texts]

    predictor.predict(prefix[:16])  # warm-up both paths
    tutorial_predict(bundle, texts[:16])
    with stopwatch() as tutorial_time:
        tutorial_labels = tutorial_predict(bundle, texts[: args.tutorial_texts])
    with stopwatch() as prefix_time:
        prefix_predictions, _ = predictor.predict(prefix)
    with stopwatch() as full_time:
        _, full_stats = predictor.predict(examples)

    agree = sum(task.labels[label] == p.payload for label, p in zip(tutorial_labels, prefix_predictions))
    tutorial_rate = len(tutorial_labels) / tutorial_time()
    prefix_rate = len(prefix) / prefix_time()
    result = {
        "machine": machine_facts(args.threads),
        "model": "bert-base-chinese architecture, random weights (seed 0)",
        "data": f"ChnSentiCorp test, {len(examples)} texts; tutorial on the first {len(tutorial_labels)}",
        "tutorial_texts_per_s": round(tutorial_rate, 2),
        "bertanno_texts_per_s_same_texts": round(prefix_rate, 2),
        "bertanno_texts_per_s_all_texts": round(full_stats.examples / full_time(), 2),
        "speedup_same_texts": round(prefix_rate / tutorial_rate, 1),
        "bertanno_tokens_per_s": round(full_stats.tokens / full_time(), 1),
        "bertanno_truncated": full_stats.truncated,
        "bertanno_batches": full_stats.batches,
        "predictions_agree": f"{agree}/{len(tutorial_labels)}",
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return result


if __name__ == "__main__":
    main()
