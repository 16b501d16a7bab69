"""What ``bertanno doctor`` checks about a database, without changing it: that it can be reached and how fast, the
server's version, the schema revision against this bertanno's migrations, the connection pool, and for SQLite
the journal mode and the room left on its disk."""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

from bertanno.store.database import (
    StoreError,
    current_revision,
    given_url,
    head_revision,
    open_engine,
    pool_settings,
    read_only_reason,
)

MIN_POSTGRES = 12
"""The oldest PostgreSQL the store is tested against is 15; 12 is the oldest with every feature the migrations
use (generated columns are not used; ``ON CONFLICT``, ``RETURNING`` and JSON are older)."""
MIN_SQLITE = (3, 35, 0)
"""``RETURNING``, which the queue's leases use, arrived in SQLite 3.35.0."""
LATENCY_WARN_MS = 20.0
"""A round trip slower than this makes every key press of an annotator wait noticeably (each decision is a
few round trips)."""
DISK_WARN_BYTES = 1 << 30


@dataclass
class Check:
    name: str
    ok: bool | None
    """``True`` passed, ``False`` failed, ``None`` a warning (works, but worth a look)."""
    detail: str

    def as_json(self) -> dict:
        return asdict(self)


def check_database(url: str | None = None, round_trips: int = 20) -> list[Check]:
    """The checks of the database at ``url`` (default: ``$BERTANNO_DB`` or ``bertanno.db``), in order; stops
    after the first that makes the rest meaningless (a server that cannot be reached). Opens no transaction that
    writes, creates nothing and migrates nothing. Latency: the median and the slowest of ``round_trips``
    ``SELECT 1`` round trips on one connection, in milliseconds."""
    try:
        engine = open_engine(url)
    except StoreError as exc:  # a URL SQLAlchemy cannot use, a driver not installed, a bad pool setting
        return [Check("url", False, str(exc))]
    shown = given_url(engine)
    checks = [Check("url", True, f"{shown} ({engine.dialect.name}, driver {engine.driver})")]
    sqlite = engine.dialect.name == "sqlite"
    database = engine.info_given_url.database
    if sqlite and database and database != ":memory:" and not Path(database).exists():
        checks.append(Check("database", False, f"no database file at {Path(database).resolve()}; "
                                               "bertanno init creates one"))
        return checks
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connected_ms = (time.perf_counter() - started) * 1000
            checks.append(Check("connection", True, f"connected in {connected_ms:.0f} ms"))
            checks.append(_version(connection, sqlite))
            checks.append(_latency(connection, round_trips))
            if sqlite and not read_only_reason(engine):  # opened immutable: no journal to read
                checks.append(_journal(connection))
    except (OperationalError, InterfaceError) as exc:
        seconds = time.perf_counter() - started
        checks.append(Check("connection", False, f"could not connect after {seconds:.1f} s: "
                                                 f"{' '.join(str(exc.orig or exc).split())}"))
        engine.dispose()
        return checks
    checks.append(_schema(engine))
    if sqlite:
        read_only = read_only_reason(engine)
        checks.append(Check("writable", False, f"{read_only}: reading works, every write will fail")
                      if read_only else Check("writable", True, "the file and its folder take writes"))
        checks.append(_disk(Path(engine.info_given_url.database or ".")))
    else:
        checks.append(Check("pool", True, ", ".join(f"{k} {v}" for k, v in pool_settings().items())))
    engine.dispose()
    return checks


def _version(connection, sqlite: bool) -> Check:
    if sqlite:
        import sqlite3

        version = sqlite3.sqlite_version_info
        ok = version >= MIN_SQLITE
        need = "" if ok else f"; bertanno needs {'.'.join(map(str, MIN_SQLITE))} or newer"
        return Check("server", ok, f"SQLite {sqlite3.sqlite_version}{need}")
    if connection.dialect.name == "postgresql":
        full = connection.execute(text("SELECT version()")).scalar()
        major = int(connection.execute(text("SHOW server_version_num")).scalar()) // 10000
        ok = major >= MIN_POSTGRES
        need = "" if ok else f"; bertanno needs PostgreSQL {MIN_POSTGRES} or newer"
        return Check("server", ok, full.split(",")[0] + need)
    return Check("server", None, f"{connection.dialect.name}: not a database bertanno is tested on "
                                 "(SQLite and PostgreSQL are)")


def _latency(connection, round_trips: int) -> Check:
    times = []
    for _ in range(max(round_trips, 1)):
        started = time.perf_counter()
        connection.execute(text("SELECT 1")).scalar()
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    slow = median > LATENCY_WARN_MS
    hint = (f"; over {LATENCY_WARN_MS:.0f} ms, annotators will feel each key press: put the server nearer"
            if slow else "")
    return Check("latency", None if slow else True,
                 f"round trip median {median:.2f} ms, slowest {max(times):.2f} ms of {len(times)}{hint}")


def _journal(connection) -> Check:
    mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    return Check("journal", mode == "wal", f"journal mode {mode}" + ("" if mode == "wal" else
                                                                      "; bertanno sets WAL when it opens the file"))


def _schema(engine) -> Check:
    head = head_revision()
    try:
        current = current_revision(engine)
    except DatabaseError as exc:
        return Check("schema", False, f"cannot read the schema revision: {exc.orig}")
    if current == head:
        return Check("schema", True, f"at revision {head}, this bertanno's newest")
    if current is None:
        return Check("schema", None, f"no bertanno tables yet; the first command that opens it creates them "
                                     f"(revision {head}); the user needs CREATE on the schema")
    return Check("schema", None, f"at revision {current}, this bertanno's newest is {head}: the next command "
                                 "that opens it migrates it (back it up first)")


def _disk(path: Path) -> Check:
    folder = path.resolve().parent
    free = shutil.disk_usage(folder).free
    size = path.stat().st_size if path.exists() else 0
    ok = None if free < DISK_WARN_BYTES else True
    return Check("disk", ok, f"{size / 1e6:.1f} MB database, {free / 1e9:.1f} GB free in {folder}")
