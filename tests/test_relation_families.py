"""The ``relation-linear`` family (issue 'relations and events', part 3): it learns entities and the relations
between them from a few judgments' worth of passages, serves them from files without pickle, refuses what it
cannot learn, trains and predicts from the command line, and the gate judges its candidates on relation F1."""

import json
import random

import numpy as np
import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.core.gate import decide
from bertanno.errors import BertannoError
from bertanno.plugins.builtin.relation_families import (
    NONE,
    RELATIONS_FILE,
    RelationLinearFamily,
    candidate_pairs,
    pair_features,
)
from bertanno.plugins.task import Example, Relation, Span, SpanGraph

SCHEMA = "sell_drugs_to:Nh>Nh,provide_shelter_for:Nh>Nh,traffic_in:Nh>NDR,knows:Nh-Nh"
PEOPLE = ["薛某某", "赵某某", "钱某某", "孙某某", "李某某", "周某某", "吴某某", "郑某某", "王某某", "冯某某"]
DRUGS = ["甲基苯丙胺", "海洛因", "氯胺酮"]


def passage(generator: random.Random) -> Example:
    """A passage of one of two shapes: a sale (seller sells a drug to a buyer: sell_drugs_to and traffic_in) or
    shelter (a host lets two people take a drug in the host's home: provide_shelter_for to each); a bystander
    who is in no relation in both."""
    host, guest, other, bystander = generator.sample(PEOPLE, 4)
    drug = generator.choice(DRUGS)
    if generator.random() < 0.5:
        text = f"被告人{host}在住处向{guest}贩卖{drug}一包，{bystander}在场。"
        links = [(host, guest, "sell_drugs_to"), (host, drug, "traffic_in")]
        names = [host, guest, drug, bystander]
    else:
        text = f"被告人{host}在其家中容留{guest}、{other}吸食{drug}，{bystander}未参与。"
        links = [(host, guest, "provide_shelter_for"), (host, other, "provide_shelter_for")]
        names = [host, guest, other, drug, bystander]
    spans, at = {}, 0
    for name in names:
        start = text.index(name, at if name not in spans else 0)
        spans[name] = Span(start, start + len(name), "NDR" if name in DRUGS else "Nh")
        at = start + len(name)
    relations = tuple(Relation(spans[h], spans[t], label) for h, t, label in links)
    return Example(text, payload=SpanGraph(tuple(sorted(spans.values())), tuple(sorted(relations))))


@pytest.fixture
def task(plugins):
    return plugins.task("relations", labels=["Nh", "NDR"], relations=SCHEMA)


def test_the_pairs_and_their_features(task):
    example = passage(random.Random(3))
    spans = sorted(example.payload.spans)
    pairs = candidate_pairs(task, spans)
    for head, tail, allowed in pairs:
        assert allowed == [name for name in task.allowed_relations(spans[head], spans[tail])
                           if task.relation_type(name).directed or spans[head] < spans[tail]]
    nh = sum(s.label == "Nh" for s in spans)
    ndr = len(spans) - nh
    assert len(pairs) == nh * (nh - 1) + nh * ndr  # Nh-Nh both ways, Nh>NDR one way, NDR>Nh none
    text = "被告人薛某某在其家中容留赵某某、钱某某吸食"
    people = [Span(3, 6, "Nh"), Span(12, 15, "Nh"), Span(16, 19, "Nh")]
    features = pair_features(text, people, 0, 2)
    assert "types=Nh>Nh" in features and "entities_between=1" in features and "b=容留" in features
    assert "b=Ⓔ、" in features and "c=赵" not in features  # an entity between is a mark, not its characters
    assert "tail-2=、" not in features and "tail-2=某、" in features


def test_it_learns_relations_and_entities_and_serves_them_from_files_without_pickle(task, tmp_path):
    generator = random.Random(0)
    training = [passage(generator) for _ in range(120)]
    test = [passage(generator) for _ in range(40)]
    family = RelationLinearFamily()
    record = family.fit(task, training, tmp_path / "r001")
    assert record["examples"] == 120 and 0 < record["related_pairs"] < record["pairs"]
    with np.load(tmp_path / "r001" / RELATIONS_FILE, allow_pickle=False) as stored:  # no pickle needed
        assert NONE in list(stored["classes"])
    model = family.load(tmp_path / "r001", {}, task)
    given = [SpanGraph(tuple(sorted(e.payload.spans)), tuple(model.relations_for(e.text, e.payload.spans)[0]))
             for e in test]
    assert task.metrics([e.payload for e in test], given)["f1"] > 0.95  # gold entities: the relations
    predictions, _ = model.predict(test)
    scores = task.metrics([e.payload for e in test], [p.payload for p in predictions])
    assert scores["entity_f1"] > 0.9 and scores["f1"] > 0.85  # its own entities, then the relations
    assert all(0 < p.confidence <= 1 for p in predictions)
    for prediction in predictions:
        task.validate(Example("x" * 100, payload=prediction.payload))  # only what the schema allows


def test_it_refuses_what_it_cannot_learn_or_serve(task, tmp_path, plugins):
    unrelated = [Example(e.text, payload=SpanGraph(e.payload.spans, ())) for e in
                 (passage(random.Random(n)) for n in range(5))]
    with pytest.raises(BertannoError, match="at least one relation"):
        RelationLinearFamily().fit(task, unrelated, tmp_path / "r001")
    assert not (tmp_path / "r001").exists()
    RelationLinearFamily().fit(task, [passage(random.Random(n)) for n in range(20)], tmp_path / "r002")
    other = plugins.task("relations", labels=["Nh", "NDR"], relations="married:Nh-Nh")
    with pytest.raises(BertannoError, match="not relation types of the project's schema"):
        RelationLinearFamily().load(tmp_path / "r002", {}, other)
    with pytest.raises(BertannoError, match="pre-annotates relation tasks"):
        RelationLinearFamily().check_task(plugins.task("ner", labels=["Nh"]))


