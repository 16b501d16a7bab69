"""bertanno pretrain: a tiny model on a tiny corpus end to end, an interrupted run resumed to the same
weights, and a sentence for every bad input."""

import json
import os
import signal

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.errors import BertannoError
from bertanno.pretraining.pretrain import HELD_OUT_MODULUS, PackedSequences, PretrainConfig, held_out, pretrain

TINY = dict(layers=1, hidden=64, steps=12, eval_steps=4, batch_size=4, max_length=32, warmup_steps=2,
            held_out_sequences=8)
SENTENCES = ["患者因发热咳嗽三天入院，给予抗感染治疗后好转。", "被告人张某于二零一九年盗窃电动车一辆，价值人民币三千元。",
             "今天天气晴朗，我们去公园散步，看到很多人在锻炼身体。", "高血压患者应当低盐饮食，按时服用降压药物。",
             "本院认为，被告人的行为已构成盗窃罪，应依法惩处。"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    lines = [f"{sentence}第{n}段。" for n in range(1200) for sentence in SENTENCES[n % 5:n % 5 + 1]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert any(held_out(line) for line in lines) and not all(held_out(line) for line in lines)
    return path


def quiet(step, total, info):
    pass


def test_pretrain_writes_a_model_a_project_can_use(corpus, tmp_path):
    from transformers import AutoModelForMaskedLM

    from bertanno.core.bundle import load_base
    from bertanno.core.plugins import get_plugins

    result = pretrain(tmp_path / "mini", [corpus], PretrainConfig(**TINY), on_step=quiet)
    assert result.finished and result.steps == 12 and result.tokens_seen == 12 * 4 * 32
    assert [e["step"] for e in result.evaluations] == [4, 8, 12]
    assert result.evaluations[-1]["loss"] < result.evaluations[0]["loss"]  # it learns something
    record = json.loads((tmp_path / "mini" / "bertanno-pretrain.json").read_text(encoding="utf-8"))
    card = (tmp_path / "mini" / "README.md").read_text(encoding="utf-8")
    assert record["tokens_seen"] == result.tokens_seen and "Steps: 12 of 12 (finished)" in card
    assert AutoModelForMaskedLM.from_pretrained(str(tmp_path / "mini")).config.num_hidden_layers == 1
    bundle = load_base(str(tmp_path / "mini"), get_plugins().task("sentiment"))  # a base model for any project
    assert bundle.tokenizer("高血压")["input_ids"][1:-1] == bundle.tokenizer.convert_tokens_to_ids(list("高血压"))
    assert bundle.max_length == 32  # its --max-length: positions past it were never trained
    assert not list(tmp_path.glob(".mini.writing-*"))

    # continued at twice the length, positions 32-63 start as copies of 0-31 (Longformer's start), not random
    pretrain(tmp_path / "longer", [corpus], PretrainConfig(**{**TINY, "max_length": 64, "steps": 1}),
             from_model=str(tmp_path / "mini"), on_step=quiet)
    positions = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "longer")).bert.embeddings.position_embeddings
    before = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "mini")).bert.embeddings.position_embeddings
    moved = (positions.weight[32:64] - before.weight[:32]).abs().max()
    assert moved < 0.01 < (before.weight[32:64] - before.weight[:32]).abs().max()  # one small step from the copy


