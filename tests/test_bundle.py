import json

import pytest
import torch
from conftest import MODELS, require

from bertanno.core.bundle import load_bundle, load_tokenizer, load_version, save_version
from bertanno.core.engine import Predictor, pad_batch
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example

TEXTS = [Example("新冠病毒是一种新型冠状病毒"), Example("高血压患者要少吃盐"), Example("脑梗塞")]


def logits_of(bundle, examples):
    windows = [bundle.task.encode(bundle.tokenizer, e, bundle.max_length).windows[0] for e in examples]
    batch = pad_batch(windows, bundle.tokenizer.pad_token_id, keep_token_types=True)
    with torch.inference_mode():
        return bundle.model.eval()(**batch).logits


@pytest.mark.slow
@pytest.mark.parametrize("task", ["sentiment", "ner", "pair"])
def test_save_then_load_reproduces_identical_logits(make_bundle, tmp_path, task):
    bundle = make_bundle(task=task)
    examples = [Example(e.text, text_b="其他" if task == "pair" else None) for e in TEXTS]
    directory = save_version(bundle, tmp_path / "v1", {"note": "test"})
    assert (directory / "model.safetensors").exists()
    assert not (directory / "pytorch_model.bin").exists()
    record = json.loads((directory / "bertanno.json").read_text(encoding="utf-8"))
    assert record["task"] == task and record["model_labels"] == bundle.task.model_labels
    assert {"torch", "transformers", "bertanno"} <= set(record["libraries"]) and record["note"] == "test"
    loaded = load_version(directory)
    assert torch.equal(logits_of(bundle, examples), logits_of(loaded, examples))
    assert loaded.task.labels == bundle.task.labels and loaded.max_length == bundle.max_length


def test_loading_a_version_needs_no_network(make_bundle, tmp_path, monkeypatch):
    directory = save_version(make_bundle(), tmp_path / "v1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    loaded = load_bundle(str(directory))
    predictions, _ = Predictor(loaded).predict(TEXTS)
    assert len(predictions) == 3


class Boom:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_pickled_checkpoint_cannot_run_code(make_bundle, tmp_path, monkeypatch):
    directory = save_version(make_bundle(), tmp_path / "v1")
    (directory / "model.safetensors").unlink()
    torch.save({"bert.embeddings.word_embeddings.weight": Boom()}, directory / "pytorch_model.bin")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BertannoError, match="holds objects other than tensors"):
        load_version(directory)
    assert not (tmp_path / "PWNED").exists()


def test_a_plain_pickled_state_dict_still_loads(make_bundle, tmp_path):
    bundle = make_bundle()
    directory = save_version(bundle, tmp_path / "v1")
    (directory / "model.safetensors").unlink()
    torch.save(bundle.model.state_dict(), directory / "pytorch_model.bin")
    loaded = load_version(directory)
    assert torch.equal(logits_of(bundle, TEXTS), logits_of(loaded, TEXTS))


def test_model_code_does_not_run_without_the_flag(make_bundle, tmp_path):
    directory = save_version(make_bundle(), tmp_path / "v1")
    config = json.loads((directory / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "evil.EvilModel"}
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(BertannoError, match="ships its own Python code"):
        load_version(directory)


def test_the_tokenizer_keeps_chinese_characters(tmp_path):
    for name in ("bert-base-chinese", "medbert-base-wwm-chinese", "lawformer"):
        tokenizer = load_tokenizer(require(MODELS / name))
        ids = tokenizer("新冠病毒是一种新型冠状病毒")["input_ids"]
        assert tokenizer.unk_token_id not in ids and len(ids) == 15


def test_a_base_model_needs_a_task(tmp_path):
    with pytest.raises(BertannoError, match="say which task"):
        load_bundle(str(tmp_path))
