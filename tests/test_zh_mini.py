"""The shipped zh-mini (issue 'zh-mini', part 2): in the package, fp16 shards under 16 MiB with a model card
naming its data's licences, resolved and loaded offline in fp32 through the alias, listed as available."""

import json

import pytest

from bertanno.plugins.builtin.models import SHIPPED

ZH_MINI = SHIPPED / "zh-mini"
pytestmark = pytest.mark.skipif(not (ZH_MINI / "config.json").is_file(), reason="zh-mini is not in this checkout")


def test_the_shipped_files_are_small_fp16_shards_with_a_model_card():
    shards = sorted(ZH_MINI.glob("*.safetensors"))
    assert shards and all(p.stat().st_size < 16 * 2**20 for p in shards)
    index = json.loads((ZH_MINI / "model.safetensors.index.json").read_text(encoding="utf-8"))
    assert set(index["weight_map"].values()) == {p.name for p in shards}
    from safetensors import safe_open

    with safe_open(str(shards[0]), "pt") as weights:
        assert weights.get_tensor(next(iter(weights.keys()))).dtype.__str__() == "torch.float16"
    card = (ZH_MINI / "README.md").read_text(encoding="utf-8")
    for needed in ("tokens seen", "held-out", "Apache-2.0", "copyright", "never a dev or test split", "Rebuild"):
        assert needed in card


def test_the_alias_loads_offline_in_fp32(plugins, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from bertanno.core.bundle import load_base
    from bertanno.core.model_info import list_models

    bundle = load_base("zh-mini", plugins.task("sentiment", labels=["negative", "positive"]), plugins)
    assert {p.dtype.__str__() for p in bundle.model.parameters()} == {"torch.float32"}
    assert bundle.model.config.num_hidden_layers == 4 and len(bundle.tokenizer) == 21128
    assert bundle.pretrained is True
    [row] = [r for r in list_models(plugins) if r["name"] == "zh-mini"]
    assert row["available"] and row["weights_dir"] == str(ZH_MINI)


def test_models_check_reports_it(monkeypatch):
    from click.testing import CliRunner

    from bertanno.cli import cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["models", "--check", "zh-mini"])
    assert result.exit_code == 0 and "zh-mini loads: bert, 4 layers x 256" in result.output


def test_pretraining_continues_zh_mini_in_fp32_without_forgetting(tmp_path):
    from bertanno.pretraining.pretrain import PretrainConfig, existing_model, pretrain

    model, _ = existing_model("zh-mini")
    assert {p.dtype.__str__() for p in model.parameters()} == {"torch.float32"}  # fp16 on disk
    corpus = tmp_path / "text.txt"
    corpus.write_text("".join(f"患者因发热咳嗽三天入院，给予抗感染治疗后好转，第{n}例。\n" for n in range(1500)),
                      encoding="utf-8")
    config = PretrainConfig(steps=2, eval_steps=2, batch_size=4, max_length=32, warmup_steps=1,
                            held_out_sequences=8, learning_rate=1e-5)
    result = pretrain(tmp_path / "more", [corpus], config, from_model="zh-mini", on_step=lambda *a: None)
    assert result.evaluations[-1]["accuracy"] > 0.1  # fp16 master weights fell to ~0.002 here (0.25 in fp32)


def test_inputs_stop_at_the_length_it_was_pretrained_at(plugins, tmp_path):
    """zh-mini saw 128-token sequences: positions past them are untrained noise, so inputs stop there; a model of
    one's own from ``bertanno pretrain`` records its --max-length in the tokenizer the same way."""
    from bertanno.core.bundle import load_base
    from bertanno.core.scratch import build_random_bundle
    from bertanno.pretraining.pretrain import new_model

    task = plugins.task("sentiment", labels=["negative", "positive"])
    assert load_base("zh-mini", task, plugins).max_length == 128
    model, tokenizer = new_model(1, 64, 0)
    tokenizer.model_max_length = 96
    model.save_pretrained(str(tmp_path / "own"))
    tokenizer.save_pretrained(str(tmp_path / "own"))
    assert load_base(str(tmp_path / "own"), task, plugins).max_length == 96
    assert build_random_bundle(task=task, layers=1, hidden=64, seed=0).max_length == 512  # untouched elsewhere
