"""Every command fed wrong input: a non-zero exit, a sentence on stderr, no traceback, nothing written (issue
'the newcomer's defects', part 4). Each case runs the real entry point (``bertanno.cli.main``) in-process."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from bertanno.cli import main

SENTIMENT = '{"text": "好吃", "label": "positive"}\n{"text": "太慢", "label": "negative"}\n{"text": "还行"}\n'


def run(args: list[str], monkeypatch, capsys, cwd: Path) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``bertanno ARGS`` run in ``cwd``."""
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["bertanno", *args])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def rows(database: Path) -> dict[str, int]:
    """Row counts of every table: what "nothing written" is checked against."""
    with sqlite3.connect(database) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


@pytest.fixture(scope="module")
def version(tmp_path_factory, make_bundle):
    from bertanno.core.bundle import save_version

    return save_version(make_bundle(task="sentiment", labels=["negative", "positive"], layers=1, hidden=32),
                        tmp_path_factory.mktemp("saved") / "v")


@pytest.fixture
def place(tmp_path, monkeypatch, capsys, version):
    """A folder with a database (project ``p``, two labelled reviews), a saved version, its damaged copies and
    a few input files."""
    import shutil

    (tmp_path / "reviews.jsonl").write_text(SENTIMENT, encoding="utf-8")
    (tmp_path / "new.jsonl").write_text('{"text": "新的一条"}\n', encoding="utf-8")
    (tmp_path / "spans.conll").write_text("张 B-PER\n三 I-PER\n\n", encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes("好吃".encode("gbk"))
    (tmp_path / "not-a-db.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "bad-decisions.txt").write_text("c nonsense-label\n", encoding="utf-8")
    for name, damage in (("truncated", lambda b: b[: len(b) // 2]), ("garbage", lambda b: b"garbage" * 9)):
        copy = tmp_path / name
        shutil.copytree(version, copy)
        weights = copy / "model.safetensors"
        weights.write_bytes(damage(weights.read_bytes()))
    shutil.copytree(version, tmp_path / "v")
    for args in (["init", "p", "--task", "sentiment"], ["import", "p", "reviews.jsonl"]):
        assert run(["--db", "t.db", *args], monkeypatch, capsys, tmp_path)[0] == 0
    return tmp_path


CASES = {
    # init
    "init: empty labels": ["init", "q", "--task", "sentiment", "--labels", ",,"],
    "init: one label": ["init", "q", "--task", "sentiment", "--labels", "good"],
    "init: a name with a slash": ["init", "a/b", "--task", "sentiment"],
    "init: the project exists": ["init", "p", "--task", "sentiment"],
    "init: unknown task": ["init", "q", "--task", "poetry"],
    "init: a gazetteer that does not exist": ["init", "q", "--task", "ner", "--gazetteer", "missing.txt"],
    "init: unknown zero-shot family": ["init", "q", "--task", "sentiment", "--zero-shot", "oracle"],
    # import
    "import: no such file": ["import", "p", "missing.jsonl"],
    "import: not UTF-8": ["import", "p", "gbk.txt"],
    "import: unknown option": ["import", "p", "reviews.jsonl", "--option", "colums=text"],
    "import: unknown project": ["import", "nope", "reviews.jsonl"],
    "import: unknown format": ["import", "p", "reviews.jsonl", "--format", "xml"],
    "import: a format of another task": ["import", "p", "spans.conll"],
    "import: a directory that is no dataset": ["import", "p", "a-folder"],
    "import: a directory format on a file": ["import", "p", "a-file", "--format", "hf"],
    # export
    "export: a folder that does not exist": ["export", "p", "-o", "no-folder/out.jsonl"],
    "export: a directory": ["export", "p", "-o", "a-folder"],
    "export: hf onto a file": ["export", "p", "--format", "hf", "-o", "a-file"],
    "export: unknown format": ["export", "p", "--format", "xml"],
    "export: unknown project": ["export", "nope"],
    # train / retrain
    "train: batch size 0": ["train", "p", "--batch-size", "0"],
    "train: negative learning rate": ["train", "p", "--lr", "-1"],
    "train: no GPU": ["train", "p", "--device", "cuda"],
    "train: not a device": ["train", "p", "--device", "toaster"],
    "train: too little to train on": ["train", "p"],
    "train: unknown family": ["train", "p", "--family", "oracle"],
    "retrain: unknown project": ["retrain", "nope"],
    # predict
    "predict: truncated weights": ["predict", "truncated", "reviews.jsonl"],
    "predict: garbage weights": ["predict", "garbage", "reviews.jsonl"],
    "predict: no GPU": ["predict", "v", "reviews.jsonl", "--device", "cuda:3"],
    "predict: output folder missing": ["predict", "v", "reviews.jsonl", "-o", "no-folder/out.jsonl"],
    "predict: a base model without a task": ["predict", "bert-base-chinese", "reviews.jsonl"],
    # annotate
    "annotate: damaged model": ["annotate", "p", "--model", "truncated", "--decisions", "bad-decisions.txt"],
    "annotate: a decision that is no label": ["annotate", "p", "--no-predict-ahead", "--decisions", "bad-decisions.txt"],
    "annotate: unknown project": ["annotate", "nope", "--decisions", "bad-decisions.txt"],
    # versions, evaluation, schedule
    "promote: unknown version": ["promote", "p", "v009"],
    "evaluate: no champion": ["evaluate", "p"],
    "rollback: nothing to roll back": ["rollback", "p"],
    "schedule: unknown project": ["schedule", "nope"],
    "versions: unknown project": ["versions", "nope"],
    # vocabulary and pretraining
    "vocab add: unknown list": ["vocab", "add", "p", "no-such-list"],
    "vocab check: unknown project": ["vocab", "check", "nope", "高血压"],
    "pretrain: no corpus": ["pretrain", "out-model", "--corpus", "missing-corpus"],
    "models --check: no such model": ["models", "--check", "a-folder"],
    # the database itself
    "--db: not a database": ["--db", "not-a-db.txt", "projects"],
    "--db: read-only": ["--db", "sqlite:///file:t.db?mode=ro&uri=true", "import", "p", "new.jsonl"],
    "--db: a file that does not exist": ["--db", "elsewhere.db", "projects"],
    "--db: a file that does not exist, init fails": ["--db", "elsewhere.db", "init", "q", "--task", "poetry"],
    "--db: not a URL": ["--db", "nosuchdriver://x/y", "projects"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_input_gets_a_sentence_and_changes_nothing(place, monkeypatch, capsys, case):
    args = CASES[case]
    args = args if args[0] == "--db" else ["--db", "t.db", *args]
    before = rows(place / "t.db")
    files = sorted(path.relative_to(place) for path in place.rglob("*") if "t.db" not in path.name)
    code, out, err = run(args, monkeypatch, capsys, place)
    assert code != 0, (out, err)
    assert "Traceback" not in err + out and err.strip(), (out, err)
    assert err.strip().splitlines()[-1].strip(), err
    assert rows(place / "t.db") == before
    assert sorted(path.relative_to(place) for path in place.rglob("*") if "t.db" not in path.name) == files


def test_user_data_is_never_read_as_markup(place, monkeypatch, capsys):
    """Labels and texts are data: rich markup in them is shown as typed, and a stray closing tag breaks nothing."""
    code, out, err = run(["--db", "t.db", "init", "m", "--task", "sentiment", "--labels", "[bold]好[/bold],[/red]"],
                         monkeypatch, capsys, place)
    assert code == 0, err
    code, out, err = run(["--db", "t.db", "projects"], monkeypatch, capsys, place)
    assert code == 0 and "[bold]" in out and "[/red]" in out  # shown as typed (the column may wrap them)
    (place / "odd.jsonl").write_text('{"text": "[/x]好", "label": "[not-a-label]"}\n', encoding="utf-8")
    code, out, err = run(["--db", "t.db", "import", "m", "odd.jsonl"], monkeypatch, capsys, place)
    assert code == 1 and "'[not-a-label]'" in err and "Traceback" not in err


def test_db_after_the_command_gets_a_hint(place, monkeypatch, capsys):
    code, out, err = run(["projects", "--db", "t.db"], monkeypatch, capsys, place)
    assert code == 2 and "--db goes before the command" in err


@pytest.mark.parametrize("args, says", [
    (["annotate", "p", "--live-every", "-3", "--decisions", "bad-decisions.txt"], "-3 is not in the range x>=0"),
    (["annotate", "nosuch"], "no project named 'nosuch'"),
    (["distill", "p", "--student", "3"], "name the teacher with --teacher VERSION"),
    (["import", "p", "empty.txt"], "empty.txt holds no items"),
    (["predict", "a-folder", "reviews.jsonl", "--task", "sentiment"], "a-folder is neither a saved version"),
], ids=["live-every negative", "annotate unknown project without a terminal", "distill names --teacher",
        "an empty file", "a data folder as the model"])
def test_messages_say_what_is_wrong_and_what_to_do(place, monkeypatch, capsys, args, says):
    # issue 46, part 6: each said something else ("must be at least 1" while 0 is allowed, "no terminal to
    # annotate in", "name a version", "0 items read" with exit 0, "is a base model")
    (place / "empty.txt").write_text("", encoding="utf-8")
    code, out, err = run(["--db", "t.db", *args], monkeypatch, capsys, place)
    assert code != 0 and says in " ".join(err.split()), (out, err)


def test_a_span_number_on_an_item_without_spans_says_there_are_none_yet():
    from bertanno.app.span_editing import SpanEditor
    from bertanno.core.plugins import get_plugins
    from bertanno.plugins.task import Example

    editor = SpanEditor(get_plugins().task("ner", labels=["PER"]), Example("张三在北京"), [])
    with pytest.raises(ValueError, match="the item has no spans yet"):
        editor.apply("- 9")  # it said "the spans are numbered none"


def test_long_work_says_where_it_is_and_ctrl_c_says_what_was_kept(place, monkeypatch, capsys):
    # issue 46, part 7: a 200,000-line import ran 45 s without a word; Ctrl-C said only "interrupted"
    from bertanno.core import import_export
    from bertanno.core.reading import PROGRESS_EVERY
    from bertanno.store import Store

    rows = PROGRESS_EVERY + 10
    (place / "many.txt").write_text("".join(f"第{n}条评论\n" for n in range(rows)), encoding="utf-8")
    heard: list[str] = []
    report = import_export.import_file(Store.open(f"sqlite:///{place / 't.db'}"), "p", place / "many.txt",
                                       progress=heard.append)
    assert report.added == rows
    assert heard[0].endswith(f"{PROGRESS_EVERY:,} rows") and heard[-1].startswith(f"storing {rows:,} items")

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(import_export, "import_file", stopped)
    code, out, err = run(["--db", "t.db", "import", "p", "new.jsonl"], monkeypatch, capsys, place)
    assert code == 130 and "interrupted: nothing of new.jsonl was imported" in err


def test_training_in_a_log_starts_with_what_it_did_not_an_empty_line(place, monkeypatch, capsys):
    # issue 46, part 7: train, retrain and distill printed an empty first line (rich's bar, off a terminal)
    (place / "gold.jsonl").write_text("".join(
        f'{{"text": "第{n}家{"很好吃" if n % 2 else "太难吃"}", "label": "{"positive" if n % 2 else "negative"}"}}\n'
        for n in range(60)), encoding="utf-8")
    assert run(["--db", "t.db", "import", "p", "gold.jsonl"], monkeypatch, capsys, place)[0] == 0
    monkeypatch.setenv("BERTANNO_MODELS", str(place / "models"))
    code, out, err = run(["--db", "t.db", "train", "p", "--family", "linear"], monkeypatch, capsys, place)
    assert code == 0, err
    assert not err.startswith("\n") and not out.startswith("\n") and out.splitlines()[0].strip()
