"""A decision counts only while the item is still the annotator's (issue 'Nothing lost, doubled or invented',
part 2): an expired lease whose item went to someone else lets no second decision in, for the same annotator in
two sessions and for a third person on an overlap-2 project; a session renews its leases while the item is on
screen; the person is told in one sentence and the session goes on. On SQLite and PostgreSQL (``store``)."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bertanno.app.line_screen import KEYS, run_scripted
from bertanno.app.screen import AnnotationApp
from bertanno.app.session import AnnotationSession
from bertanno.core.import_export import import_file
from bertanno.store.annotations import ItemTaken, record_decision
from bertanno.store.items import project_item_ids
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation, Lease, utcnow


def project(store, tmp_path, overlap=1, count=3):
    with store.transaction() as session:
        project_id = create_project(session, "clinic", "sentiment", ["negative", "positive"], "bert-base-chinese",
                                    overlap=overlap).id
    path = tmp_path / "items.txt"
    path.write_text("".join(f"第{i}条病历\n" for i in range(count)), encoding="utf-8")
    import_file(store, "clinic", path)
    return project_id


def expire(store, session_id):
    """Move every lease of this session 1 minute into the past: a screen left open over lunch."""
    with store.transaction() as session:
        session.execute(update(Lease).where(Lease.session_id == session_id)
                        .values(expires_at=utcnow() - timedelta(minutes=1)))


def standing(store, item_id):
    with store.transaction() as session:
        return sorted(session.execute(select(Annotation.annotator, Annotation.payload).where(
            Annotation.item_id == item_id, Annotation.undone_at.is_(None), Annotation.decision != "skip"))
            .all())


def opened(store, annotator):
    return AnnotationSession(store, "clinic", annotator, predict_ahead=False)


def test_the_same_annotator_in_two_sessions_never_decides_one_item_twice(store, tmp_path):
    project(store, tmp_path)
    lunch, second = opened(store, "li"), opened(store, "li")
    try:
        item = lunch.next().item_id
        expire(store, lunch.session_id)
        assert second.next().item_id == item  # the expired item is served again
        second.decide("correct", "positive")
        with pytest.raises(ItemTaken, match=f"item {item} was handed to someone else while it was open"):
            lunch.decide("correct", "negative")
        assert lunch.current is None and lunch.counts["correct"] == 0
        assert standing(store, item) == [("li", "positive")]
        assert lunch.next().item_id != item  # the session goes on
    finally:
        lunch.close()
        second.close()


def test_an_expired_session_deciding_first_does_not_take_the_item_back(store, tmp_path):
    project(store, tmp_path)
    lunch, colleague = opened(store, "li"), opened(store, "wang")
    try:
        item = lunch.next().item_id
        expire(store, lunch.session_id)
        assert colleague.next().item_id == item
        with pytest.raises(ItemTaken):  # wang holds it now, with a live lease
            lunch.decide("correct", "negative")
        colleague.decide("correct", "positive")
        assert standing(store, item) == [("wang", "positive")]
    finally:
        lunch.close()
        colleague.close()


def test_an_overlap_two_item_never_gets_a_third_decision(store, tmp_path):
    project(store, tmp_path, overlap=2, count=1)
    ann, bob, eve = opened(store, "ann"), opened(store, "bob"), opened(store, "eve")
    try:
        item = ann.next().item_id
        expire(store, ann.session_id)
        assert bob.next().item_id == item
        bob.decide("correct", "positive")
        assert eve.next().item_id == item
        eve.decide("correct", "negative")
        with pytest.raises(ItemTaken):
            ann.decide("correct", "positive")
        assert [who for who, _ in standing(store, item)] == ["bob", "eve"]
    finally:
        for session in (ann, bob, eve):
            session.close()


def test_an_expired_lease_nobody_took_still_counts(store, tmp_path):
    project(store, tmp_path)
    session = opened(store, "li")
    try:
        item = session.next().item_id
        expire(store, session.session_id)
        session.decide("correct", "positive")  # nobody else was served it: the decision is the item's first
        assert standing(store, item) == [("li", "positive")]
    finally:
        session.close()


def test_a_session_renews_its_leases_while_the_item_is_open(store, tmp_path):
    project(store, tmp_path)
    session = opened(store, "li")
    try:
        session.next()
        expire(store, session.session_id)
        session.touch()  # a key within the minute: no write
        with store.transaction() as db:
            assert db.scalar(select(Lease.expires_at).where(Lease.session_id == session.session_id)) < utcnow()
        session._renewed -= 3600  # as if the last renewal were an hour ago
        session.touch()
        with store.transaction() as db:
            expires = db.scalar(select(Lease.expires_at).where(Lease.session_id == session.session_id))
        assert expires > utcnow() + timedelta(minutes=14)
        other = opened(store, "wang")
        try:  # a live lease again: the item is not served to anyone else
            assert other.next().item_id != session.current.item_id
        finally:
            other.close()
    finally:
        session.close()


def test_a_review_decision_on_an_item_another_reviewer_settled_is_not_counted(store, tmp_path):
    project_id = project(store, tmp_path, overlap=2, count=1)
    with store.transaction() as session:
        [item] = project_item_ids(session, project_id)
        record_decision(session, project_id, item, "chen", "review-1", "correct", "positive", source="review")
    with pytest.raises(ItemTaken, match="settled"):
        with store.transaction() as session:
            record_decision(session, project_id, item, "zhou", "review-2", "correct", "negative", source="review")


def test_a_decisions_file_says_so_and_goes_on(store, tmp_path):
    project(store, tmp_path)
    lunch, colleague = opened(store, "li"), opened(store, "wang")
    lines, said = iter(["2", "1"]), []
    original = lunch.next

    def next_then_lose_it():  # the first item is handed to wang while li's script sits on it
        current = original()
        if not said:
            expire(store, lunch.session_id)
            assert colleague.next().item_id == current.item_id
            colleague.decide("correct", "negative")
        return current

    lunch.next = next_then_lose_it
    try:
        assert run_scripted(lunch, lines, said.append) == 2
        assert "handed to someone else" in said[0] and said[1].endswith(": 1")
        assert lunch.counts["correct"] == 1
    finally:
        lunch.close()
        colleague.close()


def test_the_full_screen_says_so_and_shows_the_next_item(store, tmp_path):
    project(store, tmp_path)
    lunch, colleague = opened(store, "li"), opened(store, "wang")
    app, seen = AnnotationApp(lunch, KEYS), []

    async def go():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            first = lunch.current.item_id
            expire(store, lunch.session_id)
            assert colleague.next().item_id == first
            colleague.decide("correct", "negative")
            await pilot.press("2")
            await pilot.pause()
            seen.append((first, lunch.current.item_id, "\n".join(
                "".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())))
            await pilot.press("q")

    try:
        asyncio.run(go())
    finally:
        lunch.close()
        colleague.close()
    first, now, screen = seen[0]
    assert now != first and "handed to someone else" in screen and lunch.counts["correct"] == 0
    assert standing(store, first) == [("wang", "negative")]
