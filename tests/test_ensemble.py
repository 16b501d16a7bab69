"""The ``ensemble`` family: out-of-fold predictions that never come from a model that saw the example, combiners
that learn which member to trust, and a version trained, gated and served through ``train --family ensemble``."""

from __future__ import annotations

import random

import pytest

from bertanno.core.ensemble import (
    LabelCombiner,
    SpanCombiner,
    fit_ensemble,
    fold_indices,
    member_char_tags,
    out_of_fold,
)
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Prediction, Span


def test_folds_cover_every_example_once():
    shares = fold_indices(10, 3, seed=1)
    assert sorted(i for share in shares for i in share) == list(range(10))
    assert [len(share) for share in shares] == [4, 3, 3]
    assert fold_indices(10, 3, seed=1) == shares
    with pytest.raises(BertannoError, match="at least 3 training examples"):
        fold_indices(2, 3)


def test_out_of_fold_predictions_never_come_from_a_model_that_saw_the_example():
    examples = [Example(f"text {n}", payload=str(n % 2)) for n in range(11)]

    def memorizer(train, held):
        """A model that knows its training texts by heart: it would give them away if they leaked."""
        seen = {example.text for example in train}
        return [Prediction("seen" if example.text in seen else "unseen", 1.0, {"trained_on": sorted(seen)})
                for example in held]

    predictions = out_of_fold(examples, 3, memorizer)
    assert [p.payload for p in predictions] == ["unseen"] * len(examples)
    for example, prediction in zip(examples, predictions):  # and each was trained on all the rest of its folds
        assert example.text not in prediction.scores["trained_on"]
        assert len(prediction.scores["trained_on"]) >= len(examples) - 4


def labelled(n, rng):
    return Example(f"句子{n}", payload=rng.choice(["neg", "pos"]))


def test_the_label_combiner_learns_to_trust_the_member_that_is_right():
    rng = random.Random(0)
    examples = [labelled(n, rng) for n in range(200)]
    right = [Prediction(e.payload, 0.7, {"neg": 0.7 if e.payload == "neg" else 0.3,
                                          "pos": 0.7 if e.payload == "pos" else 0.3}) for e in examples]
    noise = [Prediction(rng.choice(["neg", "pos"]), 0.99) for _ in examples]  # sure of itself, and random
    combiner = LabelCombiner(["neg", "pos"]).fit(examples[:150], [right[:150], noise[:150]])
    predicted = combiner.predict(examples[150:], [right[150:], noise[150:]])
    assert [p.payload for p in predicted] == [e.payload for e in examples[150:]]
    assert all(abs(sum(p.scores.values()) - 1) < 1e-9 for p in predicted)


def test_the_label_combiner_does_not_answer_the_majority_label_on_imbalanced_pairs():
    # benchmarks.ensemble on afqmc (about 70 % dissimilar pairs): unweighted, the combiner said "0" to all of them
    rng = random.Random(1)
    gold = ["1" if rng.random() < 0.25 else "0" for _ in range(400)]
    examples = [Example(f"问题{n}", f"另一个{n}", label) for n, label in enumerate(gold)]

    def weak(label):  # a member only a little more likely to favour the right label
        p = min(0.95, max(0.05, rng.gauss(0.53 if label == "1" else 0.47, 0.12)))
        return Prediction("1" if p >= 0.5 else "0", max(p, 1 - p), {"0": 1 - p, "1": p})

    members = [[weak(label) for label in gold] for _ in range(2)]
    combiner = LabelCombiner(["0", "1"]).fit(examples[:300], [m[:300] for m in members])
    predicted = [p.payload for p in combiner.predict(examples[300:], [m[300:] for m in members])]
    positives = [n for n, label in enumerate(gold[300:]) if label == "1"]
    assert positives and sum(predicted[n] == "1" for n in positives) / len(positives) > 0.5
    assert 0 < predicted.count("1") < len(predicted)


def test_member_tags_carry_each_span_confidence():
    example = Example("张三在北京")
    prediction = Prediction([Span(0, 2, "PER"), Span(3, 5, "LOC")], 0.5, {"span_confidence": [0.9, 0.4]})
    tags, sure = member_char_tags(example, prediction)
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]
    assert sure == [0.9, 0.9, 0.0, 0.4, 0.4]


