"""What a newcomer tripped on: setups that cannot make a model are refused before anything is written,
and init refuses label sets that make no sense (issue 'the newcomer's defects', parts 5 and 7)."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from test_training import FAST, sentiment_lines, tiny_base  # noqa: F401  (fixture)

from bertanno.app.training_runs import train_project
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.projects import create_project
from bertanno.store.schema import ModelVersion, TrainingRun


def reviews(tmp_path, base, lines):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "r", "sentiment", ["negative", "positive"], base)
    data = tmp_path / "r.jsonl"
    data.write_text(lines, encoding="utf-8")
    import_file(store, "r", data)
    return store


def nothing_written(store) -> bool:
    with store.transaction() as session:
        return not session.scalar(select(func.count()).select_from(ModelVersion)) and \
            not session.scalar(select(func.count()).select_from(TrainingRun))


@pytest.mark.parametrize("lines, fragment", [
    ('{"text": "好", "label": "positive"}\n', "at least two labels"),
    ("".join(f'{{"text": "第{n}家很好", "label": "positive"}}\n' for n in range(30)), "at least two labels"),
    ('{"text": "好", "label": "positive"}\n{"text": "差", "label": "negative"}\n', "evaluation split is empty"),
])
def test_training_that_cannot_make_a_scored_model_is_refused_and_writes_nothing(tmp_path, tiny_base, lines,  # noqa: F811
                                                                                 fragment):
    store = reviews(tmp_path, tiny_base, lines)
    for family in ("transformer", "linear"):
        with pytest.raises(BertannoError, match=fragment):
            train_project(store, "r", TrainConfig(**FAST), models_dir=tmp_path / "m", family=family)
    assert nothing_written(store) and not (tmp_path / "m").exists()


@pytest.mark.parametrize("option, value, fragment", [
    ("--epochs", "0", "--epochs must be at least 1"),
    ("--batch-size", "0", "--batch-size must be at least 1"),
    ("--lr", "-0.1", "--lr must be a positive number"),
    ("--patience", "0", "--patience must be at least 1"),
])
def test_training_options_that_cannot_train_are_sentences(tmp_path, tiny_base, option, value, fragment):  # noqa: F811
    store = reviews(tmp_path, tiny_base, sentiment_lines(40))
    result = CliRunner().invoke(cli, ["--db", store.url, "train", "r", option, value])
    assert result.exit_code != 0 and fragment in str(result.exception)
    assert nothing_written(store)


def test_no_promote_says_why_it_kept_the_version(tmp_path, tiny_base):  # noqa: F811
    store = reviews(tmp_path, tiny_base, sentiment_lines(40))
    outcome = train_project(store, "r", TrainConfig(**FAST), promote=False, models_dir=tmp_path / "m")
    assert outcome.decision == "kept" and outcome.message.endswith("(--no-promote)")


def test_demo_epochs_zero_is_refused_before_anything_is_written(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--epochs", "0", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 2 and "--epochs" in result.output and "0 is not in the range" in result.output
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("labels, fragment", [
    ("", "names no label"),
    (",,", "names no label"),
    ("positive", "needs at least two"),
])
def test_init_refuses_label_sets_that_make_no_sense(tmp_path, labels, fragment):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = CliRunner().invoke(cli, ["--db", db, "init", "p", "--task", "sentiment", "--labels", labels])
    assert result.exit_code != 0 and fragment in result.output + str(result.exception)
    assert not (tmp_path / "db.sqlite").exists()  # the database made for the project is not left behind


@pytest.mark.parametrize("name", ["", "x/../t1", "../../escape", "..", "a/b", "a\\\\b", ".hidden", "a b", "x" * 101])
def test_project_names_that_could_escape_or_make_no_folder_are_refused(tmp_path, name):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = CliRunner().invoke(cli, ["--db", db, "init", name, "--task", "sentiment"])
    assert result.exit_code != 0 and "cannot name a project" in str(result.exception)


@pytest.mark.parametrize("name", ["reviews", "病历-2026", "demo_reviews.v2"])
def test_project_names_of_the_documented_set_are_accepted(tmp_path, name):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert CliRunner().invoke(cli, ["--db", db, "init", name, "--task", "sentiment"]).exit_code == 0


def test_a_version_is_never_written_outside_the_models_folder(tmp_path):
    from bertanno.app.training_runs import version_directory
    from bertanno.store.schema import Project

    project = Project(name="p", uid="0123456789abcdef0123456789abcdef")
    assert version_directory(tmp_path, project, "v001") == (tmp_path / "p-01234567" / "v001").resolve()
    for name, version in (("x/../..", "v001"), ("p", "../../v001"), ("../escape", "v001"), ("p", ".."), ("p", "a/b")):
        with pytest.raises(BertannoError, match="outside the models folder"):
            version_directory(tmp_path, Project(name=name, uid=project.uid), version)


@pytest.mark.slow
def test_projects_of_one_name_in_two_databases_never_share_or_serve_a_version(tmp_path, tiny_base):  # noqa: F811
    """Issue 'the newcomer's defects', part 2: a version is tied to its database and project."""
    from bertanno.app.training_runs import champion_model

    models = tmp_path / "models"
    lines = sentiment_lines(40)
    stores = []
    for number in (1, 2):
        folder = tmp_path / f"db{number}"
        folder.mkdir()
        store = reviews(folder, tiny_base, lines)
        train_project(store, "r", TrainConfig(**FAST), models_dir=models)
        stores.append(store)
    first, second = (champion_directory(store) for store in stores)
    assert first != second and first.parent.parent == second.parent.parent == models.resolve()
    assert all(directory.is_dir() for directory in (first, second))
    # a version of the other database's project, put in place of this one's, is refused with a sentence
    with stores[0].transaction() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.status == "champion"))
        version.directory = str(second)
    with pytest.raises(BertannoError, match="holds a version of another project"):
        champion_model(stores[0], "r")
    assert champion_model(stores[1], "r")[1] == "v001"


