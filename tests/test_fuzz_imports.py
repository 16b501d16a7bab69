"""No input ever ends in a traceback (issue 'Every file from the tools people leave', part 4), proven by
properties with Hypothesis over every import format: arbitrary bytes, arbitrary JSON values at every field the
formats read, every Unicode category, and valid files broken off at any point.

The properties: reading a file either gives examples (each text a ``str`` without characters that are not text)
and row errors, or raises ``BertannoError`` with a sentence; never any other exception. Importing it into a
project either stores the whole valid part or nothing (the item count does not move when it is refused), and
every stored text equals the text the reader gave, on SQLite and on PostgreSQL. ``predict`` on any text writes
each text as read, once and in order, with every span inside it, or refuses in a sentence; a decisions file of
any lines is applied or refused in a sentence. Examples are derandomised (the same every run, so a failure
reproduces); ``BERTANNO_HYPOTHESIS_SCALE=20`` runs twenty times as many, randomised. Cases found are kept as
examples (``@example``) below."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bertanno.core.import_export import import_file
from bertanno.core.reading import read_examples
from bertanno.errors import BertannoError
from bertanno.plugins.task import NOT_TEXT
from bertanno.store import Store
from bertanno.store.items import input_hash
from bertanno.store.projects import create_project
from bertanno.store.schema import Item

SCALE = int(os.environ.get("BERTANNO_HYPOTHESIS_SCALE", "1"))
TASKS = {"ner": ["PER", "LOC", "SYM"], "sentiment": ["negative", "positive"], "pair": ["no", "yes"]}
FORMATS = {  # format -> (task, file name)
    "jsonl": ("ner", "x.jsonl"), "csv": ("sentiment", "x.csv"), "tsv": ("pair", "x.tsv"), "txt": ("sentiment", "x.txt"),
    "conll": ("ner", "x.conll"), "doccano": ("ner", "x.jsonl"), "doccano-csv": ("sentiment", "x.csv"),
    "label-studio": ("ner", "x.json"), "webanno-tsv": ("ner", "x.tsv"),
}
FIELDS = ["text", "text_a", "text_b", "label", "labels", "spans", "entities", "cats", "relations", "meta", "id",
          "answer", "accept", "options", "mention_data", "context", "data", "annotations", "predictions", "result",
          "value", "start", "end", "start_offset", "end_offset", "type", "choices", "completed_by", "was_cancelled",
          "score", "model_version", "column_data", "column_label"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=8), st.sampled_from(["PER", "LOC", "positive", "accept", "reject", "张三", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5)), max_leaves=12)
RECORDS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6)
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)  # every Unicode category, surrogates aside


def settings_for(count: int) -> settings:
    return settings(max_examples=count * SCALE, derandomize=SCALE == 1, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def read(plugins, format_name: str, content: bytes):
    """Read ``content`` as ``format_name`` for its task; the examples or the ``BertannoError``."""
    task_name, name = FORMATS[format_name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            return read_examples(path, plugins.task(task_name, labels=TASKS[task_name]), format_name, skip_bad=True,
                                 plugins=plugins)
        except BertannoError as exc:
            assert str(exc), "a refusal says why"
            return exc


def check_read(plugins, format_name: str, content: bytes) -> None:
    result = read(plugins, format_name, content)
    if isinstance(result, BertannoError):
        return
    for item in result.examples:
        assert isinstance(item.text, str) and item.text.strip() and NOT_TEXT.search(item.text) is None
        assert all(isinstance(error.message, str) and error.message for error in result.errors)


@pytest.mark.parametrize("format_name", sorted(FORMATS))
@settings_for(25)
@given(content=st.binary(max_size=300))
@example(content=b"\xff\xfe\x00b\x00a\x00d")           # UTF-16 with a BOM
@example(content=b'{"text": "\\ud83d", "label": "x"}\n')  # a lone surrogate by a JSON escape
@example(content=b"\x00\x00\x00")
def test_any_bytes_are_read_or_refused_in_a_sentence(plugins, format_name, content):
    check_read(plugins, format_name, content)


JSON_FORMATS = ["jsonl", "doccano", "label-studio"]


@pytest.mark.parametrize("format_name", JSON_FORMATS)
@settings_for(40)
@given(records=st.lists(RECORDS, min_size=1, max_size=3), as_array=st.booleans())
@example(records=[{"text": "头痛", "spans": 5}], as_array=False)
@example(records=[{"text": "头痛", "labels": 3}], as_array=False)
@example(records=[{"text": "头痛", "meta": ["x"]}], as_array=False)
@example(records=[{"data": {"text": "头痛"}, "annotations": 5}], as_array=True)
@example(records=[{"text": "头痛", "entities": [[0, 1]], "cats": "x"}], as_array=False)
def test_json_values_of_any_type_at_every_field_are_row_errors(plugins, format_name, records, as_array):
    content = (json.dumps(records) if as_array or format_name == "label-studio"
               else "".join(json.dumps(record) + "\n" for record in records))
    check_read(plugins, format_name, content.encode("utf-8"))


VALID = {
    "jsonl": '{"text": "张三在北京", "spans": [[0, 2, "PER"], [3, 5, "LOC"]]}\n{"text": "头痛", "spans": []}\n',
    "csv": "text,label\n很好吃,positive\n\"太慢了，差\",negative\n",
    "tsv": "text_a\ttext_b\tlabel\n花呗\t借呗\tno\n",
    "txt": "第一条\n第二条\n",
    "conll": "张 B-PER\n三 I-PER\n\n头 B-SYM\n痛 I-SYM\n",
    "doccano": '{"text": "张三在北京", "label": [[0, 2, "PER"]]}\n',
    "doccano-csv": "id,text,label\n1,很好,positive\n",
    "label-studio": json.dumps([{"id": 1, "data": {"text": "张三"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 0, "end": 2, "text": "张三", "labels": ["PER"]}}]}]}],
        ensure_ascii=False),
    "webanno-tsv": ("#FORMAT=WebAnno TSV 3.3\n#T_SP=de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity|"
                    "identifier|value\n\n\n#Text=张三\n1-1\t0-1\t张\t_\tPER[1]\t\n1-2\t1-2\t三\t_\tPER[1]\t\n"),
}


@pytest.mark.parametrize("format_name", sorted(VALID))
@settings_for(20)
@given(cut=st.integers(min_value=0, max_value=400), noise=ANY_TEXT)
def test_a_valid_file_broken_off_anywhere_or_spliced_with_any_text(plugins, format_name, cut, noise):
    valid = VALID[format_name]
    position = cut % (len(valid) + 1)
    check_read(plugins, format_name, valid[:position].encode("utf-8"))
    check_read(plugins, format_name, (valid[:position] + noise + valid[position:]).encode("utf-8", "surrogatepass"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def projects(request, tmp_path_factory):
    """One project per format, on SQLite and on PostgreSQL (which refuses what SQLite takes, a NUL say)."""
    from conftest import _postgres_database

    urls = (iter([f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"]) if request.param == "sqlite"
            else _postgres_database())
    store = Store.open(next(urls))
    with store.transaction() as session:
        for format_name, (task_name, _) in FORMATS.items():
            create_project(session, format_name.replace("-", "_"), task_name, TASKS[task_name], "bert-base-chinese")
    yield store
    store.close()
    next(urls, None)  # drops the PostgreSQL database


@pytest.mark.parametrize("format_name", sorted(FORMATS))
@settings_for(8)
@given(noise=ANY_TEXT, skip_bad=st.booleans())
def test_an_import_stores_the_whole_valid_part_or_nothing(projects, plugins, format_name, noise, skip_bad):
    store, project = projects, format_name.replace("-", "_")
    valid = VALID[format_name]
    middle = valid.find("\n", len(valid) // 2) + 1 or len(valid)
    content = (valid[:middle] + noise + "\n" + valid[middle:]).encode("utf-8", "surrogatepass")
    task_name, name = FORMATS[format_name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        with store.transaction() as session:
            before = session.scalar(select(func.count()).select_from(Item))
            last = session.scalar(select(func.max(Item.id))) or 0
        try:
            expected = read_examples(path, plugins.task(task_name, labels=TASKS[task_name]), format_name,
                                     skip_bad=skip_bad, plugins=plugins)
        except BertannoError:
            expected = None
        try:
            report = import_file(store, project, path, format_name, skip_bad=skip_bad, plugins=plugins)
        except BertannoError:
            report = None
    with store.transaction() as session:
        after = session.scalar(select(func.count()).select_from(Item))
        hashes = set(session.scalars(select(Item.input_hash)))
        added = list(session.scalars(select(Item.text).where(Item.id > last)))
    if report is None:
        assert after == before  # refused: nothing stored
    else:
        assert expected is not None and after == before + report.added
        assert {input_hash(e.text, e.text_b) for e in expected.examples} <= hashes  # every item is there
        assert set(added) <= {e.text for e in expected.examples}  # a new item's text exactly as read


KEYS = st.one_of(st.sampled_from(["a", "x", "s", "u", "q", "1", "2", "9", "c", "c positive", "c 中性", "@3 a", "@-1 a",
                                  "@x a", "@5", "v 1", "c + 张三:PER", "# comment", ""]), ANY_TEXT)


@settings_for(25)
@given(lines=st.lists(KEYS, max_size=6))
@example(lines=["\x00"])
@example(lines=["c \ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")])
def test_a_decisions_file_of_any_lines_is_applied_or_refused_in_a_sentence(projects, lines):
    from bertanno.app.line_screen import run_scripted
    from bertanno.app.session import AnnotationSession

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "items.txt"
        path.write_text("很好吃\n太慢了\n一般\n", encoding="utf-8")
        import_file(projects, "txt", path)
    session = AnnotationSession(projects, "txt", "fuzz", predict_ahead=False)
    try:
        run_scripted(session, lines, lambda line: None)
    except BertannoError as exc:
        assert str(exc)
    finally:
        session.close()


@pytest.fixture(scope="module")
def ner_version(make_bundle, tmp_path_factory):
    from bertanno.core.bundle import save_version

    return save_version(make_bundle(task="ner", labels=["PER", "LOC"]), tmp_path_factory.mktemp("fuzz") / "v")


@settings_for(15)
@given(texts=st.lists(ANY_TEXT, min_size=1, max_size=4), as_txt=st.booleans())
@example(texts=["张三\x00住在北京"], as_txt=False)
@example(texts=["😀" * 40, "𠮷野家"], as_txt=True)
@example(texts=["\u0301\u200d", "\r"], as_txt=False)
def test_predict_on_any_text_writes_each_text_as_read_with_spans_inside_it_or_refuses(plugins, ner_version, texts,
                                                                                     as_txt):
    # predict's input (issue 53, part 4): whatever the texts, the command exits 0 with one line per text read,
    # the text exactly as read and every span inside it, or exits 1 with a sentence; never a traceback
    from click.testing import CliRunner

    from bertanno.cli import cli

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / ("in.txt" if as_txt else "in.jsonl")
        source.write_text("".join((t + "\n") if as_txt else json.dumps({"text": t}) + "\n" for t in texts),
                          encoding="utf-8")
        out = Path(folder) / "out.jsonl"
        result = CliRunner().invoke(cli, ["predict", str(ner_version), str(source), "-o", str(out), "--skip-bad"])
        assert result.exit_code in (0, 1), result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.output
        if result.exit_code == 1:
            assert "Traceback" not in result.output and result.output.strip()
            return
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        task = plugins.task("ner", labels=["PER", "LOC"])
        expected = [e.text for e in read_examples(source, task, skip_bad=True, plugins=plugins).examples]
    assert [line["text"] for line in lines] == expected  # each text read, once, in order, exactly as read
    for line in lines:
        for start, end, label in line["spans"]:
            assert 0 <= start < end <= len(line["text"]) and label in ("PER", "LOC")



@pytest.mark.slow
def test_the_properties_hold_over_ten_times_as_many_random_examples():
    # the slow suite's share of issue 53, part 4: the same properties, randomised, ten times the examples
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", __file__,
         "-k", "any_bytes or json_values or broken_off or predict_on_any_text"],
        env={**os.environ, "BERTANNO_HYPOTHESIS_SCALE": "10"}, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:]
