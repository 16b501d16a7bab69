"""The fast trainable families: linear (sentences, pairs) and crf (NER) train in seconds, are saved
without pickle, and compete under the same gate as every other family."""

import json
import random
import re

import numpy as np
import pytest
from click.testing import CliRunner
from test_training import sentiment_lines

from bertanno.app.training_runs import champion_model, train_project
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example
from bertanno.store import Store
from bertanno.store.projects import create_project

CONFIG = TrainConfig(epochs=1)


def project(tmp_path, task, labels, lines, name="p"):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, name, task, labels, "bert-base-chinese")
    data = tmp_path / f"{name}.jsonl"
    data.write_text(lines, encoding="utf-8")
    import_file(store, name, data)
    return store


def test_linear_learns_sentiment_and_serves_from_a_file_without_pickle(tmp_path):
    store = project(tmp_path, "sentiment", ["negative", "positive"], sentiment_lines(120))
    outcome = train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m")
    assert outcome.decision == "promoted" and outcome.version == "l001"
    assert outcome.metrics["accuracy"] >= 0.9, outcome.metrics
    [saved] = (tmp_path / "m").glob("p-*/l001/linear.npz")  # PROJECT-ID/VERSION
    stored = np.load(saved, allow_pickle=False)
    assert list(stored["classes"]) == ["negative", "positive"]
    model, name = champion_model(store, "p")
    [good, bad], _ = model.predict([Example("第九百家店很好"), Example("第九百家店太差")])
    assert name == "l001" and (good.payload, bad.payload) == ("positive", "negative")
    assert 0.5 < good.confidence <= 1 and set(good.scores) == {"negative", "positive"}


def test_linear_handles_pairs_and_refuses_a_single_label(tmp_path):
    generator = random.Random(0)
    rows = []
    for n in range(80):
        a = generator.choice(["怎么还款", "如何借钱", "额度多少", "利息多高"])
        same = n % 2 == 0
        b = a if same else generator.choice(["今天天气", "我要吃饭"])
        rows.append(json.dumps({"text": f"{a}{n}", "text_b": f"{b}{n}", "label": "match" if same else "no_match"},
                               ensure_ascii=False))
    store = project(tmp_path, "pair", ["no_match", "match"], "\n".join(rows) + "\n")
    outcome = train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m")
    assert outcome.version == "l001" and outcome.metrics["accuracy"] >= 0.75, outcome.metrics
    (tmp_path / "one").mkdir()
    one = project(tmp_path / "one", "sentiment", ["negative", "positive"],
                  '{"text": "好", "label": "positive"}\n{"text": "很好", "label": "positive"}\n')
    with pytest.raises(BertannoError, match="at least two labels"):
        train_project(one, "p", CONFIG, family="linear", models_dir=tmp_path / "m2")


def test_crf_learns_entities(tmp_path):
    generator = random.Random(1)
    rows = []
    for n in range(60):
        name, city = generator.choice(["张三", "李四", "王五"]), generator.choice(["北京", "上海", "广州"])
        text = f"{name}昨天去了{city}第{n}次"
        rows.append(json.dumps({"text": text, "spans": [[0, 2, "PER"], [6, 8, "LOC"]]}, ensure_ascii=False))
    store = project(tmp_path, "ner", ["PER", "LOC"], "\n".join(rows) + "\n")
    outcome = train_project(store, "p", CONFIG, family="crf", models_dir=tmp_path / "m")
    assert outcome.version == "c001" and outcome.metrics["f1"] >= 0.9, outcome.metrics
    model, _ = champion_model(store, "p")
    [prediction], _ = model.predict([Example("李四昨天去了广州第99次")])
    assert [tuple(s) for s in prediction.payload] == [(0, 2, "PER"), (6, 8, "LOC")]
    assert 0 < prediction.confidence <= 1


def test_a_family_that_does_not_fit_the_task_or_does_not_train_is_refused(tmp_path):
    store = project(tmp_path, "sentiment", ["negative", "positive"], sentiment_lines(20))
    with pytest.raises(BertannoError, match="cannot serve it"):
        train_project(store, "p", CONFIG, family="crf", models_dir=tmp_path / "m")
    with pytest.raises(BertannoError, match="does not train"):
        train_project(store, "p", CONFIG, family="snownlp", models_dir=tmp_path / "m")


