"""Relation extraction on DUTIR's legal drug-crime passages: the ``relation-linear`` family against the rule
baseline, with gold entities given and with the entities the family predicts.

    python -m benchmarks.relations [--folds 4] [--seed 0] [--families relation-linear,relation-transformer]

The 300 passages of ``dutir_legal_drug_re`` (41 judgments) are read with bertanno's own jsonl reader (the DUTIR
layout), then split by judgment (``articleId``): the judgments shuffled with ``--seed`` and dealt into
``--folds`` folds, each fold the test set once and the rest the training set (records of one judgment share
people and facts, so they never straddle the split). Every model is scored with the relations task's own
metrics (strict relation micro-F1, precision, recall, per type; entity F1) over the pooled test predictions of
all folds. Models:

- ``rule``: for every pair of entities the schema allows a relation between, the type seen most often between
  entities of those types in the training folds (a pair whose types were never related: none);
- each family of ``--families`` (``relation-linear``, ``relation-transformer``) with the gold entities given, and
  as it serves a project: its CRF's entities, then the pairs' relations.

Seconds per passage: each family's prediction time over the test passages, one process, ``--threads`` torch
threads. Writes
``benchmarks/results/relations.json``.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.common import RAW, write_rows

LABELS = ["Nh", "NDR", "NT", "Ns", "NW"]
SCHEMA = "sell_drugs_to:Nh>Nh,traffic_in:Nh>NDR,provide_shelter_for:Nh>Nh,posess:Nh>NDR"


def passages():
    """The DUTIR passages as ``Example``s (payload ``SpanGraph``), read as ``bertanno import`` reads them, with their
    judgment's id in ``meta['article']``."""
    import json

    from bertanno.plugins.builtin.formats.jsonl import read_jsonl
    from bertanno.plugins.task import Example

    path = RAW / "dutir_legal_drug_re" / "demo.json"
    lines = path.read_text(encoding="utf-8").splitlines()
    examples = []
    for line in lines:
        [example] = read_jsonl(io.StringIO(line), {})
        if not isinstance(example, Example):
            raise SystemExit(f"{path}: {example}")
        examples.append(Example(example.text, payload=example.payload,
                                meta={"article": json.loads(line)["articleId"]}))
    return examples


def folds(examples, count: int, seed: int):
    """``(training, test)`` for each of ``count`` folds of the judgments."""
    articles = sorted({e.meta["article"] for e in examples})
    random.Random(seed).shuffle(articles)
    for index in range(count):
        held = set(articles[index::count])
        yield [e for e in examples if e.meta["article"] not in held], [e for e in examples if e.meta["article"] in held]


def rule_predictions(task, training, test):
    """The rule baseline (module docstring), on the gold entities of ``test``."""
    from bertanno.plugins.builtin.relation_families import candidate_pairs
    from bertanno.plugins.task import Relation, SpanGraph

    seen: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for example in training:
        for relation in task.graph(example.payload).relations:
            seen[(relation.head.label, relation.tail.label)][relation.label] += 1
    predicted = []
    for example in test:
        spans = sorted(task.graph(example.payload).spans)
        relations = set()
        for head, tail, allowed in candidate_pairs(task, spans):
            counts = {name: seen[(spans[head].label, spans[tail].label)][name] for name in allowed}
            best = max(counts, key=counts.get) if counts else None
            if best is not None and counts[best] > 0:
                relations.add(task.normal(Relation(spans[head], spans[tail], best)))
        predicted.append(SpanGraph(tuple(spans), tuple(sorted(relations))))
    return predicted


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", default="relation-linear,relation-transformer")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    from benchmarks.common import use_threads
    from bertanno.core.plugins import get_plugins
    from bertanno.plugins.task import SpanGraph

    use_threads(args.threads)
    plugins = get_plugins()
    task = plugins.task("relations", labels=LABELS, relations=SCHEMA)
    examples = passages()
    names = args.families.split(",")
    gold, rule = [], []
    given = {name: [] for name in names}
    served = {name: [] for name in names}
    seconds = {name: 0.0 for name in names}
    fit_seconds = {name: 0.0 for name in names}
    for number, (training, test) in enumerate(folds(examples, args.folds, args.seed), start=1):
        print(f"fold {number}/{args.folds}: {len(training)} training passages, {len(test)} test passages", flush=True)
        gold += [e.payload for e in test]
        rule += rule_predictions(task, training, test)
        for name in names:
            family = plugins.family(name)
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                family.fit(task, training, Path(folder) / "v")
                fit_seconds[name] += time.perf_counter() - started
                model = family.load(Path(folder) / "v", {}, task)
                for example in test:
                    spans = task.graph(example.payload).spans
                    relations, _ = model.relations_for(example.text, spans)
                    given[name].append(SpanGraph(tuple(sorted(spans)), tuple(relations)))
                started = time.perf_counter()
                predictions, _ = model.predict(test)
                seconds[name] += time.perf_counter() - started
                served[name] += [p.payload for p in predictions]
            print(f"  {name}: fitted in {fit_seconds[name] / number:.0f} s a fold so far", flush=True)
    rows = []
    runs = [("rule", "gold", rule, None)]
    for name in names:
        runs += [(name, "gold", given[name], None), (name, "predicted (its CRF)", served[name], name)]
    for name, entities, predicted, timed in runs:
        metrics = task.metrics(gold, predicted)
        rows.append({"model": name, "entities": entities, "passages": len(gold), **{
            key: round(value, 4) for key, value in metrics.items() if not key.startswith("entity_f1/")}})
        if timed:
            rows[-1]["seconds_per_passage"] = round(seconds[timed] / len(gold), 5)
            rows[-1]["fit_seconds_per_fold"] = round(fit_seconds[timed] / args.folds, 2)
        print(f"{name:20} {entities:20} relation F1 {metrics['f1']:.3f}  P {metrics['precision']:.3f}  "
              f"R {metrics['recall']:.3f}  entity F1 {metrics['entity_f1']:.3f}", flush=True)
    return write_rows("relations", "benchmarks.relations", argv, args.threads, rows)


if __name__ == "__main__":
    main()
