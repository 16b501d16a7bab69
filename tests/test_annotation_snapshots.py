"""Every state a person can see on the annotation screen, pinned as SVG snapshots (pytest-textual-snapshot),
in posting's style: a class per screen, each state named, at 80×24 and 120×40. The items are long on purpose:
a 600-character review, a pair of 300-character texts, a 570-character NER text with English words, digits,
CRLF, emoji and 𠮷 under 12 spans (two adjacent of one type). Screens: annotate in each view (labels, pair,
spans), a selection, the help, all done, a long text scrolled, refused input, a blind control, the live
model's status, a zero-shot family serving, an LLM's reason, the guidelines, and the review. ``pytest --snapshot-update`` rewrites them after a
deliberate change; look at the SVGs before committing."""

import dataclasses
import json
from datetime import datetime

import pytest

from bertanno.app.line_screen import KEYS
from bertanno.app.screen import AnnotationApp
from bertanno.app.session import AnnotationSession, session_predictor
from bertanno.core.import_export import import_file
from bertanno.plugins.task import Prediction, Span
from bertanno.store import Store
from bertanno.store.guidelines import add_guidelines
from bertanno.store.projects import create_project

REVIEW = ("这家店的牛肉面汤头很浓，面条筋道，分量也足，" * 22 + "可惜服务员态度是错的。")[:600]
PAIR = ("花呗逾期了会影响征信吗，" * 25, "借呗还款日可以推迟几天吗，" * 23)
NER_TEXT = ("患者张三，男，65岁，因胸闷气促3天于2023年5月入院。\r\n既往冠心病史10年，NT-proBNP 4580 pg/mL，"
            "肌钙蛋白I 0.8 ng/mL。曾在北京协和医院和上海瑞金医院就诊😀，家住𠮷野家对面的朝阳区。") * 6
NER_TEXT = NER_TEXT[:570]
SIZES = [(80, 24), (120, 40)]
WRITTEN = datetime(2026, 12, 1, 9, 30)


class Fixed:
    """A served model that always proposes ``payload`` with 73 % confidence."""

    def __init__(self, payload):
        self.payload = payload

    def predict(self, examples):
        return [Prediction(self.payload, 0.73) for _ in examples], None


class Reasoned(Fixed):
    """A served model that proposes ``payload`` with no confidence and a long stated reason, as an LLM does."""

    def predict(self, examples):
        reason = "评论前半夸汤头、面条和分量，结尾只说服务员态度不好，" * 6
        return [Prediction(self.payload, 0.0, details={"reason": reason}) for _ in examples], None


def ner_spans() -> list[Span]:
    """Twelve spans; 上海 and 瑞金医院 are two adjacent ORG-less LOC spans (one type, side by side)."""
    text, spans = NER_TEXT, []
    for surface, label in [("张三", "PER"), ("65岁", "AGE"), ("胸闷", "SYM"), ("气促", "SYM"), ("冠心病", "DIS"),
                           ("NT-proBNP", "TEST"), ("4580 pg/mL", "VAL"), ("肌钙蛋白I", "TEST"), ("北京协和医院", "ORG"),
                           ("上海", "LOC"), ("瑞金医院", "LOC"), ("朝阳区", "LOC")]:
        start = text.index(surface)
        spans.append(Span(start, start + len(surface), label))
    return sorted(spans)


def make_app(tmp_path, task, labels, row, payload, blind=False, live_every=None, config=None, guidelines=None):
    store = Store.open(f"sqlite:///{tmp_path / 'snap.db'}")
    with store.transaction() as session:
        project = create_project(session, "clinic", task, labels, "bert-base-chinese", config=config)
        if guidelines is not None:  # written at a fixed time: the panel's title shows it
            add_guidelines(session, project.id, guidelines, "lead")[0].created_at = WRITTEN
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    import_file(store, "clinic", data)
    session = AnnotationSession(store, "clinic", "snap", predictor=Fixed(payload), model_version="v001",
                                predict_ahead=False, live_every=live_every, models_dir=tmp_path / "models")
    if blind:  # which items are blind is a draw on the project's random uid: a share of 1 makes this one blind
        session.project = dataclasses.replace(session.project, blind_share=1.0)
    progress = session.progress
    session.progress = lambda: {**progress(), "per_minute": 12.0}  # the pace depends on the clock: pinned
    return AnnotationApp(session, KEYS), session, store


