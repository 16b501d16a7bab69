"""Relations from the keyboard (issue 'relations and events', part 2): the editor behind the relation view (one
undo history for spans and relations, relations that follow their entities), every key of the full screen's
relation view driven with Textual's pilot, a 600-character passage with 20 relations at 80×24, the plain
terminal's relation commands, and the review's drawing of relations that differ."""

import asyncio
import json

import pytest
from rich.console import Console
from test_annotation_app import run as drive
from test_annotation_app import screen_lines, standing

from bertanno.app.line_screen import KEYS, run_scripted
from bertanno.app.relation_editing import GraphEditor
from bertanno.app.screen import AnnotationApp
from bertanno.app.session import AnnotationSession
from bertanno.app.views import render_decisions
from bertanno.core.import_export import import_file
from bertanno.plugins.task import Example, Prediction, Relation, Span, SpanGraph
from bertanno.store.projects import create_project

SCHEMA = "sell_drugs_to:Nh>Nh,provide_shelter_for:Nh>Nh,traffic_in:Nh>NDR,knows:Nh-Nh"
LABELS = ["Nh", "NDR", "NT"]
TEXT = "被告人薛某某在住处向赵某某贩卖甲基苯丙胺0.5克，钱某某在场。"
XUE, ZHAO, DRUG, QIAN = Span(3, 6, "Nh"), Span(10, 13, "Nh"), Span(15, 20, "NDR"), Span(25, 28, "Nh")
NAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何"


def long_passage() -> tuple[str, SpanGraph]:
    """A 602-character judgment passage: 20 sales, each a seller, a buyer and the drug (60 entities), and a
    sell_drugs_to relation from each seller to the buyer (20 relations)."""
    text, spans, relations = "经审理查明，二〇一八年五月至十二月间，被告人们在本市多处住所内多次贩卖毒品，具体事实如下：", [], []
    for i in range(20):
        seller, buyer = NAMES[i] + "某甲", NAMES[i + 1] + "某乙"
        sentence = f"第{i + 1}次，被告人{seller}在住处向{buyer}贩卖甲基苯丙胺{i + 1}克。"
        ends = [len(text) + sentence.index(word) for word in (seller, buyer, "甲基苯丙胺")]
        seller_span, buyer_span = Span(ends[0], ends[0] + 3, "Nh"), Span(ends[1], ends[1] + 3, "Nh")
        spans += [seller_span, buyer_span, Span(ends[2], ends[2] + 5, "NDR")]
        relations.append(Relation(seller_span, buyer_span, "sell_drugs_to"))
        text += sentence
    return text, SpanGraph(tuple(spans), tuple(relations))


@pytest.fixture
def task(plugins):
    return plugins.task("relations", labels=LABELS, relations=SCHEMA)


def editor(task, relations=(Relation(XUE, ZHAO, "sell_drugs_to"),)):
    return GraphEditor(task, Example(TEXT), SpanGraph((XUE, ZHAO, DRUG, QIAN), tuple(relations)))


# -- the editor ----------------------------------------------------------------------------------------------------
def test_relations_are_numbered_made_only_as_the_schema_allows_and_never_twice(task):
    graph = editor(task)
    assert graph.describe_link(1) == "r1 薛某某 ─sell_drugs_to→ 赵某某"
    assert graph.allowed(1, 3) == ["traffic_in"] and graph.allowed(3, 1) == []
    assert graph.allowed(1, 2) == ["sell_drugs_to", "provide_shelter_for", "knows"]
    assert graph.relate(1, 3, "traffic_in") == 2
    with pytest.raises(ValueError, match="may not join NDR to Nh"):
        graph.relate(3, 1, "traffic_in")
    with pytest.raises(ValueError, match="r1 薛某某 ─sell_drugs_to→ 赵某某 is there already"):
        graph.relate(1, 2, "sell_drugs_to")
    with pytest.raises(ValueError, match="same entity"):
        graph.relate(1, 1, "knows")
    with pytest.raises(ValueError, match="no span '9'"):
        graph.relate(1, 9, "knows")
    knows = graph.relate(4, 1, "knows")  # undirected: kept with its ends in text order
    assert graph.links[knows] == (1, 4, "knows") and graph.describe_link(knows) == "r3 薛某某 ─knows─ 钱某某"
    with pytest.raises(ValueError, match="is there already"):
        graph.relate(1, 4, "knows")
    with pytest.raises(ValueError, match="undirected"):
        graph.reverse(knows)
    assert graph.graph == SpanGraph((XUE, ZHAO, DRUG, QIAN), (
        Relation(XUE, ZHAO, "sell_drugs_to"), Relation(XUE, DRUG, "traffic_in"), Relation(XUE, QIAN, "knows")))


