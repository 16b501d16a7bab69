"""The CRF output layer for NER (``train --head crf``): its numpy decoding and marginals and its torch likelihood
checked against enumeration of every tag sequence, and the head trained, saved, loaded and served through int8
and ONNX."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bertanno.errors import BertannoError
from bertanno.plugins.bio import bio_transitions, crf_marginals, crf_viterbi

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
K = len(LABELS)
scores = st.floats(-4, 4, allow_nan=False, allow_infinity=False, width=32)


def valid(path, labels=LABELS, constrain_start=True) -> bool:
    allowed, first = bio_transitions(labels)
    return (not constrain_start or bool(first[path[0]])) and all(allowed[a, b] for a, b in zip(path, path[1:]))


def path_score(path, emissions, transitions, start, end) -> float:
    return (start[path[0]] + sum(emissions[t, y] for t, y in enumerate(path))
            + sum(transitions[a, b] for a, b in zip(path, path[1:])) + end[path[-1]])


@settings(max_examples=60, deadline=None)
@given(emissions=arrays(np.float64, st.tuples(st.integers(1, 4), st.just(K)), elements=scores),
       transitions=arrays(np.float64, (K, K), elements=scores), start=arrays(np.float64, (K,), elements=scores),
       end=arrays(np.float64, (K,), elements=scores))
def test_viterbi_and_marginals_agree_with_every_sequence_enumerated(emissions, transitions, start, end):
    paths = [p for p in itertools.product(range(K), repeat=len(emissions)) if valid(p)]
    totals = {p: path_score(p, emissions, transitions, start, end) for p in paths}
    best = crf_viterbi(LABELS, emissions, transitions, start, end)
    assert valid(best)  # never an I-X after O, never a sequence that starts inside an entity
    assert totals[tuple(best)] == pytest.approx(max(totals.values()))
    weights = np.exp(np.array(list(totals.values())) - max(totals.values()))
    expected = np.zeros_like(emissions)
    for weight, p in zip(weights / weights.sum(), paths):
        expected[np.arange(len(p)), p] += weight
    assert crf_marginals(LABELS, emissions, transitions, start, end) == pytest.approx(expected, abs=1e-9)


def test_learned_transitions_change_the_decoded_tags_where_the_emissions_hesitate():
    from bertanno.plugins.builtin.ner import NerTask
    from bertanno.plugins.task import Encoded, Example

    task = NerTask(labels=["PER", "LOC"])
    offsets = [(0, 0), (0, 1), (1, 2), (0, 0)]
    logits = np.zeros((4, K))
    logits[1, LABELS.index("B-PER")] = 3.0
    logits[2, LABELS.index("O")] = 0.2  # barely above I-PER
    encoded = Encoded(windows=[{"offset_mapping": offsets}])
    plain = task.decode(Example("张三"), encoded, [logits])
    transitions = np.zeros((K, K))
    transitions[LABELS.index("B-PER"), LABELS.index("I-PER")] = 2.0
    crf = {"transitions": transitions.tolist(), "start": [0.0] * K, "end": [0.0] * K}
    chained = task.decode(Example("张三"), encoded, [logits], crf=crf)
    assert [tuple(s) for s in plain.payload] == [(0, 1, "PER")]
    assert [tuple(s) for s in chained.payload] == [(0, 2, "PER")]
    assert 0.5 < chained.scores["span_confidence"][0] < 1.0  # a marginal, not a certainty


def brute_negative_log_likelihood(emissions, tags, transitions, start, end) -> float:
    """-log p(tags) with every sequence that IOB2 allows inside the window (any first tag) enumerated."""
    paths = [p for p in itertools.product(range(K), repeat=len(tags)) if valid(p, constrain_start=False)]
    totals = [path_score(p, emissions, transitions, start, end) for p in paths]
    top = max(totals)
    partition = top + math.log(sum(math.exp(t - top) for t in totals))
    return partition - path_score(tags, emissions, transitions, start, end)


def test_the_training_likelihood_is_the_enumerated_one_with_special_tokens_and_padding_left_out():
    import torch

    from bertanno.core.crf import attach_crf

    class Model(torch.nn.Module):
        config = type("Config", (), {})()

    generator = np.random.default_rng(0)
    layer = attach_crf(Model(), LABELS)
    with torch.no_grad():
        for parameter in (layer.transitions, layer.start, layer.end):
            parameter.copy_(torch.tensor(generator.normal(size=parameter.shape), dtype=torch.float32))
    gold = [[1, 2, 0, 3], [2, 0, 1]]  # the second window starts inside an entity (I-PER), as a window of a long text can
    emissions = torch.tensor(generator.normal(size=(2, 6, K)), dtype=torch.float32)
    labels = torch.full((2, 6), -100)
    labels[0, 1:5] = torch.tensor(gold[0])  # [CLS] t t t t [SEP]
    labels[1, 1:4] = torch.tensor(gold[1])  # [CLS] t t t [SEP] [PAD]
    loss = layer.negative_log_likelihood(emissions, labels, labels != -100)
    transitions, start, end = (p.detach().double().numpy() for p in (layer.transitions, layer.start, layer.end))
    allowed, _ = bio_transitions(LABELS)
    transitions = np.where(allowed, transitions, -1e4)
    expected = [brute_negative_log_likelihood(emissions[row, 1:1 + len(tags)].double().numpy(), tags, transitions,
                                              start, end) for row, tags in enumerate(gold)]
    assert loss.item() == pytest.approx(sum(expected) / 7, rel=1e-4)  # the mean over the 7 counted tokens
    loss.backward()
    assert layer.transitions.grad.abs().sum() > 0
    assert not layer.transitions.grad[~torch.tensor(allowed)].any()  # forbidden transitions never learn


NER_LINES = [("张{n}在北京工作", [(0, 2, "PER"), (3, 5, "LOC")]), ("李{n}去上海开会", [(0, 2, "PER"), (3, 5, "LOC")])]


def ner_examples(count):
    from bertanno.plugins.task import Example, Span

    return [Example(text.format(n=n % 10), payload=[Span(*s) for s in spans])
            for n in range(count) for text, spans in NER_LINES]


def test_a_crf_head_trains_saves_loads_and_serves_through_int8_and_onnx(make_bundle, tmp_path):
    import copy

    from bertanno.core.bundle import load_version, save_version
    from bertanno.core.crf import CRF_KEY, CRF_MODULE
    from bertanno.core.engine import Predictor
    from bertanno.core.optimize import export_onnx_int8, with_variant
    from bertanno.core.training import TrainConfig, train

    bundle = copy.deepcopy(make_bundle(task="ner", labels=["PER", "LOC"], layers=1, hidden=32))
    config = TrainConfig(epochs=3, batch_size=4, learning_rate=3e-3, head="crf", device="cpu")
    result = train(bundle, ner_examples(12), ner_examples(2), config)
    model = result.bundle.model
    assert not hasattr(model, CRF_MODULE)  # the weights saved are the plain token classifier's
    scores = getattr(model.config, CRF_KEY)
    assert np.asarray(scores["transitions"]).shape == (K, K) and np.abs(scores["transitions"]).max() > 0.01
    examples = ner_examples(3)
    served, _ = Predictor(result.bundle, device="cpu").predict(examples)
    assert Predictor(result.bundle, device="cpu").decoding == {"crf": scores}
    save_version(result.bundle, tmp_path / "v")
    loaded = load_version(tmp_path / "v")
    assert getattr(loaded.model.config, CRF_KEY) == pytest.approx(scores)
    again, _ = Predictor(loaded, device="cpu").predict(examples)
    assert [p.payload for p in again] == [p.payload for p in served]
    variants = [with_variant(loaded, "int8")]
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401

        export_onnx_int8(loaded, tmp_path / "v" / "onnx-int8")
        variants.append(with_variant(loaded, "onnx-int8", tmp_path / "v"))
    except ImportError:
        pass
    for variant in variants:
        predictor = Predictor(variant, device="cpu")
        assert predictor.decoding == {"crf": pytest.approx(scores)}
        predictions, _ = predictor.predict(examples)
        for prediction in predictions:
            assert all(label in ("PER", "LOC") for _, _, label in prediction.payload)
    # trained on from the saved version, the head stays a CRF unless softmax is asked for
    again_config = TrainConfig(epochs=1, batch_size=4, learning_rate=3e-3, device="cpu")
    retrained = train(load_version(tmp_path / "v"), ner_examples(4), [], again_config).bundle
    assert getattr(retrained.model.config, CRF_KEY)
    softmax = train(load_version(tmp_path / "v"), ner_examples(4), [], TrainConfig(
        epochs=1, batch_size=4, learning_rate=3e-3, device="cpu", head="softmax")).bundle
    assert not getattr(softmax.model.config, CRF_KEY, None) and Predictor(softmax, device="cpu").decoding == {}


def test_a_crf_head_is_refused_where_it_cannot_serve(make_bundle):
    from bertanno.core.training import TrainConfig, train

    sentiment = make_bundle(task="sentiment", layers=1, hidden=32)
    from bertanno.plugins.task import Example

    with pytest.raises(BertannoError, match="no tags to chain"):
        train(sentiment, [Example("好", payload="positive")], [], TrainConfig(epochs=1, head="crf"))
    with pytest.raises(BertannoError, match="--head crf trains with --mode full or lora"):
        TrainConfig(mode="frozen", head="crf")
    with pytest.raises(BertannoError, match="--head must be one of"):
        TrainConfig(head="hmm")


def test_train_head_crf_from_the_command_line_says_so_in_its_plan(tmp_path, make_bundle, monkeypatch):
    from conftest import cli_ner_project

    from bertanno.cli import cli

    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    runner, db = cli_ner_project(tmp_path, make_bundle(task="ner", labels=["PER", "LOC"], layers=1, hidden=32),
                                 ner_examples(15))
    result = runner.invoke(cli, ["--db", db, "train", "p", "--head", "crf", "--epochs", "1", "--lr", "3e-3"])
    assert result.exit_code == 0, result.output
    assert "crf head" in result.output
    refused = runner.invoke(cli, ["--db", db, "train", "p", "--head", "crf", "--mode", "frozen"])
    assert refused.exit_code != 0 and "--head crf trains with" in str(refused.exception)
    assert "--head [softmax|crf]" in runner.invoke(cli, ["train", "--help"]).output


def test_layer_decay_gives_lower_layers_smaller_steps_and_the_crf_its_own(make_bundle, tmp_path):
    import copy

    from transformers import TrainingArguments

    from bertanno.core.crf import CRF_LEARNING_RATE, attach_crf
    from bertanno.core.training import _grouped_trainer, learning_rate_scale

    assert learning_rate_scale("bert.encoder.layer.3.output.dense.weight", 4, 0.5) == 0.5
    assert learning_rate_scale("bert.encoder.layer.0.output.dense.weight", 4, 0.5) == 0.5 ** 4
    assert learning_rate_scale("bert.embeddings.word_embeddings.weight", 4, 0.5) == 0.5 ** 5
    assert learning_rate_scale("classifier.weight", 4, 0.5) == 1.0
    assert learning_rate_scale("bert.encoder.layer.0.output.dense.weight", 4, 1.0) == 1.0
    bundle = copy.deepcopy(make_bundle(task="ner", labels=["PER", "LOC"], layers=2, hidden=32))
    attach_crf(bundle.model, bundle.task.model_labels)
    arguments = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-3, weight_decay=0.01, use_cpu=True,
                                  report_to="none")
    optimizer = _grouped_trainer(0.5)(model=bundle.model, args=arguments).create_optimizer()
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    named = dict(bundle.model.named_parameters())
    assert rate[id(named["classifier.weight"])] == pytest.approx(1e-3)
    assert rate[id(named["bert.encoder.layer.1.output.dense.weight"])] == pytest.approx(5e-4)
    assert rate[id(named["bert.encoder.layer.0.output.dense.weight"])] == pytest.approx(2.5e-4)
    assert rate[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(1.25e-4)
    assert rate[id(named["bertanno_crf.transitions"])] == CRF_LEARNING_RATE
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(named)
    with pytest.raises(BertannoError, match="--layer-decay must be above 0"):
        from bertanno.core.training import TrainConfig

        TrainConfig(layer_decay=0)
