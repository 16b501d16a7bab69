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
                              on_step=lambda *step: steps.append(step), optimize_student=False)
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
    result = CliRunner().invoke(cli, ["--db", url, "distill", "p", "--student", "1", "--epochs", "1", "--no-optimize",
                                      "--json"])
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


@pytest.mark.slow
def test_a_student_that_passes_is_optimised_so_the_fastest_gated_model_serves(project):
    store, _, teacher_dir = project
    outcome = distill_project(store, "p", "1", config=TrainConfig(epochs=1, batch_size=8))
    assert outcome.in_use and outcome.optimized is not None and not isinstance(outcome.optimized, str)
    tried = {f.variant: f for f in outcome.optimized.figures}
    assert "int8" in tried and outcome.optimized.version == "s001"
    student = read_version_record(read_version_record(teacher_dir)["student"]["directory"])
    assert set(student["optimized"]) >= {"int8"}  # every variant's figures, kept with the student
    assert student.get("variant", "full") == outcome.optimized.in_use
    assert outcome.optimized.in_use == "full" or tried[outcome.optimized.in_use].accepted
    served = load_served(teacher_dir)  # the teacher is served by the student with its variant
    assert served.predict([Example("还行")])[0][0].payload in ("negative", "positive")


def test_how_much_faster_is_read_as_a_factor_above_one():
    from bertanno.core.distill import parse_speedup

    assert parse_speedup("5x") == parse_speedup("5×") == parse_speedup(" 5 ") == 5.0
    for wrong in ("fast", "1x", "0.5"):
        with pytest.raises(BertannoError, match="--faster"):
            parse_speedup(wrong)


def test_faster_keeps_the_most_layers_that_are_fast_enough(make_bundle):
    from bertanno.core.distill import choose_student_layers

    teacher = make_bundle(layers=4)

    def rate(bundle, examples):  # items per second inversely proportional to the layers: no timing in a test
        return 120.0 / len(bundle.model.base_model.encoder.layer)

    texts = [Example("好")]
    assert choose_student_layers(teacher, texts, 2.0, rate) == (2, {3: pytest.approx(4 / 3), 2: pytest.approx(2.0)})
    assert choose_student_layers(teacher, texts, 3.0, rate)[0] == 1
    layers, measured = choose_student_layers(teacher, texts, 9.0, rate)
    assert layers == 1 and sorted(measured) == [1, 2, 3]  # none fast enough: the smallest, every size said


def test_hidden_states_are_mapped_uniformly_and_their_loss_counts_real_tokens_only(make_bundle):
    from bertanno.core.distill import hidden_layer_map, hidden_state_loss, transfer_plan

    assert hidden_layer_map(3, 12) == [(0, 0), (1, 4), (2, 8), (3, 12)]
    assert hidden_layer_map(1, 2) == [(0, 0), (1, 2)]
    states = [torch.randn(2, 5, 8) for _ in range(3)]
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert hidden_state_loss(states, states, mask, [(0, 0), (1, 1)]).item() == pytest.approx(0.0)
    padded = [s.clone() for s in states]
    padded[1][0, 3:] += 5.0  # only padding differs
    assert hidden_state_loss(padded, states, mask, [(1, 1)]).item() == pytest.approx(0.0)
    assert hidden_state_loss(states, states, mask, [(1, 2)]).item() > 0.5
    teacher = make_bundle(layers=2)
    student = student_from_layers(teacher, 1)
    assert transfer_plan(teacher, student, "hidden") == [(0, 0), (1, 2)]
    assert transfer_plan(teacher, student, "none") is None
    with pytest.raises(BertannoError, match="--transfer"):
        transfer_plan(teacher, student, "attention")


def test_distill_faster_chooses_the_student_it_measured(project, monkeypatch):
    store, url, _ = project
    from bertanno.core import distill as core_distill

    def by_layers(bundle, examples):
        return 100.0 / len(bundle.model.base_model.encoder.layer)

    chosen = []
    real = core_distill.choose_student_layers

    def measured(teacher, examples, faster):
        chosen.append(real(teacher, examples, faster, by_layers))
        return chosen[-1]

    monkeypatch.setattr(distilling, "choose_student_layers", measured)
    result = CliRunner().invoke(cli, ["--db", url, "distill", "p", "--faster", "2x", "--epochs", "1",
                                      "--no-optimize", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout[result.stdout.index("{"):])
    assert chosen == [(1, {1: 2.0})] and shown["speedups"] == {"1": 2.0} and "of 2 of v001" in shown["student"]
    both = CliRunner().invoke(cli, ["--db", url, "distill", "p", "--faster", "2x", "--student", "1"])
    assert both.exit_code == 2 and "one of them" in both.output


def test_a_ner_student_gets_as_many_passes_as_train_would_give_its_teacher(make_bundle, monkeypatch):
    # optimize_gate: a NER student given the sentence rule's 4 epochs lost 13.7 points of entity F1 to its teacher
    from bertanno.core import distill as distilling_core
    from bertanno.core.training import sentence_task_epochs, token_task_epochs, training_defaults

    planned = []

    def record(model, windows, collate, config, judge, on_step, trainer_class):
        planned.append(config.epochs)
        return False, 0.0

    monkeypatch.setattr(distilling_core, "run_trainer", record)
    for task, labels, texts in (("ner", ["PER"], 300), ("sentiment", ["negative", "positive"], 300)):
        teacher = make_bundle(task=task, labels=labels, layers=2, hidden=32)
        student = student_from_layers(teacher, 1)
        examples = [Example(f"张三第{n}次来到北京") for n in range(texts)]
        distilling_core.distill(teacher, student, examples, [], TrainConfig(), transfer="none")
        rule = training_defaults(student).epochs
        assert planned[-1] == (token_task_epochs if task == "ner" else sentence_task_epochs)(texts, 32, rule)
    assert planned[0] > planned[1]  # 300 texts of a token task: many more passes than a sentence task's
    distilling_core.distill(teacher, student, examples, [], TrainConfig(epochs=2), transfer="none")
    assert planned[-1] == 2  # --epochs still decides when given
