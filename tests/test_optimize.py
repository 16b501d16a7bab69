"""Optimised versions (issue 'inference at the hardware's limit', part 1): a variant is gated against the full
model on the evaluation split, recorded in the version, and used by predict, predict-project and the session."""

import json

import pytest
import torch
from click.testing import CliRunner
from conftest import gold_sentiment_project

from bertanno.app.optimizing import optimize
from bertanno.app.session import session_predictor
from bertanno.cli import cli
from bertanno.core import optimize as optimize_module
from bertanno.core.bundle import read_version_record
from bertanno.core.optimize import gate_variant, with_variant
from bertanno.core.serving import load_served
from bertanno.errors import BertannoError
from bertanno.store.versions import add_version


def quantized(model) -> bool:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    return any(isinstance(m, DynamicQuantizedLinear) for m in model.modules())


def decided_bundle(make_bundle):
    """A small random model whose classifier always says 'negative' by a wide margin: any faithful variant
    predicts exactly as it does."""
    bundle = make_bundle(labels=["negative", "positive"], layers=1, hidden=32)
    with torch.no_grad():
        bundle.model.classifier.weight.zero_()
        bundle.model.classifier.bias.copy_(torch.tensor([4.0, -4.0]))
    return bundle


@pytest.fixture
def project(tmp_path, make_bundle):
    store, url, directory = gold_sentiment_project(tmp_path, decided_bundle(make_bundle))
    yield store, url, directory
    store.close()


def test_a_faithful_variant_passes_and_is_used_everywhere(project, tmp_path):
    store, url, directory = project
    outcome = optimize(store, "p", variants=("int8",))
    [figures] = outcome.figures
    assert figures.accepted and figures.agreement == 1.0 and figures.loss_points == 0.0 and figures.items == 60
    assert (outcome.before, outcome.in_use) == ("full", "int8")
    record = read_version_record(directory)
    assert record["variant"] == "int8" and record["optimized"]["int8"]["accepted"] is True
    assert quantized(load_served(directory).model)
    assert not quantized(load_served(directory, precision="full").model)
    served, name = session_predictor(store, "p")
    assert name == "v001" and quantized(served.model)
    texts = tmp_path / "texts.txt"
    texts.write_text("还行\n", encoding="utf-8")
    runner = CliRunner()
    for precision in ("optimized", "full"):
        result = runner.invoke(cli, ["predict", str(directory), str(texts), "--precision", precision])
        assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[0])["label"] == "negative"
    back = runner.invoke(cli, ["--db", url, "optimize", "p", "--variant", "full"])
    assert back.exit_code == 0 and "now serves full (was int8)" in back.output
    assert not quantized(load_served(directory).model)


def test_a_variant_that_changes_the_predictions_is_refused_with_its_figures(project, monkeypatch):
    store, url, directory = project
    real = with_variant

    def unfaithful(bundle, variant, directory=None):
        changed = real(bundle, "full")
        from dataclasses import replace

        model = type(bundle.model)(bundle.model.config)
        model.load_state_dict(bundle.model.state_dict())
        with torch.no_grad():
            model.classifier.bias.copy_(torch.tensor([-4.0, 4.0]))  # always 'positive'
        return replace(changed, model=model.eval())

    monkeypatch.setattr(optimize_module, "with_variant", unfaithful)
    result = CliRunner().invoke(cli, ["--db", url, "optimize", "p", "--variant", "int8"])
    assert result.exit_code == 0, result.output
    verdict = " ".join(line.split("│")[-2].strip() for line in result.output.splitlines() if line.count("│") > 2)
    assert verdict.startswith("refused: agrees with the model as trained on 0.0%")  # however the cell wraps
    assert "v001 serves full as before: nothing passed the gate" in result.output
    record = read_version_record(directory)
    assert record["variant"] == "full" and record["optimized"]["int8"]["accepted"] is False
    assert record["optimized"]["int8"]["loss_points"] == pytest.approx(50.0)  # accuracy 0.75 -> 0.25
    as_json = json.loads(CliRunner().invoke(cli, ["--db", url, "optimize", "p", "--variant", "int8", "--json"]).stdout)
    [figures] = as_json["variants"]
    assert (figures["agreement"], figures["accepted"], as_json["in_use"]) == (0.0, False, "full")
    assert figures["reason"].startswith("agrees with the model as trained on 0.0% (needs 99%); loses 50.00 points")


def test_the_gate_needs_an_evaluation_split_and_a_transformer(project, make_bundle, tmp_path):
    store, url, directory = project
    with pytest.raises(BertannoError, match="at least 50 labelled evaluation items, the project has 10"):
        gate_variant(decided_bundle(make_bundle), "int8", [e for e in _examples(10)])
    with pytest.raises(BertannoError, match="unknown optimisation 'fp4'"):
        optimize(store, "p", variants=("fp4",))
    linear = tmp_path / "l001"
    linear.mkdir()
    record = {**read_version_record(directory), "family": "linear"}
    (linear / "bertanno.json").write_text(json.dumps(record), encoding="utf-8")
    with store.transaction() as session:
        from bertanno.store.projects import get_project

        add_version(session, get_project(session, "p").id, "l001", str(linear), "-", {}, {})
    with pytest.raises(BertannoError, match="l001 is a linear model"):
        optimize(store, "p", "l001")
    assert "--variant" in CliRunner().invoke(cli, ["optimize", "--help"]).output


