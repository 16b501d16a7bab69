"""The work queue: the next undecided item for an annotator, leased so no one else gets it meanwhile.

A lease expires (a crashed session's items come back); a decision releases it. Exclusivity rests
on the leases table's primary key (one lease per item), not on timing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bertanno.store import locks
from bertanno.store.annotations import gold_items, gold_open, is_decided, skipped_once_by, undecided
from bertanno.store.autopilot import audit_pending
from bertanno.store.database import StoreError
from bertanno.store.schema import Item, Lease, Prediction, utcnow

ORDERS = ("sequential", "uncertain", "random")
CANDIDATES_PER_TRY = 32
AMONG_CHUNK = 5000
"""Items of a ``--where`` filter a queue query names at once (an SQL ``IN`` list, well under SQLite's limit)."""
DEFAULT_LEASE_SECONDS = 15 * 60


def _ordered(query, project_id: int, order: str):
    if order == "sequential":
        return query.order_by(Item.id)
    if order == "random":
        return query.order_by(func.random())
    if order == "uncertain":
        newest = (select(Prediction.item_id, func.max(Prediction.id).label("prediction_id"))
                  .join(Item, Item.id == Prediction.item_id).where(Item.project_id == project_id)
                  .group_by(Prediction.item_id).subquery())
        confidence = select(Prediction.confidence).where(Prediction.id == newest.c.prediction_id).scalar_subquery()
        query = query.outerjoin(newest, newest.c.item_id == Item.id).add_columns(confidence.label("confidence"))
        return query.order_by(confidence.is_(None), confidence, Item.id)
    raise StoreError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")


def _try_lease(session: Session, values: dict) -> bool:
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = (insert(Lease).values(**values).on_conflict_do_nothing(index_elements=["item_id"])
                     .returning(Lease.item_id))
        return session.execute(statement).first() is not None
    try:
        with session.begin_nested():
            session.add(Lease(**values))
        return True
    except IntegrityError:
        return False


def next_item(session: Session, project_id: int, annotator: str, session_id: str, order: str = "sequential",
              lease_seconds: int = DEFAULT_LEASE_SECONDS, exclude: int | None = None,
              gold: bool = False, among: list[int] | None = None) -> Item | None:
    """The next item for this session, leased to it; ``None`` when every item is decided or taken. An item is
    leased to one session at a time; with overlap K it comes back, once decided, until K different annotators
    have decided it, never to one of them twice (``undecided``). An item the session skipped comes back once,
    after every other item (a second skip puts it aside for the rest of the session). ``exclude``:
    an item this session holds that is not wanted (the one on screen, when leasing the one after it). ``gold``: a
    gold draw, which serves a gold item this annotator has not checked yet (``annotations.gold_items``, in item
    order) when there is one, else an ordinary item; a gold item is one whose row says ``authoritative``.
    ``among``: only these items (ids in item order: a ``--where`` filter's), taken ``AMONG_CHUNK`` at a time in
    that order (``order`` then orders within a chunk)."""
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    session.execute(delete(Lease).where(Lease.project_id == project_id, Lease.expires_at < now))
    def decided(item_id: int) -> bool:  # one item's row and annotations read, not the project's
        return is_decided(session, project_id, item_id, skipped_by=session_id, annotator=annotator)

    def checked(item_id: int) -> bool:  # a gold item: whether this annotator may no longer check it
        return not gold_open(session, project_id, item_id, annotator, session_id)

    held_items = list(session.scalars(select(Lease.item_id).where(
        Lease.session_id == session_id, Lease.project_id == project_id,
        Lease.item_id != (exclude if exclude is not None else -1)).order_by(Lease.item_id)))
    for held in held_items:  # resuming: the item this session already holds (a gold check too)
        if not decided(held) or not checked(held):
            session.execute(update(Lease).where(Lease.item_id == held).values(expires_at=expires))
            return session.get(Item, held)
    values = {"project_id": project_id, "annotator": annotator, "session_id": session_id, "expires_at": expires}
    if among is not None:
        for start in range(0, len(among), AMONG_CHUNK):
            chunk = among[start:start + AMONG_CHUNK]
            found = _next_of(session, project_id, order, session_id, annotator, values, decided, checked, gold,
                             Item.id.in_(chunk))
            if found is not None:
                return found
        return None
    return _next_of(session, project_id, order, session_id, annotator, values, decided, checked, gold, None)


def _next_of(session: Session, project_id: int, order: str, session_id: str, annotator: str, values: dict,
             decided, checked, gold: bool, among) -> Item | None:
    """``next_item`` after the held items: a gold check on a gold draw, an item of an autopilot audit
    (``store.autopilot.audit_pending``), an undecided item, then one this session skipped once; ``among``: a
    condition on the items, or ``None``."""
    def narrowed(condition):
        return condition if among is None else and_(condition, among)

    if gold:
        check = _lease_first(session, project_id, "sequential", narrowed(gold_items(project_id, annotator, session_id)),
                             checked, values)
        if check is not None:
            return check
    audit = _lease_first(session, project_id, "sequential",
                         narrowed(and_(audit_pending(project_id), undecided(project_id, session_id, annotator))),
                         decided, values)  # an autopilot run's audit first: its labels are provisional until then
    if audit is not None:
        return audit
    first = _lease_first(session, project_id, order, narrowed(undecided(project_id, session_id, annotator)), decided,
                         values)
    if first is not None:
        return first

    def decided_again(item_id: int) -> bool:  # the second round: skipped once by this session, else undecided
        return is_decided(session, project_id, item_id, annotator=annotator)

    return _lease_first(session, project_id, order,
                        narrowed(and_(undecided(project_id, annotator=annotator), skipped_once_by(session_id))),
                        decided_again, values)


def _lease_first(session: Session, project_id: int, order: str, condition, decided, values: dict) -> Item | None:
    """Lease the first item of the project that meets ``condition`` and no other session holds, in ``order``;
    ``decided(item_id)`` looks again once it is leased (another session may have decided it meanwhile)."""
    taken = select(Lease.item_id).where(Lease.project_id == project_id)
    tried: set[int] = set()
    session_id = values["session_id"]
    while True:
        query = select(Item.id).where(Item.project_id == project_id, condition, Item.id.not_in(taken))
        if tried:
            query = query.where(Item.id.not_in(tried))
        candidates = list(session.scalars(_ordered(query, project_id, order).limit(CANDIDATES_PER_TRY)))
        if not candidates:
            return None
        for item_id in candidates:  # ids only: the one leased is loaded, not all the candidates
            tried.add(item_id)
            if not _try_lease(session, {"item_id": item_id, **values}):
                continue
            if decided(item_id):
                session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.session_id == session_id))
                continue
            return session.get(Item, item_id)


