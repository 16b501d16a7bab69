"""The live model: refitted in the background every N decisions, gated, and serving the next items of
the same session; a refit that cannot train yet is a sentence, and the session goes on."""

import re
import time

import pexpect
import pytest
from conftest import Terminal

from bertanno.app.session import AnnotationSession
from bertanno.core.import_export import import_file
from bertanno.store import Store
from bertanno.store.projects import create_project

GOOD = ["很好", "不错", "满意", "喜欢"]
BAD = ["太差", "难吃", "失望", "讨厌"]


def texts(count):
    return [f"第{n}家店{(GOOD if n % 2 == 0 else BAD)[n // 2 % 4]}" for n in range(count)]


def gold(text):
    return "positive" if any(word in text for word in GOOD) else "negative"


def unlabelled_project(tmp_path, count=40):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = Store.open(db)
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "items.txt"
    data.write_text("\n".join(texts(count)) + "\n", encoding="utf-8")
    import_file(store, "p", data)
    return db, store


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_live_refit_serves_the_next_items_of_the_same_session(tmp_path):
    _, store = unlabelled_project(tmp_path)
    session = AnnotationSession(store, "p", "tester", live_every=8, models_dir=tmp_path / "m")
    assert session.predictor is None and session.serving == "no model"
    assert "first fit after 8 more decision(s)" in session.live.status()
    for _ in range(8):  # every sentiment word of the texts once
        current = session.next()
        assert current.prediction is None
        session.decide("correct", gold(current.example.text))
    assert wait_for(lambda: session.model_version == "l001"), session.live.status()
    assert session.serving.startswith("l001 (linear")
    current = session.next()
    assert current.prediction is not None and current.prediction.payload == gold(current.example.text)
    session.close()


def test_a_refit_that_cannot_train_yet_is_a_sentence_and_the_session_goes_on(tmp_path):
    _, store = unlabelled_project(tmp_path)
    session = AnnotationSession(store, "p", "tester", live_every=3, models_dir=tmp_path / "m")
    for _ in range(3):
        session.next()
        session.decide("correct", "positive")  # one label only
    assert wait_for(lambda: not session.live.running and session.live.problem)
    assert "at least two labels" in session.live.status() and session.predictor is None
    session.next()
    session.decide("correct", "negative")  # the session goes on by hand
    session.close()


@pytest.mark.slow
def test_pre_annotations_appear_after_the_first_decisions_in_a_terminal(tmp_path):
    db, _ = unlabelled_project(tmp_path)
    terminal = Terminal(["--db", db, "annotate", "p", "--live-every", "4"], columns=110, rows=40,
                        env={"BERTANNO_MODELS": str(tmp_path / "m")})
    served, shown = False, None

    def next_item(lines):
        found = re.search(r"item (\d+)/\d+ ·", "".join(lines))  # a new item, its text drawn (the label keys under it)
        return found is not None and found.group(1) != shown and "[1] negative" in "".join(lines)

    for decided in range(16):
        assert terminal.wait_for(next_item, timeout=60), "\n".join(terminal.lines())
        screen = "\n".join(terminal.lines())
        shown = re.search(r"item (\d+)/\d+ ·", screen).group(1)
        if "l001 (linear" in screen and "→" in screen:
            served = decided >= 4
            break
        time.sleep(0.5)  # a person's pace: the refit runs meanwhile
        terminal.send("2" if any(word in screen for word in GOOD) else "1")  # 1 negative, 2 positive
    assert served, "the live model never pre-annotated an item:\n" + "\n".join(terminal.lines())
    terminal.send("q")
    terminal.child.expect(pexpect.EOF, timeout=60)


def test_a_ner_session_refits_the_crf_and_the_lexicon_each_through_the_gate(tmp_path):
    # issue 45, part 4: the surfaces the person marked are learnt live (the lexicon family) beside the CRF
    from bertanno.store.projects import get_project
    from bertanno.store.versions import list_versions

    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "p", "ner", ["drug", "symptom"], "bert-base-chinese")
    lines = [f"第{n}天服用阿司匹林后头痛" if n % 2 else f"第{n}天头痛未服药" for n in range(30)]
    (tmp_path / "items.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")

    def gold_spans(text):
        return [(text.index(word), text.index(word) + len(word), label)
                for word, label in (("阿司匹林", "drug"), ("头痛", "symptom")) if word in text]

    session = AnnotationSession(store, "p", "tester", live_every=10, models_dir=tmp_path / "m")
    assert [family.name for family in session.live.families] == ["crf", "lexicon"]
    for _ in range(10):
        current = session.next()
        session.decide("correct", gold_spans(current.example.text))
    assert wait_for(lambda: not session.live.running and session.live.last is not None, 60), session.live.status()
    with store.transaction() as db:
        names = {v.name for v in list_versions(db, get_project(db, "p").id)}
    assert {"c001", "x001"} <= names, names
    current = session.next()
    assert current.prediction is not None and sorted(current.prediction.payload) == gold_spans(current.example.text)
    session.close()