def test_a_relation_follows_its_entity_and_goes_with_it_in_one_undo_history(task):
    graph = editor(task)
    graph.relate(1, 3, "traffic_in")
    graph.apply("]1")  # 薛某某 widened: the relations follow it
    assert graph.graph.relations[0].head == Span(3, 7, "Nh") and graph.dropped == []
    graph.apply("t 3 Nh")  # the drug made a person: traffic_in Nh>NDR no longer fits, and is dropped
    assert sorted(graph.links) == [1] and graph.dropped == ["r2 traffic_in"]
    graph.apply("- 2")  # 赵某某 goes, and its relation with it
    assert graph.links == {} and graph.dropped == ["r1 sell_drugs_to"]
    assert graph.undo() and graph.undo()
    assert sorted(graph.links) == [1, 2]  # both back with the spans, in one history
    assert graph.undo() and graph.graph.relations[0].head == XUE
    assert graph.redo() and graph.graph.relations[0].head == Span(3, 7, "Nh")


def test_line_commands_make_retype_and_remove_relations(task):
    graph = editor(task, ())
    graph.apply("1>2:provide_shelter_for")
    graph.apply("1 > 3 : traffic_in")
    graph.apply("tr 1 sell_drugs_to")
    assert graph.graph.relations == (Relation(XUE, ZHAO, "sell_drugs_to"), Relation(XUE, DRUG, "traffic_in"))
    with pytest.raises(ValueError, match="no relation '7'; the relations are r1, r2"):
        graph.apply("-r 7")
    graph.apply("-r 1,2")
    assert graph.links == {}
    with pytest.raises(ValueError, match="may not join"):
        graph.apply("3>1:traffic_in")
    assert len(graph.history) == 4  # each command one change; a refused one none


def test_a_merge_moves_the_relations_of_the_span_merged_in(task):
    text = "被告人薛某 某在住处向赵某某贩卖。"
    head, rest, buyer = Span(3, 5, "Nh"), Span(6, 7, "Nh"), Span(11, 14, "Nh")
    graph = GraphEditor(task, Example(text), SpanGraph((head, rest, buyer), (Relation(rest, buyer, "knows"),)))
    graph.merge(1)
    assert graph.graph.relations == (Relation(Span(3, 7, "Nh"), buyer, "knows"),)


# -- the full screen -----------------------------------------------------------------------------------------------
class Fixed:
    def __init__(self, payload):
        self.payload = payload

    def predict(self, examples):
        return [Prediction(self.payload, 0.7) for _ in examples], None


def relations_session(store, tmp_path, texts, payload):
    with store.transaction() as db:
        create_project(db, "cases", "relations", LABELS, "bert-base-chinese", config={"relations": SCHEMA})
    data = tmp_path / "cases.jsonl"
    data.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    import_file(store, "cases", data)
    return AnnotationSession(store, "cases", "tester", predictor=Fixed(payload), model_version="m",
                             predict_ahead=False)


def looked(app):
    return app.view.current() if app.view is not None else None, "\n".join(screen_lines(app))


