"""Gazetteer pre-annotation: typed term lists matched longest-leftmost, served as champion g001 from the
first item (in a real terminal), with a sentence for every list that cannot serve."""

import json

import pexpect
import pytest
from click.testing import CliRunner
from conftest import Terminal

from bertanno.cli import cli
from bertanno.plugins.builtin.gazetteer_family import automaton, match_spans

TERMS = [("血压", "test"), ("高血压", "disease"), ("高血压病", "disease"), ("压病", "other"), ("头痛", "symptom")]


@pytest.mark.parametrize("order", [TERMS, list(reversed(TERMS))])
def test_matching_is_longest_leftmost_and_overlaps_resolve_the_same_whatever_the_order(order):
    text = "患高血压病和血压高，伴头痛"
    labels = {"disease": "disease", "test": "test", "symptom": "symptom", "other": "other"}
    spans = match_spans(automaton(order), text, labels)
    assert spans == [(1, 5, "disease"), (6, 8, "test"), (11, 13, "symptom")]
    assert [text[s:e] for s, e, _ in spans] == ["高血压病", "血压", "头痛"]
    assert match_spans(automaton(order), text, {"disease": "病"}) == [(1, 5, "病")]  # unmapped types: no span
    assert match_spans(automaton([]), text, labels) == []


def test_the_first_type_given_for_a_term_wins():
    assert match_spans(automaton([("阿司匹林", "drug"), ("阿司匹林", "treatment")]), "服用阿司匹林",
                       {"drug": "drug", "treatment": "treatment"}) == [(2, 6, "drug")]


def init(tmp_path, *args):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    return db, CliRunner().invoke(cli, ["--db", db, "init", "p", "--task", "ner", *args])


@pytest.mark.parametrize("content, fragment", [
    (b"", "holds no terms"),
    ("高血压\n".encode("utf-8"), "without an entity type"),
    ("高血压\tdisease\n".encode("gb18030"), "not UTF-8"),
    ("高血压\tdisease\n".encode("utf-8"), "none of the gazetteer model family's labels (disease)"),
])
def test_lists_that_cannot_serve_are_refused_with_a_sentence(tmp_path, monkeypatch, content, fragment):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    path = tmp_path / "terms.txt"
    path.write_bytes(content)
    db, result = init(tmp_path, "--labels", "person", "--gazetteer", str(path))
    message = result.output + str(result.exception)
    assert result.exit_code != 0 and fragment in message, message
    assert not (tmp_path / "models").exists()
    assert not (tmp_path / "db.sqlite").exists()  # the database made for the project is not left behind


def test_types_map_onto_labels_and_the_rest_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    _, result = init(tmp_path, "--labels", "疾病,症状", "--gazetteer", "medical", "--map", "disease=疾病,symptom=症状")
    assert result.exit_code == 0, result.output
    assert "g001 (gazetteer) pre-annotates from the first item:" in result.output
    assert "disease→疾病" in result.output and "symptom→症状" in result.output
    assert "not pre-annotated:" in result.output and "drug" in result.output
    _, both = init(tmp_path, "--labels", "PER", "--gazetteer", "medical", "--zero-shot", "lac")
    assert both.exit_code != 0 and "not both" in str(both.exception)


