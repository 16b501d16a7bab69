"""Every state a person can see on the annotation screen, pinned as SVG snapshots (pytest-textual-snapshot)
at 80×24 and 120×40: a 600-character review, a pair of 300-character texts, a 570-character NER text with
English words, digits, CRLF, emoji and 𠮷 under 12 spans (two adjacent of one type), the help, the all-done
view. ``pytest --snapshot-update`` rewrites them after a deliberate change; look at the SVGs before committing."""

import json

import pytest

from bertanno.app.screen import AnnotationApp
from bertanno.app.session import AnnotationSession
from bertanno.app.terminal import KEYS
from bertanno.core.transfer import import_file
from bertanno.plugins.task import Prediction, Span
from bertanno.store import Store
from bertanno.store.projects import create_project

REVIEW = ("这家店的牛肉面汤头很浓，面条筋道，分量也足，" * 22 + "可惜服务员态度是错的。")[:600]
PAIR = ("花呗逾期了会影响征信吗，" * 25, "借呗还款日可以推迟几天吗，" * 23)
NER_TEXT = ("患者张三，男，65岁，因胸闷气促3天于2023年5月入院。\r\n既往冠心病史10年，NT-proBNP 4580 pg/mL，"
            "肌钙蛋白I 0.8 ng/mL。曾在北京协和医院和上海瑞金医院就诊😀，家住𠮷野家对面的朝阳区。") * 6
NER_TEXT = NER_TEXT[:570]
SIZES = [(80, 24), (120, 40)]


class Fixed:
    """A served model that always proposes ``payload`` with 73 % confidence."""

    def __init__(self, payload):
        self.payload = payload

    def predict(self, examples):
        return [Prediction(self.payload, 0.73) for _ in examples], None


def ner_spans() -> list[Span]:
    """Twelve spans; 上海 and 瑞金医院 are two adjacent ORG-less LOC spans (one type, side by side)."""
    text, spans = NER_TEXT, []
    for surface, label in [("张三", "PER"), ("65岁", "AGE"), ("胸闷", "SYM"), ("气促", "SYM"), ("冠心病", "DIS"),
                           ("NT-proBNP", "TEST"), ("4580 pg/mL", "VAL"), ("肌钙蛋白I", "TEST"), ("北京协和医院", "ORG"),
                           ("上海", "LOC"), ("瑞金医院", "LOC"), ("朝阳区", "LOC")]:
        start = text.index(surface)
        spans.append(Span(start, start + len(surface), label))
    return sorted(spans)


def make_app(tmp_path, task, labels, row, payload):
    store = Store.open(f"sqlite:///{tmp_path / 'snap.db'}")
    with store.transaction() as session:
        create_project(session, "clinic", task, labels, "bert-base-chinese")
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    import_file(store, "clinic", data)
    session = AnnotationSession(store, "clinic", "snap", predictor=Fixed(payload), model_version="v001",
                                predict_ahead=False)
    progress = session.progress
    session.progress = lambda: {**progress(), "per_minute": 12.0}  # the pace depends on the clock: pinned
    return AnnotationApp(session, KEYS), session, store


CASES = {
    "sentiment": ("sentiment", ["negative", "positive"], {"text": REVIEW}, "negative"),
    "pair": ("pair", ["no_match", "match"], {"text": PAIR[0], "text_b": PAIR[1]}, "no_match"),
    "ner": ("ner", ["PER", "AGE", "SYM", "DIS", "TEST", "VAL", "ORG", "LOC"], {"text": NER_TEXT}, None),
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("case", list(CASES))
def test_an_item_as_it_first_appears(snap_compare, tmp_path, case, size):
    task, labels, row, payload = CASES[case]
    app, session, store = make_app(tmp_path, task, labels, row, ner_spans() if payload is None else payload)
    try:
        assert snap_compare(app, terminal_size=size)
    finally:
        session.close()
        store.close()


@pytest.mark.parametrize("press, name", [
    (["tab", "tab", "right", "shift+right", "shift+right"], "selection"),   # a selection inside span 2
    (["question_mark"], "help"),
    (["enter"], "all-done"),
], ids=["selection", "help", "all-done"])
def test_ner_states_at_80x24(snap_compare, tmp_path, press, name):
    app, session, store = make_app(tmp_path, *CASES["ner"][:3], ner_spans())
    try:
        assert snap_compare(app, press=press, terminal_size=(80, 24))
    finally:
        session.close()
        store.close()


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


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("press", [[], ["enter"], ["v", "3"]], ids=["no-majority", "choose", "union-chosen"])
def test_a_review_without_a_majority(snap_compare, tmp_path, press, size):
    app, review, store = review_app(tmp_path)
    try:
        assert snap_compare(app, press=press, terminal_size=size)
    finally:
        review.close()
        store.close()