def _examples(count):
    from bertanno.plugins.task import Example

    return [Example(f"第{n}条", None, "negative") for n in range(count)]


def test_agreement_counts_labels_or_entity_spans(plugins):
    from bertanno.plugins.task import Span

    sentiment = plugins.task("sentiment", labels=["negative", "positive"])
    assert sentiment.agreement(["negative", "positive", "positive"], ["negative", "negative", "positive"]) == 2 / 3
    ner = plugins.task("ner", labels=["PER", "LOC"])
    full = [[Span(0, 2, "PER"), Span(3, 5, "LOC")], [], [Span(1, 3, "LOC")]]
    variant = [[Span(0, 2, "PER"), Span(3, 6, "LOC")], [], [Span(1, 3, "LOC")]]
    assert ner.agreement(full, variant) == 2 / 4  # both give 2 spans, either gives 4
    assert ner.agreement([[], []], [[], []]) == 1.0
    with pytest.raises(ValueError, match="not the same items"):
        ner.agreement(full, variant[:2])


@pytest.mark.parametrize("task, labels", [("sentiment", ["negative", "positive"]), ("ner", ["PER", "LOC"])])
def test_the_onnx_variant_predicts_as_the_model_does(make_bundle, tmp_path, task, labels):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from bertanno.core.engine import Predictor
    from bertanno.core.optimize import ONNX_FILE, export_onnx_int8
    from bertanno.plugins.task import Example

    bundle = make_bundle(task=task, labels=labels, layers=1, hidden=32)
    path = export_onnx_int8(bundle, tmp_path / "onnx-int8")
    assert path.name == ONNX_FILE and not (tmp_path / "onnx-int8" / "full.onnx").exists()
    variant = with_variant(bundle, "onnx-int8", tmp_path)
    examples = [Example("张三在北京大学工作" * k) for k in (1, 3)]
    full_logits, onnx_logits = [], []
    for target, model in ((full_logits, bundle), (onnx_logits, variant)):
        predictor = Predictor(model, device="cpu")
        batch = predictor.encode(examples)
        from bertanno.core.engine import pad_batch

        padded = pad_batch([item.windows[0] for item in batch], predictor.pad_token_id, predictor.keep_token_types)
        with torch.inference_mode():
            target.append(predictor.model(**padded).logits.float())
    assert onnx_logits[0].shape == full_logits[0].shape  # batch and length are free in the graph
    assert torch.allclose(onnx_logits[0], full_logits[0], atol=0.25)  # int8 weights: close, not equal


def test_a_corrupted_onnx_file_falls_back_to_full_precision(project, make_bundle):
    pytest.importorskip("onnxruntime")
    from bertanno.core.optimize import serving_bundle

    store, url, directory = project
    (directory / "onnx-int8").mkdir()
    (directory / "onnx-int8" / "model.onnx").write_bytes(b"not a graph")
    from bertanno.core.bundle import update_version_record

    update_version_record(directory, {"variant": "onnx-int8"})
    with pytest.warns(UserWarning, match="onnx-int8 variant of .* does not load.*serving the model as trained"):
        served = load_served(directory)
    assert isinstance(served.model, torch.nn.Module)
    assert serving_bundle(decided_bundle(make_bundle), "full") is not None


def test_optimize_puts_the_onnx_variant_in_use_and_auto_skips_what_cannot_be_had(project, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from bertanno.core.optimize import OnnxModel

    store, url, directory = project
    outcome = optimize(store, "p", variants=("onnx-int8",))
    assert outcome.figures[0].accepted and outcome.in_use == "onnx-int8"
    served = load_served(directory)
    assert isinstance(served.model, OnnxModel)
    from bertanno.plugins.task import Example

    assert [p.payload for p in served.predict([Example("还行")])[0]] == ["negative"]

    def cannot(bundle, folder):
        raise BertannoError("the longformer model family could not be exported to ONNX")

    monkeypatch.setattr(optimize_module, "export_onnx_int8", cannot)
    auto = optimize(store, "p", variants=("int8", "onnx-int8"))
    assert [f.variant for f in auto.figures] == ["int8"] and "longformer" in auto.skipped["onnx-int8"]
    with pytest.raises(BertannoError, match="longformer"):
        optimize(store, "p", variants=("onnx-int8",))


def test_on_a_gpu_the_cpu_int8_variants_give_way_to_the_full_model(make_bundle, tmp_path, monkeypatch):
    import bertanno.core.engine as engine
    from bertanno.core.optimize import serving_bundle

    bundle = decided_bundle(make_bundle)
    assert quantized(serving_bundle(bundle, "int8", tmp_path, device="cpu").model)
    monkeypatch.setattr(engine, "pick_device", lambda device=None: torch.device("cuda"))
    assert serving_bundle(bundle, "int8", tmp_path) is bundle  # half precision on the GPU instead
    assert serving_bundle(bundle, "onnx-int8", tmp_path / "nowhere") is bundle  # not even looked for
