"""Distillation (issue 'inference at the hardware's limit', part 2): a student made from the teacher's own layers
learns the teacher's soft labels on every item outside the evaluation split, is saved as a version scored like any
other, and predicts in the teacher's place when it passes the gate against it."""

import copy
import json

import pytest
import torch
from click.testing import CliRunner
from conftest import gold_sentiment_project

from bertanno.app import distilling
from bertanno.app.distilling import distill_project
from bertanno.app.session import session_predictor
from bertanno.cli import cli
from bertanno.core.bundle import read_version_record
from bertanno.core.distill import check_same_vocabulary, select_layers, soft_labels, student_from_layers
from bertanno.core.serving import load_served
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example
from bertanno.store.projects import get_project
from bertanno.store.versions import list_versions, runs


def layers_of(model) -> int:
    return len(model.base_model.encoder.layer)


def teacher_bundle(make_bundle):
    """A 2-layer random model whose classifier says 'negative' by a wide margin whatever the text."""
    bundle = copy.deepcopy(make_bundle(labels=["negative", "positive"], layers=2, hidden=32))
    with torch.no_grad():
        bundle.model.classifier.weight.zero_()
        bundle.model.classifier.bias.copy_(torch.tensor([4.0, -4.0]))
    return bundle


@pytest.fixture
def project(tmp_path, make_bundle, monkeypatch):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    labelled = tmp_path / "train.csv"
    labelled.write_text("text,label\n" + "".join(f"训练{n}，{'不好' if n % 3 else '不错'},"
                                                 f"{'negative' if n % 3 else 'positive'}\n" for n in range(12)),
                        encoding="utf-8")
    unlabelled = tmp_path / "raw.txt"
    unlabelled.write_text("".join(f"没有标注的第{n}句\n" for n in range(30)), encoding="utf-8")
    store, url, directory = gold_sentiment_project(tmp_path, teacher_bundle(make_bundle), [labelled, unlabelled])
    yield store, url, directory
    store.close()


def test_layers_are_chosen_from_the_bottom_and_a_student_must_be_smaller():
    assert select_layers(12, 3) == [0, 1, 2]
    for keep in (0, 12, 13):
        with pytest.raises(BertannoError, match="fewer than the teacher"):
            select_layers(12, keep)


def test_a_student_from_layers_keeps_the_teachers_lower_layers_and_head(make_bundle):
    teacher = make_bundle(labels=["negative", "positive"], layers=3, hidden=32)
    student = student_from_layers(teacher, 2)
    assert layers_of(student.model) == 2 and student.model.config.num_hidden_layers == 2
    assert layers_of(teacher.model) == 3  # the teacher is untouched
    for index in range(2):
        mine = student.model.base_model.encoder.layer[index].state_dict()
        theirs = teacher.model.base_model.encoder.layer[index].state_dict()
        assert all(torch.equal(mine[key], theirs[key]) for key in mine)
    assert torch.equal(student.model.classifier.weight, teacher.model.classifier.weight)


def test_a_longformer_student_keeps_one_attention_window_per_layer(make_bundle):
    teacher = make_bundle("lawformer", "sentiment", labels=["a", "b"], layers=3, hidden=64, attention_window=16)
    student = student_from_layers(teacher, 1)
    assert student.model.config.attention_window == [16] and layers_of(student.model) == 1


def test_a_student_with_another_vocabulary_is_refused(make_bundle):
    teacher = make_bundle(labels=["negative", "positive"], layers=1, hidden=32)
    other = copy.copy(teacher)
    other.tokenizer = copy.deepcopy(teacher.tokenizer)
    other.tokenizer.add_tokens(["新词"])
    with pytest.raises(BertannoError, match="does not share the teacher's vocabulary"):
        check_same_vocabulary(teacher, other, "other")
    check_same_vocabulary(teacher, copy.copy(teacher), "same")  # the same tokens: accepted


def test_soft_labels_carry_the_teachers_logits_per_window(make_bundle):
    teacher = make_bundle("bert-base-chinese", "ner", labels=["疾病"], layers=1, hidden=32)
    windows = soft_labels(teacher, [Example("头痛三天"), Example("发热", None, ["ignored"])], max_length=16)
    assert len(windows) == 2 and "offset_mapping" not in windows[0]
    for window in windows:
        assert window["teacher_logits"].shape == (len(window["input_ids"]), len(teacher.task.model_labels))


def test_the_soft_target_loss_is_least_when_the_student_gives_the_teachers_outputs(plugins):
    sentiment, ner = plugins.task("sentiment"), plugins.task("ner", labels=["疾病"])
    teacher = torch.tensor([[2.0, -1.0], [0.5, 0.3]])
    assert sentiment.soft_target_loss(teacher.clone(), teacher, None, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert sentiment.soft_target_loss(-teacher, teacher, None, 2.0).item() > 0.1
    tokens = torch.randn(1, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0]])
    padded_differently = tokens.clone()
    padded_differently[0, 2:] = 9.0  # padding: must not count
    assert ner.soft_target_loss(padded_differently, tokens, mask, 1.0).item() == pytest.approx(0.0, abs=1e-6)
    multi = type("MultiLabel", (type(sentiment),), {"multi_label": True})(labels=["a", "b"])
    same = multi.soft_target_loss(teacher.clone(), teacher, None, 1.0)
    assert same < multi.soft_target_loss(-teacher, teacher, None, 1.0)
    student = teacher.clone().requires_grad_()
    multi.soft_target_loss(student, teacher, None, 1.0).backward()
    assert student.grad.abs().max().item() < 1e-6  # the teacher's outputs are the minimum


