"""One filter syntax for a project's items (issue 'a team's quality', part 3): --where on annotate, review, export
and stats; text (substring or regular expression), labels and span types, the model's label and confidence,
annotators, and the states agreed, disagreed, flagged, commented, blind, gold, decided; - negates."""

import json

import pytest
from click.testing import CliRunner
from conftest import screen_text

from bertanno.app.review import ReviewSession
from bertanno.app.session import AnnotationSession
from bertanno.cli import cli
from bertanno.core.filters import matching_items, parse_filter
from bertanno.core.import_export import import_file
from bertanno.core.project import open_project
from bertanno.errors import BertannoError
from bertanno.plugins.task import Prediction
from bertanno.store.projects import create_project

TEXTS = ["菜很好吃", "送餐太慢", "一般般吧", "服务很好但是太贵", "再也不来了", "好吃不贵"]


class Guess:
    """``positive`` with 0.9 for a text with 好, else ``negative`` with 0.55."""

    def predict(self, examples):
        return [Prediction("positive", 0.9) if "好" in e.text else Prediction("negative", 0.55)
                for e in examples], None


def project(store, tmp_path, overlap=1):
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese", overlap=overlap)
    (tmp_path / "items.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")
    return open_project(store, "p")


def texts(handle, where):
    ids = matching_items(handle, where)
    by_id = dict(handle.examples_of(ids))
    return [by_id[i].text for i in ids]


def test_bad_filters_are_sentences():
    for where, said in (("colour:red", "not a filter key"), ("text:/(/", "not a regular expression"),
                        ("confidence:high", "confidence:<0.6"), ("is:odd", "the states are"), ("label:", "needs"),
                        ('"unclosed', "quote")):
        with pytest.raises(BertannoError, match=said):
            parse_filter(where)
    assert parse_filter("") == [] and parse_filter("2026:05") and parse_filter("-is:blind")[0].negated


def test_text_labels_model_confidence_annotators_and_states(store, tmp_path):
    handle = project(store, tmp_path, overlap=2)
    assert matching_items(handle, None) is None and matching_items(handle, "  ") is None
    assert texts(handle, "好") == ["菜很好吃", "服务很好但是太贵", "好吃不贵"]
    assert texts(handle, "text:/^好|慢$/") == ["送餐太慢", "好吃不贵"]
    assert texts(handle, "-好 -text:一般") == ["送餐太慢", "再也不来了"]
    for who, labels in (("ann", ["positive", "negative", "negative"]), ("bob", ["positive", "positive", "negative"])):
        session = AnnotationSession(store, "p", who, predictor=Guess(), model_version="v001", predict_ahead=False)
        for label in labels:
            session.next()
            session.decide("correct", label)
        if who == "ann":
            session.next()
            session.comment("!好在哪里？")  # the item on screen: the fourth, undecided
        session.close()
    assert texts(handle, "model:positive") == ["菜很好吃", "服务很好但是太贵"]  # the items predicted so far
    assert texts(handle, "confidence:<0.6") == [t for t in texts(handle, "model:negative")]
    assert texts(handle, "confidence:0.85..0.95") == texts(handle, "model:positive")
    assert texts(handle, "annotator:bob") == TEXTS[:3]
    assert texts(handle, "is:agreed") == ["菜很好吃", "一般般吧"]
    assert texts(handle, "is:disagreed") == ["送餐太慢"]
    assert texts(handle, "label:negative") == ["送餐太慢", "一般般吧"]
    assert texts(handle, "is:flagged") == texts(handle, "is:commented") == ["服务很好但是太贵"]
    assert texts(handle, "is:decided") == ["菜很好吃", "一般般吧"] and "送餐太慢" in texts(handle, "is:undecided")


def test_annotate_review_export_and_stats_take_where(store, tmp_path):
    project(store, tmp_path, overlap=2)
    runner = CliRunner()
    keys = tmp_path / "keys.txt"
    keys.write_text("c positive\nc negative\nc positive\n", encoding="utf-8")
    done = runner.invoke(cli, ["--db", store.url, "annotate", "p", "--annotator", "ann", "--where", "好",
                               "--decisions", str(keys)])
    assert done.exit_code == 0, done.output
    assert "no items left" not in done.output
    keys.write_text("c positive\nc positive\nc positive\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", store.url, "annotate", "p", "--annotator", "bob", "--where", "好",
                               "--decisions", str(keys)]).exit_code == 0
    handle = open_project(store, "p")
    assert texts(handle, "annotator:ann") == texts(handle, "annotator:bob") == ["菜很好吃", "服务很好但是太贵", "好吃不贵"]
    out = tmp_path / "out.jsonl"
    assert runner.invoke(cli, ["--db", store.url, "export", "p", "--where", "吃", "-o", str(out)]).exit_code == 0
    assert [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()] == ["菜很好吃",
                                                                                                 "好吃不贵"]
    figures = json.loads(runner.invoke(cli, ["--db", store.url, "stats", "p", "--where", "贵", "--json"]).output)
    assert figures["decisions"] == 4  # two items, two annotators
    review = ReviewSession(store, "p", "lead", where="贵")
    assert review.total == 1 and review.next().example.text == "服务很好但是太贵"
    with pytest.raises(BertannoError, match="where 吃"):
        ReviewSession(store, "p", "lead", where="吃")
    refused = runner.invoke(cli, ["--db", store.url, "export", "p", "--where", "colour:red"])
    assert refused.exit_code != 0 and "not a filter key" in str(refused.exception)


def test_the_filter_key_narrows_the_queue_of_an_open_session(store, tmp_path):
    import asyncio

    from bertanno.app.line_screen import KEYS
    from bertanno.app.screen import AnnotationApp
    from bertanno.app.screen.comment import FilterScreen

    project(store, tmp_path)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    app = AnnotationApp(session, KEYS)
    seen = []

    def screen():
        return screen_text(app)

    async def drive():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("equals_sign")
            await pilot.pause()
            seen.append(isinstance(app.screen, FilterScreen))
            for key in "贵":
                await pilot.press(key)
            await pilot.press("enter")
            await pilot.pause()
            seen.append(screen())
            await pilot.press("2")  # positive, and the next item where 贵
            await pilot.pause()
            seen.append(screen())
            await pilot.press("equals_sign")
            await pilot.press("backspace")
            await pilot.press("enter")  # empty: every item again; the item on screen stays
            await pilot.pause()
            seen.append(screen())
            await pilot.press("1")
            await pilot.pause()
            seen.append(screen())
            await pilot.press("q")

    asyncio.run(drive())
    session.close()
    opened, narrowed, after, every, first = seen
    assert opened and "where 贵" in narrowed and "服务很好但是太贵" in narrowed and "菜很好吃" not in narrowed
    assert "好吃不贵" in after
    assert "where 贵" not in every and "every item again" in every and "好吃不贵" in every
    assert "菜很好吃" in first  # the first item the filter had kept back
    bad = AnnotationSession(store, "p", "bob", predict_ahead=False)
    bad.next()
    with pytest.raises(BertannoError, match="not a filter key"):
        bad.set_filter("colour:red")
    assert bad.where is None and bad.current is not None  # nothing changed
    bad.close()
