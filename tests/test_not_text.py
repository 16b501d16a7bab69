"""Characters that are not text (control characters other than tab and line breaks, lone surrogates) are a
row error with line and column in every input, skippable with --skip-bad, never a traceback (issue 'every
export reads back', part 2)."""

import json
import re

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.core.bundle import save_version
from bertanno.core.reading import BadRowsError, read_examples
from bertanno.errors import BertannoError
from bertanno.plugins.task import check_text, not_text
from bertanno.vocab.terms import parse_terms


@pytest.mark.parametrize("text, column, code", [
    ("好开心\ud83d", 4, "U+D83D"), ("\udc00好", 1, "U+DC00"), ("好\x00开心", 2, "U+0000"),
    ("a\x1bb", 2, "U+001B"), ("ab\x7f", 3, "U+007F"), ("好\x85", 2, "U+0085"), ("\x0c", 1, "U+000C"),
])
def test_not_text_names_the_column_and_the_character(text, column, code):
    assert not_text(text).startswith(f"column {column}: {code} is a")
    with pytest.raises(ValueError, match=re.escape(f"text_b column {column}: {code}")):
        check_text(text, "text_b")


@pytest.mark.parametrize("text", ["好\t开心", "第一行\r\n第二行", "😀\u3000\u200b\u00a0é", " ", ""])
def test_tabs_line_breaks_emoji_and_unusual_spaces_are_text(text):
    assert not_text(text) is None


def said(result) -> str:
    """What a command run by CliRunner told its user: its output, and the sentence of a BertannoError (which
    ``bertanno.cli.main`` prints on stderr). Any other exception fails the test."""
    if result.exception is not None and not isinstance(result.exception, (BertannoError, SystemExit)):
        raise result.exception
    return result.output + (str(result.exception) if isinstance(result.exception, BertannoError) else "")


BAD = "好\x00开心"
FILES = {  # format: (file name, content: one bad row on line 2 or 4 and two good rows, task)
    "jsonl": ("a.jsonl", '{"text": "很好", "label": "positive"}\n{"text": "好开心\\ud83d", "label": "positive"}\n'
                         '{"text": "差", "label": "negative"}\n', "sentiment"),
    "csv": ("a.csv", f"text,label\n{BAD},positive\n差,negative\n好,positive\n", "sentiment"),
    "tsv": ("a.tsv", f"text\tlabel\n{BAD}\tpositive\n差\tnegative\n好\tpositive\n", "sentiment"),
    "txt": ("a.txt", f"很好\n{BAD}\n差\n", "sentiment"),
    "pair-jsonl": ("p.jsonl", '{"text": "头痛", "text_b": "头疼", "label": "1"}\n'
                              '{"text": "头痛", "text_b": "头\\u0007疼", "label": "1"}\n'
                              '{"text": "发烧", "text_b": "咳嗽", "label": "0"}\n', "pair"),
    "conll": ("a.conll", "张 B-PER\n三 I-PER\n\n张 B-PER\n\x01 O\n\n李 B-PER\n", "ner"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_reader_makes_it_a_row_error_with_line_and_column(tmp_path, plugins, name):
    file_name, content, task_name = FILES[name]
    path = tmp_path / file_name
    path.write_text(content, encoding="utf-8")
    task = plugins.task(task_name, **({"labels": ["0", "1"]} if task_name == "pair" else {}))
    with pytest.raises(BadRowsError) as caught:
        read_examples(path, task, plugins=plugins)
    assert len(caught.value.errors) == 1
    error = caught.value.errors[0]
    assert error.line in (2, 4) and "column" in error.message and "not text" in error.message
    kept = read_examples(path, task, skip_bad=True, plugins=plugins)
    assert len(kept.examples) == 2 and all(not_text(e.text) is None for e in kept.examples)


def test_import_and_predict_say_a_sentence_and_skip_bad_keeps_the_rest(tmp_path, make_bundle):
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "好开心\\ud83d"}\n{"text": "还行"}\n', encoding="utf-8")
    db = str(tmp_path / "p.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment"]).exit_code == 0
    refused = runner.invoke(cli, ["--db", db, "import", "p", str(data)])
    assert refused.exit_code == 1 and "in.jsonl:1: text column 4: U+D83D is a lone surrogate" in said(refused)
    skipped = runner.invoke(cli, ["--db", db, "import", "p", str(data), "--skip-bad"])
    assert skipped.exit_code == 0 and "1 added" in skipped.output
    model = save_version(make_bundle(task="sentiment", labels=["negative", "positive"]), tmp_path / "v")
    out = tmp_path / "out.jsonl"
    refused = runner.invoke(cli, ["predict", str(model), str(data), "-o", str(out)])
    assert refused.exit_code == 1 and "U+D83D" in said(refused) and not out.exists()
    done = runner.invoke(cli, ["predict", str(model), str(data), "-o", str(out), "--skip-bad"])
    assert done.exit_code == 0, done.output
    assert [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()] == ["还行"]


def test_term_lists_skip_such_lines_and_say_why():
    result = parse_terms(["高血压\tDISEASE\n", "糖\x00尿病\tDISEASE\n", "头痛\tSYM\x07\n", "发烧\n"], "t", "t.txt")
    assert result.texts == ["高血压", "发烧"]
    assert [(line, why.split(":")[0]) for line, why in result.malformed] == [(2, "column 2"), (3, "column 7")]


def test_a_gazetteer_with_such_lines_is_refused_at_init(tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("高血压\tDISEASE\n糖\x00尿病\tDISEASE\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "g.db"), "init", "g", "--task", "ner",
                                      "--labels", "DISEASE", "--gazetteer", str(terms)])
    assert result.exit_code == 1 and "terms.txt:2: column 2: U+0000" in said(result)


def test_labels_that_are_not_text_are_refused(plugins):
    with pytest.raises(BertannoError, match=re.escape("U+0000 is a control character")):
        plugins.task("sentiment", labels=["好", "坏\x00"])


def test_a_decisions_line_that_is_not_text_is_a_sentence(tmp_path):
    db = str(tmp_path / "d.db")
    data = tmp_path / "items.jsonl"
    data.write_text('{"text": "好"}\n', encoding="utf-8")
    runner = CliRunner()
    runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment"])
    runner.invoke(cli, ["--db", db, "import", "p", str(data)])
    result = runner.invoke(cli, ["--db", db, "annotate", "p", "--no-predict-ahead", "--decisions", "-"],
                           input="c posi\x00tive\n")
    assert result.exit_code == 1 and "decisions line 1, column 7: U+0000" in said(result)