def champion_directory(store) -> Path:
    with store.transaction() as session:
        return Path(session.scalar(select(ModelVersion.directory).where(ModelVersion.status == "champion")))


@pytest.mark.parametrize("candidate, promote, says", [
    (0.83, True, "lower, but by a gap that could be chance (95 % interval of the difference -0.060 … +0.020), so the "
                 "gate lets v001 take over"),
    (0.88, True, "v001 takes over and serves the session"),
    (0.70, False, "v001 is confidently worse, so z001 keeps serving the session"),
])
def test_the_demos_headline_says_in_plain_words_which_model_scored_higher(candidate, promote, says):
    # issue 46, part 9: "v001 (0.83) takes over from z001 (snownlp: 0.85)" read as "v001 is better"
    from bertanno.app.demo import verdict_in_words
    from bertanno.app.training_runs import RunOutcome
    from bertanno.core.gate import GateVerdict

    gate = GateVerdict(promote, "…", "accuracy", candidate, 0.85, candidate - 0.85, -0.06, 0.02, 118, 1000, 0.0)
    said = verdict_in_words(RunOutcome("promoted" if promote else "kept", "…", "v001", gate=gate), "z001")
    assert said.startswith(f"v001 scored accuracy {candidate:.3f}, z001 (snownlp) 0.850 on the same 118 evaluation "
                           "reviews") and says in said


def test_two_trainings_with_the_same_seed_give_the_same_model(tmp_path, monkeypatch):
    # issue 46, part 9: two demo runs with "fixed seeds" gave different epochs and scores: the base model's new
    # head was drawn before the seed was set

    import numpy as np
    from safetensors.numpy import load_file
    from test_training import sentiment_lines

    from bertanno.app.training_runs import train_project
    from bertanno.core.training import TrainConfig
    from bertanno.store import Store

    heads, losses = [], []
    for run in ("a", "b"):
        monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / run / "models"))
        db = f"sqlite:///{tmp_path / run}.db"
        (tmp_path / "gold.jsonl").write_text(sentiment_lines(40), encoding="utf-8")
        assert CliRunner().invoke(cli, ["--db", db, "init", "r", "--task", "sentiment", "--model", "zh-mini"]).exit_code == 0
        assert CliRunner().invoke(cli, ["--db", db, "import", "r", str(tmp_path / "gold.jsonl")]).exit_code == 0
        store = Store.open(db)
        outcome = train_project(store, "r", TrainConfig(epochs=1, batch_size=8, seed=3), models_dir=tmp_path / run)
        losses.append([record["loss"] for record in outcome.result.history])
        [weights] = (tmp_path / run).glob("r-*/v001/model.safetensors")
        heads.append({name: array for name, array in load_file(weights).items() if "classifier" in name})
        store.close()
    assert losses[0] == losses[1]
    assert heads[0].keys() == heads[1].keys() and all(np.array_equal(heads[0][k], heads[1][k]) for k in heads[0])
