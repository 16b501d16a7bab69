"""``bertanno doctor`` and the connection settings of a database server (issue 'Beyond one machine', part 3): each
check on SQLite and PostgreSQL, nothing changed by looking, and a server that does not answer is a sentence within
the connect timeout."""

import json
import socket
import time

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.store.database import current_revision, head_revision, open_engine, pool_settings, upgrade


def doctor(db_url, *args, env=None):
    return CliRunner().invoke(cli, ["--db", db_url, "doctor", *args], env=env)


def verdicts(result) -> dict:
    return {check["name"]: check for check in json.loads(result.output)}


def test_a_healthy_database_passes_every_check(store, db_url):
    result = doctor(db_url, "--json", "--round-trips", "5")
    assert result.exit_code == 0, result.output
    checks = verdicts(result)
    assert checks["schema"]["ok"] is True and head_revision() in checks["schema"]["detail"]
    assert checks["connection"]["ok"] and "of 5" in checks["latency"]["detail"]
    if db_url.startswith("sqlite"):
        assert checks["server"]["detail"].startswith("SQLite 3.") and checks["journal"]["detail"] == "journal mode wal"
        assert "GB free" in checks["disk"]["detail"]
    else:
        assert checks["server"]["detail"].startswith("PostgreSQL") and checks["server"]["ok"]
        assert "pool_size 5" in checks["pool"]["detail"]
    shown = doctor(db_url)
    assert shown.exit_code == 0 and " ok " in shown.output and "schema" in shown.output


def test_an_older_schema_is_reported_and_left_as_it_is(db_url):
    engine = open_engine(db_url)
    upgrade(engine, "0009")
    result = doctor(db_url, "--json")
    assert result.exit_code == 0
    schema = verdicts(result)["schema"]
    assert schema["ok"] is None and "at revision 0009" in schema["detail"] and "back it up" in schema["detail"]
    assert current_revision(engine) == "0009"  # looking migrated nothing
    engine.dispose()


def test_a_missing_sqlite_file_fails_and_is_not_created(tmp_path):
    result = doctor(str(tmp_path / "none.db"))
    assert result.exit_code == 1 and "FAIL" in result.output and "bertanno init creates one" in result.output
    assert not (tmp_path / "none.db").exists()


def test_the_pool_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BERTANNO_DB_POOL_SIZE", "3")
    monkeypatch.setenv("BERTANNO_DB_CONNECT_TIMEOUT", "4")
    assert pool_settings()["pool_size"] == 3 and pool_settings()["connect_timeout"] == 4
    monkeypatch.setenv("BERTANNO_DB_POOL_SIZE", "many")
    with pytest.raises(Exception, match="BERTANNO_DB_POOL_SIZE is a whole number of connections"):
        pool_settings()
    monkeypatch.setenv("BERTANNO_DB_POOL_SIZE", "0")
    with pytest.raises(Exception, match="got '0'"):
        pool_settings()


def test_the_pool_settings_reach_the_postgres_engine(monkeypatch):
    pytest.importorskip("psycopg")
    monkeypatch.setenv("BERTANNO_DB_POOL_SIZE", "3")
    monkeypatch.setenv("BERTANNO_DB_MAX_OVERFLOW", "0")
    engine = open_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert engine.pool.size() == 3 and engine.pool._max_overflow == 0


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers: a server that hangs, or a firewall that swallows."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.mark.slow
def test_a_server_that_never_answers_is_a_sentence_within_the_timeout(silent_server):
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://nobody@127.0.0.1:{silent_server}/none"
    started = time.perf_counter()
    result = doctor(url, env={"BERTANNO_DB_CONNECT_TIMEOUT": "2"})
    assert time.perf_counter() - started < 10
    assert result.exit_code == 1 and "FAIL" in result.output and "could not connect after" in result.output
    started = time.perf_counter()
    result = CliRunner().invoke(cli, ["--db", url, "projects"], env={"BERTANNO_DB_CONNECT_TIMEOUT": "2"})
    assert time.perf_counter() - started < 10
    assert result.exit_code != 0 and f"cannot open the database {url}" in str(result.exception)


def test_a_database_whose_driver_is_missing_is_a_sentence(tmp_path):
    url = "mysql://someone@127.0.0.1/annotations"  # SQLAlchemy knows MySQL; its driver is not installed here
    pytest.importorskip("sqlalchemy.dialects.mysql")
    try:
        __import__("MySQLdb")
        pytest.skip("a MySQL driver is installed")
    except ImportError:
        pass
    result = doctor(url, "--json")
    assert result.exit_code == 1 and "its driver is not installed" in verdicts(result)["url"]["detail"]
    result = CliRunner().invoke(cli, ["--db", url, "projects"])
    assert result.exit_code != 0 and "its driver is not installed" in str(result.exception)
    assert "bertanno[postgres]" in str(result.exception)
