import json

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.core.hub import default_model


def invoke(db, *args):
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


def test_init_import_export_from_the_command_line(tmp_path):
    db = f"sqlite:///{tmp_path / 'team.db'}"
    data = tmp_path / "reviews.csv"
    data.write_text("label,review\n1,好吃\n0,太慢\n", encoding="utf-8")
    created = invoke(db, "init", "reviews", "--task", "sentiment", "--labels", "negative,positive").output
    assert "created project reviews" in created and f"model: {default_model()[1]}" in " ".join(created.split())
    result = invoke(db, "import", "reviews", str(data), "--option", "label_map=0=negative,1=positive")
    assert "2 items read, 2 added, 0 already there, 2 gold labels stored" in result.output
    assert "0 added, 2 already there" in invoke(db, "import", "reviews", str(data), "--option", "label_map=0=negative,1=positive").output
    exported = invoke(db, "export", "reviews")
    assert [json.loads(line)["label"] for line in exported.stdout.splitlines()] == ["positive", "negative"]
    listing = json.loads(invoke(db, "projects", "--json").stdout)
    assert listing == [{"name": "reviews", "task": "sentiment", "labels": ["negative", "positive"],
                        "model": default_model()[0], "items": 2, "annotated": 2}]


def test_export_takes_its_format_from_the_output_extension(tmp_path):
    db = f"sqlite:///{tmp_path / 'team.db'}"
    data = tmp_path / "reviews.csv"
    data.write_text("label,review\n1,好吃\n0,太慢\n", encoding="utf-8")
    invoke(db, "init", "reviews", "--task", "sentiment", "--labels", "0,1")
    invoke(db, "import", "reviews", str(data))
    invoke(db, "export", "reviews", "-o", str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[0] == "text,label"
    invoke(db, "export", "reviews", "-o", str(tmp_path / "out.json"))  # jsonl among several: jsonl
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8").splitlines()[0])["label"] == "1"
    invoke(db, "export", "reviews", "-o", str(tmp_path / "out"))  # no extension: jsonl
    assert (tmp_path / "out").read_text(encoding="utf-8").startswith("{")
    ambiguous = CliRunner().invoke(cli, ["--db", db, "export", "reviews", "-o", str(tmp_path / "out.txt")])
    assert ambiguous.exit_code != 0 and "(fasttext, tsv, txt); pass --format" in str(ambiguous.exception)
    assert not (tmp_path / "out.txt").exists()


def test_the_database_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTANNO_DB", f"sqlite:///{tmp_path / 'env.db'}")
    result = CliRunner().invoke(cli, ["init", "x", "--task", "ner"])
    assert result.exit_code == 0 and (tmp_path / "env.db").exists()


@pytest.mark.slow
def test_store_mistakes_are_sentences(tmp_path):
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'team.db'}"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bertanno", "--db", db, *args], capture_output=True, text=True,
                              timeout=120)

    result = run("import", "nobody", str(tmp_path / "x.csv"))
    assert result.returncode == 1 and "no database at" in result.stderr and "bertanno init" in result.stderr
    assert not (tmp_path / "team.db").exists()
    run("init", "p", "--task", "sentiment")
    result = run("import", "nobody", str(tmp_path / "x.csv"))
    assert result.returncode == 1 and "no project named 'nobody'" in result.stderr and "bertanno init" in result.stderr
    result = run("init", "p", "--task", "sentiment")
    assert result.returncode == 1 and "exists already" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("label,review\nmeh,好\n", encoding="utf-8")
    result = run("import", "p", str(bad))
    assert result.returncode == 1 and "bad.csv:2" in result.stderr and "--skip-bad" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("export", "p", "--format", "hf")
    assert result.returncode == 1 and "give one with -o" in result.stderr


def test_init_records_a_model_directory_by_its_absolute_path_and_refuses_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'team.db'}"
    (tmp_path / "mymodel").mkdir()
    (tmp_path / "mymodel" / "model.safetensors").write_bytes(b"")
    invoke(db, "init", "local", "--task", "sentiment", "--model", "./mymodel", "--model-later")  # weights empty
    assert json.loads(invoke(db, "projects", "--json").stdout)[0]["model"] == str(tmp_path / "mymodel")
    for wrong, says in (("./no-such-model", "no model directory at no-such-model"), (".", "holds no model weights")):
        result = CliRunner().invoke(cli, ["--db", db, "init", "other", "--task", "sentiment", "--model", wrong])
        assert says in str(result.exception) and getattr(result.exception, "exit_code", None) == 3, result.output
    assert [row["name"] for row in json.loads(invoke(db, "projects", "--json").stdout)] == ["local"]


def test_init_refuses_a_model_that_is_not_here_with_the_diagnosis_unless_model_later(tmp_path, monkeypatch):
    # issue 46, part 2: the README's first line (--model medbert, offline) created the project silently
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    db = f"sqlite:///{tmp_path / 'p.db'}"
    for model in ("medbert", "nosuchmodel"):
        result = CliRunner().invoke(cli, ["--db", db, "init", "records", "--task", "ner", "--labels", "disease",
                                          "--model", model])
        assert getattr(result.exception, "exit_code", None) == 3, result.output  # the CLI's exit status
        said = str(result.exception)
        assert "HF_HUB_OFFLINE is set" in said and "was not created" in said and "--model-later" in said
    assert not (tmp_path / "p.db").exists()  # the database made for it is gone too
    later = CliRunner().invoke(cli, ["--db", db, "init", "records", "--task", "ner", "--labels", "disease",
                                     "--model", "medbert", "--model-later"])
    assert later.exit_code == 0 and "created project records" in later.output
    here = CliRunner().invoke(cli, ["--db", db, "init", "mini", "--task", "ner", "--model", "zh-mini"])
    assert here.exit_code == 0, here.output  # a model that is here loads and the project is made


@pytest.mark.parametrize("task, labels, refused, noted", [
    ("ner", "B-drug,I-x,O", "entity type 'B-drug' is a BIO tag", None),
    ("ner", "disease,O", "entity type 'O' is a BIO tag", None),
    ("ner", "body part,drug", None, "label 'body part' cannot be exported to brat, conll"),
    ("sentiment", "very good,bad", None, "label 'very good' cannot be exported to fasttext"),
    ("ner", "disease,drug", None, None),
])
def test_init_refuses_labels_formats_misread_and_names_the_formats_that_cannot_carry_one(tmp_path, task, labels,
                                                                                        refused, noted):
    # issue 46, part 4: "body part" worked until export --format conll wrote 0 items; B-drug became B-B-drug
    db = f"sqlite:///{tmp_path / 'p.db'}"
    result = CliRunner().invoke(cli, ["--db", db, "init", "p", "--task", task, "--labels", labels])
    if refused:
        assert result.exit_code != 0 and refused in str(result.exception), result.output
        return
    assert result.exit_code == 0, result.output
    assert (noted in result.output) if noted else ("cannot be exported" not in result.output)