CASES = {
    "sentiment": ("sentiment", ["negative", "positive"], {"text": REVIEW}, "negative"),
    "pair": ("pair", ["no_match", "match"], {"text": PAIR[0], "text_b": PAIR[1]}, "no_match"),
    "ner": ("ner", ["PER", "AGE", "SYM", "DIS", "TEST", "VAL", "ORG", "LOC"], {"text": NER_TEXT}, None),
}


def snapshot(snap_compare, app, session, store, size, press=(), run_before=None):
    try:
        return snap_compare(app, press=list(press), terminal_size=size, run_before=run_before)
    finally:
        session.close()
        store.close()


BY_SIZE = pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])


@BY_SIZE
class TestAnnotate:
    """The annotation screen of each view, as an item first appears, and while it is worked on."""

    @pytest.mark.parametrize("case", list(CASES))
    def test_an_item_as_it_first_appears(self, snap_compare, tmp_path, case, size):
        task, labels, row, payload = CASES[case]
        app, session, store = make_app(tmp_path, task, labels, row, ner_spans() if payload is None else payload)
        assert snapshot(snap_compare, app, session, store, size)

    def test_a_selection_inside_a_span(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["tab", "tab", "right", "shift+right", "shift+right"])

    def test_a_long_review_scrolled_to_its_end(self, snap_compare, tmp_path, size):
        # 2,400 characters: more than a screen at either size, so End scrolls and the label keys stay in view
        app, session, store = make_app(tmp_path, "sentiment", ["negative", "positive"], {"text": REVIEW * 4},
                                       "negative")
        assert snapshot(snap_compare, app, session, store, size, ["end"])

    def test_a_long_record_with_the_cursor_on_its_last_span(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["shift+tab"])

    def test_the_span_list_scrolled_to_the_span_under_the_cursor(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["shift+tab", "shift+tab"])

    def test_a_string_found_and_selected(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["slash", *"瑞金", "enter"])

    def test_a_selection_over_a_span_asks_before_replacing_it(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["slash", *"冠心病史", "enter", "4"])

    def test_jump_hints_over_the_words_on_screen(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["f"])

    def test_an_edit_undone_within_the_item(self, snap_compare, tmp_path, size):
        # span 1 made AGE, span 2 removed, then u: the removal is taken back, the type change stays
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["tab", "2", "tab", "d", "u"])

    def test_a_term_marked_everywhere_in_the_item(self, snap_compare, tmp_path, size):
        # on 胸闷 (span 3), *: every other 胸闷 of the record marked SYM too, the status says how many
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["tab", "tab", "tab", "asterisk"])

    def test_two_spans_merged_and_one_split(self, snap_compare, tmp_path, size):
        # 上海 + 瑞金医院 (spans 10, 11) merged by m; then 北京协和医院 (span 9) split after 北京 by |
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size,
                        ["shift+tab"] * 3 + ["m", "shift+tab", "right", "right", "vertical_line"])

    def test_the_pair_correction_prompt(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["pair"][:3], "no_match")
        assert snapshot(snap_compare, app, session, store, size, ["c", *"mat"])


def relations_app(tmp_path):
    """A relations project on a 602-character judgment passage with 60 entities and 20 relations proposed."""
    from test_relation_view import LABELS, SCHEMA, long_passage

    text, graph = long_passage()
    return make_app(tmp_path, "relations", LABELS, {"text": text}, graph, config={"relations": SCHEMA})


@BY_SIZE
class TestRelations:
    """The relation view: the spans and the numbered relations, a relation being made, a relation focused."""

    def test_a_long_passage_with_twenty_relations(self, snap_compare, tmp_path, size):
        assert snapshot(snap_compare, *relations_app(tmp_path), size)

    def test_a_relation_waiting_for_its_type(self, snap_compare, tmp_path, size):
        # l on 赵某甲 (span 1), then span 4 (钱某甲) by its number: the types the schema allows, by number
        assert snapshot(snap_compare, *relations_app(tmp_path), size, ["tab", "l", "4"])

    def test_the_last_relation_focused(self, snap_compare, tmp_path, size):
        assert snapshot(snap_compare, *relations_app(tmp_path), size, ["k"])


