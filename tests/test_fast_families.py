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


def _reviews(count, seed):
    """Short made-up reviews over a few hundred characters: enough distinct n-grams that collisions of a small
    hash would show."""
    generator = random.Random(seed)
    characters = [chr(0x4E00 + generator.randrange(3000)) for _ in range(400)]
    good, bad = characters[:20], characters[20:40]
    examples = []
    for n in range(count):
        label = "positive" if n % 2 else "negative"
        body = "".join(generator.choice(characters[40:]) for _ in range(generator.randint(6, 30)))
        mark = "".join(generator.choice(good if label == "positive" else bad) for _ in range(2))
        examples.append(Example(body[:4] + mark + body[4:], payload=label))
    return examples


@pytest.mark.parametrize("kind", ["sentiment", "pair"])
def test_the_linear_family_is_the_tfidf_baseline(tmp_path, plugins, kind):
    # issue 47, part 4: at 2^18 hashed buckets the live model scored 0.4 to 1.6 points under the TF-IDF baseline on
    # the same 1,500 examples; it must be that baseline: the same probabilities as scikit-learn's TfidfVectorizer
    # (char 1-3-grams, min_df 2, sublinear tf) and logistic regression (C 4), n-grams unseen in training ignored
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from bertanno.plugins.builtin.fast_families import LinearFamily

    task = plugins.task(kind, labels=["negative", "positive"])
    train, test = _reviews(300, seed=1), _reviews(60, seed=2)
    if kind == "pair":
        train = [Example(e.text, payload=e.payload, text_b=f.text) for e, f in zip(train, train[1:] + train[:1])]
        test = [Example(e.text, payload=e.payload, text_b=f.text) for e, f in zip(test, test[1:] + test[:1])]
    family = LinearFamily()
    family.fit(task, train, tmp_path / "v")
    served, _ = family.load(tmp_path / "v", {}, task).predict(test)

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    vectorizer.fit([e.text for e in train] + ([e.text_b for e in train] if kind == "pair" else []))

    def features(examples):
        a = vectorizer.transform([e.text for e in examples])
        if kind != "pair":
            return a
        b = vectorizer.transform([e.text_b for e in examples])
        return hstack([a, b, a.multiply(b)]).tocsr()

    baseline = LogisticRegression(C=4.0, max_iter=2000).fit(features(train), [e.payload for e in train])
    expected = baseline.predict_proba(features(test))[:, list(baseline.classes_).index("positive")]
    assert np.allclose([p.scores["positive"] for p in served], expected, atol=2e-3)


def test_a_linear_version_saved_before_the_vocabulary_is_served_as_it_was_trained(tmp_path, plugins):
    # versions saved before 2026-12-07 hold dense coefficients over 2^18 buckets and an idf per bucket
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.preprocessing import normalize

    from bertanno.plugins.builtin.fast_families import LINEAR_FILE, LinearFamily

    task = plugins.task("sentiment", labels=["negative", "positive"])
    buckets = 2 ** 18
    generator = np.random.default_rng(0)
    coef = generator.normal(size=(1, buckets)).astype(np.float32)
    idf = generator.uniform(1, 3, size=buckets).astype(np.float32)
    (tmp_path / "v").mkdir()
    np.savez_compressed(tmp_path / "v" / LINEAR_FILE, coef=coef, intercept=np.array([0.5], dtype=np.float32),
                        classes=np.array(["negative", "positive"]), idf=idf)
    texts = ["这家店的菜很好吃", "服务太慢了"]
    served, _ = LinearFamily().load(tmp_path / "v", {}, task).predict([Example(t) for t in texts])
    counts = HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=buckets, alternate_sign=False,
                               norm=None).transform(texts).astype(np.float64)
    counts.data = 1 + np.log(counts.data)
    logit = normalize(counts.multiply(idf.reshape(1, -1)).tocsr()) @ coef[0] + 0.5
    assert np.allclose([p.scores["positive"] for p in served], 1 / (1 + np.exp(-logit)), atol=1e-5)


def test_the_linear_family_says_so_when_its_texts_hold_nothing_to_learn(tmp_path, plugins):
    from bertanno.plugins.builtin.fast_families import LinearFamily

    task = plugins.task("sentiment", labels=["negative", "positive"])
    with pytest.raises(BertannoError, match="no characters to learn from"):
        LinearFamily().fit(task, [Example("", payload="positive"), Example("", payload="negative")], tmp_path / "v")
