"""What the built-in ``medical`` term list does to NER on chineseblue_cmedqaner, with the same small model
and seed: entity F1 on the official test split, tokens per text, and spans the term tokens cannot express.

Variants, all from the same random 2 x 128 Chinese BERT (no pretrained weights exist here):
  base              bert-base-chinese's vocabulary (one token per Chinese character)
  medical           + the medical list (terms made from the training split only), tagging on term tokens
  medical-char      + the medical list, NER tagging on characters (--char-level)
  base+adapt        masked-LM adaptation on the training texts, then fine-tuning (no list)
  medical+adapt     + the medical list, masked-LM adaptation (whole-term masking), then fine-tuning

    python -m benchmarks.vocab_quality [--epochs 5] [--adapt-epochs 3] [--variants base,medical]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import MODELS, REPO, machine_facts, use_threads
from benchmarks.datasets import load

RESULTS = REPO / "benchmarks" / "results"
VARIANTS = ("base", "medical", "medical-char", "base+adapt", "medical+adapt")


def tokens_per_text(tokenizer, texts) -> float:
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)


def run_variant(variant: str, data, args, scratch: Path) -> dict:
    from bertanno.core.bundle import load_base, save_version
    from bertanno.core.plugins import get_plugins
    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.training import TrainConfig, score, train
    from bertanno.vocab.adapt import AdaptConfig, adapt
    from bertanno.vocab.extend import apply_vocabulary
    from bertanno.vocab.terms import load_term_list

    plugins = get_plugins()
    task = plugins.task("ner", labels=data.labels, char_level=variant.endswith("-char"))
    terms = load_term_list("medical", plugins).texts if variant.startswith("medical") else []
    bundle = build_random_bundle(MODELS / "bert-base-chinese", task, layers=args.layers, hidden=args.hidden,
                                 max_length=args.max_length, seed=args.seed)
    row = {"variant": variant, "terms": len(terms)}
    started = time.perf_counter()
    if variant.endswith("+adapt"):
        base_dir = save_version(bundle, scratch / f"{variant}-base")
        texts = [e.text for e in data.train]
        result = adapt(str(base_dir), terms, texts, scratch / f"{variant}-adapted",
                       AdaptConfig(epochs=args.adapt_epochs, batch_size=32, learning_rate=args.adapt_lr,
                                   max_length=args.max_length, seed=args.seed))
        row.update(adapt_seconds=round(result.seconds, 1), mlm_loss=[round(result.loss_before, 3), round(result.loss_after, 3)],
                   term_mlm_loss=[None if result.term_loss_before is None else round(result.term_loss_before, 3),
                                  None if result.term_loss_after is None else round(result.term_loss_after, 3)])
        bundle = load_base(str(result.directory), task, plugins)
        bundle.max_length = min(bundle.max_length, args.max_length)
    apply_vocabulary(bundle, terms)
    tokenizer = bundle.tokenizer
    if task.char_level:
        from bertanno.plugins.task import without_added_terms
        tokenizer = without_added_terms(tokenizer)
    row["tokens_per_text_train"] = round(tokens_per_text(tokenizer, [e.text for e in data.train]), 2)
    row["tokens_per_text_test"] = round(tokens_per_text(tokenizer, [e.text for e in data.test]), 2)
    row["unexpressible_test_spans"] = sum(len(task.encode(bundle.tokenizer, e, bundle.max_length, True).unexpressible)
                                          for e in data.test)
    row["test_spans"] = sum(len(e.payload or ()) for e in data.test)
    examples = list(data.train)
    cut = len(examples) // 10
    validation, training = examples[:cut], examples[cut:]
    result = train(bundle, training, validation, TrainConfig(mode="full", epochs=args.epochs, learning_rate=args.lr,
                                                             batch_size=32, patience=args.epochs, seed=args.seed))
    row["unexpressible_train_spans"] = result.unexpressible
    row["test"] = {k: round(v, 4) for k, v in score(result.bundle, data.test).items() if "/" not in k}
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--adapt-epochs", type=int, default=3)
    parser.add_argument("--adapt-lr", type=float, default=5e-4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "vocab_quality.jsonl")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    data = load("chineseblue_cmedqaner")
    header = {"machine": machine_facts(args.threads), "settings": {k: str(v) for k, v in vars(args).items()},
              "dataset": {"name": data.name, "train": len(data.train), "test": len(data.test),
                          "reference (bert-base, not reproduced)": data.reference},
              "started": time.strftime("%Y-%m-%d %H:%M")}
    rows = []
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as stream, tempfile.TemporaryDirectory() as scratch:
        stream.write(json.dumps(header, ensure_ascii=False) + "\n")
        for variant in args.variants.split(","):
            row = run_variant(variant, data, args, Path(scratch))
            rows.append(row)
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            stream.flush()
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return rows


if __name__ == "__main__":
    main()
