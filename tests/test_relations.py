"""The ``relations`` task: its schema and the errors it gives, validation, strict relation scores checked by hand,
the review's proposal, edits, agreement, the JSON lines round trip (native and DUTIR's layout), and init."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bertanno.errors import BertannoError
from bertanno.plugins.builtin.formats.jsonl import read_jsonl, write_jsonl
from bertanno.plugins.task import Example, Relation, Span, SpanGraph

TEXT = "薛某某容留赵某某吸食甲基苯丙胺"
SCHEMA = "provide_shelter_for:Nh>Nh,posess:Nh>NDR,knows:Nh-Nh"
XUE, ZHAO, DRUG = Span(0, 3, "Nh"), Span(5, 8, "Nh"), Span(10, 15, "NDR")


@pytest.fixture
def task(plugins):
    return plugins.task("relations", labels=["Nh", "NDR"], relations=SCHEMA)


def graph(*relations, spans=(XUE, ZHAO, DRUG)):
    return SpanGraph(tuple(spans), tuple(relations))


def test_the_schema_reads_directed_undirected_and_any_and_names_what_is_wrong(plugins, task):
    assert [t.text() for t in task.relation_types] == ["provide_shelter_for:Nh>Nh", "posess:Nh>NDR", "knows:Nh-Nh"]
    assert task.allowed_relations(XUE, DRUG) == ["posess"] and task.allowed_relations(DRUG, XUE) == []
    assert task.allowed_relations(XUE, ZHAO) == ["provide_shelter_for", "knows"]
    broad = plugins.task("relations", labels=["A", "B", "C"], relations="r:A|B>*,s:C-A")
    assert broad.allowed_relations(Span(0, 1, "B"), Span(1, 2, "C")) == ["r"]
    assert broad.allowed_relations(Span(0, 1, "A"), Span(1, 2, "C")) == ["r", "s"]  # s is undirected
    for schema, fragment in [("sells", "write NAME:HEAD>TAIL"), ("r:Nh>Person", "Person is not an entity type"),
                             ("r:Nh>Nh,r:Nh>NDR", "named twice"), ("", "needs its relation types")]:
        with pytest.raises(BertannoError, match=fragment):
            plugins.task("relations", labels=["Nh", "NDR"], relations=schema)


def test_validation_refuses_what_the_schema_forbids(task):
    task.validate(Example(TEXT, payload=graph(Relation(XUE, ZHAO, "provide_shelter_for"))))
    for relation, fragment in [(Relation(DRUG, XUE, "posess"), "may not join NDR to Nh"),
                               (Relation(XUE, Span(9, 10, "Nh"), "knows"), "is not an entity of the item"),
                               (Relation(XUE, XUE, "knows"), "the same entity"),
                               (Relation(XUE, ZHAO, "sells"), "not in the schema")]:
        with pytest.raises(ValueError, match=fragment):
            task.validate(Example(TEXT, payload=graph(relation)))
    with pytest.raises(ValueError, match="given twice"):  # undirected: the same relation either way round
        task.validate(Example(TEXT, payload=graph(Relation(XUE, ZHAO, "knows"), Relation(ZHAO, XUE, "knows"))))


def test_relation_scores_are_strict_and_micro_as_counted_by_hand(task):
    gold = [graph(Relation(XUE, ZHAO, "provide_shelter_for"), Relation(ZHAO, DRUG, "posess")),
            graph(Relation(XUE, DRUG, "posess"))]
    predicted = [graph(Relation(XUE, ZHAO, "provide_shelter_for"), Relation(XUE, DRUG, "posess")),  # 1 right, 1 wrong
                 graph(Relation(XUE, Span(10, 14, "NDR"), "posess"), spans=(XUE, Span(10, 14, "NDR"), ZHAO))]  # tail 1 off
    # relations: tp 1, fp 2 (XUE>DRUG in item 1, XUE>10-14 in item 2), fn 2: F1 = 2 / (2 + 2 + 2)
    scores = task.metrics(gold, predicted)
    assert scores["f1"] == pytest.approx(2 / 6) and scores["precision"] == pytest.approx(1 / 3)
    assert scores["f1/provide_shelter_for"] == 1.0 and scores["f1/posess"] == 0.0
    assert scores["entity_f1"] == pytest.approx(2 * 5 / (6 + 6))  # 5 of 6 spans right on both sides
    statistics = task.item_statistics(gold, predicted)
    assert task.headline_from(statistics.sum(axis=0)) == pytest.approx(scores["f1"])


def test_undirected_relations_compare_either_way_round(task):
    one, other = graph(Relation(XUE, ZHAO, "knows")), graph(Relation(ZHAO, XUE, "knows"))
    assert task.metrics([one], [other])["f1"] == 1.0
    assert task.payload_to_json(one) == task.payload_to_json(other)


def test_the_review_proposes_by_majority_relation_by_relation(task):
    shelter, knows = Relation(XUE, ZHAO, "provide_shelter_for"), Relation(XUE, ZHAO, "knows")
    assert task.proposal([graph(shelter), graph(shelter)]) == graph(shelter)
    assert task.proposal([graph(shelter), graph(knows)]) is None  # two decisions that differ
    assert task.proposal([graph(shelter), graph(shelter), graph(knows)]) == graph(shelter)
    assert task.proposal([graph(shelter), graph(knows), graph()]) is None  # contested
    assert task.union([graph(shelter), graph(knows)]) == graph(*sorted([shelter, knows]))


def test_edits_and_agreement_count_relations(task):
    shelter = Relation(XUE, ZHAO, "provide_shelter_for")
    assert task.edit_summary(graph(shelter), graph(Relation(XUE, ZHAO, "knows"), Relation(XUE, DRUG, "posess"))) == \
        {"relation type changed": 1, "relation added": 1}
    assert task.edit_summary(graph(shelter), graph(spans=(XUE, ZHAO))) == {"removed": 1, "relation removed": 1}
    shorter = Span(5, 7, "Nh")
    scores = task.pair_agreement([graph(shelter)], [graph(Relation(XUE, shorter, "provide_shelter_for"),
                                                          spans=(XUE, shorter, DRUG))])
    assert scores["relation_f1_exact"] == 0.0 and scores["relation_f1_overlap"] == 1.0
    assert scores["f1_exact"] == pytest.approx(2 / 3) and scores["percent"] == 0.0


def test_a_correction_types_entities_then_numbered_relations(task):
    typed = task.parse_correction("薛某某:Nh 赵某某:Nh 甲基苯丙胺:NDR 1>2:provide_shelter_for 1>3:posess",
                                  Example(TEXT))
    assert typed == graph(Relation(XUE, ZHAO, "provide_shelter_for"), Relation(XUE, DRUG, "posess"))
    with pytest.raises(ValueError, match="no entity 4"):
        task.parse_correction("薛某某:Nh 1>4:posess", Example(TEXT))


spans_strategy = st.lists(st.tuples(st.integers(0, 13), st.integers(1, 3), st.sampled_from(["Nh", "NDR"])),
                          max_size=5)


@settings(max_examples=60, deadline=None)
@given(raw=spans_strategy, links=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6))
def test_payloads_and_jsonl_round_trip(plugins, raw, links):
    task = plugins.task("relations", labels=["Nh", "NDR"], relations="rel:*>*,near:*-*")
    spans = sorted({Span(s, min(s + n, len(TEXT)), label) for s, n, label in raw})
    relations = {task.normal(Relation(spans[h], spans[t], label))
                 for (h, t), label in zip(links, ["rel", "near"] * 3) if h < len(spans) and t < len(spans) and h != t}
    payload = SpanGraph(tuple(spans), tuple(sorted(relations)))
    assert task.payload_from_json(json.loads(json.dumps(task.payload_to_json(payload)))) == payload
    stream = io.StringIO()
    write_jsonl([Example(TEXT, payload=payload)], stream, {"kind": "relations"})
    [back] = read_jsonl(io.StringIO(stream.getvalue()), {})
    assert back.payload.spans == tuple(spans) and set(back.payload.relations) == relations


def test_dutirs_layout_reads_relations_by_their_ends_start(task):
    record = {"articleId": 32, "sentText": TEXT,
              "entityMentions": [{"start": 0, "end": 3, "text": "薛某某", "label": "Nh"},
                                 {"start": 5, "end": 8, "text": "赵某某", "label": "Nh"}],
              "relationMentions": [{"e1start": 0, "em1Text": "薛某某", "e21start": 5, "em2Text": "赵某某",
                                    "label": "provide_shelter_for"}]}
    [example] = read_jsonl(io.StringIO(json.dumps(record, ensure_ascii=False)), {})
    assert example.payload == SpanGraph((XUE, ZHAO), (Relation(XUE, ZHAO, "provide_shelter_for"),))
    task.validate(example)
    broken = {**record, "relationMentions": [{"e1start": 1, "e21start": 5, "label": "knows"}]}
    [error] = read_jsonl(io.StringIO(json.dumps(broken, ensure_ascii=False)), {})
    assert "no entity mention starts at 1" in error.message


def test_a_ner_project_refuses_relations_rather_than_dropping_them(plugins):
    with pytest.raises(ValueError, match="does not keep"):
        plugins.task("ner", labels=["Nh"]).validate(Example(TEXT, payload=SpanGraph((XUE,), ())))


def test_init_import_train_and_export_a_relations_project(tmp_path, make_bundle, monkeypatch):
    from click.testing import CliRunner

    from bertanno.cli import cli
    from bertanno.core.bundle import save_version

    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    base = save_version(make_bundle(task="ner", labels=["Nh", "NDR"], layers=1, hidden=32), tmp_path / "base")
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["--db", db, "init", "cases", "--task", "relations", "--labels", "Nh,NDR",
                                  "--relations", SCHEMA, "--model", str(base)])
    assert created.exit_code == 0, created.output
    assert "relations: provide_shelter_for:Nh>Nh,posess:Nh>NDR,knows:Nh-Nh" in created.output
    assert "--relations" in runner.invoke(cli, ["init", "--help"]).output
    wrong = runner.invoke(cli, ["--db", db, "init", "x", "--task", "ner", "--relations", SCHEMA])
    assert wrong.exit_code != 0 and "use it with --task relations" in wrong.output
    lines = []
    for n in range(30):
        name = "薛某" + chr(0x4E00 + n)  # 30 different texts, the same offsets
        text = f"{name}容留赵某某吸食甲基苯丙胺"
        lines.append({"text": text, "spans": [[0, 3, "Nh"], [5, 8, "Nh"], [10, 15, "NDR"]],
                      "relations": [[0, 1, "provide_shelter_for"], [1, 2, "posess"]]})
    data = tmp_path / "cases.jsonl"
    data.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    imported = runner.invoke(cli, ["--db", db, "import", "cases", str(data)])
    assert imported.exit_code == 0, imported.output
    trained = runner.invoke(cli, ["--db", db, "train", "cases", "--epochs", "1", "--lr", "3e-3"])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "out.jsonl"
    exported = runner.invoke(cli, ["--db", db, "export", "cases", "-o", str(out), "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    back = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(back) == 30 and all(record["relations"] == [[0, 1, "provide_shelter_for"], [1, 2, "posess"]]
                                   for record in back)
    refused = runner.invoke(cli, ["--db", db, "export", "cases", "-o", str(tmp_path / "x.conll"), "--format", "conll"])
    assert refused.exit_code != 0


GOOGLE = ('{"text":"Google was founded on September 4, 1998, by Larry Page and Sergey Brin.","entities":[{"id":0,'
          '"start_offset":0,"end_offset":6,"label":"ORG"},{"id":1,"start_offset":22,"end_offset":39,"label":"DATE"},'
          '{"id":2,"start_offset":44,"end_offset":54,"label":"PERSON"},{"id":3,"start_offset":59,"end_offset":70,'
          '"label":"PERSON"}],"relations":[{"from_id":0,"to_id":1,"type":"foundedAt"},{"from_id":0,"to_id":2,'
          '"type":"foundedBy"},{"from_id":0,"to_id":3,"type":"foundedBy"}]}')
"""doccano's own relation extraction import example (backend/data_import/pipeline/examples), as it ships."""


