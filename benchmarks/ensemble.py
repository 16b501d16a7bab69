"""The ``ensemble`` family against its members, on the same examples: zh-mini, the crf (NER) or linear (sentences,
pairs) family, and their stacking by a combiner learned on out-of-fold predictions (``core.ensemble``).

    python -m benchmarks.ensemble [--datasets chineseblue_cmedqaner,cail2021_xxcq,msra_ner] [--train 1500]
        [--test 1000] [--folds 3] [--head crf|softmax] [--no-lexicon] [--epochs N] [--output ensemble] [--merge]

For each shared set: the first --train examples of the quality suite's training sample
(``benchmarks.linear_family.sample``) and its first --test test examples. Members as ``train --family ensemble``
trains them: zh-mini by ``bertanno train``'s plan (seed 42, a tenth of its training examples held out to choose
the epoch, ``--head``, lexicon features unless ``--no-lexicon``), the crf or linear family as they train live. Each member is fitted --folds times on all
folds but one (its predictions on the fold left out are what the combiner learns from), then on all the training
examples (its predictions on the test examples are what the combiner combines); everything scored with the
task's own metric on the test examples, beside the quality suite's classical baseline on the same examples
(``classical``: TF-IDF + logistic regression, or the CRF over character features for NER). Each fit's
predictions are kept in ``~/.cache/bertanno-runs/ensemble/``, so a killed run resumes at the fit it was in. Writes
``benchmarks/results/ensemble.json`` (``--output``: another name, for a run over other sets that should not replace
it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import fit_zh_mini, parse_samples, sample_arguments, samples, write_rows

CHECKPOINTS = Path.home() / ".cache" / "bertanno-runs" / "ensemble"


def _to_json(prediction) -> dict:
    payload = prediction.payload
    if isinstance(payload, list):
        payload = [list(span) for span in payload]
    return {"payload": payload, "confidence": prediction.confidence, "scores": prediction.scores}


def _from_json(value: dict, spans: bool):
    from bertanno.plugins.task import Prediction, Span

    payload = [Span(*span) for span in value["payload"]] if spans else value["payload"]
    return Prediction(payload, value["confidence"], value["scores"])


def cached(path: Path, spans: bool, compute):
    """``compute()``'s predictions, kept at ``path`` (JSON) and read from there on a later run."""
    if path.exists():
        return [_from_json(value, spans) for value in json.loads(path.read_text(encoding="utf-8"))]
    predictions = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".partial").write_text(json.dumps([_to_json(p) for p in predictions], ensure_ascii=False),
                                            encoding="utf-8")
    path.with_suffix(".partial").replace(path)
    return predictions


def main(argv=None) -> dict:
    from benchmarks.baselines import crf, tfidf_logistic_regression
    from bertanno.core.ensemble import LabelCombiner, SpanCombiner, default_members, out_of_fold

    parser = argparse.ArgumentParser(prog="python -m benchmarks.ensemble", description=__doc__.split("\n")[0])
    sample_arguments(parser)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--head", choices=["softmax", "crf"], default="crf")
    parser.add_argument("--no-lexicon", action="store_true",
                        help="NER: train the transformer member without lexicon features (on by default)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--output", default="ensemble", help="results file name in benchmarks/results")
    parser.add_argument("--merge", action="store_true",
                        help="keep the output file's rows of other sets (a run over one set at a time)")
    args, plugins = parse_samples(parser, argv)
    rows = []
    for name, task, training, test in samples(args, plugins):
        spans = task.example_kind == "spans"
        variant = args.head + ("" if args.no_lexicon else "+lexicon")
        folder = CHECKPOINTS / f"{name}-{len(training)}-{len(test)}-{variant}-{args.epochs or 'plan'}-{args.folds}"

        def fit_transformer(examples):
            return fit_zh_mini(task, examples, plugins, epochs=args.epochs, head=args.head if spans else None,
                               lexicon_features=False if args.no_lexicon else None)[0]

        def fit_family(family_name):
            def fit(examples):
                family = plugins.family(family_name)
                scratch = Path(tempfile.mkdtemp(prefix="bertanno-ensemble-bench-")) / "v"
                family.fit(task, examples, scratch)
                return family.load(scratch, {}, task)
            return fit

        members = default_members(task)
        fitters = {member: fit_transformer if member == "transformer" else fit_family(member) for member in members}
        oof, on_test, seconds = [], [], {}
        for member, fit in fitters.items():
            started = time.perf_counter()
            counter = itertools.count(1)

            def fit_predict(train_part, held, member=member, fit=fit, counter=counter):
                return cached(folder / f"{member}-fold{next(counter)}.json", spans,
                              lambda: fit(train_part).predict(held)[0])

            oof.append(out_of_fold(training, args.folds, fit_predict))
            on_test.append(cached(folder / f"{member}-test.json", spans, lambda fit=fit: fit(training).predict(test)[0]))
            seconds[member] = round(time.perf_counter() - started, 1)
            print(f"{name}: {member} done", flush=True)
        gold = [example.payload for example in test]
        if spans:
            with tempfile.TemporaryDirectory() as scratch:
                combiner = SpanCombiner(members).fit(training, oof, Path(scratch) / "combiner.crfsuite")
                combined = combiner.predict(test, on_test)
        else:
            combined = LabelCombiner(task.labels).fit(training, oof).predict(test, on_test)
        metrics = {member: task.metrics(gold, [p.payload for p in predictions])
                   for member, predictions in zip([*members, "ensemble"], [*on_test, combined])}
        # the classical baseline the quality suite reports, on the same examples
        metrics["classical"] = (crf if spans else tfidf_logistic_regression)(task, training, test)
        row = {"dataset": name, "train": len(training), "test": len(test), "folds": args.folds,
               "head": variant if spans else None,
               **{member: next(iter(values.values())) for member, values in metrics.items()},
               "metrics": metrics,
               "out_of_fold": {member: next(iter(task.metrics([e.payload for e in training],
                                                              [p.payload for p in predictions]).values()))
                               for member, predictions in zip(members, oof)},
               "seconds": seconds}
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return write_rows(args.output, "benchmarks.ensemble", argv, args.threads, rows, merge=args.merge)


if __name__ == "__main__":
    main()
