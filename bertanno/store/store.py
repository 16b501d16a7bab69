"""A handle on one database: transactions and sessions."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bertanno.store.database import migrate_to_head, open_engine, session_factory


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
        """One committed unit of work: everything in it is stored, or nothing is."""
        with self._sessions() as session, session.begin():
            yield session

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()