def test_doccanos_relation_layout_is_read_whole_by_a_relations_project_and_counted_by_others(plugins):
    from bertanno.plugins.builtin.formats.doccano import read_doccano

    task = plugins.task("relations", labels=["ORG", "DATE", "PERSON"], relations="foundedAt:ORG>DATE,foundedBy:ORG>PERSON")
    [example] = read_doccano(io.StringIO(GOOGLE), {"kind": "relations"})
    task.validate(example)
    org = Span(0, 6, "ORG")
    assert [(r.head, r.tail.label, r.label) for r in example.payload.relations] == \
        [(org, "DATE", "foundedAt"), (org, "PERSON", "foundedBy"), (org, "PERSON", "foundedBy")]
    rows = list(read_doccano(io.StringIO(GOOGLE), {"kind": "spans"}))
    assert len(rows[0].payload) == 4 and "3 relation(s) left out" in rows[1].message
    broken = GOOGLE.replace('"to_id":3', '"to_id":7')
    [error] = read_doccano(io.StringIO(broken), {"kind": "relations"})
    assert "its to_id 7 is not the id of one of the record's entities" in error.message


@settings(max_examples=40, deadline=None)
@given(raw=spans_strategy, links=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6))
def test_doccanos_relation_layout_round_trips(raw, links):
    from bertanno.plugins.builtin.formats.doccano import doccano_cannot_carry, read_doccano, write_doccano

    spans = sorted({Span(s, min(s + n, len(TEXT)), label) for s, n, label in raw})
    relations = {Relation(spans[h], spans[t], "rel") for h, t in links if h < len(spans) and t < len(spans) and h != t}
    example = Example(TEXT, payload=SpanGraph(tuple(spans), tuple(sorted(relations))))
    if doccano_cannot_carry(example, "relations"):
        assert not spans
        return
    stream = io.StringIO()
    write_doccano([example], stream, {"kind": "relations"})
    [back] = read_doccano(io.StringIO(stream.getvalue()), {"kind": "relations"})
    assert back.payload.spans == tuple(spans) and set(back.payload.relations) == relations


