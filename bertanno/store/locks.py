"""Named locks in the database, so they hold across processes and machines sharing it.

A lock is stale when its owner was a process on this host that no longer runs (a killed
run), or when it is older than ``stale_after``; a stale lock is taken over.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bertanno.store.schema import Lock, utcnow

HOST_CHARACTERS = 20
"""How much of the host name a process token keeps (session ids must fit 64 characters)."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_token() -> str:
    """``HOST:PID`` of this process, the host cut to ``HOST_CHARACTERS``: the prefix of a session id."""
    return f"{socket.gethostname()[:HOST_CHARACTERS]}:{os.getpid()}"


def token_is_gone(token: str) -> bool:
    """Whether a ``process_token()`` names a process of this host that no longer runs (``False`` when it
    cannot tell: another host, or not a token)."""
    host, _, pid = token.rpartition(":")
    return host == socket.gethostname()[:HOST_CHARACTERS] and _pid_is_gone(pid)


def _owner_is_gone(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return False
    return _pid_is_gone(pid)


def _pid_is_gone(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(session: Session, name: str, owner: str | None = None, stale_after: timedelta = timedelta(hours=12)) -> str | None:
    """Take the lock; ``None`` on success, else a sentence about who holds it."""
    owner = owner or this_process()
    held = session.get(Lock, name, with_for_update=True)
    if held is not None:
        if held.owner != owner and not _owner_is_gone(held.owner) and utcnow() - held.acquired_at < stale_after:
            return f"{name} is held by {held.owner} since {held.acquired_at:%Y-%m-%d %H:%M} UTC"
        session.delete(held)
        session.flush()
    try:
        with session.begin_nested():  # a concurrent taker loses on the primary key, not on timing
            session.add(Lock(name=name, owner=owner, acquired_at=utcnow()))
    except IntegrityError:
        return f"{name} was just taken by {holder(session, name)}"
    return None


def release(session: Session, name: str, owner: str | None = None) -> None:
    session.execute(delete(Lock).where(Lock.name == name, Lock.owner == (owner or this_process())))


def holder(session: Session, name: str) -> str | None:
    return session.scalar(select(Lock.owner).where(Lock.name == name))