def new_session_id() -> str:
    """``HOST:PID:RANDOM``: unique, and tells which process holds a lease, so a crashed session's items can be
    reclaimed by the same annotator's next session at once instead of after the lease expires."""
    return f"{locks.process_token()}:{uuid.uuid4().hex[:24]}"


def reclaim_stale(session: Session, project_id: int, annotator: str) -> int:
    """Drop the leases this annotator's sessions hold on the project whose process is gone (a crash or a
    kill); returns how many. Leases of live sessions, of other annotators and of other hosts stay."""
    rows = session.execute(select(Lease.item_id, Lease.session_id).where(
        Lease.project_id == project_id, Lease.annotator == annotator)).all()
    gone = [item_id for item_id, session_id in rows if locks.token_is_gone(session_id.rpartition(":")[0])]
    if gone:
        session.execute(delete(Lease).where(Lease.item_id.in_(gone)))
    return len(gone)


def renew(session: Session, session_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> int:
    """Extend every lease this session still holds to ``lease_seconds`` from now; returns how many. A lease
    that expired stays this session's until another session's queue clears it (one lease per item), so it is
    renewed while its row is there; once cleared, its item may have gone to someone else and is not taken
    back."""
    return session.execute(update(Lease).where(Lease.session_id == session_id)
                           .values(expires_at=utcnow() + timedelta(seconds=lease_seconds))).rowcount


def release(session: Session, session_id: str) -> int:
    """Give back every item the session holds (a clean quit)."""
    return session.execute(delete(Lease).where(Lease.session_id == session_id)).rowcount


def remaining(session: Session, project_id: int) -> int:
    """Items with no standing decision."""
    return session.scalar(select(func.count()).select_from(Item)
                          .where(Item.project_id == project_id, undecided(project_id))) or 0


def release_item(session: Session, item_id: int, session_id: str) -> None:
    session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.session_id == session_id))


def hold(session: Session, project_id: int, item_id: int, annotator: str, session_id: str,
         lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
    """Lease ``item_id`` to this session (after an undo, the item comes back to whoever undid it)."""
    release_item(session, item_id, session_id)
    session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.expires_at < utcnow()))
    if session.get(Lease, item_id) is None:
        session.add(Lease(item_id=item_id, project_id=project_id, annotator=annotator, session_id=session_id,
                          expires_at=utcnow() + timedelta(seconds=lease_seconds)))
        session.flush()