BRAT_TEXT = "薛某某将甲基苯丙胺卖给赵某某"
BRAT_ANN = ("T1\tNh 0 3\t薛某某\nT2\tNDR 4 9\t甲基苯丙胺\nT3\tNh 11 14\t赵某某\nT4\tSale 9 11\t卖给\n"
            "R1\tsell_drugs_to Arg1:T1 Arg2:T3\nE1\tSale:T4 Seller:T1 Buyer:T3 Drug:T2 Drug2:T2\n"
            "A1\tNegated E1\n#1\tAnnotatorNotes T1\tdefendant\n")


def test_brat_relations_and_events_read_whole_and_written_back(tmp_path, plugins):
    from bertanno.plugins.builtin.formats.brat import read_brat, write_brat

    task = plugins.task("relations", labels=["Nh", "NDR", "Sale"],
                        relations="sell_drugs_to:Nh>Nh,Seller:Sale>Nh,Buyer:Sale>Nh,Drug:Sale>NDR")
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "case.txt").write_text(BRAT_TEXT, encoding="utf-8")
    (folder / "case.ann").write_text(BRAT_ANN, encoding="utf-8")
    example, note = read_brat(folder, {"kind": "relations"})
    xue, drug, zhao, sale = Span(0, 3, "Nh"), Span(4, 9, "NDR"), Span(11, 14, "Nh"), Span(9, 11, "Sale")
    assert set(example.payload.relations) == {Relation(xue, zhao, "sell_drugs_to"), Relation(sale, xue, "Seller"),
                                              Relation(sale, zhao, "Buyer"), Relation(sale, drug, "Drug")}
    assert len(example.payload.relations) == 5  # Drug and Drug2 both: the same link twice, as brat holds it
    assert note.message == "left out (bertanno keeps entities and relations only): 1 attributes, 1 notes"
    example = Example(example.text, payload=SpanGraph(example.payload.spans,
                                                      tuple(sorted(set(example.payload.relations)))), meta=example.meta)
    task.validate(example)
    write_brat([example], tmp_path / "out", {"kind": "relations"})
    [back] = read_brat(tmp_path / "out", {"kind": "relations"})
    assert back.payload == example.payload
    [entities, left] = read_brat(folder, {"kind": "spans"})
    assert len(entities.payload) == 4 and "1 relations" in left.message and "1 events" in left.message
    (folder / "case.ann").write_text(BRAT_ANN + "R2\tsell_drugs_to Arg1:T1 Arg2:T9\n", encoding="utf-8")
    [error] = read_brat(folder, {"kind": "relations"})  # a bad document: no note about it
    assert "T9 names no entity or event" in error.message


