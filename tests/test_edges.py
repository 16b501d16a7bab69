"""The smaller edges of issue 'Nothing lost, doubled or invented' (part 5): names with a control character are
refused (a trailing newline included); a database file that cannot be written here opens read-only for the
commands that only read, a write says the file is read-only, and doctor says so."""

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.store import Store, database
from bertanno.store.database import StoreError
from bertanno.store.projects import check_name


@pytest.mark.parametrize("name", ["nl\n", "tab\there", "bell\a", "nul\x00", "\nlead", "del\x7f"])
def test_a_name_with_a_control_character_is_refused(name):
    with pytest.raises(StoreError, match="cannot name a project"):
        check_name(name)
    assert check_name("病历-2026.v1") == "病历-2026.v1"


def test_init_refuses_a_name_ending_in_a_newline(tmp_path):
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "init", "nl\n", "--task", "sentiment",
                                      "--labels", "a,b"])
    assert result.exit_code == 1 and "cannot name a project" in str(result.exception)
    assert not (tmp_path / "models").exists()


@pytest.fixture
def read_only_database(tmp_path, monkeypatch):
    """A database with one project, which this machine then cannot write (a read-only mount, an immutable file:
    what the probe would find; tests run as root, whom permission bits do not stop)."""
    url = f"sqlite:///{tmp_path / 'team.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", url, "init", "notes", "--task", "sentiment", "--labels", "neg,pos"]).exit_code == 0
    data = tmp_path / "notes.txt"
    data.write_text("头痛三天\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", url, "import", "notes", str(data)]).exit_code == 0
    before = (tmp_path / "team.db").read_bytes()
    monkeypatch.setattr(database, "sqlite_read_only",
                        lambda path: f"the database file {path} is read-only (Read-only file system)")
    return url, tmp_path / "team.db", before


def test_read_commands_work_on_a_read_only_database(read_only_database):
    url, path, before = read_only_database
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", url, "projects"])
    assert result.exit_code == 0 and "notes" in result.output and "immutable" not in result.output
    result = runner.invoke(cli, ["--db", url, "export", "notes"])
    assert result.exit_code == 0, result.output
    assert Store.open(url).read_only.startswith("the database file")


def test_a_write_to_a_read_only_database_says_so_and_changes_nothing(read_only_database):
    url, path, before = read_only_database
    result = CliRunner().invoke(cli, ["--db", url, "init", "more", "--task", "sentiment", "--labels", "a,b"])
    assert result.exit_code == 1
    assert "is read-only" in str(result.exception) and "nothing of it was stored" in str(result.exception)
    assert path.read_bytes() == before


def test_doctor_says_a_read_only_database_will_refuse_writes(read_only_database):
    url, _, _ = read_only_database
    result = CliRunner().invoke(cli, ["--db", url, "doctor", "--json"])
    assert result.exit_code == 1
    checks = {check["name"]: check for check in __import__("json").loads(result.output)}
    assert checks["writable"]["ok"] is False and "every write will fail" in checks["writable"]["detail"]


def test_doctor_says_a_writable_database_takes_writes(tmp_path):
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    CliRunner().invoke(cli, ["--db", url, "init", "notes", "--task", "sentiment", "--labels", "neg,pos"])
    result = CliRunner().invoke(cli, ["--db", url, "doctor"])
    assert result.exit_code == 0 and "the file and its folder take writes" in result.output


def test_the_probe_finds_a_file_it_cannot_open_for_writing(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    missing = folder / "x.db"
    assert "read-only" in database.sqlite_read_only(missing)  # cannot be opened for writing: said, not raised
    missing.write_bytes(b"")
    assert database.sqlite_read_only(missing) is None