@pytest.mark.slow
def test_a_faithful_student_is_saved_scored_and_predicts_in_the_teachers_place(project, tmp_path):
    store, url, teacher_dir = project
    steps = []
    outcome = distill_project(store, "p", "1", config=TrainConfig(epochs=1, batch_size=8),
                              on_step=lambda *step: steps.append(step))
    assert outcome.version == "s001" and outcome.teacher == "v001"
    assert outcome.texts == 42 and outcome.unlabelled == 30  # every item outside the evaluation split
    assert steps and outcome.figures.accepted and outcome.figures.agreement == 1.0 and outcome.in_use
    assert outcome.metrics["accuracy"] == pytest.approx(0.75)
    with store.transaction() as session:
        project_id = get_project(session, "p").id
        names = {v.name: v for v in list_versions(session, project_id)}
        assert names["s001"].metrics["accuracy"] == pytest.approx(0.75) and names["v001"].status == "champion"
        assert runs(session, project_id)[-1].trigger == "distill"
    record = read_version_record(teacher_dir)
    assert record["variant"] == "student" and record["student"]["version"] == "s001"
    assert record["optimized"]["student"]["accepted"] is True
    assert layers_of(load_served(teacher_dir).model) == 1
    assert layers_of(load_served(teacher_dir, precision="full").model) == 2
    served, name = session_predictor(store, "p")
    assert name == "v001" and layers_of(served.model) == 1
    texts = tmp_path / "texts.txt"
    texts.write_text("还行\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["predict", str(teacher_dir), str(texts)])
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[0])["label"] == "negative"
    back = CliRunner().invoke(cli, ["--db", url, "optimize", "p", "--variant", "full"])
    assert back.exit_code == 0 and "now serves full (was student)" in back.output
    assert layers_of(load_served(teacher_dir).model) == 2


def test_a_student_that_predicts_otherwise_is_kept_as_a_version_but_not_used(project, monkeypatch):
    store, url, teacher_dir = project
    real = distilling.distill

    def unfaithful(*args, **kwargs):
        result = real(*args, **kwargs)
        with torch.no_grad():
            result.bundle.model.classifier.bias.copy_(torch.tensor([-4.0, 4.0]))  # always 'positive'
        return result

    monkeypatch.setattr(distilling, "distill", unfaithful)
    result = CliRunner().invoke(cli, ["--db", url, "distill", "p", "--student", "1", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "s001" in result.output and "refused" in result.output and "v001 keeps serving" in result.output
    record = read_version_record(teacher_dir)
    assert record.get("variant", "full") == "full" and record["optimized"]["student"]["accepted"] is False
    assert layers_of(load_served(teacher_dir).model) == 2


def test_a_student_folder_gone_falls_back_to_the_teacher_with_a_warning(project):
    store, _, teacher_dir = project
    outcome = distill_project(store, "p", "1", config=TrainConfig(epochs=1, batch_size=8))
    import shutil

    shutil.rmtree(read_version_record(teacher_dir)["student"]["directory"])
    with pytest.warns(UserWarning, match="serving the model as trained"):
        served = load_served(teacher_dir)
    assert outcome.in_use and layers_of(served.model) == 2


@pytest.mark.parametrize("arguments, message", [
    (["--student", "2"], "give between 1 and 1 layers"),
    (["--student", "1", "--teacher", "v009"], "v009"),
    (["--student", "1", "--temperature", "0"], "--temperature must be a positive number"),
])
def test_bad_distillations_are_refused_with_a_sentence_and_nothing_made(project, arguments, message):
    store, url, teacher_dir = project
    result = CliRunner().invoke(cli, ["--db", url, "distill", "p", *arguments])
    assert result.exit_code != 0 and message in str(result.exception)
    with store.transaction() as session:
        project_id = get_project(session, "p").id
        assert [v.name for v in list_versions(session, project_id)] == ["v001"]
    assert "student" not in read_version_record(teacher_dir).get("optimized", {})


def test_a_student_is_judged_on_gold_not_on_agreeing_with_its_teacher(project, monkeypatch):
    # issue 54, part 1: a student that fixes the teacher's mistakes agrees with it less, and is better
    store, url, teacher_dir = project
    real = distilling.timed_payloads

    def right_on_every_item(bundle, examples):
        _, speed = real(bundle, examples)
        return [example.payload for example in examples], speed

    monkeypatch.setattr(distilling, "timed_payloads", right_on_every_item)
    result = CliRunner().invoke(cli, ["--db", url, "distill", "p", "--student", "1", "--epochs", "1", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout[result.stdout.index("{"):])
    assert shown["gate"]["agreement"] < 0.99 and shown["gate"]["variant_score"] > shown["gate"]["full_score"]
    assert shown["gate"]["accepted"] and shown["in_use"]
    assert read_version_record(teacher_dir)["variant"] == "student"
    listing = CliRunner().invoke(cli, ["--db", url, "versions", "p"], env={"COLUMNS": "160"}).output
    assert "v001 transformer (serves with student s001)" in listing and "s001 transformer/distilled from v001" in listing
    rows = {row["name"]: row for row in json.loads(CliRunner().invoke(cli, ["--db", url, "versions", "p",
                                                                             "--json"]).output)}
    assert rows["v001"]["serves_with"] == "student s001" and rows["s001"]["serves_with"] is None