LS_TASK = [{"id": 7, "data": {"text": TEXT}, "annotations": [{"result": [
    {"id": "a1", "from_name": "label", "to_name": "text", "type": "labels",
     "value": {"start": 0, "end": 3, "text": "薛某某", "labels": ["Nh"]}},
    {"id": "a2", "from_name": "label", "to_name": "text", "type": "labels",
     "value": {"start": 5, "end": 8, "text": "赵某某", "labels": ["Nh"]}},
    {"id": "a3", "from_name": "label", "to_name": "text", "type": "labels",
     "value": {"start": 10, "end": 15, "text": "甲基苯丙胺", "labels": ["NDR"]}},
    {"from_id": "a1", "to_id": "a2", "type": "relation", "direction": "right", "labels": ["provide_shelter_for"]},
    {"from_id": "a3", "to_id": "a2", "type": "relation", "direction": "left", "labels": ["posess"]},
    {"from_id": "a1", "to_id": "a3", "type": "relation", "direction": "right", "labels": []}]}]}]
"""Label Studio's relations between regions: ``direction`` left goes from ``to_id`` to ``from_id``."""


def test_label_studio_relations_between_regions_read_and_written_back(task):
    from bertanno.plugins.builtin.formats.label_studio import read_label_studio, write_label_studio

    example, note = read_label_studio(io.StringIO(json.dumps(LS_TASK, ensure_ascii=False)), {"kind": "relations"})
    assert example.payload == graph(Relation(XUE, ZHAO, "provide_shelter_for"), Relation(ZHAO, DRUG, "posess"))
    assert note.message.startswith("1 relation(s) without a label left out")
    task.validate(example)
    stream = io.StringIO()
    write_label_studio([example], stream, {"kind": "relations"})
    [back] = read_label_studio(io.StringIO(stream.getvalue()), {"kind": "relations"})
    assert back.payload.spans == example.payload.spans and set(back.payload.relations) == \
        set(example.payload.relations)
    entities, counted = read_label_studio(io.StringIO(json.dumps(LS_TASK, ensure_ascii=False)), {"kind": "spans"})
    assert len(entities.payload) == 3 and counted.message.startswith("3 relation(s) left out")
    dangling = json.loads(json.dumps(LS_TASK))
    dangling[0]["annotations"][0]["result"][3]["to_id"] = "zz"
    [error] = read_label_studio(io.StringIO(json.dumps(dangling, ensure_ascii=False)), {"kind": "relations"})
    assert "the region 'zz', which is no labelled span" in error.message


