"""Lexicon and character features beside the encoder (``train --lexicon-features``): what a character's features
are, that their scores reach the logits in training and in serving alike, and that the table is saved, loaded and
kept by int8."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from bertanno.core.token_features import (
    BUCKETS,
    SLOTS,
    char_feature_keys,
    feature_logits,
    token_feature_ids,
)
from bertanno.errors import BertannoError


def test_a_characters_features_name_its_bigrams_its_word_and_its_term():
    keys = char_feature_keys("患者服用硝苯地平控释片", terms=["硝苯地平控释片"])
    assert keys[4][:2] == ["L:用硝", "R:硝苯"]
    assert "T:B" in keys[4] and "T:M" in keys[5] and "T:E" in keys[10] and "T:O" in keys[0]
    assert "W:硝苯地平控释片" in keys[4]  # the term is a jieba word of its own
    assert keys[0][0] == "L:<s>患" and keys[-1][1] == "R:片</s>"
    line = char_feature_keys("北京\n上海")
    assert len(line) == 5 and line[2] == ["L:京\n", "R:\n上", "S:S1", "T:O"]


def test_feature_ids_per_token_pad_special_tokens_and_stay_in_the_table():
    rows = token_feature_ids("张三在北京", [(0, 0), (0, 1), (1, 2), (2, 3), (3, 5), (0, 0)])
    assert rows[0] == [0] * SLOTS and rows[-1] == [0] * SLOTS
    assert all(len(row) == SLOTS and all(0 <= i < BUCKETS for i in row) for row in rows)
    assert 0 not in rows[4][:5]  # a token of two characters has its own feature too
    assert rows == token_feature_ids("张三在北京", [(0, 0), (0, 1), (1, 2), (2, 3), (3, 5), (0, 0)])
    table = np.zeros((BUCKETS, 3))
    table[rows[1][0]] = [1.0, 2.0, 3.0]
    assert feature_logits(table, rows)[1] == pytest.approx([1.0, 2.0, 3.0])
    assert feature_logits(table, rows)[0] == pytest.approx([0.0, 0.0, 0.0])


def ner_examples(count):
    from bertanno.plugins.task import Example, Span

    return [Example(f"张{n % 10}在北京工作", payload=[Span(0, 2, "PER"), Span(3, 5, "LOC")]) for n in range(count)]


def test_the_table_trains_adds_to_the_logits_and_round_trips(make_bundle, tmp_path):
    import torch

    from bertanno.core.bundle import load_version, save_version
    from bertanno.core.engine import Predictor, pad_batch
    from bertanno.core.optimize import with_variant
    from bertanno.core.token_features import FEATURE_MODULE, FEATURES_FILE, attach_features
    from bertanno.core.training import TrainConfig, encode_for_training, train

    bundle = copy.deepcopy(make_bundle(task="ner", labels=["PER", "LOC"], layers=1, hidden=32))
    # in training, the scores of the batch's feature ids reach the model's logits and its loss
    module = attach_features(bundle.model, 5)
    windows, _ = encode_for_training(bundle, ner_examples(2))
    batch = pad_batch(windows, 0, True, with_labels=True)
    assert batch["feature_ids"].shape == (*batch["input_ids"].shape, SLOTS)
    with torch.no_grad():
        plain = bundle.model(**{k: v for k, v in batch.items() if k != "feature_ids"}).logits
        module.table.weight[batch["feature_ids"][0, 1, 0]] += 5.0
        featured = bundle.model(**batch)
    assert (featured.logits[0, 1] - plain[0, 1]).min() >= 5.0 - 1e-4
    assert featured.loss is not None  # the model computed its loss from the featured logits and the labels
    delattr(bundle.model, FEATURE_MODULE)
    for handle in module.handles:
        handle.remove()

    config = TrainConfig(epochs=2, batch_size=4, learning_rate=3e-3, lexicon_features=True, device="cpu")
    assert "lexicon features" in config.for_model(bundle)[0].describe()
    result = train(bundle, ner_examples(12), ner_examples(2), config)
    table = result.bundle.token_features
    assert table.shape == (BUCKETS, 5) and np.abs(table).max() > 0.001 and not table[0].any()
    assert not hasattr(result.bundle.model, FEATURE_MODULE)
    served = Predictor(result.bundle, device="cpu")
    assert served.token_features is table
    examples = ner_examples(3)
    predicted = [p.payload for p in served.predict(examples)[0]]
    save_version(result.bundle, tmp_path / "v")
    assert (tmp_path / "v" / FEATURES_FILE).is_file()
    loaded = load_version(tmp_path / "v")
    assert np.array_equal(loaded.token_features, table)
    assert [p.payload for p in Predictor(loaded, device="cpu").predict(examples)[0]] == predicted
    assert Predictor(with_variant(loaded, "int8"), device="cpu").token_features is loaded.token_features
    # the scores matter: without them the same model decodes from other logits
    encoded = served.encode(examples[:1])
    logits = served.window_logits(encoded)[0]
    ids = token_feature_ids(examples[0].text, encoded[0].windows[0]["offset_mapping"])
    assert not np.allclose(feature_logits(table, ids), 0)
    # trained on without them, the table is dropped
    again = train(load_version(tmp_path / "v"), ner_examples(4), [], TrainConfig(
        epochs=1, batch_size=4, learning_rate=3e-3, device="cpu", lexicon_features=False)).bundle
    assert again.token_features is None and Predictor(again, device="cpu").token_features is None
    assert logits.shape[1] == 5


def test_lexicon_features_are_refused_where_they_cannot_serve(make_bundle):
    from bertanno.core.training import TrainConfig, train
    from bertanno.plugins.task import Example

    with pytest.raises(BertannoError, match="--lexicon-features trains with --mode full"):
        TrainConfig(mode="lora", lexicon_features=True)
    sentiment = copy.deepcopy(make_bundle(task="sentiment", layers=1, hidden=32))
    with pytest.raises(BertannoError, match="no tokens to tag"):
        train(sentiment, [Example("好", payload="positive")], [], TrainConfig(epochs=1, lexicon_features=True))


def test_a_teachers_soft_labels_carry_its_feature_scores(make_bundle):
    from dataclasses import replace

    from bertanno.core.distill import soft_labels
    from bertanno.core.engine import Predictor

    teacher = make_bundle(task="ner", labels=["PER", "LOC"], layers=1, hidden=32)
    table = np.random.default_rng(0).normal(size=(BUCKETS, 5)).astype(np.float32)
    with_table = replace(teacher, token_features=table)
    examples = ner_examples(2)
    plain = soft_labels(teacher, examples, teacher.max_length, device="cpu")
    featured = soft_labels(with_table, examples, teacher.max_length, device="cpu")
    predictor = Predictor(with_table, device="cpu")
    scores = predictor.feature_scores(examples, predictor.encode(examples))
    for before, after, added in zip(plain, featured, scores):
        assert np.allclose(after["teacher_logits"].astype("f4"), before["teacher_logits"].astype("f4") + added,
                           atol=0.05)  # float16 storage


def test_lexicon_features_are_on_by_default_for_ner_in_full_fine_tuning_only(make_bundle):
    from bertanno.core.training import chosen_features

    ner = make_bundle(task="ner", labels=["PER", "LOC"], layers=1, hidden=32)
    assert chosen_features(ner, None) and not chosen_features(ner, None, "lora")
    assert not chosen_features(ner, False) and chosen_features(ner, True, "lora")  # as given (TrainConfig refuses)
    assert not chosen_features(make_bundle(task="sentiment", layers=1, hidden=32), None)
