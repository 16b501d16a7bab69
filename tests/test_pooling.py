"""Mean pooling for masked-LM-only checkpoints (core.pooling): chosen when the checkpoint has no pooler, blind to
padding, kept by the saved version, left alone for checkpoints with a pooler and for token heads, and exported to
ONNX the same way."""

import pytest
import torch

from bertanno.core.bundle import load_base, load_version, save_version
from bertanno.core.engine import Predictor, pad_batch
from bertanno.core.pooling import MeanPooledBertModel
from bertanno.plugins.task import Example

TEXTS = [Example("很好"), Example("房间太小了，服务也一般，不会再来"), Example("不错，下次还来")]


@pytest.fixture(scope="module")
def mlm_checkpoint(tmp_path_factory):
    """A checkpoint as ``bertanno pretrain`` writes it: ``BertForMaskedLM``, so no pooler weights."""
    from bertanno.pretraining.pretrain import new_model

    folder = tmp_path_factory.mktemp("mlm")
    model, tokenizer = new_model(1, 64, seed=0)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def logits_alone_and_batched(bundle):
    predictor = Predictor(bundle, device="cpu")
    windows = [item.windows[0] for item in predictor.encode(TEXTS)]
    with torch.inference_mode():
        batched = predictor.model(**pad_batch(windows, predictor.pad_token_id, predictor.keep_token_types)).logits
        alone = [predictor.model(**pad_batch([w], predictor.pad_token_id, predictor.keep_token_types)).logits[0]
                 for w in windows]
    return torch.stack(alone), batched


def test_a_checkpoint_without_a_pooler_pools_by_the_mean_whatever_the_padding(mlm_checkpoint, plugins, tmp_path):
    bundle = load_base(str(mlm_checkpoint), plugins.task("sentiment", labels=["negative", "positive"]), plugins)
    assert type(bundle.model.bert) is MeanPooledBertModel and bundle.model.config.bertanno_pooling == "mean"
    alone, batched = logits_alone_and_batched(bundle)
    assert torch.allclose(alone, batched, atol=1e-5)  # padded positions take no part in the mean
    with torch.inference_mode():  # and it is the mean: [CLS] pooling gives other logits
        encoded = bundle.tokenizer([TEXTS[1].text], return_tensors="pt")
        hidden = bundle.model.bert(**encoded).last_hidden_state
        expected = bundle.model.classifier(bundle.model.bert.pooler(hidden.mean(dim=1, keepdim=True)))
        assert torch.allclose(bundle.model(**encoded).logits, expected, atol=1e-5)

    directory = save_version(bundle, tmp_path / "v1")
    again = load_version(directory, plugins)
    assert type(again.model.bert) is MeanPooledBertModel
    assert torch.allclose(logits_alone_and_batched(again)[1], batched, atol=1e-5)


def test_checkpoints_with_a_pooler_and_token_heads_keep_theirs(mlm_checkpoint, plugins, make_bundle, tmp_path):
    from transformers import BertModel

    directory = save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), tmp_path / "cls")
    assert type(load_base(str(directory), plugins.task("sentiment", labels=["a", "b"]), plugins).model.bert) \
        is BertModel  # its pooler was trained (or trained along): [CLS] as before
    ner = load_base(str(mlm_checkpoint), plugins.task("ner", labels=["PER"]), plugins)
    assert ner.model.bert.pooler is None and type(ner.model.bert) is BertModel


def test_the_onnx_variant_of_a_mean_pooled_model_predicts_as_it_does(mlm_checkpoint, plugins, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from bertanno.core.optimize import export_onnx_int8, with_variant

    bundle = load_base(str(mlm_checkpoint), plugins.task("sentiment", labels=["negative", "positive"]), plugins)
    with torch.no_grad():
        bundle.model.classifier.weight.mul_(100)  # logits of a few units, so that the tolerances below mean something
    export_onnx_int8(bundle, tmp_path / "onnx-int8")
    variant = with_variant(bundle, "onnx-int8", tmp_path)
    _, full = logits_alone_and_batched(bundle)
    alone, batched = logits_alone_and_batched(variant)
    assert full.abs().max() > 1  # the scale the tolerances are judged against
    assert torch.allclose(batched, full, atol=0.3) and torch.allclose(alone, batched, atol=0.3)  # int8: close


def test_a_mean_pooled_model_still_gives_its_hidden_states(mlm_checkpoint, plugins):
    # what distill --transfer hidden reads; transformers keys its output recorders by class, fills them at build
    bundle = load_base(str(mlm_checkpoint), plugins.task("sentiment", labels=["negative", "positive"]), plugins)
    encoded = bundle.tokenizer([TEXTS[1].text], return_tensors="pt")
    with torch.inference_mode():
        states = bundle.model(**encoded, output_hidden_states=True).hidden_states
    assert states is not None and len(states) == bundle.model.config.num_hidden_layers + 1