def test_copy_positions_repeats_the_trained_block():
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from bertanno.pretraining.pretrain import copy_positions

    model = BertForMaskedLM(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=16, max_position_embeddings=10))
    table = model.bert.embeddings.position_embeddings.weight
    first = table[:4].detach().clone()
    assert copy_positions(model, 4) == 6
    assert torch.equal(table[4:8], first) and torch.equal(table[8:10], first[:2])
    assert copy_positions(model, 10) == 0 and copy_positions(model, 0) == 0


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_step_and_weights(corpus, tmp_path):
    from safetensors.torch import load_file

    config = PretrainConfig(**TINY)
    pretrain(tmp_path / "straight", [corpus], config, on_step=quiet)

    def interrupt(step, total, info):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    stopped = pretrain(tmp_path / "resumed", [corpus], config, on_step=interrupt)
    assert not stopped.finished and stopped.steps == 6
    assert "unfinished: resume with --resume" in (tmp_path / "resumed" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(BertannoError, match="continue it with --resume"):
        pretrain(tmp_path / "resumed", [corpus], config, on_step=quiet)
    resumed = pretrain(tmp_path / "resumed", [corpus], config, resume=True, on_step=quiet)
    assert resumed.finished and resumed.steps == 12
    straight, again = load_file(tmp_path / "straight" / "model.safetensors"), \
        load_file(tmp_path / "resumed" / "model.safetensors")
    assert all((straight[name] - again[name]).abs().max() < 1e-6 for name in straight)
    record = json.loads((tmp_path / "resumed" / "bertanno-pretrain.json").read_text(encoding="utf-8"))
    assert [e["step"] for e in record["evaluations"]] == [4, 8, 12]


def test_packing_fills_every_sequence_and_keeps_terms_whole(corpus):
    from bertanno.core.bundle import load_tokenizer
    from bertanno.core.scratch import SKELETON_DIR

    tokenizer = load_tokenizer(SKELETON_DIR)
    sequences = PackedSequences([corpus], tokenizer, 32, terms=["高血压", "被告人"], repeat=False)
    first = [s for _, s in zip(range(50), sequences)]
    assert all(len(s["input_ids"]) == 32 for s in first)
    assert all(s["input_ids"][0] == tokenizer.cls_token_id and s["input_ids"][-1] == tokenizer.sep_token_id
               for s in first)
    term_units = [u for s in first for u in s["units"] if len(u) == 3]
    assert term_units and all(
        tokenizer.decode([s["input_ids"][p] for p in u]).replace(" ", "") in ("高血压", "被告人")
        for s in first for u in s["units"] if len(u) == 3)
    held = PackedSequences([corpus], tokenizer, 32, evaluation=True, repeat=False)
    assert sum(1 for _ in held) < sum(1 for _ in PackedSequences([corpus], tokenizer, 32, repeat=False)) / 10


@pytest.mark.parametrize("content, fragment", [
    (b"", "the corpus is empty"),
    (b"The quick brown fox jumps over the lazy dog.\n" * 50, "not Chinese text"),
    ("中文文本".encode("gb18030") * 20, "not UTF-8 text"),
])
def test_bad_corpora_are_refused_with_a_sentence(tmp_path, content, fragment):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(BertannoError, match=fragment):
        pretrain(tmp_path / "out", [path], PretrainConfig(**TINY))
    assert not (tmp_path / "out").exists()


def test_other_bad_input_is_a_sentence(tmp_path, corpus):
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(BertannoError, match="holds no text files"):
        pretrain(tmp_path / "out", [tmp_path / "empty-dir"], PretrainConfig(**TINY))
    with pytest.raises(BertannoError, match="no such corpus"):
        pretrain(tmp_path / "out", [tmp_path / "missing.txt"], PretrainConfig(**TINY))
    with pytest.raises(BertannoError, match="nothing to resume"):
        pretrain(tmp_path / "out", [corpus], PretrainConfig(**TINY), resume=True)
    with pytest.raises(BertannoError, match="vocabulary does not have"):
        pretrain(tmp_path / "out", [corpus], PretrainConfig(**TINY), terms=["高血压", "𠀀𠀁"])
    small = tmp_path / "small.txt"
    small.write_text("患者发热咳嗽三天。\n" * 3, encoding="utf-8")
    with pytest.raises(BertannoError, match="too small to hold out"):
        pretrain(tmp_path / "out", [small], PretrainConfig(**TINY))


def test_pretrain_command(corpus, tmp_path):
    result = CliRunner().invoke(cli, ["pretrain", str(tmp_path / "m"), "--corpus", str(corpus), "--layers", "1",
                                      "--hidden", "64", "--steps", "6", "--eval-steps", "3", "--batch-size", "4",
                                      "--max-length", "32", "--warmup-steps", "1", "--terms", "medical"])
    assert result.exit_code == 0, result.output
    assert "finished: 768 tokens seen" in result.output and (tmp_path / "m" / "README.md").exists()
    help_text = CliRunner().invoke(cli, ["pretrain", "--help"]).output
    assert "--resume" in help_text and "OUTPUT.checkpoints" in help_text
    assert HELD_OUT_MODULUS == 200


def test_corpus_files_are_interleaved_by_size(tmp_path):
    from bertanno.pretraining.pretrain import corpus_lines

    (tmp_path / "a.txt").write_text("".join(f"甲{n:03d}\n" for n in range(10)), encoding="utf-8")
    (tmp_path / "b.txt").write_text("".join(f"乙{n:03d}\n" for n in range(30)), encoding="utf-8")
    lines = [line for line in corpus_lines([tmp_path / "a.txt", tmp_path / "b.txt"], evaluation=False)]
    expected = [f"甲{n:03d}" for n in range(10)] + [f"乙{n:03d}" for n in range(30)]
    assert sorted(lines) == sorted(line for line in expected if not held_out(line))
    first = lines[:12]
    assert 2 <= sum(line.startswith("甲") for line in first) <= 4  # a quarter of the corpus, a quarter of any stretch


def test_shards_split_the_lines_between_readers(tmp_path):
    from bertanno.pretraining.pretrain import corpus_lines

    (tmp_path / "a.txt").write_text("".join(f"甲{n:03d}\n" for n in range(50)), encoding="utf-8")
    files = [tmp_path / "a.txt"]
    whole = list(corpus_lines(files, evaluation=False))
    parts = [list(corpus_lines(files, evaluation=False, shard=(k, 3))) for k in range(3)]
    assert sorted(sum(parts, [])) == sorted(whole)  # every line once, in exactly one shard
    assert [len(p) for p in parts] == [len(whole[k::3]) for k in range(3)] and parts[1] == whole[1::3]


def test_data_workers_pack_in_their_own_processes(corpus, tmp_path):
    from bertanno.pretraining.pretrain import WorkerMasking, data_workers

    config = PretrainConfig(**{**TINY, "steps": 4, "eval_steps": 4, "workers": 2})
    result = pretrain(tmp_path / "w", [corpus], config, on_step=quiet)
    record = json.loads((tmp_path / "w" / "bertanno-pretrain.json").read_text(encoding="utf-8"))
    assert result.finished and record["hardware"]["data_workers"] == 2
    assert "2 data workers" in (tmp_path / "w" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(BertannoError, match="--workers -1"):
        data_workers(PretrainConfig(workers=-1), None)
    import torch
    assert data_workers(PretrainConfig(), torch.device("cpu")) == 0
    from bertanno.core.bundle import load_tokenizer
    from bertanno.core.scratch import SKELETON_DIR
    tokenizer = load_tokenizer(SKELETON_DIR)
    sequence = next(iter(PackedSequences([corpus], tokenizer, 32, repeat=False)))
    one, two = WorkerMasking(tokenizer, 0.15, 13, 0), WorkerMasking(tokenizer, 0.15, 13, 0)
    assert one([sequence])["labels"].tolist() == two([sequence])["labels"].tolist()  # seeded: reproducible


def test_a_checkpoint_killed_while_written_is_passed_over(tmp_path):
    from bertanno.pretraining.pretrain import CHECKPOINT_FILES, checkpoint_root, latest_checkpoint

    output = tmp_path / "model"
    root = checkpoint_root(output)
    for step, files in ((5, CHECKPOINT_FILES), (7, ("config.json", "model.safetensors"))):
        (root / f"checkpoint-{step}").mkdir(parents=True)
        for name in files:
            (root / f"checkpoint-{step}" / name).write_text("{}")
    assert latest_checkpoint(output) == root / "checkpoint-5"  # step 7 lacks its trainer state and optimizer
    for name in CHECKPOINT_FILES:
        (root / "checkpoint-7" / name).write_text("{}")
    assert latest_checkpoint(output) == root / "checkpoint-7"


@pytest.mark.slow
def test_a_full_disk_is_a_sentence_and_leaves_no_model_presented_as_finished(corpus, tmp_path, monkeypatch):
    import errno

    import transformers

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    config = PretrainConfig(**{**TINY, "steps": 4, "checkpoint_minutes": 0.0})  # a checkpoint at every step
    with monkeypatch.context() as patch:
        patch.setattr(transformers.Trainer, "_save_checkpoint", disk_full)
        with pytest.raises(BertannoError, match="is the disk full.*run again with --resume"):
            pretrain(tmp_path / "out", [corpus], config, on_step=quiet)
    assert not (tmp_path / "out").exists()
    save = transformers.PreTrainedModel.save_pretrained

    def full_for_the_model(self, directory, *args, **kwargs):  # checkpoints written, the finished model is not
        if ".writing-" in str(directory):
            disk_full()
        return save(self, directory, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(transformers.PreTrainedModel, "save_pretrained", full_for_the_model)
        with pytest.raises(BertannoError, match="cannot write the model.*checkpoints are intact"):
            pretrain(tmp_path / "out", [corpus], config, on_step=quiet)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.writing-*"))
    finished = pretrain(tmp_path / "out", [corpus], config, resume=True, on_step=quiet)
    assert finished.finished and (tmp_path / "out" / "model.safetensors").is_file()