def test_a_relation_is_made_with_l_the_tail_and_the_types_number_and_stored(store, tmp_path):
    proposed = SpanGraph((XUE, ZHAO, DRUG, QIAN), (Relation(XUE, ZHAO, "sell_drugs_to"),))
    session = relations_session(store, tmp_path, [TEXT, "王五"], proposed)
    keys = ["tab", "l", "probe",          # on 薛某某: a relation from it
            "tab", "enter", "probe",      # Tab to 赵某某, Enter takes it as the tail: three types fit, listed
            "enter", "probe",             # Enter while a type is to be chosen: still this item
            "2",                          # provide_shelter_for
            "l", "4", "probe", "escape",  # from 赵某某 to span 4 (钱某某), then Esc cancels
            "shift+tab", "l", "3", "probe",  # 薛某某 to the drug by its number: only traffic_in fits, made at once
            "enter"]
    seen = drive(session, keys, probe=looked)
    assert "relation from 1 薛某某 (Nh)" in seen[0][1]
    assert "type: 1  sell_drugs_to  2  provide_shelter_for  3  knows" in seen[1][1]
    assert "1 薛某某 (Nh) → 2 赵某某 (Nh): its type's number" in seen[1][1]
    assert "choose the type" in seen[2][1] and len(seen[2][0].relations) == 1
    assert "type: 1  sell_drugs_to  2  provide_shelter_for  3  knows" in seen[3][1]
    assert "r2 薛某某 ─provide_shelter_for→ 赵某某" in seen[3][1] and "2 赵某某 (Nh) → 4 钱某某" in seen[3][1]
    assert "made r3 薛某某 ─traffic_in→ 甲基苯丙胺" in seen[4][1]
    [(_, decision, payload)] = standing(store)
    assert decision == "correct"
    assert payload == {"spans": [[3, 6, "Nh"], [10, 13, "Nh"], [15, 20, "NDR"], [25, 28, "Nh"]],
                       "relations": [[0, 1, "provide_shelter_for"], [0, 1, "sell_drugs_to"], [0, 2, "traffic_in"]]}


def test_focus_retype_reverse_delete_and_undo_a_relation(store, tmp_path):
    proposed = SpanGraph((XUE, ZHAO, DRUG, QIAN), (Relation(XUE, ZHAO, "sell_drugs_to"),
                                                    Relation(XUE, DRUG, "traffic_in")))
    session = relations_session(store, tmp_path, [TEXT], proposed)
    keys = ["j", "probe",               # r1 focused: the cursor on its head
            "t", "2", "probe",          # its type: knows (the second of those left: provide_shelter_for, knows)
            "j", "o", "probe",          # r2 traffic_in reversed: the schema refuses
            "D", "probe",               # r2 deleted
            "u", "u", "probe",          # both undone
            "t", "probe"]
    seen = drive(session, keys, probe=looked)
    assert "r1 薛某某 ─sell_drugs_to→ 赵某某 · t type · o reverse · D delete" in " ".join(seen[0][1].split())
    assert "on span 1 薛某某" in seen[0][1]
    assert seen[1][0].relations[0] == Relation(XUE, ZHAO, "knows") and "─knows─" in seen[1][1]
    assert "may not join NDR to Nh" in seen[2][1]
    assert seen[3][0].relations == (Relation(XUE, ZHAO, "knows"),) and "deleted r2" in seen[3][1]
    assert seen[4][0] == proposed
    assert "focus a relation first (j / k)" in seen[5][1]
    assert standing(store) == []  # quit before deciding: nothing stored


def test_the_type_key_offers_only_what_fits_and_a_relation_is_never_made_twice(store, tmp_path):
    session = relations_session(store, tmp_path, [TEXT], SpanGraph((XUE, ZHAO, DRUG, QIAN),
                                                                   (Relation(XUE, DRUG, "traffic_in"),)))
    seen = drive(session, ["j", "t", "probe", "l", "l", "probe", "tab", "tab", "l", "probe"], probe=looked)
    assert "traffic_in is the only type the schema allows" in seen[0][1]
    assert "the tail is the head itself" in seen[1][1]
    assert "r1 薛某某 ─traffic_in→ 甲基苯丙胺 is there already" in " ".join(seen[2][1].split())
    assert len(seen[2][0].relations) == 1


