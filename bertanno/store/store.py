"""A handle on one database: transactions and sessions."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bertanno.store.database import (
    StoreError,
    given_url,
    migrate_to_head,
    open_engine,
    read_only_reason,
    session_factory,
)


class Store:
    def __init__(self, engine: Engine, backup: Path | None = None):
        self.engine = engine
        self.backup = backup
        """Where the database was copied before an upgrade of its schema, if one happened."""
        self._sessions = session_factory(engine)

    @classmethod
    def open(cls, url: str | None = None) -> "Store":
        """Open ``url`` (default: ``$BERTANNO_DB`` or ``sqlite:///bertanno.db``), migrating its schema to head."""
        engine = open_engine(url)
        return cls(engine, migrate_to_head(engine))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One committed unit of work: everything in it is stored, or nothing is.

        Raises ``StoreError`` with a sentence when the database refuses the work (read-only, locked too long,
        the disk full, the server gone): nothing of the unit is stored."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            raise StoreError(refusal(self.url, exc, self.read_only)) from None

    @property
    def url(self) -> str:
        return given_url(self.engine)

    @property
    def read_only(self) -> str | None:
        """Why this database opened read-only (an SQLite file that cannot be written here), or ``None``."""
        return read_only_reason(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def refusal(url: str, exc: OperationalError, read_only: str | None = None) -> str:
    """The sentence for a database that refused work, with what to do for the common causes. ``read_only``:
    why the store opened the file read-only (``read_only_reason``), which explains a refused write."""
    reason = str(exc.orig).strip()
    hint = ""
    if read_only and "readonly" in reason.replace("-", "").replace(" ", ""):
        return (f"{read_only}, so bertanno opened it for reading only: this command writes, and nothing of it "
                "was stored; make the file and its folder writable, or copy the database to a writable place")
    if "readonly" in reason or "read-only" in reason:
        hint = ("; the database file, or its folder (SQLite writes -wal and -shm files beside it), is read-only: "
                "make both writable, or give another database with --db")
    elif "locked" in reason:
        hint = "; another process holds it: try again when it has finished"
    return f"the database {url} refused the change: {reason}{hint}; nothing of it was stored"
