"""Training, the frozen evaluation split, retrain's gate and lock, versions, rollback, with tiny models."""

import json
import os
import random
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bertanno.app.training_runs import (
    evaluate,
    new_decisions_since,
    promote,
    retrain_project,
    rollback,
    train_project,
)
from bertanno.core.bundle import load_version, save_version
from bertanno.core.import_export import import_file
from bertanno.core.scheduling import cron_note, cron_schedule, parse_every, schedule_files, watch
from bertanno.core.training import TrainConfig, training_defaults
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.annotations import record_decision
from bertanno.store.predictions import latest_predictions
from bertanno.store.projects import create_project, get_project
from bertanno.store.schema import Annotation, Item, Lock, utcnow
from bertanno.store.versions import champion, list_versions, runs

GOOD = ["很好", "不错", "好吃", "满意", "喜欢"]
BAD = ["太差", "难吃", "失望", "糟糕", "讨厌"]
FAST = dict(epochs=6, batch_size=8, learning_rate=3e-3, patience=6, seed=0)


def sentiment_lines(count, seed=0):
    generator = random.Random(seed)
    lines = []
    for n in range(count):
        positive = n % 2 == 0
        word = generator.choice(GOOD if positive else BAD)
        lines.append(f'{{"text": "第{n}家店{word}", "label": "{"positive" if positive else "negative"}"}}')
    return "\n".join(lines) + "\n"


@pytest.fixture
def tiny_base(make_bundle, tmp_path_factory, plugins):
    """A saved 1-layer random Chinese BERT that projects use as their base model."""
    directory = tmp_path_factory.mktemp("base") / "tiny-bert"
    save_version(make_bundle(task="sentiment", layers=1, hidden=32), directory)
    return str(directory)


@pytest.fixture
def project(tmp_path, tiny_base, monkeypatch):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "reviews", "sentiment", ["negative", "positive"], tiny_base)
    data = tmp_path / "reviews.jsonl"
    data.write_text(sentiment_lines(80), encoding="utf-8")
    import_file(store, "reviews", data)
    yield store
    store.close()


@pytest.mark.slow
def test_train_makes_a_champion_scored_on_a_frozen_split_it_never_saw(project):
    outcome = train_project(project, "reviews", TrainConfig(**FAST))
    assert outcome.decision == "promoted" and outcome.version == "v001"
    assert outcome.metrics["accuracy"] >= 0.9, outcome.metrics  # the words decide the label: learnable
    with project.transaction() as session:
        project_id = get_project(session, "reviews").id
        evaluation = set(session.scalars(select(Item.id).where(Item.split == "eval")))
        version = champion(session, project_id)
        trained_items = set(session.scalars(select(Annotation.item_id).where(
            Annotation.id.in_(version.training_snapshot["annotation_ids"]))))
    assert len(evaluation) == 8 and not evaluation & trained_items and len(trained_items) == 72
    bundle = load_version(version.directory)
    assert bundle.task.name == "sentiment" and version.metrics == outcome.metrics
    # the split is frozen: a second training keeps it
    train_project(project, "reviews", TrainConfig(**FAST))
    with project.transaction() as session:
        assert set(session.scalars(select(Item.id).where(Item.split == "eval"))) == evaluation


@pytest.mark.slow
def test_a_worse_candidate_is_not_promoted(project):
    train_project(project, "reviews", TrainConfig(**FAST))

    with project.transaction() as session:  # shuffle the training labels; the evaluation split keeps the true ones
        training = session.scalars(select(Annotation).join(Item, Item.id == Annotation.item_id)
                                   .where(Item.split == "train").order_by(Annotation.id)).all()
        labels = [a.payload for a in training]
        random.Random(1).shuffle(labels)
        for annotation, label in zip(training, labels):
            annotation.payload = label

    outcome = train_project(project, "reviews", TrainConfig(**FAST), min_eval=5)
    assert outcome.decision == "kept", (outcome.metrics, outcome.champion_metrics, outcome.gate)
    assert outcome.gate.high < 0 and "confidently worse" in outcome.message
    with project.transaction() as session:
        project_id = get_project(session, "reviews").id
        assert champion(session, project_id).name == "v001"
        assert [run.decision for run in runs(session, project_id)] == ["promoted", "kept"]