def clinical_notes(tmp_path, monkeypatch) -> str:
    """A NER project served by the built-in medical gazetteer, one note imported; its database URL."""
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db, result = init(tmp_path, "--labels", "disease,symptom", "--gazetteer", "medical")
    assert result.exit_code == 0, result.output
    data = tmp_path / "notes.txt"
    data.write_text("患者有高血压病史，近日头痛。\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["--db", db, "import", "p", str(data)]).exit_code == 0
    return db


@pytest.mark.slow
def test_a_gazetteer_project_shows_term_spans_on_the_first_item_in_a_terminal(tmp_path, monkeypatch):
    db = clinical_notes(tmp_path, monkeypatch)
    terminal = Terminal(["--db", db, "annotate", "p"], columns=110, rows=40)
    assert terminal.wait_for(lambda lines: "1 高血压 [3-6] disease" in "".join(lines)), "\n".join(terminal.lines())
    assert "2 头痛 [11-13] symptom" in "".join(terminal.lines())
    terminal.send("\r")
    assert terminal.wait_for(lambda lines: "all done" in "".join(lines))
    terminal.send("q")
    terminal.child.expect(pexpect.EOF, timeout=60)
    exported = CliRunner().invoke(cli, ["--db", db, "export", "p"]).output
    row = json.loads(exported.splitlines()[0])
    assert row["spans"] == [[3, 6, "disease"], [11, 13, "symptom"]]  # accepted as pre-annotated: 高血压, 头痛


def test_the_header_says_a_gazetteer_match_carries_no_confidence(tmp_path, monkeypatch):
    # issue 45: "pre-annotation 100% sure" over term-list matches misled; the family says what its number is
    from bertanno.app.session import AnnotationSession
    from bertanno.app.training_runs import champion_model
    from bertanno.store import Store

    db = clinical_notes(tmp_path, monkeypatch)
    store = Store.open(db)
    predictor, version = champion_model(store, "p")
    session = AnnotationSession(store, "p", "tester", predictor=predictor, model_version=version, predict_ahead=False)
    assert session.next() is not None and session.current.prediction is not None
    note, _ = session.item_note()
    assert note == "pre-annotation: term-list matches, no confidence" and "sure" not in note
    session.close()


# -- lexicon: the surfaces the team marked, learnt (issue 45, part 4) ------------------------------------------------

def test_the_lexicon_learns_each_marked_surface_with_its_type_and_precision():
    from bertanno.plugins.builtin.gazetteer_family import learn_lexicon
    from bertanno.plugins.task import Example

    examples = [Example("服用阿司匹林，血压高", payload=[(2, 6, "drug"), (7, 9, "symptom")]),
                Example("阿司匹林过敏，血压正常", payload=[(0, 4, "drug")]),   # 血压 unmarked here: 1 of 2
                Example("头痛，头痛", payload=[(0, 2, "symptom"), (3, 5, "disease")]),  # a tie: the first type
                Example("在家", payload=[(0, 1, "place")])]                        # one character: not learnt
    learnt = learn_lexicon(examples)
    assert learnt == [("头痛", "symptom", 0.5), ("血压", "symptom", 0.5), ("阿司匹林", "drug", 1.0)]
    examples.append(Example("血压稳定，血压下降", payload=[]))                       # 1 of 4 now: dropped
    assert [surface for surface, _, _ in learn_lexicon(examples)] == ["头痛", "阿司匹林"]


def test_a_lexicon_version_labels_the_same_term_in_new_items_and_says_how_sure(tmp_path, monkeypatch):
    from bertanno.app.training_runs import champion_model, train_project
    from bertanno.core.training import TrainConfig
    from bertanno.plugins.task import Example
    from bertanno.store import Store

    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db, result = init(tmp_path, "--labels", "drug,symptom")
    assert result.exit_code == 0, result.output
    data = tmp_path / "gold.jsonl"
    rows = [{"text": "服用阿司匹林后头痛", "spans": [[2, 6, "drug"], [7, 9, "symptom"]]},
            {"text": "阿司匹林过量", "spans": [[0, 4, "drug"]]}, {"text": "今日头痛加重", "spans": []}] * 4
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert CliRunner().invoke(cli, ["--db", db, "import", "p", str(data)]).exit_code == 0
    held = tmp_path / "eval.jsonl"
    held.write_text(json.dumps({"text": "阿司匹林与头痛", "spans": [[0, 4, "drug"], [5, 7, "symptom"]]},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["--db", db, "import", "p", str(held), "--split", "eval"]).exit_code == 0
    store = Store.open(db)
    outcome = train_project(store, "p", TrainConfig(), family="lexicon", models_dir=tmp_path / "models")
    assert outcome.version == "x001" and outcome.decision == "promoted", outcome.message
    model, name = champion_model(store, "p")
    [prediction], _ = model.predict([Example("停用阿司匹林，头痛缓解")])
    assert prediction.payload == [(2, 6, "drug"), (7, 9, "symptom")]
    assert prediction.confidence == 0.5  # 头痛: marked in 4 of its 8 occurrences