NAMES, PLACES = ["张伟", "李娜", "王强", "刘洋", "陈静"], ["北京", "上海", "广州", "深圳", "成都"]


def sentence(rng):
    name, place = rng.choice(NAMES), rng.choice(PLACES)
    text = f"{name}昨天去了{place}"
    return Example(text, payload=[Span(0, 2, "PER"), Span(len(text) - 2, len(text), "LOC")])


def test_the_span_combiner_takes_each_type_from_the_member_that_finds_it(tmp_path):
    rng = random.Random(1)
    examples = [sentence(rng) for _ in range(60)]
    people = [Prediction([s for s in e.payload if s.label == "PER"], 0.9) for e in examples]  # finds only PER
    places = [Prediction([s for s in e.payload if s.label == "LOC"], 0.9) for e in examples]  # finds only LOC
    combiner = SpanCombiner(["people", "places"]).fit(examples[:40], [people[:40], places[:40]],
                                                      tmp_path / "combiner.crfsuite")
    predicted = combiner.predict(examples[40:], [people[40:], places[40:]])
    assert [sorted(p.payload) for p in predicted] == [sorted(e.payload) for e in examples[40:]]
    assert all(0 < c <= 1 for p in predicted for c in p.scores["span_confidence"])


def test_fit_ensemble_refuses_what_it_cannot_combine(tmp_path, plugins):
    task = plugins.task("ner", labels=["PER", "LOC"])
    with pytest.raises(BertannoError, match="at least two members"):
        fit_ensemble(task, [sentence(random.Random(0))] * 5, tmp_path, {"crf": None})


def test_train_family_ensemble_makes_a_gated_version_that_serves(tmp_path, make_bundle, monkeypatch):
    from conftest import cli_ner_project

    from bertanno.cli import cli
    from bertanno.core.bundle import read_version_record
    from bertanno.core.serving import load_served

    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    rng = random.Random(2)
    runner, db = cli_ner_project(tmp_path, make_bundle(task="ner", labels=["PER", "LOC"], layers=1, hidden=32),
                                 [sentence(rng) for _ in range(40)])
    result = runner.invoke(cli, ["--db", db, "train", "p", "--family", "ensemble", "--epochs", "1", "--lr", "3e-3"])
    assert result.exit_code == 0, result.output
    assert "ensemble: transformer, fold 3 of 3" in result.output and "ensemble: crf on all" in result.output
    directory = next((tmp_path / "models").glob("p-*/e001"))
    record = read_version_record(directory)
    assert record["family"] == "ensemble" and record["members"] == ["transformer", "crf"] and record["folds"] == 3
    assert sorted(path.name for path in (directory / "members").iterdir()) == ["crf", "transformer"]
    assert not (directory / ".folds").exists()  # the fold models are gone
    served = load_served(directory)
    predictions, _ = served.predict([Example("张伟昨天去了北京")])
    assert sorted(predictions[0].payload) == [Span(0, 2, "PER"), Span(6, 8, "LOC")]
    versions = runner.invoke(cli, ["--db", db, "versions", "p"])
    assert "e001" in versions.output
    refused = runner.invoke(cli, ["--db", db, "train", "p", "--family", "ensemble", "--from", "champion"])
    assert refused.exit_code != 0 and "afresh from the base model" in str(refused.exception) + refused.output


def test_ctrl_c_in_a_member_stops_the_whole_ensemble_and_leaves_nothing(tmp_path, plugins, monkeypatch):
    from bertanno.app import training_runs
    from bertanno.core.training import TrainConfig

    task = plugins.task("ner", labels=["PER", "LOC"])
    fits = []

    def interrupted(*args, **kwargs):
        fits.append(args[6])
        return training_runs.Fitted(args[6], None, interrupted=True)

    monkeypatch.setattr(training_runs, "fit_transformer", interrupted)
    rng = random.Random(3)
    with pytest.raises(KeyboardInterrupt):
        training_runs.fit_ensemble_version(task, [sentence(rng) for _ in range(12)], TrainConfig(epochs=1), "base", [],
                                           tmp_path / "e001", {"project": "p"}, plugins)
    assert len(fits) == 1 and not (tmp_path / "e001").exists()
    assert not any(tmp_path.iterdir())  # no half-written folder beside it either