def test_no_relation_between_types_the_schema_never_joins(store, tmp_path):
    session = relations_session(store, tmp_path, [TEXT], SpanGraph((XUE, ZHAO, DRUG, QIAN), ()))
    seen = drive(session, ["tab", "tab", "tab", "l", "1", "probe", "l", "probe"], probe=looked)
    assert "the schema has no relation from NDR to Nh" in seen[0][1]
    assert "(no relations: l on a span starts one)" in seen[1][1]


def test_a_600_character_passage_with_20_relations_at_80x24_lists_them_scrolled(store, tmp_path):
    text, graph = long_passage()
    assert len(text) >= 600 and len(graph.relations) == 20
    session = relations_session(store, tmp_path, [text], graph)
    seen = drive(session, ["probe", "k", "probe", "k", "D", "probe", "a"], probe=looked)
    first, last, deleted = (lines for _, lines in seen)
    assert "r1 赵某甲 ─sell_drugs_to→ 钱某乙" in first and "▼ 15 more of 20 relations" in first
    assert "r20 许某甲 ─sell_drugs_to→ 何某乙" not in first
    assert "r20 许某甲 ─sell_drugs_to→ 何某乙" in last and "▲ 15 more · ▼ 0 more of 20 relations" in last
    assert "deleted r19" in deleted and "of 19 relations" in deleted
    assert all(len(lines.splitlines()) == 24 for lines in (first, last, deleted))
    [(_, decision, payload)] = standing(store)
    assert decision == "correct" and len(payload["relations"]) == 19 and len(payload["spans"]) == 60


def test_the_help_lists_the_relation_keys(store, tmp_path):
    session = relations_session(store, tmp_path, [TEXT], SpanGraph((XUE, ZHAO), ()))
    app = AnnotationApp(session, KEYS)

    async def run():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("question_mark", "pagedown", "pagedown", "pagedown")
            await pilot.pause()
            return "\n".join(screen_lines(app))

    help_screen = asyncio.run(run())
    session.close()
    assert "Relations" in help_screen and "start a relation from it" in help_screen


# -- the plain terminal and the review -------------------------------------------------------------------------------
def test_the_plain_terminal_types_relations_by_span_number(store, tmp_path):
    session = relations_session(store, tmp_path, [TEXT], SpanGraph((XUE, ZHAO, DRUG), ()))
    echoed = []
    run_scripted(session, ["c 1>2:sell_drugs_to; 1>3:traffic_in; -r 1; 2>1:knows"], echoed.append)
    session.close()
    [(_, decision, payload)] = standing(store)
    assert decision == "correct"
    assert payload["relations"] == [[0, 1, "knows"], [0, 2, "traffic_in"]]


def test_the_review_marks_the_relations_not_every_annotator_gave(task):
    both = Relation(XUE, ZHAO, "sell_drugs_to")
    decisions = [("ann", SpanGraph((XUE, ZHAO, DRUG), (both, Relation(XUE, DRUG, "traffic_in")))),
                 ("bo", SpanGraph((XUE, ZHAO, DRUG), (both,))), ("cy", None)]
    console = Console(width=100, record=True)
    console.print(render_decisions(task, Example(TEXT), decisions))
    shown = console.export_text()
    assert "薛某某 ─traffic_in→ 甲基苯丙胺  only ann" in shown
    assert "sell_drugs_to" not in shown.split("entities")[0]  # the relation both gave is not listed as a difference
    assert "cy rejected the item" in shown
    console = Console(width=100, record=True)
    console.print(render_decisions(task, Example(TEXT), decisions[1:2] * 2))
    assert "every decision gives the same 1 relation(s)" in console.export_text()
