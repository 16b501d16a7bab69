"""Opening a store: any SQLAlchemy URL, SQLite by default, schema brought to head by migrations.

SQLite gets WAL mode, foreign keys, a busy timeout, full fsync on commit, and ``BEGIN
IMMEDIATE`` transactions so that two processes never interleave a read and a write.
Before an existing SQLite database is upgraded, a backup copy is written beside it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from bertanno.errors import BertannoError

DB_ENV = "BERTANNO_DB"
DEFAULT_FILE = "bertanno.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreError(BertannoError):
    pass


def shown_url(url: str | None) -> str:
    """``url`` as every message shows it: the password masked as ``***``, for any string, parseable or not
    (``postgresql://li:s3cret@db/x`` -> ``postgresql://li:***@db/x``; whatever stands between the user's ``:``
    and the last ``@`` of the authority is masked when SQLAlchemy cannot read the URL). The one function
    every error path uses: a raw URL is never echoed."""
    if url is None:
        return default_url()
    try:
        parsed = make_url(url) if "://" in url else None
    except Exception:  # ArgumentError, a bad port (ValueError), anything: fall back to the pattern
        parsed = None
    if parsed is not None and parsed.password is not None:
        return parsed.render_as_string(hide_password=True)
    authority_end = re.search(r"://[^/?#]*", url)
    if authority_end and "@" in authority_end.group():
        head = url.partition("://")[0]
        authority, tail = authority_end.group()[3:], url[authority_end.end():]
        user, at, host = authority.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        return f"{head}://{user}{at}{host}{tail}"
    return url


def default_url() -> str:
    return os.environ.get(DB_ENV) or f"sqlite:///{DEFAULT_FILE}"


def missing_sqlite_file(url: str | None) -> Path | None:
    """The file of an SQLite ``url`` (a plain path counts as one; ``None``: the default) when it does not
    exist yet; ``None`` for a file that exists, an in-memory database or another kind of database."""
    url = url or default_url()
    if "://" not in url:
        return None if Path(url).exists() else Path(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL, a bad port: open_engine says what is wrong
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file:"):
        return None
    return None if Path(parsed.database).exists() else Path(parsed.database)


def sqlite_read_only(path: Path) -> str | None:
    """Why an existing SQLite file cannot be written here, as a phrase, or ``None`` when it can: the file
    cannot be opened for writing (read-only, immutable, a read-only mount: root included), or its folder takes
    no new file (SQLite writes its -wal and -shm files beside it). Probed by opening, not by permission bits,
    which root ignores; the probe changes nothing (a temporary file in the folder is removed at once)."""
    import tempfile

    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        return f"the database file {path} is read-only ({exc.strerror})"
    try:
        with tempfile.TemporaryFile(dir=path.parent or "."):
            pass
    except OSError as exc:
        return f"the folder of the database file {path} is read-only ({exc.strerror})"
    return None


def _read_only_url(parsed):
    """The SQLite URL that opens the same file read-only: ``mode=ro``, and ``immutable=1`` too when no write-ahead
    log lies beside it (then nothing is written, not even the -shm file, so it opens on a read-only mount);
    with a -wal file the log is read as well (immutable would ignore what it holds)."""
    from urllib.parse import quote

    path = Path(parsed.database).resolve()
    wal = path.with_name(path.name + "-wal")
    immutable = "" if wal.exists() and wal.stat().st_size else "&immutable=1"
    return make_url(f"sqlite:///file:{quote(str(path))}?mode=ro{immutable}&uri=true")


def _configure_sqlite(engine: Engine, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        if not read_only:  # a read-only file keeps the journal mode it has
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _backup_sqlite(engine: Engine, revision: str) -> Path | None:
    """A consistent copy (WAL included) through SQLite's backup API, beside the database."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    source = Path(database)
    backup = source.with_name(f"{source.name}.backup-{revision}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(backup)) as copy:
        original.backup(copy)
    return backup


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction.

    On SQLite, foreign keys are off while migrating: a batch migration rebuilds a table by dropping
    it, and with foreign keys on that drop would cascade-delete every row that refers to it. They are
    checked before committing instead.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection  # outside any transaction: the pragma is ignored inside one
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(_alembic_config(connection), revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all() if sqlite else []
                if broken:
                    raise StoreError(f"the migration to {revision} would leave {len(broken)} broken reference(s), "
                                     f"e.g. {tuple(broken[0])}; nothing was changed")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


POOL_SETTINGS = {  # environment variable -> (create_engine argument, default, what it is)
    "BERTANNO_DB_POOL_SIZE": ("pool_size", 5, "connections each process keeps open"),
    "BERTANNO_DB_MAX_OVERFLOW": ("max_overflow", 10, "connections it may open beyond those at a peak"),
    "BERTANNO_DB_POOL_TIMEOUT": ("pool_timeout", 30, "seconds to wait for a free connection"),
    "BERTANNO_DB_POOL_RECYCLE": ("pool_recycle", 1800, "seconds after which a connection is replaced"),
    "BERTANNO_DB_CONNECT_TIMEOUT": ("connect_timeout", 10, "seconds to wait for the server to answer"),
}
"""The connection settings of a database server (PostgreSQL), each from its environment variable: SQLAlchemy's
``QueuePool`` arguments and the driver's connect timeout. SQLite (one file, no server) uses none of them."""


def pool_settings() -> dict[str, int]:
    """The connection settings in force (``POOL_SETTINGS``' defaults, or the environment's whole numbers).
    Raises ``StoreError`` naming the variable for a value that is not a whole number from 0 (1 for sizes and
    timeouts)."""
    settings = {}
    for variable, (name, default, _) in POOL_SETTINGS.items():
        value = os.environ.get(variable, "").strip()
        try:
            number = int(value) if value else default
        except ValueError:
            number = -1
        if number < (0 if name == "max_overflow" else 1):
            raise StoreError(f"{variable} is a whole number of "
                             f"{'connections' if 'size' in name or 'overflow' in name else 'seconds'} "
                             f"({POOL_SETTINGS[variable][2]}), got {value!r}")
        settings[name] = number
    return settings


def open_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: ``$BERTANNO_DB`` or ``sqlite:///bertanno.db``); not yet migrated.
    A plain file path (no ``://``) means an SQLite database in that file. A server's connections follow
    ``pool_settings`` (a ``connect_timeout`` in the URL wins). Raises ``StoreError`` for a URL SQLAlchemy cannot
    use or a bad setting."""
    url = url or default_url()
    if "://" not in url:
        url = f"sqlite:///{url}"
    url = postgresql_driver(url)
    try:
        parsed = make_url(url)
        options = {}
        if parsed.get_backend_name() != "sqlite":
            settings = pool_settings()
            timeout = settings.pop("connect_timeout")
            options = {"pool_pre_ping": True, **settings}
            if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
                options["connect_args"] = {"connect_timeout": timeout}
        read_only, given = None, parsed
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
                and not parsed.database.startswith("file:") and Path(parsed.database).is_file():
            read_only = sqlite_read_only(Path(parsed.database))
            if read_only:
                parsed = _read_only_url(parsed)
        engine = create_engine(parsed, **options)
        engine.info_read_only = read_only  # why it opened read-only (reads work, a write is refused), or None
        engine.info_given_url = given  # the URL as given (a read-only SQLite file is opened through a file: URI)
    except ValueError as exc:  # a port that is not a number, among others
        raise StoreError(f"cannot use the database URL {shown_url(url)}: "
                         f"{bad_port(url) or exc}") from None
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot use the database URL {shown_url(url)}: it is not a URL SQLAlchemy knows "
                         f"({type(exc).__name__}); write it as postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME "
                         "or sqlite:///FILE") from None
    except ImportError as exc:  # the dialect is known, its driver is not installed
        raise StoreError(f"cannot use the database URL {shown_url(url)}: its driver is not installed "
                         f"({exc.name or 'a module'} is missing); for PostgreSQL use postgresql+psycopg://… and "
                         "pip install 'bertanno[postgres]'") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, bool(read_only))
    return engine


def postgresql_driver(url: str) -> str:
    """``postgres://…`` (the spelling of PaaS hosts and psql) and a bare ``postgresql://…`` when psycopg2 is not
    installed are read as ``postgresql+psycopg://…``, the driver bertanno installs; other URLs as given."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if scheme == "postgres":
        return f"postgresql+psycopg://{rest}"
    if scheme == "postgresql":
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
            return f"postgresql+psycopg://{rest}"
    return url


def bad_port(url: str) -> str | None:
    """A sentence when the URL's port is not a whole number from 1 to 65535; ``None`` otherwise."""
    authority = re.search(r"://([^/?#]*)", url)
    host = authority.group(1).rpartition("@")[2] if authority else ""
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else None
    if port is None or (port.isdigit() and 1 <= int(port) <= 65535):
        return None
    return f"its port {port!r} is not a number from 1 to 65535"


def read_only_reason(engine: Engine) -> str | None:
    """Why ``open_engine`` opened this database read-only (an SQLite file that cannot be written here), or
    ``None``."""
    return getattr(engine, "info_read_only", None)


def given_url(engine: Engine) -> str:
    """The engine's URL as the person gave it, password masked (a read-only SQLite file is opened through a
    ``file:`` URI, which is not what they wrote)."""
    return getattr(engine, "info_given_url", engine.url).render_as_string(hide_password=True)


def migrate_to_head(engine: Engine) -> Path | None:
    """Bring the schema to head; returns the backup written before upgrading an older SQLite database."""
    head = head_revision()
    try:
        current = current_revision(engine)
        has_tables = bool(inspect(engine).get_table_names())
    except DatabaseError as exc:  # OperationalError (cannot open), or a file that is not a database
        raise StoreError(f"cannot open the database {given_url(engine)}: "
                         f"{exc.orig}") from None
    if current == head:
        return None
    read_only = read_only_reason(engine)
    if read_only:
        raise StoreError(f"{read_only}: bertanno can read it only once its schema is at this bertanno's revision "
                         f"({current or 'no tables'}, needs {head}); make it writable to upgrade it")
    if current is None and has_tables:
        raise StoreError(f"{given_url(engine)} holds tables that bertanno did not "
                         "create; use another database or an empty one")
    script = ScriptDirectory.from_config(_alembic_config(None))
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise StoreError(f"the database is at schema revision {current}, which this bertanno does not know; "
                         "it was written by a newer bertanno")
    backup = _backup_sqlite(engine, current) if current is not None and engine.dialect.name == "sqlite" else None
    upgrade(engine)
    return backup


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
