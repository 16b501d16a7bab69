"""Secrets stay secret (issue 'Nothing lost, doubled or invented', part 4): a password in the database URL never
appears in a message, whatever is wrong with the URL, nor in what ``schedule`` writes or prints; ``postgres://``
is read as PostgreSQL; a bad port is a sentence."""

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.core.scheduling import environment_text, schedule_files
from bertanno.store.database import open_engine, shown_url

SECRET = "S3cr3tPa55"


def run(*args, env=None):
    result = CliRunner().invoke(cli, list(args), env=env)
    return result, result.output + (str(result.exception) if result.exception else "")


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg2://li:{SECRET}@127.0.0.1:1/team",   # a driver that is not installed
    f"postgresql+asyncpg://li:{SECRET}@127.0.0.1:1/team",
    f"postgresql://li:{SECRET}@127.0.0.1:abc/team",          # a port that is not a number
    f"postgresql://li:{SECRET}@127.0.0.1:99999/team",
    f"nosuchdb://li:{SECRET}@127.0.0.1/team",                # a dialect SQLAlchemy does not know
    f"postgres://li:{SECRET}@127.0.0.1:1/team",              # the PaaS spelling: accepted, the server is not there
    f"postgresql+psycopg://li:{SECRET}%40x@127.0.0.1:1/team",
], ids=["psycopg2", "asyncpg", "port-abc", "port-99999", "unknown-dialect", "postgres-scheme", "encoded"])
@pytest.mark.parametrize("command", [["projects"], ["doctor"], ["export", "p"], ["schedule", "p"]])
def test_no_message_shows_the_password(url, command):
    result, said = run("--db", url, *command, env={"BERTANNO_DB_CONNECT_TIMEOUT": "2"})
    assert result.exit_code != 0, said
    assert SECRET not in said and "Traceback" not in said
    assert "***" in said or "li@" in said or "127.0.0.1" in said  # it still says which database


def test_url_shapes_are_read_or_refused_in_a_sentence():
    assert open_engine(f"postgres://li:{SECRET}@db.example/team").dialect.name == "postgresql"
    with pytest.raises(Exception, match="port 'abc' is not a number from 1 to 65535"):
        open_engine(f"postgresql://li:{SECRET}@h:abc/team")
    with pytest.raises(Exception, match="driver is not installed .*postgresql\\+psycopg://"):
        open_engine(f"postgresql+psycopg2://li:{SECRET}@h/team")
    for url in (f"postgresql://li:{SECRET}@h/x", f"weird://li:{SECRET}@h:port/x?y=1", f"a+b://li:{SECRET}@@h/x"):
        assert SECRET not in shown_url(url) and "li:***@" in shown_url(url)
    assert shown_url("sqlite:///team.db") == "sqlite:///team.db"


def test_the_schedule_puts_no_password_on_a_command_line(tmp_path):
    env_file = tmp_path / "retrain.env"
    url = f"postgresql+psycopg://li:{SECRET}%25x@db/team"
    work = tmp_path / "100%done"
    files = schedule_files("reviews", "1h", url, ["--min-new", "50"], work, env_file)
    assert all(SECRET not in text for text in files.values())
    assert f". {env_file} && set +a && " in files["crontab"]
    assert "100\\%done" in files["crontab"] and "100%done" not in files["crontab"].replace("\\%", "")
    service = files["bertanno-retrain-reviews.service"]
    assert f"EnvironmentFile={env_file}" in service and "WorkingDirectory=" + str(work).replace("%", "%%") in service
    assert environment_text(url).endswith(f"BERTANNO_DB='{url}'\n")


def test_schedule_writes_the_url_to_a_file_only_its_owner_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = f"sqlite:///{tmp_path / 'team.db'}"
    assert run("--db", db, "init", "reviews", "--task", "sentiment", "--labels", "neg,pos")[0].exit_code == 0
    result, said = run("--db", db, "schedule", "reviews", "--every", "30m")
    assert result.exit_code == 0, said
    env_file = tmp_path / "config" / "bertanno" / "retrain-reviews.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f"BERTANNO_DB='{db}'" in env_file.read_text(encoding="utf-8")
    assert "--db" not in result.stdout and str(env_file) in said
    # the line works: sourcing the file gives the job its database
    import subprocess
    shown = subprocess.run(["sh", "-c", f"set -a && . '{env_file}' && set +a && printf %s \"$BERTANNO_DB\""],
                           capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert shown.stdout == db
    assert Path(env_file).read_text(encoding="utf-8").count("\n") == 2
