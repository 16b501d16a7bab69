"""Every output is written whole or not at all (issue 'Nothing lost, doubled or invented', part 3): a failed or
killed export leaves the previous one byte for byte and no partial file under its name, for a file format and a
directory format; a version folder is never left half written; a killed run's row is closed by the next run."""

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bertanno import files
from bertanno.cli import cli
from bertanno.core.import_export import export_project, import_file
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.projects import create_project
from bertanno.store.schema import TrainingRun
from bertanno.store.versions import runs, start_run

REPO = Path(__file__).resolve().parent.parent


def ner_project(tmp_path, count=6):
    store = Store.open(f"sqlite:///{tmp_path / 'out.db'}")
    with store.transaction() as session:
        create_project(session, "clinic", "ner", ["disease", "drug"], "bert-base-chinese")
    rows = [{"text": f"患者{n}有2型糖尿病，口服二甲双胍。", "spans": [[4 + len(str(n)) - 1, 9 + len(str(n)) - 1, "disease"]]}
            for n in range(count)]
    data = tmp_path / "records.jsonl"
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    import_file(store, "clinic", data)
    return store


def no_partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if files.PARTIAL in p.name]


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_the_previous_export_byte_for_byte(tmp_path, monkeypatch):
    store = ner_project(tmp_path)
    target = tmp_path / "clinic.jsonl"
    export_project(store, "clinic", "jsonl", target)
    before = target.read_bytes()
    store_more = tmp_path / "more.txt"
    store_more.write_text("又一条新的病历。\n", encoding="utf-8")
    import_file(store, "clinic", store_more)
    monkeypatch.setattr(files.os, "fsync", full_disk)
    with pytest.raises(BertannoError, match="No space left on device.*unchanged"):
        export_project(store, "clinic", "jsonl", target)
    assert target.read_bytes() == before and no_partials(tmp_path) == []
    with pytest.raises(BertannoError):
        export_project(store, "clinic", "jsonl", tmp_path / "new.jsonl")
    assert not (tmp_path / "new.jsonl").exists()  # a failed export to a new path leaves no file at all


KILLED = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from bertanno import files
    from bertanno.core.import_export import export_project
    from bertanno.store import Store

    real = files.os.fsync
    def killed(descriptor):  # the data is in the temporary file; the process dies before the rename
        os.kill(os.getpid(), signal.SIGKILL)
    files.os.fsync = killed
    export_project(Store.open(sys.argv[1]), "clinic", sys.argv[2], Path(sys.argv[3]))
""")


@pytest.mark.parametrize("format_name, name", [("jsonl", "clinic.jsonl"), ("brat", "clinic-brat")])
def test_a_kill_in_the_middle_of_an_export_leaves_the_previous_one(tmp_path, format_name, name):
    store = ner_project(tmp_path)
    target = tmp_path / name
    export_project(store, "clinic", format_name, target)
    snapshot = ({p.name: p.read_bytes() for p in target.iterdir()} if target.is_dir() else target.read_bytes())
    more = tmp_path / "more.txt"
    more.write_text("又一条新的病历。\n", encoding="utf-8")
    import_file(store, "clinic", more)
    store.close()
    script = tmp_path / "killed.py"
    script.write_text(KILLED, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), f"sqlite:///{tmp_path / 'out.db'}", format_name, str(target)],
                         env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr
    now = ({p.name: p.read_bytes() for p in target.iterdir()} if target.is_dir() else target.read_bytes())
    assert now == snapshot
    left = no_partials(tmp_path)  # what the kill left beside it, never under the export's name
    assert all(part.startswith(f".{name}{files.PARTIAL}") for part in left)
    store = Store.open(f"sqlite:///{tmp_path / 'out.db'}")
    export_project(store, "clinic", format_name, target)  # the next export sweeps the leftovers away
    assert no_partials(tmp_path) == []
    store.close()


def test_a_directory_export_replaces_an_earlier_one_whole_and_refuses_other_folders(tmp_path, monkeypatch):
    store = ner_project(tmp_path)
    target = tmp_path / "brat"
    export_project(store, "clinic", "brat", target)
    (target / "stale-0.ann").write_text("", encoding="utf-8")  # an earlier export's file the new one lacks
    export_project(store, "clinic", "brat", target)
    assert not (target / "stale-0.ann").exists()  # replaced whole, never mixed
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    written, real = [], Path.write_text

    def filling_up(path, *args, **kwargs):  # the disk fills up after a few documents
        if len(written) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", filling_up)
    with pytest.raises(BertannoError, match="No space left"):
        export_project(store, "clinic", "brat", target)
    assert len(written) == 3
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before and no_partials(tmp_path) == []
    monkeypatch.undo()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.docx").write_bytes(b"my own notes")
    with pytest.raises(BertannoError, match="not an earlier brat export .*notes.docx"):
        export_project(store, "clinic", "brat", mine)
    assert [p.name for p in mine.iterdir()] == ["notes.docx"]


def test_the_cli_reports_a_full_disk_in_a_sentence(tmp_path, monkeypatch):
    ner_project(tmp_path).close()
    target = tmp_path / "clinic.conll"
    target.write_text("the previous export\n", encoding="utf-8")
    monkeypatch.setattr(files.os, "fsync", full_disk)
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'out.db'}", "export", "clinic", "-o",
                                      str(target)])
    assert result.exit_code == 1 and "No space left on device" in result.output + str(result.exception)
    assert target.read_text(encoding="utf-8") == "the previous export\n"


class Halfway:
    """A model bundle whose tokenizer cannot be saved: the save stops after the weights are written."""

    def __init__(self, task):
        self.task, self.base_model, self.max_length, self.added_terms, self.pretrained = task, "x", 16, [], True
        self.model = self
        self.tokenizer = self

    def save_pretrained(self, directory, **kwargs):
        if kwargs:  # the model's call: its weights
            (Path(directory) / "model.safetensors").write_bytes(b"weights")
            return
        raise KeyboardInterrupt  # Ctrl-C while the tokenizer is written


def test_a_version_folder_is_never_left_half_written(tmp_path, plugins):
    from bertanno.core.bundle import is_version_dir, save_version

    with pytest.raises(KeyboardInterrupt):
        save_version(Halfway(plugins.task("sentiment", ["negative", "positive"])), tmp_path / "v003")
    assert not (tmp_path / "v003").exists() and no_partials(tmp_path) == []
    assert not is_version_dir(tmp_path / "v003")


def test_a_killed_runs_row_is_closed_as_interrupted_by_the_next_run(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    with store.transaction() as session:
        project_id = create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese").id
        start_run(session, project_id, "manual", {})  # its process was SIGKILLed: the row stays open
    with store.transaction() as session:
        start_run(session, project_id, "schedule", {})
    with store.transaction() as session:
        first, second = runs(session, project_id)
        assert (first.decision, first.succeeded) == ("interrupted", False) and first.finished_at is not None
        assert second.finished_at is None  # the run now going on
        assert session.scalar(select(TrainingRun.log).where(TrainingRun.id == first.id)).startswith(
            "the process ended before this run finished")
    store.close()