@settings(max_examples=60, deadline=None)
@given(raw=spans_strategy, links=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6))
def test_webanno_tsv_relation_layers_round_trip(raw, links):
    from bertanno.plugins.builtin.formats.webanno import read_webanno, webanno_cannot_carry, write_webanno

    spans: list[Span] = []
    for s, n, label in sorted(raw):  # entities of a relations project never overlap
        span = Span(s, min(s + n, len(TEXT)), label)
        if all(span.start >= other.end or span.end <= other.start for other in spans):
            spans.append(span)
    relations = {Relation(spans[h], spans[t], label) for (h, t), label in zip(links, ["rel", "a|b_c*"] * 3)
                 if h < len(spans) and t < len(spans) and h != t}
    example = Example(TEXT, payload=SpanGraph(tuple(spans), tuple(sorted(relations))))
    if webanno_cannot_carry(example, "relations"):
        assert not spans
        return
    stream = io.StringIO()
    write_webanno([example, example], stream, {"kind": "relations"})
    back = list(read_webanno(io.StringIO(stream.getvalue()), {"kind": "relations"}))
    assert [b.payload for b in back] == [example.payload] * 2


INCEPTION_TSV = """#FORMAT=WebAnno TSV 3.3
#T_SP=webanno.custom.Span|value
#T_RL=webanno.custom.ComplexRelation|boolValue|value|BT_webanno.custom.Span


#Text=薛某 卖给 赵某
1-1\t0-2\t薛某\tNh[1]\t_\t_\t_\t
1-2\t3-5\t卖给\tV\ttrue\tagent\t1-1[1_0]\t
1-3\t6-8\t赵某\tNh\ttrue|false\tsell\\_to|knows\t1-1[1_0]|1-1[1_0]\t

#Text=他 走了
2-1\t9-10\t他\tNh\tfalse\tsame\t1-3\t
2-2\t11-13\t走了\t_\t_\t_\t_\t
"""