@BY_SIZE
class TestRefusedInput:
    """What a person typed that cannot be taken: the screen says why and keeps the item."""

    def test_a_label_that_is_not_in_the_set(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative")
        assert snapshot(snap_compare, app, session, store, size, ["c", *"neg", "enter"])

    def test_a_span_command_outside_the_text(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["colon", *"+ 900-905:LOC", "enter"])


@BY_SIZE
class TestHelp:
    """``?`` over the item: the keys of the view on screen and the common ones."""

    def test_help_over_the_span_editor(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["question_mark"])

    def test_help_over_the_label_keys(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative")
        assert snapshot(snap_compare, app, session, store, size, ["question_mark"])


@BY_SIZE
class TestAllDone:
    def test_after_the_last_item(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["enter"])


@BY_SIZE
class TestServing:
    """What proposes the annotations, as the header and the item say it."""

    def test_a_blind_control_shows_no_pre_annotation(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative", blind=True)
        assert snapshot(snap_compare, app, session, store, size)

    def test_the_live_model_before_its_first_fit(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative", live_every=20)
        assert snapshot(snap_compare, app, session, store, size)

    def test_a_gazetteer_serving_from_the_first_item(self, snap_compare, tmp_path, size):
        app, session, store = gazetteer_app(tmp_path)
        assert snapshot(snap_compare, app, session, store, size)

    def test_an_llms_label_with_its_reason(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "positive")
        session.predictor = Reasoned("positive")
        assert snapshot(snap_compare, app, session, store, size)


def gazetteer_app(tmp_path):
    """A NER project whose champion is a gazetteer (``g001``) of three typed terms: what a new project with
    ``init --gazetteer`` serves before any decision."""
    from bertanno.app.new_project import create_project as new_project
    from bertanno.core.plugins import Plugins

    plugins = Plugins(load_entrypoints=False)
    store = Store.open(f"sqlite:///{tmp_path / 'gazetteer.db'}")
    terms = tmp_path / "terms.txt"
    terms.write_text("冠心病\tDIS\n胸闷\tSYM\n北京协和医院\tORG\n", encoding="utf-8")
    task = plugins.task("ner", labels=["PER", "SYM", "DIS", "ORG"])
    new_project(store, "clinic", task, "bert-base-chinese", gazetteer=[str(terms)], models_dir=tmp_path / "models",
                plugins=plugins)
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps({"text": NER_TEXT}, ensure_ascii=False) + "\n", encoding="utf-8")
    import_file(store, "clinic", data, plugins=plugins)
    predictor, version = session_predictor(store, "clinic", plugins=plugins)  # the champion, as annotate loads it
    session = AnnotationSession(store, "clinic", "snap", predictor=predictor, model_version=version,
                                predict_ahead=False, plugins=plugins)
    progress = session.progress
    session.progress = lambda: {**progress(), "per_minute": 12.0}  # the pace depends on the clock: pinned
    return AnnotationApp(session, KEYS), session, store


def review_app(tmp_path):
    """A review of one clinical record that ann corrected to two entities, bob rejected and eve marked a
    symptom on: no majority (the review must not settle it with spans nobody gave)."""
    from bertanno.app.review import ReviewSession
    from bertanno.store.annotations import record_decision
    from bertanno.store.items import project_item_ids

    store = Store.open(f"sqlite:///{tmp_path / 'review.db'}")
    text = "患者有2型糖尿病，口服二甲双胍治疗。" * 8
    with store.transaction() as session:
        project_id = create_project(session, "clinic", "ner", ["disease", "symptom", "drug"], "bert-base-chinese",
                                    overlap=3).id
    data = tmp_path / "record.txt"
    data.write_text(text + "\n", encoding="utf-8")
    import_file(store, "clinic", data)
    with store.transaction() as session:
        [item] = project_item_ids(session, project_id)
        for who, decision, payload in [("ann", "correct", [[3, 8, "disease"], [11, 15, "drug"]]),
                                       ("bob", "reject", None), ("eve", "correct", [[0, 2, "symptom"]])]:
            record_decision(session, project_id, item, who, f"s-{who}", decision, payload)
    review = ReviewSession(store, "clinic", "chen")
    progress = review.progress
    review.progress = lambda: {**progress(), "per_minute": 0.0}  # the pace depends on the clock: pinned
    return AnnotationApp(review, KEYS), review, store


@BY_SIZE
class TestReview:
    """A review of an item three annotators decided three ways: no majority, the choice, the union chosen."""

    @pytest.mark.parametrize("press", [[], ["enter"], ["v", "3"]], ids=["no-majority", "choose", "union-chosen"])
    def test_a_review_without_a_majority(self, snap_compare, tmp_path, press, size):
        app, review, store = review_app(tmp_path)
        assert snapshot(snap_compare, app, review, store, size, press)


GUIDELINES = ("# 门诊病历实体标注指南\n\n## 标签\n\n"
              "- DIS: 疾病或综合征的名称，含慢性病史中提到的疾病，不含部位和程度修饰词，例如“冠心病”而不是“严重冠心病”\n"
              "- SYM: 患者自述或查体所见的症状\n- TEST: 检验或检查项目的名称\n- VAL: 检验结果的数值和单位\n"
              "- ORG: 医院、科室等机构\n- LOC: 地名\n\n## 边界\n\n" + "实体不含标点和空格；嵌套时标注最长的实体。\n\n" * 12
              + "## 疑难\n\n遇到拿不准的情况，跳过并在评论中说明。\n")
SENTIMENT_GUIDELINES = "# 评论情感\n\n- negative: 整体不满意，哪怕夹杂个别优点\n- positive: 整体满意\n"


@BY_SIZE
class TestGuidelines:
    """The project's guidelines: the panel on g, the label descriptions in the legend, a new version announced."""

    def test_the_guidelines_over_the_item(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans(), guidelines=GUIDELINES)
        assert snapshot(snap_compare, app, session, store, size, ["g"])

    def test_the_label_keys_with_their_descriptions(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative", guidelines=SENTIMENT_GUIDELINES)
        assert snapshot(snap_compare, app, session, store, size)

    def test_the_type_of_the_span_under_the_cursor_described(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans(), guidelines=GUIDELINES)
        assert snapshot(snap_compare, app, session, store, size, ["right"] * 12)  # on 胸闷, a SYM

    def test_a_new_version_announced_at_the_next_item(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative", guidelines=SENTIMENT_GUIDELINES)
        with store.transaction() as db:  # written by the lead while this annotator works
            add_guidelines(db, session.project_id, SENTIMENT_GUIDELINES + "\n有错别字不影响判断。\n",
                           "lead")[0].created_at = WRITTEN
        assert snapshot(snap_compare, app, session, store, size)


@BY_SIZE
class TestComments:
    """Comments: the box # opens, and an item with the comments people left on it."""

    def test_the_comment_box_over_the_item(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["sentiment"][:3], "negative")
        assert snapshot(snap_compare, app, session, store, size, ["number_sign", *"!结尾一句是反讽吗"])

    def test_an_item_with_a_flagged_comment(self, snap_compare, tmp_path, size):
        from bertanno.store.comments import add_comment

        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        with store.transaction() as db:  # written at a fixed time: the line shows it
            for author, text, flagged in (("li", "“胸闷气促”是一个症状还是两个？" * 3, True), ("wang", "按两个标", False)):
                add_comment(db, session.project_id, 1, author, text, flagged).created_at = WRITTEN
        assert snapshot(snap_compare, app, session, store, size)


@BY_SIZE
class TestQueue:
    """The filter box (=) over the item, and the word after ten fast accepts."""

    def test_the_filter_box_with_a_filter_typed(self, snap_compare, tmp_path, size):
        app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
        assert snapshot(snap_compare, app, session, store, size, ["equals_sign", *"model:DIS", "space",
                                                                    *"confidence:<0.6"])

    def test_the_word_after_ten_fast_accepts(self, snap_compare, tmp_path, size):
        from bertanno.app.session import PACE_WINDOW

        store = Store.open(f"sqlite:///{tmp_path / 'snap.db'}")
        with store.transaction() as db:
            create_project(db, "clinic", "sentiment", ["negative", "positive"], "bert-base-chinese")
        data = tmp_path / "items.jsonl"
        data.write_text("".join(json.dumps({"text": f"{REVIEW[:40]}（第{n}条）"}, ensure_ascii=False) + "\n"
                                for n in range(PACE_WINDOW + 2)), encoding="utf-8")
        import_file(store, "clinic", data)
        session = AnnotationSession(store, "clinic", "snap", predictor=Fixed("positive"), model_version="v001",
                                    predict_ahead=False)
        session.timing = lambda current: {"active_ms": 300, "keystrokes": 1}  # each accept read in 0.3 s
        progress = session.progress
        session.progress = lambda: {**progress(), "per_minute": 12.0}
        assert snapshot(snap_compare, AnnotationApp(session, KEYS), session, store, size, ["a"] * PACE_WINDOW)