def test_train_family_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    data = tmp_path / "reviews.jsonl"
    data.write_text(sentiment_lines(60), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "r", "--task", "sentiment"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "r", str(data)]).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "train", "r", "--family", "linear"])
    assert result.exit_code == 0 and "l001 is the champion" in result.output, result.output
    [row] = json.loads(runner.invoke(cli, ["--db", db, "versions", "r", "--json"]).output)
    assert row["family"] == "linear" and row["trained_on"] == 54
    listing = runner.invoke(cli, ["--db", db, "versions", "r"], env={"COLUMNS": "80"})
    [line] = [line for line in listing.output.splitlines() if line.startswith(" l001 ")]
    assert len(line) <= 80 and "acc " in line and "macro F1 " in line, listing.output  # one line, scores and date
    assert re.search(r" \d\d-\d\d \d\d:\d\d *$", line), line  # MM-DD HH:MM, not a date cut at the edge


def ner_lines(count: int) -> str:
    generator = random.Random(1)
    rows = []
    for n in range(count):
        name, city = generator.choice(["张三", "李四", "王五"]), generator.choice(["北京", "上海", "广州"])
        rows.append(json.dumps({"text": f"{name}昨天去了{city}第{n}次", "spans": [[0, 2, "PER"], [6, 8, "LOC"]]},
                               ensure_ascii=False))
    return "\n".join(rows) + "\n"


def test_every_family_is_served_by_predict_retrain_and_schedule(tmp_path, monkeypatch):
    # issue 46, part 3: predict refused a crf version ("not a fine-tuned transformer"); retrain and schedule had
    # no --family, so a NER team could not schedule the CRF the README recommends for a young project
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HOME", str(tmp_path))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    (tmp_path / "gold.jsonl").write_text(ner_lines(60), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "e", "--task", "ner", "--labels", "PER,LOC"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "e", str(tmp_path / "gold.jsonl")]).exit_code == 0
    retrained = runner.invoke(cli, ["--db", db, "retrain", "e", "--family", "crf", "--min-new", "1"])
    assert retrained.exit_code == 0 and "c001 is the champion" in retrained.output, retrained.output
    [row] = json.loads(runner.invoke(cli, ["--db", db, "versions", "e", "--json"]).output)
    (tmp_path / "new.txt").write_text("李四昨天去了广州第99次\n", encoding="utf-8")
    predicted = runner.invoke(cli, ["predict", row["directory"], str(tmp_path / "new.txt")])
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.stdout.splitlines()[0])["spans"] == [[0, 2, "PER"], [6, 8, "LOC"]]
    scheduled = runner.invoke(cli, ["--db", db, "schedule", "e", "--family", "crf", "--min-new", "20"])
    assert scheduled.exit_code == 0 and "retrain e --min-new 20 --family crf" in scheduled.output, scheduled.output
    wrong = runner.invoke(cli, ["--db", db, "schedule", "e", "--family", "linear"])
    assert wrong.exit_code != 0 and "task 'ner' is an entity-span task, so it cannot serve it" in str(wrong.exception)
    idle = runner.invoke(cli, ["--db", db, "retrain", "e", "--family", "linear", "--min-new", "500"])
    assert idle.exit_code != 0 and "is an entity-span task" in str(idle.exception)  # said, not "0 new decisions"


def test_train_names_a_family_that_cannot_serve_the_task_before_its_data(tmp_path, monkeypatch):
    # issue 46, part 6: train e --family linear on a NER project said "training needs at least one annotated entity"
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "e", "--task", "ner", "--labels", "PER"]).exit_code == 0
    refused = runner.invoke(cli, ["--db", db, "train", "e", "--family", "linear"])
    said = str(refused.exception)
    assert refused.exit_code != 0 and "the linear model family pre-annotates" in said
    assert "is an entity-span task" in said and "annotated entity" not in said