def test_inceptions_relation_layer_is_read_by_a_relations_project_and_counted_by_others():
    from bertanno.plugins.builtin.formats.webanno import read_webanno

    options = {"kind": "relations", "layer": "webanno.custom.Span"}
    first, second, *notes = read_webanno(io.StringIO(INCEPTION_TSV), options)
    xue, verb, zhao = Span(0, 2, "Nh"), Span(3, 5, "V"), Span(6, 8, "Nh")
    assert first.payload == SpanGraph((xue, verb, zhao), (Relation(xue, verb, "agent"), Relation(xue, zhao, "knows"),
                                                          Relation(xue, zhao, "sell_to")))
    assert second.payload == SpanGraph((Span(0, 1, "Nh"),), ())
    assert "1 relation(s) between annotations of different sentences left out" in notes[0].message
    other = {**options, "relation_feature": "boolValue"}
    assert "true" in {r.label for r in next(read_webanno(io.StringIO(INCEPTION_TSV), other)).payload.relations}
    ner = list(read_webanno(io.StringIO(INCEPTION_TSV), {"kind": "spans", "layer": "webanno.custom.Span"}))
    assert ner[0].payload == [xue, verb, zhao] and "layers ComplexRelation" in ner[-1].message
    untyped = INCEPTION_TSV.replace("\tagent\t", "\t*\t")
    [error, *_] = read_webanno(io.StringIO(untyped), options)
    assert "a relation without a type from '1-1[1_0]' to token 1-2" in error.message
    [typed, *_] = read_webanno(io.StringIO(untyped), {**options, "relation_unlabelled": "rel"})
    assert Relation(xue, verb, "rel") in typed.payload.relations
    dangling = INCEPTION_TSV.replace("1-1[1_0]|1-1[1_0]", "1-2[7_0]|1-1[1_0]")
    [error, *_] = read_webanno(io.StringIO(dangling), options)
    assert "has an end at token 1-2 that is no single annotation" in error.message