def test_the_gate_judges_a_relation_candidate_on_relation_f1(task):
    gold = [passage(random.Random(n)).payload for n in range(60)]
    no_relations = [SpanGraph(g.spans, ()) for g in gold]  # every entity right, no relation
    kept = decide(task, gold, no_relations, gold)
    assert not kept.promote and kept.metric == "f1" and kept.candidate == 0.0 and kept.champion == 1.0
    assert decide(task, gold, gold, no_relations).promote


def test_train_and_predict_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generator = random.Random(5)
    rows = []
    for example in (passage(generator) for _ in range(80)):
        graph = example.payload
        index = {span: n for n, span in enumerate(graph.spans)}
        rows.append({"text": example.text, "spans": [list(s) for s in graph.spans],
                     "relations": [[index[r.head], index[r.tail], r.label] for r in graph.relations]})
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                         encoding="utf-8")
    runner = CliRunner()
    init = ["--db", db, "init", "cases", "--task", "relations", "--labels", "Nh,NDR", "--relations", SCHEMA]
    assert runner.invoke(cli, init).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "cases", str(tmp_path / "gold.jsonl")]).exit_code == 0
    trained = runner.invoke(cli, ["--db", db, "train", "cases", "--family", "relation-linear"])
    assert trained.exit_code == 0 and "r001 is the champion" in trained.output, trained.output
    [row] = json.loads(runner.invoke(cli, ["--db", db, "versions", "cases", "--json"]).output)
    assert row["family"] == "relation-linear" and row["metrics"]["f1"] > 0.8, row
    (tmp_path / "new.txt").write_text("被告人吴某某在住处向郑某某贩卖海洛因一包，王某某在场。\n", encoding="utf-8")
    predicted = runner.invoke(cli, ["predict", row["directory"], str(tmp_path / "new.txt")])
    assert predicted.exit_code == 0, predicted.output
    out = json.loads(predicted.stdout.splitlines()[0])
    spans = [tuple(s) for s in out["spans"]]
    named = {(spans[h][0], spans[t][0], label) for h, t, label in out["relations"]}
    assert named == {(3, 10, "sell_drugs_to"), (3, 15, "traffic_in")}, out


def test_a_relations_session_refits_the_family_live_and_serves_its_relations(tmp_path):
    from test_live import wait_for

    from bertanno.app.session import AnnotationSession
    from bertanno.core.import_export import import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as db:
        create_project(db, "cases", "relations", ["Nh", "NDR"], "bert-base-chinese", config={"relations": SCHEMA})
    generator = random.Random(7)
    examples = {e.text: e for e in (passage(generator) for _ in range(40))}
    (tmp_path / "items.txt").write_text("\n".join(examples) + "\n", encoding="utf-8")
    import_file(store, "cases", tmp_path / "items.txt")
    session = AnnotationSession(store, "cases", "tester", live_every=20, models_dir=tmp_path / "m")
    assert [family.name for family in session.live.families] == ["relation-linear"]
    for _ in range(20):
        current = session.next()
        session.decide("correct", examples[current.example.text].payload)
    assert wait_for(lambda: not session.live.running and session.live.last is not None, 60), session.live.status()
    current = session.next()
    proposed = current.prediction.payload
    assert proposed.relations and proposed == examples[current.example.text].payload
    session.close()


def test_the_transformer_family_learns_relations_from_typed_entity_markers(task, tmp_path, plugins):
    from bertanno.core.relation_transformer import HEAD_FILE, RECORD, marked_input, markers

    family = plugins.family("relation-transformer")
    assert family.trainable and family.example_kinds == {"relations"}
    generator = random.Random(0)
    training, test = [passage(generator) for _ in range(60)], [passage(generator) for _ in range(30)]
    record = family.fit(task, training, tmp_path / "t001", epochs=3)
    assert record["base_model"] == "zh-mini" and 1 <= record["best_epoch"] <= 3
    assert (tmp_path / "t001" / HEAD_FILE).is_file() and json.loads((tmp_path / "t001" / RECORD).read_text())
    assert not list((tmp_path / "t001").rglob("*.bin")) and not list((tmp_path / "t001").rglob("*.pkl"))
    model = family.load(tmp_path / "t001", {}, task)
    given = [SpanGraph(tuple(sorted(e.payload.spans)), tuple(model.relations_for(e.text, e.payload.spans)[0]))
             for e in test]
    assert task.metrics([e.payload for e in test], given)["f1"] > 0.8
    predictions, _ = model.predict(test[:5])
    for prediction in predictions:
        task.validate(Example("x" * 100, payload=prediction.payload))
    # the markers: each entity between its type's two reserved tokens, the start marker's place recorded
    example = test[0]
    spans = sorted(example.payload.spans)
    marks = markers(model.tokenizer, task.labels)
    ids, where = marked_input(model.tokenizer, example.text, spans, marks)
    assert set(where) == set(range(len(spans)))
    for index, span in enumerate(spans):
        start, end = marks[span.label]
        assert ids[where[index]] == start and ids[where[index] + len(example.text[span.start:span.end]) + 1] == end
    other = plugins.task("relations", labels=["Nh", "NDR"], relations="married:Nh-Nh")
    with pytest.raises(BertannoError, match="not relation types of the project's schema"):
        family.load(tmp_path / "t001", {}, other)
    unrelated = [Example(e.text, payload=SpanGraph(e.payload.spans, ())) for e in training[:5]]
    with pytest.raises(BertannoError, match="at least one relation"):
        family.fit(task, unrelated, tmp_path / "t002")
