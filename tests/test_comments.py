"""Comments and flags (issue 'a team's quality', part 2): # in the app (and the plain screen) attaches a comment to
the item on screen, ! first flags it for discussion; comments are stored with author and time, shown to the next
annotator and in a review, listed by bertanno comments [--flagged], and carried by export --provenance."""

import asyncio
import json

import pytest
from click.testing import CliRunner
from conftest import screen_text

from bertanno.app.line_screen import KEYS, Driver
from bertanno.app.review import ReviewSession
from bertanno.app.screen import AnnotationApp
from bertanno.app.screen.comment import CommentScreen
from bertanno.app.session import AnnotationSession
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.store import StoreError
from bertanno.store.projects import create_project


def project(store, tmp_path, overlap=1):
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese", overlap=overlap)
    (tmp_path / "items.txt").write_text("味道一般般\n很好吃\n太咸了\n", encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")



def test_comments_are_stored_shown_to_the_next_annotator_listed_and_exported(store, tmp_path):
    project(store, tmp_path, overlap=2)
    ann = AnnotationSession(store, "p", "ann", predict_ahead=False)
    ann.next()
    saved = ann.comment("!“一般般”算负面还是中性？")
    assert saved["flagged"] and saved["text"] == "“一般般”算负面还是中性？" and saved["author"] == "ann"
    ann.comment("先标了 negative")
    with pytest.raises(StoreError, match="empty comment"):
        ann.comment("  ")
    ann.decide("correct", "negative")
    ann.close()
    bob = AnnotationSession(store, "p", "bob", predict_ahead=False)
    bob.next()  # the same item: overlap 2
    shown = bob.context()
    assert shown is not None and "flagged for discussion" in shown.plain and "先标了 negative" in shown.plain
    bob.decide("correct", "positive")
    bob.close()
    review = ReviewSession(store, "p", "lead")
    review.next()
    assert "算负面还是中性" in str(review.context().renderables[1])
    runner = CliRunner()
    listed = runner.invoke(cli, ["--db", store.url, "comments", "p"]).output
    assert "item 1: 味道一般般" in listed and "ann" in listed and "(flagged)" in listed
    flagged = json.loads(runner.invoke(cli, ["--db", store.url, "comments", "p", "--flagged", "--json"]).output)
    assert [entry["item"] for entry in flagged] == [1] and len(flagged[0]["comments"]) == 2
    review.decide("correct", "negative")
    out = tmp_path / "out.jsonl"
    assert runner.invoke(cli, ["--db", store.url, "export", "p", "--provenance", "-o", str(out)]).exit_code == 0
    [row] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [c["text"] for c in row["meta"]["provenance"]["comments"]] == ["“一般般”算负面还是中性？", "先标了 negative"]
    explained = runner.invoke(cli, ["--db", store.url, "explain", "p", "1"]).output
    assert "comment by ann" in explained and "(flagged for discussion)" in explained


def test_no_comments_says_so(store, tmp_path):
    project(store, tmp_path)
    shown = CliRunner().invoke(cli, ["--db", store.url, "comments", "p", "--flagged"])
    assert shown.exit_code == 0 and "no flagged items in p" in shown.output


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_comment_key_opens_a_box_and_enter_saves_it_beside_the_item(store, tmp_path, size):
    project(store, tmp_path)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    app = AnnotationApp(session, KEYS)
    seen = []

    async def drive():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await pilot.press("number_sign")
            await pilot.pause()
            seen.append(isinstance(app.screen, CommentScreen))
            for key in "!check":
                await pilot.press(key)
            await pilot.press("enter")
            await pilot.pause()
            seen.append(screen_text(app))
            await pilot.press("number_sign")
            await pilot.press("x")
            await pilot.press("escape")  # closed without a comment; the x was typed in the box, not a reject
            await pilot.pause()
            seen.append(screen_text(app))
            await pilot.press("q")

    asyncio.run(drive())
    session.close()
    opened, after, cancelled = seen
    assert opened
    assert "comment saved, the item flagged for discussion" in after and "comment by ann" in after
    assert "味道一般般" in cancelled  # still the first item
    from bertanno.core.project import open_project

    assert [c["text"] for c in open_project(store, "p").comments()[1]] == ["check"]


def test_the_plain_screen_takes_a_comment(store, tmp_path):
    project(store, tmp_path)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    session.next()
    typed = iter(["!边界不清", ""])
    driver = Driver(session, read_line=lambda prompt: next(typed), show=lambda *a, **k: None)
    assert driver.key("#") == "comment saved, the item flagged for discussion"
    assert driver.key("#") == "no comment"
    assert session.context().plain.startswith("comment by ann")
    session.close()


def test_a_comment_is_shown_as_written_even_when_it_looks_like_an_emoji_code(store, tmp_path):
    project(store, tmp_path)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    session.next()
    session.comment("比例写成 3:abc: 了？[red]不是标记[/]")
    session.close()
    shown = CliRunner().invoke(cli, ["--db", store.url, "comments", "p"]).output
    assert "比例写成 3:abc: 了？[red]不是标记[/]" in shown