def test_stats_agreement_and_the_report_count_relations(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bertanno.app.session import AnnotationSession
    from bertanno.cli import cli
    from bertanno.plugins.task import Prediction
    from bertanno.store import Store

    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    (tmp_path / "items.txt").write_text(f"{TEXT}\n{TEXT}，后被抓获。\n", encoding="utf-8")
    runner = CliRunner()
    init = ["--db", db, "init", "cases", "--task", "relations", "--labels", "Nh,NDR", "--relations", SCHEMA,
            "--overlap", "2"]
    assert runner.invoke(cli, init).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "cases", str(tmp_path / "items.txt")]).exit_code == 0
    shown = graph(Relation(XUE, ZHAO, "knows"))  # the model proposes knows; both make it provide_shelter_for

    class Proposes:
        def predict(self, examples):
            return [Prediction(shown, 0.6) for _ in examples], None

    store = Store.open(db)
    for who, final in (("ann", graph(Relation(XUE, ZHAO, "provide_shelter_for"), Relation(XUE, DRUG, "posess"))),
                       ("bo", graph(Relation(XUE, ZHAO, "provide_shelter_for")))):
        session = AnnotationSession(store, "cases", who, predictor=Proposes(), model_version="r001",
                                    predict_ahead=False)
        while session.next() is not None:  # the first item as each sees it; the second settled alike
            first = session.current.example.text == TEXT
            session.decide("correct", final if first else graph(Relation(XUE, ZHAO, "provide_shelter_for")))
        session.close()
    store.close()
    figures = json.loads(runner.invoke(cli, ["--db", db, "stats", "cases", "--json"]).output)
    edits = figures["overall"]["edits"]
    assert edits == {"relation type changed": 4, "relation added": 1}, edits
    stats = runner.invoke(cli, ["--db", db, "stats", "cases"], env={"COLUMNS": "120"})
    assert "relation type changed 4, relation added 1" in stats.output, stats.output
    agreement = runner.invoke(cli, ["--db", db, "agreement", "cases"], env={"COLUMNS": "120"})
    assert agreement.exit_code == 0 and "relation F1 0.80 (overlap 0.80)" in agreement.output, agreement.output
    report = runner.invoke(cli, ["--db", db, "report", "cases", "-o", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "relation F1 (exact)" in page and "<td>provide_shelter_for (relation)</td><td>1</td>" in page


def _graph_from(raw, links, labels=("rel", "near")):
    """Non-overlapping spans over ``TEXT`` from Hypothesis' ``raw`` and relations between them from ``links``."""
    spans: list[Span] = []
    for s, n, label in sorted(raw):
        span = Span(s, min(s + n, len(TEXT)), label)
        if all(span.start >= other.end or span.end <= other.start for other in spans):
            spans.append(span)
    relations = {Relation(spans[h], spans[t], label) for (h, t), label in zip(links, list(labels) * 3)
                 if h < len(spans) and t < len(spans) and h != t}
    return SpanGraph(tuple(spans), tuple(sorted(relations)))


@settings(max_examples=40, deadline=None)
@given(raw=spans_strategy, links=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6))
def test_brat_relations_round_trip(tmp_path_factory, raw, links):
    from bertanno.plugins.builtin.formats.brat import brat_cannot_carry, read_brat, write_brat

    example = Example(TEXT, payload=_graph_from(raw, links), meta={"name": "case"})
    if brat_cannot_carry(example, "relations"):
        assert not example.payload.spans
        return
    folder = tmp_path_factory.mktemp("brat")
    write_brat([example], folder, {"kind": "relations"})
    [back] = [b for b in read_brat(folder, {"kind": "relations"}) if isinstance(b, Example)]
    assert back.payload == example.payload


@settings(max_examples=40, deadline=None)
@given(raw=spans_strategy, links=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=6))
def test_label_studio_relations_round_trip(raw, links):
    from bertanno.plugins.builtin.formats.label_studio import read_label_studio, write_label_studio

    example = Example(TEXT, payload=_graph_from(raw, links))
    stream = io.StringIO()
    write_label_studio([example], stream, {"kind": "relations"})
    back = [b for b in read_label_studio(io.StringIO(stream.getvalue()), {"kind": "relations"})
            if isinstance(b, Example)]
    if not example.payload.spans:
        assert not back or not back[0].payload or not back[0].payload.spans
        return
    assert back[0].payload == example.payload