def decide(store, count, label="positive"):
    """``count`` new reviews imported without a label, then decided by an annotator (a person decides only
    items that need a decision: gold items are never served again)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "new.txt"
        path.write_text("".join(f"新来的第{n}条评论，味道很好\n" for n in range(count)), encoding="utf-8")
        import_file(store, "reviews", path)
    with store.transaction() as session:
        project_id = get_project(session, "reviews").id
        items = session.scalars(select(Item.id).where(Item.text.like("新来的%")).order_by(Item.id).limit(count)).all()
        for item_id in items:
            record_decision(session, project_id, item_id, "ann", "s1", "correct", label)


@pytest.mark.slow
def test_retrain_waits_for_enough_new_decisions_then_trains(project):
    train_project(project, "reviews", TrainConfig(**FAST))
    skipped = retrain_project(project, "reviews", TrainConfig(**FAST), min_new=5, tolerance=0.05)
    assert skipped.decision == "skipped" and "0 new decision(s)" in skipped.message and "5" in skipped.message
    decide(project, 5)
    with project.transaction() as session:
        assert new_decisions_since(session, get_project(session, "reviews").id, None) == 5
    outcome = retrain_project(project, "reviews", TrainConfig(**FAST), min_new=5, tolerance=0.05)
    assert outcome.decision in ("promoted", "kept") and outcome.version == "v002"
    with project.transaction() as session:
        project_id = get_project(session, "reviews").id
        assert [run.trigger for run in runs(session, project_id)] == ["manual", "retrain"]
        assert session.get(Lock, "retrain:reviews") is None  # released


@pytest.mark.slow
def test_a_stale_lock_is_recovered_and_a_live_one_respected(project):
    host = socket.gethostname()
    with project.transaction() as session:
        session.add(Lock(name="retrain:reviews", owner=f"{host}:{os.getppid()}", acquired_at=utcnow()))
    busy = retrain_project(project, "reviews", TrainConfig(**FAST), min_new=0, tolerance=0.0)
    assert busy.decision == "skipped" and "another retrain is running" in busy.message
    with project.transaction() as session:
        session.get(Lock, "retrain:reviews").owner = f"{host}:999999999"  # a killed run's pid
    outcome = retrain_project(project, "reviews", TrainConfig(**FAST), min_new=0, tolerance=0.0)
    assert outcome.decision == "promoted"


@pytest.mark.slow
def test_every_training_holds_the_project_lock_and_version_names_are_unique(project, tmp_path):
    """Issue 'the house's seams', part 5: a manual train of a project another process is training is refused
    with a sentence (and writes nothing), retrain skips, and the schema refuses a second v001."""
    from click.testing import CliRunner
    from sqlalchemy.exc import IntegrityError

    from bertanno.app.training_runs import TrainingBusy
    from bertanno.cli import cli
    from bertanno.store.versions import add_version

    host = socket.gethostname()
    with project.transaction() as session:
        session.add(Lock(name="train:reviews", owner=f"{host}:{os.getppid()}", acquired_at=utcnow()))
    with pytest.raises(TrainingBusy, match="another training of reviews is running"):
        train_project(project, "reviews", TrainConfig(**FAST))
    result = CliRunner().invoke(cli, ["--db", project.url, "train", "reviews", "--epochs", "1"])
    assert result.exit_code == 1 and "another training of reviews is running" in str(result.exception)
    busy = retrain_project(project, "reviews", TrainConfig(**FAST), min_new=0, tolerance=0.0)
    assert busy.decision == "skipped" and "another training" in busy.message
    with project.transaction() as session:
        project_id = get_project(session, "reviews").id
        assert runs(session, project_id) == []  # nothing started
        session.get(Lock, "train:reviews").owner = f"{host}:999999999"  # its process is gone: taken over
    assert train_project(project, "reviews", TrainConfig(**FAST)).version == "v001"
    with pytest.raises(IntegrityError):
        with project.transaction() as session:
            add_version(session, project_id, "v001", str(tmp_path), "x", {}, {}, None)


@pytest.mark.slow
def test_rollback_restores_the_previous_champions_predictions(project, tmp_path):
    unlabelled = tmp_path / "new.txt"
    unlabelled.write_text("第九十家店很好\n第九十一家店太差\n第九十二家店满意\n", encoding="utf-8")
    import_file(project, "reviews", unlabelled)
    first = train_project(project, "reviews", TrainConfig(**FAST))

    def current_predictions():
        with project.transaction() as session:
            ids = session.scalars(select(Item.id).where(Item.source.like("new.txt%"))).all()
            return {i: (p.model_version, p.payload) for i, p in latest_predictions(session, ids).items()}

    before = current_predictions()
    assert {version for version, _ in before.values()} == {first.version}
    second = train_project(project, "reviews", TrainConfig(**{**FAST, "epochs": 1, "learning_rate": 1e-5}),
                           promote=False)
    assert "v002 is the champion (was v001)" == promote(project, "reviews", second.version)
    assert {version for version, _ in current_predictions().values()} == {"v002"}
    assert rollback(project, "reviews") == "v001 is the champion again (v002 retired)"
    assert current_predictions() == before  # v001 predicts again, the same labels
    with pytest.raises(BertannoError, match="no earlier champion"):
        rollback(project, "reviews")


@pytest.mark.slow
def test_hook_model_promoted(project):
    from bertanno import hookimpl
    from bertanno.core.plugins import Plugins

    heard = []

    class Listener:
        @hookimpl
        def model_promoted(self, project, version):
            heard.append((project, version))

    listening = Plugins(load_entrypoints=False, extra=[Listener()])
    train_project(project, "reviews", TrainConfig(**{**FAST, "epochs": 1}), plugins=listening)
    train_project(project, "reviews", TrainConfig(**{**FAST, "epochs": 1}), promote=False, plugins=listening)
    promote(project, "reviews", "v002", plugins=listening)
    rollback(project, "reviews", plugins=listening)
    assert heard == [("reviews", "v001"), ("reviews", "v002"), ("reviews", "v001")]


@pytest.mark.slow
def test_evaluate_on_the_split_and_on_a_file(project, tmp_path):
    outcome = train_project(project, "reviews", TrainConfig(**FAST))
    assert evaluate(project, "reviews") == outcome.metrics
    gold = tmp_path / "gold.jsonl"
    gold.write_text(sentiment_lines(20, seed=5), encoding="utf-8")
    scores = evaluate(project, "reviews", "v001", str(gold))
    assert set(scores) == {"accuracy", "macro_f1", "evaluation_items"} and scores["evaluation_items"] == 20


def test_frozen_mode_computes_features_once(project, tmp_path, monkeypatch):
    from bertanno.core import training

    calls = []
    original = training.encoder_features
    monkeypatch.setattr(training, "encoder_features", lambda *a, **k: calls.append(1) or original(*a, **k))
    config = TrainConfig(mode="frozen", epochs=3, batch_size=8, learning_rate=1e-2, cache_dir=tmp_path / "cache")
    train_project(project, "reviews", config)
    train_project(project, "reviews", config)
    assert len(calls) == 1 and len(list((tmp_path / "cache").glob("features-*.pt"))) == 1


def test_lora_saves_a_plain_model(project):
    outcome = train_project(project, "reviews", TrainConfig(mode="lora", epochs=1, batch_size=16))
    with project.transaction() as session:
        directory = champion(session, get_project(session, "reviews").id).directory
    bundle = load_version(directory)
    assert type(bundle.model).__name__ == "BertForSequenceClassification" and outcome.version == "v001"


def test_ctrl_c_during_train_saves_the_best_epoch_and_exits_130(project, tmp_path, monkeypatch):
    from contextlib import contextmanager

    import bertanno.cli.training as training_cli
    from bertanno.cli import cli

    @contextmanager
    def pressed_ctrl_c(title):
        def on_step(step, total, loss):
            if step == 25:
                raise KeyboardInterrupt

        yield on_step, lambda *args, **kwargs: None

    monkeypatch.setattr(training_cli, "training_progress", pressed_ctrl_c)
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "train", "reviews", "--epochs",
                                      str(FAST["epochs"]), "--batch-size", str(FAST["batch_size"])])
    assert result.exit_code == 130, result.output
    assert "saved from the best epoch before the interruption (not promoted)" in result.stdout
    with project.transaction() as session:
        assert len(list_versions(session, get_project(session, "reviews").id)) == 1  # what was trained is kept


def test_ctrl_c_keeps_the_best_epoch_and_does_not_promote(project):
    def interrupt(step, total, loss):
        if step == 25:
            raise KeyboardInterrupt

    outcome = train_project(project, "reviews", TrainConfig(**FAST), on_step=interrupt)
    assert outcome.decision == "interrupted" and outcome.result.interrupted
    assert outcome.result.best_epoch >= 1  # 9 steps an epoch: the interruption came in the third
    with project.transaction() as session:
        project_id = get_project(session, "reviews").id
        assert champion(session, project_id) is None and len(list_versions(session, project_id)) == 1


@pytest.mark.parametrize("task, labels, lines", [
    ("ner", ["PER", "LOC"], ['{"text": "张三在北京", "spans": [[0, 2, "PER"], [3, 5, "LOC"]]}',
                             '{"text": "李四去上海", "spans": [[0, 2, "PER"], [3, 5, "LOC"]]}']),
    ("pair", ["0", "1"], ['{"text": "花呗怎么还", "text_b": "花呗如何还款", "label": "1"}',
                          '{"text": "借呗额度", "text_b": "今天天气", "label": "0"}']),
])
def test_every_task_trains_into_a_version_that_predicts(tmp_path, tiny_base, monkeypatch, task, labels, lines):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "p", task, labels, tiny_base)
    data = tmp_path / "data.jsonl"
    varied = [line.replace("张三", f"张{n}").replace("花呗怎么还", f"花呗{n}怎么还").replace("借呗额度", f"借呗{n}额度")
              for n in range(15) for line in lines]
    data.write_text("\n".join(varied) + "\n", encoding="utf-8")
    import_file(store, "p", data)
    outcome = train_project(store, "p", TrainConfig(epochs=2, batch_size=8, learning_rate=3e-3))
    assert outcome.decision == "promoted" and outcome.metrics
    with store.transaction() as session:
        directory = champion(session, get_project(session, "p").id).directory
        predictions = latest_predictions(session, session.scalars(select(Item.id)).all())
    assert load_version(directory).task.name == task
    assert predictions == {}  # every item is labelled: nothing left to pre-annotate
    store.close()


def test_scheduling_helpers():
    assert parse_every("30m") == 1800 and parse_every("1h") == 3600 and parse_every("2d") == 172800
    with pytest.raises(BertannoError, match="--every takes a duration"):
        parse_every("hourly")
    assert cron_schedule(1800) == "*/30 * * * *" and cron_schedule(7200) == "0 */2 * * *"
    assert cron_note(1800) is None and cron_note(86400) is None
    # what cron cannot repeat exactly is rounded to the nearest interval it can, and said
    for every, expression, interval in (("90m", "0 */2 * * *", "2h"), ("7h", "0 */8 * * *", "8h"),
                                    ("2d", "0 3 * * *", "1d"), ("45s", "*/1 * * * *", "1m"), ("9m", "*/10 * * * *", "10m")):
        assert cron_schedule(parse_every(every)) == expression
        assert f"cannot repeat every {every} exactly: the crontab line runs every {interval}" in cron_note(parse_every(every))
    files = schedule_files("reviews", "1h", "sqlite:///team.db", ["--min-new", "50"], Path("/srv/ann"))
    assert files["crontab"].startswith("0 */1 * * * cd /srv/ann && ") and "retrain reviews --min-new 50" in files["crontab"]
    assert "OnUnitActiveSec=3600s" in files["bertanno-retrain-reviews.timer"]
    slept, ran = [], []
    watch("10m", lambda: ran.append(1), sleep=slept.append, rounds=3)
    assert ran == [1, 1, 1] and slept == [600, 600]


def test_training_from_the_command_line(project, tmp_path):
    from bertanno.cli import cli

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", db, "train", "reviews", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    # the numbers not given come from the rule for the base model (random weights here), said before training
    assert ("training with lr 0.001, 2 epochs, batch 32; --lr, --batch-size by the rule for random weights (a "
            "model trained from scratch needs a large step)") in result.stderr
    assert "v001 is the champion" in result.stdout and "evaluation split: accuracy" in result.stdout
    listing = runner.invoke(cli, ["--db", db, "versions", "reviews", "--json"])
    assert [(v["name"], v["status"]) for v in json.loads(listing.stdout)] == [("v001", "champion")]
    result = runner.invoke(cli, ["--db", db, "retrain", "reviews", "--min-new", "10"])
    assert result.exit_code == 0 and "retraining starts at 10" in result.stdout
    assert "crontab" in runner.invoke(cli, ["--db", db, "schedule", "reviews", "--every", "30m"]).stdout


def test_the_plan_gives_a_small_token_task_many_more_epochs_and_says_why():
    # issue 47, part 4: one rule (4 epochs) for NER too left zh-mini's token head at F1 0.000 after two epochs
    from types import SimpleNamespace

    def bundle(head):
        return SimpleNamespace(pretrained=True, task=SimpleNamespace(head=head),
                               model=SimpleNamespace(config=SimpleNamespace(hidden_size=256)))

    small, rule = TrainConfig().for_model(bundle("token"), examples=1215)   # 38 steps an epoch at batch 32
    assert small.epochs == 14 and small.patience == 3 and "1,215 examples of a token task" in rule.source
    assert TrainConfig().for_model(bundle("token"), examples=100)[0].epochs == 30          # at most 30
    assert TrainConfig().for_model(bundle("token"), examples=20000)[0].epochs == 4         # the rule's own
    assert TrainConfig().for_model(bundle("sequence"), examples=1215)[0].epochs == 4       # sentences: the rule
    assert TrainConfig(epochs=2).for_model(bundle("token"), examples=1215)[0].epochs == 2  # given: as given


def test_the_plan_gives_a_small_sentence_task_more_epochs_and_says_why():
    # issue 47, part 4: zh-mini on 270 ChnSentiCorp reviews with the rule's 4 epochs (36 steps) reached accuracy
    # 0.572, best at its first epoch; 16 epochs reached 0.761
    from types import SimpleNamespace

    def bundle(head="sequence"):
        return SimpleNamespace(pretrained=True, task=SimpleNamespace(head=head),
                               model=SimpleNamespace(config=SimpleNamespace(hidden_size=256)))

    small, rule = TrainConfig().for_model(bundle(), examples=270)  # 9 steps an epoch at batch 32
    assert small.epochs == 14 and small.patience == 3 and "270 examples" in rule.source
    assert TrainConfig().for_model(bundle(), examples=20)[0].epochs == 16                 # at most 16
    assert TrainConfig().for_model(bundle(), examples=1064)[0].epochs == 4                # the demo: the rule's
    assert TrainConfig().for_model(bundle(), examples=1064)[0].patience == 2
    assert TrainConfig(epochs=3).for_model(bundle(), examples=270)[0].epochs == 3         # given: as given


def test_training_defaults_follow_how_the_weights_came_to_be_and_the_width(make_bundle, tiny_base, plugins):
    from types import SimpleNamespace

    from bertanno.core.bundle import load_base

    def bundle(pretrained, hidden):
        return SimpleNamespace(pretrained=pretrained, model=SimpleNamespace(config=SimpleNamespace(hidden_size=hidden)))

    numbers = lambda rule: (rule.learning_rate, rule.epochs, rule.batch_size)  # noqa: E731
    assert numbers(training_defaults(bundle(True, 768))) == (2e-5, 3, 16)
    assert numbers(training_defaults(bundle(True, 1024))) == (2e-5, 3, 16)
    assert numbers(training_defaults(bundle(True, 256))) == (2e-4, 4, 32)
    assert numbers(training_defaults(bundle(False, 768))) == (1e-3, 4, 32)
    assert training_defaults(bundle(True, 768), "lora").learning_rate == 2e-4
    assert training_defaults(bundle(False, 128), "frozen").learning_rate == 1e-3
    # random weights stay known as such through a saved directory used as a base model
    task = plugins.task("sentiment", labels=["negative", "positive"])
    assert make_bundle(task="sentiment", layers=1, hidden=32).pretrained is False
    assert load_base(tiny_base, task, plugins).pretrained is False
    filled, rule = TrainConfig(epochs=2).for_model(load_base(tiny_base, task, plugins))
    assert (filled.learning_rate, filled.epochs, filled.batch_size) == (1e-3, 2, 32) and rule.kind == "random weights"
    assert TrainConfig(epochs=2, learning_rate=5e-5, batch_size=8).for_model(bundle(False, 32))[0].learning_rate == 5e-5


@pytest.mark.slow
def test_retrain_optimize_puts_a_variant_in_use_or_says_why_not(project, tmp_path):
    from bertanno.cli import cli
    from bertanno.core.bundle import read_version_record

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    small = runner.invoke(cli, ["--db", db, "retrain", "reviews", "--min-new", "0", "--epochs", "1", "--optimize"])
    assert small.exit_code == 0, small.output
    assert "v001 is the champion" in small.stdout  # promoted, then the gate wants more evaluation items
    assert "not optimised: the optimisation gate needs at least 50 labelled evaluation items" in small.stderr
    more = tmp_path / "more.jsonl"
    more.write_text(sentiment_lines(60, seed=1).replace("第", "另"), encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "reviews", str(more), "--split", "eval"]).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "retrain", "reviews", "--min-new", "0", "--epochs", "1", "--tolerance",
                                 "1", "--optimize", "--min-eval", "1"])
    assert result.exit_code == 0, result.output
    assert "v002 is the champion" in result.stdout and "optimised: v002 serves " in result.stdout
    with project.transaction() as session:
        directory = [v.directory for v in list_versions(session, get_project(session, "reviews").id)
                     if v.name == "v002"][0]
    record = read_version_record(directory)
    assert set(record["optimized"]) >= {"int8"} and record["variant"] in ("full", *record["optimized"])


@pytest.mark.slow  # 11 s
def test_a_killed_training_resumes_from_its_last_epoch_to_the_same_result(plugins, tmp_path):
    from conftest import MODELS, require
    from test_distributed import separable

    from bertanno.core.scratch import build_random_bundle
    from bertanno.core.training import JUDGE_FILE, last_checkpoint, train

    training, validation = separable(96, 0, 0), separable(32, 1000, 1)

    def run(checkpoints, stop_at=None):
        bundle = build_random_bundle(require(MODELS / "bert-base-chinese"),
                                     plugins.task("sentiment", labels=["negative", "positive"]), layers=1, hidden=32)
        steps = []

        def on_step(step, total, loss):
            steps.append(step)
            if step == stop_at:
                raise KeyboardInterrupt  # as Ctrl-C; a kill leaves the same folder behind

        config = TrainConfig(epochs=4, batch_size=16, learning_rate=3e-3, patience=4, seed=0, device="cpu",
                             checkpoint_dir=checkpoints)
        return train(bundle, training, validation, config, on_step=on_step), steps

    whole, _ = run(None)
    cut, steps = run(tmp_path / "run", stop_at=15)  # 6 steps an epoch: killed in the third
    assert cut.interrupted and steps[-1] == 15 and last_checkpoint(tmp_path / "run").name == "checkpoint-12"
    (tmp_path / "run" / "checkpoint-14").mkdir()  # a checkpoint cut off while saving: no judge file, not resumed
    resumed, steps = run(tmp_path / "run")
    assert steps[0] == 13 and steps[-1] == 24  # the third epoch again, from its start
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3, 4] and not resumed.interrupted
    for a, b in zip(whole.history, resumed.history):
        assert a["accuracy"] == b["accuracy"] and abs(a["loss"] - b["loss"]) < 1e-4, (whole.history, resumed.history)
    assert resumed.best_epoch == whole.best_epoch and resumed.seconds_per_epoch > 0
    for name, weight in whole.bundle.model.state_dict().items():
        assert (weight - resumed.bundle.model.state_dict()[name]).abs().max() < 1e-4, name
    assert (last_checkpoint(tmp_path / "run") / JUDGE_FILE).is_file()
    again, steps = run(tmp_path / "run")  # an ended run resumes as ended: nothing trained, the same best epoch
    assert steps == [] and again.history == resumed.history and again.best_epoch == resumed.best_epoch
    with pytest.raises(BertannoError, match="full fine-tuning in one process"):
        TrainConfig(mode="lora", checkpoint_dir=tmp_path / "run")
