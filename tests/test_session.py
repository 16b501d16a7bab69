"""The annotation session: decisions, undo, resume, predict-ahead, scripted input, the span editor."""

import io
import time

import pytest
from sqlalchemy import select

from bertanno.app.line_screen import run_scripted
from bertanno.app.session import AnnotationSession
from bertanno.app.span_editing import SpanEditor
from bertanno.core.engine import Predictor
from bertanno.core.import_export import import_file
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Span
from bertanno.store import Store
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation, Item
from bertanno.store.schema import Prediction as StoredPrediction

TEXTS = ["很好吃", "送餐太慢", "一般般", "还会再来", "包装破了"]


@pytest.fixture
def store(tmp_path):
    opened = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with opened.transaction() as session:
        create_project(session, "reviews", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "items.txt"
    data.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    import_file(opened, "reviews", data)
    yield opened
    opened.close()


def decisions(store):
    with store.transaction() as session:
        return [(a.item_id, a.decision, a.payload, a.undone_at is not None)
                for a in session.scalars(select(Annotation).order_by(Annotation.id))]


def test_decide_undo_and_resume_without_a_model(store):
    session = AnnotationSession(store, "reviews", "tester")
    assert session.next().example.text == "很好吃" and session.current.prediction is None
    with pytest.raises(BertannoError, match="no pre-annotation to accept"):
        session.decide("accept")
    session.decide("correct", "positive")
    session.next()
    session.decide("skip")
    session.next()
    assert session.undo() and session.next().example.text == "送餐太慢"  # the skipped item comes back
    session.decide("correct", "negative")
    assert session.counts == {"accept": 0, "correct": 2, "reject": 0, "skip": 0}
    session.close()
    resumed = AnnotationSession(store, "reviews", "tester")
    assert resumed.next().example.text == "一般般"
    assert decisions(store) == [(1, "correct", "positive", False), (2, "skip", None, True), (2, "correct", "negative", False)]


def test_fetch_ahead_leases_the_next_item_so_a_key_press_only_commits(store, monkeypatch):
    from bertanno.store import queue
    from bertanno.store.schema import Lease

    session = AnnotationSession(store, "reviews", "tester")
    other = AnnotationSession(store, "reviews", "colleague")
    session.next()
    session.fetch_ahead()
    with store.transaction() as db:
        assert sorted(lease.item_id for lease in db.scalars(select(Lease))) == [1, 2]  # on screen, and the next
    assert other.next().example.text == "一般般"  # a colleague never gets the item leased ahead
    calls = []
    monkeypatch.setattr(queue, "next_item", lambda *a, **k: calls.append(a) or None)
    session.decide("correct", "positive")
    assert session.next().example.text == "送餐太慢" and not calls  # served from the fetch, no queue query
    monkeypatch.undo()
    session.fetch_ahead()
    session.fetch_ahead()  # a second call while one is fetched does nothing
    assert session.undo() and session.next().example.text == "很好吃"  # the undone item, not the one fetched
    assert session.current.restored == "positive"
    session.decide("correct", "negative")
    assert session.next().example.text == "送餐太慢"  # the item fetched ahead went back to the queue
    session.fetch_ahead()
    session.model_version = "v9"  # a new model serves: what was fetched for the old one is not used
    monkeypatch.setattr(queue, "next_item", lambda *a, **k: calls.append(k) or None)
    session.decide("skip")
    assert session.next() is None and calls and calls[0].get("exclude") is None
    monkeypatch.undo()
    session.close()
    other.close()
    with store.transaction() as db:
        assert list(db.scalars(select(Lease))) == []  # close hands back everything, the fetch ahead included


def test_progress_counts_once_per_fetch_and_follows_decisions_and_undos(store, monkeypatch):
    from bertanno.store import queue

    session = AnnotationSession(store, "reviews", "tester")
    colleague = AnnotationSession(store, "reviews", "colleague")
    session.next()
    session.fetch_ahead()
    colleague.next()
    colleague.decide("correct", "negative")       # seen from the next fetch on
    counted = []
    real = queue.remaining
    monkeypatch.setattr(queue, "remaining", lambda *a: counted.append(1) or real(*a))
    assert session.progress()["done"] == 0 and not counted   # the count fetch_ahead made
    session.decide("correct", "positive")
    assert session.progress()["done"] == 1 and not counted   # kept up by the decision itself
    session.next()
    session.decide("skip")
    assert session.progress()["done"] == 1                   # a skip decides nothing
    assert session.undo() and session.progress()["done"] == 1
    assert session.undo() and session.progress()["done"] == 0 and not counted
    session.next()
    session.fetch_ahead()
    assert session.progress()["done"] == 1 and counted == [1]  # the colleague's decision, counted afresh
    session.close()
    colleague.close()


def test_an_empty_or_unknown_project_is_a_sentence(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "empty", "sentiment", ["negative", "positive"], "bert-base-chinese")
    with pytest.raises(BertannoError, match="has no items yet"):
        AnnotationSession(store, "empty")
    with pytest.raises(BertannoError, match="no project named 'nothing'"):
        AnnotationSession(store, "nothing")


def test_predict_ahead_stores_predictions_before_they_are_needed(store, make_bundle):
    bundle = make_bundle(task="sentiment", labels=["negative", "positive"])
    session = AnnotationSession(store, "reviews", "tester", predictor=Predictor(bundle), model_version="tiny")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store.transaction() as db:
            if len(db.scalars(select(StoredPrediction.item_id)).all()) == len(TEXTS):
                break
        time.sleep(0.1)
    current = session.next()
    assert current.prediction is not None and current.prediction.payload in ("negative", "positive")
    session.decide("accept")
    with store.transaction() as db:
        [annotation] = db.scalars(select(Annotation)).all()
        assert annotation.prediction_id == current.prediction_id and annotation.payload == current.prediction.payload
        assert annotation.duration_ms is not None
    session.close()


def test_a_crashed_sessions_item_comes_back_to_the_same_annotator_at_once(store):
    import socket

    from bertanno.store.locks import HOST_CHARACTERS
    from bertanno.store.schema import Lease, utcnow

    host = socket.gethostname()[:HOST_CHARACTERS]
    with store.transaction() as db:
        project_id = db.scalar(select(Item.project_id).limit(1))
        far = utcnow().replace(year=utcnow().year + 1)
        db.add(Lease(item_id=1, project_id=project_id, annotator="tester", session_id=f"{host}:999999999:dead",
                     expires_at=far))  # a killed session's lease, still unexpired
        db.add(Lease(item_id=2, project_id=project_id, annotator="someone", session_id=f"{host}:999999998:dead",
                     expires_at=far))  # another annotator's: not ours to reclaim
    session = AnnotationSession(store, "reviews", "tester")
    assert session.next().item_id == 1  # resumes at the first undecided item, as the README says
    assert session.session_id.startswith(f"{host}:")
    session.close()
    other = AnnotationSession(store, "reviews", "tester")
    assert other.next().item_id == 1  # the first session was closed: its item is free
    live = AnnotationSession(store, "reviews", "tester")  # this process is alive: its leases stay
    assert live.next().item_id == 3
    other.close()
    live.close()


def test_close_joins_the_predict_ahead_thread(store, make_bundle):
    """A thread left inside torch when the interpreter exits aborts the process ("terminate called ...")."""
    bundle = make_bundle(task="sentiment", labels=["negative", "positive"])
    session = AnnotationSession(store, "reviews", "tester", predictor=Predictor(bundle), model_version="tiny")
    session.next()
    assert session._ahead.is_alive()
    session.close()
    assert not session._ahead.is_alive()


def test_without_predict_ahead_each_item_is_predicted_when_shown(store, make_bundle):
    bundle = make_bundle(task="sentiment", labels=["negative", "positive"])
    session = AnnotationSession(store, "reviews", "tester", predictor=Predictor(bundle), model_version="tiny",
                                predict_ahead=False)
    assert session.next().prediction is not None
    with store.transaction() as db:
        assert len(db.scalars(select(StoredPrediction)).all()) == 1
    session.close()


def test_scripted_decisions_and_their_errors(store):
    session = AnnotationSession(store, "reviews", "tester")
    applied = run_scripted(session, io.StringIO("c positive\n# a comment\n2\n1\nu\nc negative\nq\n"), lambda line: None)
    assert applied == 6
    assert [(d[1], d[2], d[3]) for d in decisions(store)] == [
        ("correct", "positive", False), ("correct", "positive", False), ("correct", "negative", True),
        ("correct", "negative", False)]
    with pytest.raises(BertannoError, match="decisions line 1 .*'7' is not a label"):
        run_scripted(session, io.StringIO("c 7\n"), lambda line: None)
    session.close()


def test_hook_annotation_saved(store):
    from bertanno import hookimpl
    from bertanno.core.plugins import Plugins

    seen = []

    class Listener:
        @hookimpl
        def annotation_saved(self, project, item, annotation):
            seen.append((project, item["text"], annotation["decision"]))

    session = AnnotationSession(store, "reviews", "tester", plugins=Plugins(load_entrypoints=False, extra=[Listener()]))
    session.next()
    session.decide("correct", "positive")
    assert seen == [("reviews", "很好吃", "correct")]
    session.close()


def test_the_span_editor(plugins):
    task = plugins.task("ner", labels=["PER", "LOC", "ORG"])
    editor = SpanEditor(task, Example("张三和张三在北京大学"), [Span(0, 2, "PER")])
    editor.apply("+ 张三:PER")           # the first occurrence not already a span
    editor.apply("+ 6-8:LOC")
    assert editor.spans == [Span(0, 2, "PER"), Span(3, 5, "PER"), Span(6, 8, "LOC")]
    editor.apply("]3")
    editor.apply("]3")
    editor.apply("t 3 ORG")
    assert editor.spans[2] == Span(6, 10, "ORG")
    editor.apply("- 1")
    editor.apply("{3")  # spans keep their numbers: the ORG span is still 3
    assert editor.spans == [Span(3, 5, "PER"), Span(7, 10, "ORG")]
    for bad, message in [("+ 上海:LOC", "fewer than 1"), ("+ 张三:CITY", "not in the label set"),
                         ("- 9", "no span '9'; the spans are numbered 2, 3"),
                         ("+ 5-8:LOC", r"'在北京' \[5-8\] overlaps span 3 '京大学' \[7-10 ORG\]; remove it first \(- 3\)"),
                         ("+ 北京:LOC", "overlaps span 3"), ("zap", "unknown command")]:
        with pytest.raises(ValueError, match=message):
            editor.apply(bad)
    assert editor.spans == [Span(3, 5, "PER"), Span(7, 10, "ORG")]
    editor.apply("+ 张三:PER")  # the first occurrence that is not a span of its own
    editor.apply("- 2,4")
    assert editor.spans == [Span(7, 10, "ORG")]
    editor.apply("- all")
    assert editor.spans == []


def test_the_keymap_is_configurable(store):
    from bertanno.app.line_screen import parse_keymap

    keymap = parse_keymap("accept=y reject=n,skip=k")
    assert keymap["accept"] == ("y", "\r", "\n") and keymap["skip"] == ("k",) and keymap["undo"] == ("u",)
    for bad, message in [("accept=x", "both"), ("explode=e", "actions"), ("skip=3", "digits")]:
        with pytest.raises(BertannoError, match=message):
            parse_keymap(bad)
    session = AnnotationSession(store, "reviews", "tester")
    run_scripted(session, io.StringIO("c positive\nk\nq\n"), lambda line: None, parse_keymap("skip=k"))
    assert [d[1] for d in decisions(store)] == ["correct", "skip"]
    session.close()


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_threads_run_below_the_screen(store, make_bundle, monkeypatch):
    import os
    import threading

    from bertanno.app import background
    from bertanno.app import session as session_module

    seen = {}

    def lowered():
        background.yield_to_the_screen()
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    worker = threading.Thread(target=lowered)
    worker.start()
    worker.join()
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen["thread"] == max(main, background.BACKGROUND_NICENESS)  # (root may lower it; no one else raises)
    calls = []
    monkeypatch.setattr(session_module, "yield_to_the_screen", lambda: calls.append(threading.current_thread().name))
    session = AnnotationSession(store, "reviews", "tester", predictor=Predictor(make_bundle()), model_version="v1")
    session.close()
    assert calls == ["predict-ahead"]
