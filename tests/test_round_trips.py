"""Every format reads back what it writes (issue 'every export reads back', part 1), proven with Hypothesis.

Generated texts mix CJK (BMP and astral), emoji, combining marks, ``\\r``, ``\\n``, ``\\r\\n``, tabs, ASCII and
full-width quotes and commas, U+3000, zero-width, no-break and line-separator spaces, U+FEFF, and leading or
trailing spaces; labels hold Chinese characters, inner spaces and punctuation; spans fall on any code-point
boundaries, adjacent and nested. For every built-in format and every kind it carries:

- the format level (many examples): write the examples it accepts (``cannot_carry``), read them back through
  ``read_examples``, get the same items, labels and spans; write those again, get the same bytes;
- the project level (fewer examples): import into a project, export, import the export into a fresh project,
  export again: identical bytes, identical items; the items left out are exactly those ``cannot_carry``
  names, each with a reason.

Examples: 60 per format-level and 12 per project-level case, derandomised, so that ``make test`` and CI
run the same examples every time; ``BERTANNO_HYPOTHESIS_SCALE=20`` runs twenty times as many, randomised.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bertanno.core.import_export import annotated_examples, export_project, import_file
from bertanno.core.reading import read_examples
from bertanno.plugins.task import Example, Span
from bertanno.store import Store
from bertanno.store.projects import create_project, get_project
from bertanno.store.schema import Item

SPECIAL = ["\r", "\n", "\r\n", "\t", '"', "'", ",", "，", "“", "”", "\u3000", "\u200b", "\u00a0", "\u2028", "\ufeff",
           "e\u0301", "\u0301", " ", "😀", "👍🏽", "𠀀", "𪚥", "a", "Z", "0", ";", "#", "\\", "{", "}"]
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
PIECE = st.one_of(CJK, CJK, st.sampled_from(SPECIAL))
TEXTS = st.lists(PIECE, min_size=1, max_size=12).map("".join).filter(lambda text: text.strip() != "")
LABEL_CHARS = st.one_of(CJK, st.sampled_from(list("ABCxyz-_:/,，。!？ ()（）")))
LABELS = st.lists(LABEL_CHARS, min_size=1, max_size=6).map("".join).map(str.strip).filter(bool)

FORMATS = {"sentiment": ["jsonl", "csv", "tsv", "txt", "fasttext", "doccano", "doccano-csv", "label-studio"],
           "pair": ["jsonl", "csv", "tsv", "label-studio"],
           "ner": ["jsonl", "conll", "txt", "doccano", "label-studio", "webanno-tsv"]}
CASES = [(task, name) for task, names in FORMATS.items() for name in names]
PROJECT_CASES = CASES + [(task, "hf") for task in FORMATS] + [("ner", "brat")]  # directory formats: via a project
SCALE = int(os.environ.get("BERTANNO_HYPOTHESIS_SCALE", "1"))


def examples(count: int) -> settings:
    """Hypothesis settings for ``count`` examples (times the scale), derandomised at scale 1."""
    return settings(max_examples=count * SCALE, derandomize=SCALE == 1, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def projects(draw, task_name: str):
    """``(labels, examples)``: a label set and up to eight labelled examples of ``task_name``."""
    labels = draw(st.lists(LABELS, min_size=2, max_size=4, unique=True))
    examples = []
    for _ in range(draw(st.integers(1, 8))):
        text = draw(TEXTS)
        if task_name == "ner":
            spans = set()
            for _ in range(draw(st.integers(0, 3))):
                start = draw(st.integers(0, len(text) - 1))
                end = draw(st.integers(start + 1, len(text)))
                spans.add(Span(start, end, draw(st.sampled_from(labels))))
            examples.append(Example(text, payload=sorted(spans)))
        else:
            text_b = draw(TEXTS) if task_name == "pair" else None
            examples.append(Example(text, text_b, draw(st.sampled_from(labels))))
    return labels, examples


def carried(example: Example, task_name: str, format_name: str) -> tuple:
    """What a format carries of an example: the texts, and the annotation unless the format holds texts only."""
    payload = None if format_name == "txt" else example.payload
    return example.text, example.text_b, payload


def write_and_read(plugins, task, format_name: str, examples: list[Example], folder: Path) -> tuple[str, list]:
    file_format = plugins.formats.get(format_name)
    stream = io.StringIO()
    file_format.write(examples, stream, {"kind": task.example_kind})
    path = folder / f"data.{format_name}"
    path.write_text(stream.getvalue(), encoding="utf-8", newline="")
    return stream.getvalue(), read_examples(path, task, format_name, plugins=plugins).examples


@pytest.mark.parametrize("task_name, format_name", CASES, ids=[f"{t}-{f}" for t, f in CASES])
def test_a_format_reads_back_what_it_writes(plugins, task_name, format_name):
    file_format = plugins.formats.get(format_name)

    @examples(60)
    @given(projects(task_name))
    def check(project):
        labels, examples = project
        task = plugins.task(task_name, labels=labels)
        kept = [e for e in examples if file_format.cannot_carry is None or
                file_format.cannot_carry(e, task.example_kind) is None]
        with tempfile.TemporaryDirectory() as folder:
            written, back = write_and_read(plugins, task, format_name, kept, Path(folder))
            assert [carried(e, task_name, format_name) for e in back] == \
                [carried(e, task_name, format_name) for e in kept]
            again, _ = write_and_read(plugins, task, format_name, back, Path(folder))
            assert again == written

    check()


def test_what_each_format_refuses_and_why(plugins):
    """The refusals the property test relies on, spelled out."""
    def why(format_name, example, kind):
        return plugins.formats.get(format_name).cannot_carry(example, kind)

    assert "line break" in why("txt", Example("第一行\r第二行"), "text")
    assert "byte-order mark" in why("txt", Example("\ufeff好"), "text")
    assert "tab or a line break" in why("tsv", Example("好", "坏\t", "0"), "pair")
    assert why("tsv", Example('"好评"但是物流慢', payload="positive"), "text") is None
    assert why("csv", Example("第一行\r\n第二行,\"引号\"", payload="positive"), "text") is None
    assert "overlaps" in why("conll", Example("高血压病", payload=[Span(0, 4, "病"), Span(0, 3, "病")]), "spans")
    assert plugins.formats.get("jsonl").cannot_carry is None


def contents(path: Path) -> object:
    """What an export holds: a file's bytes, or a saved dataset's rows."""
    if (path / "dataset_info.json").is_file():
        from datasets import load_from_disk

        return load_from_disk(str(path)).to_list()
    if path.is_dir():
        return {entry.name: entry.read_bytes() for entry in sorted(path.iterdir())}
    return path.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("task_name, format_name", PROJECT_CASES, ids=[f"{t}-{f}" for t, f in PROJECT_CASES])
def test_export_import_export_through_a_project(plugins, tmp_path_factory, task_name, format_name):
    file_format = plugins.formats.get(format_name)
    counter = iter(range(10**6))

    @examples(12)
    @given(projects(task_name))
    def check(project):
        labels, examples = project
        folder = tmp_path_factory.mktemp("round")
        store = Store.open(f"sqlite:///{folder / 'db.sqlite'}")
        names = [f"p{next(counter)}" for _ in range(2)]
        with store.transaction() as session:
            for name in names:
                create_project(session, name, task_name, labels, "bert-base-chinese")
        task = plugins.task(task_name, labels=labels)
        source = folder / "source.jsonl"
        source.write_text("".join(json.dumps({"text": e.text, **({"text_b": e.text_b} if e.text_b else {}),
                                              **({"spans": [list(s) for s in e.payload]} if task_name == "ner"
                                                 else {"label": e.payload})}, ensure_ascii=False) + "\n"
                                  for e in examples), encoding="utf-8")
        import_file(store, names[0], source, "jsonl", plugins=plugins)
        _, stored = annotated_examples(store, names[0], plugins=plugins)
        first = export_project(store, names[0], format_name, folder / "first", plugins=plugins)
        refused = {item_id for item_id, _ in first.refused}
        assert refused == {item_id for item_id, e in stored
                           if file_format.cannot_carry and file_format.cannot_carry(e, task.example_kind)}
        assert all(reason for _, reason in first.refused)
        kept = [e for item_id, e in stored if item_id not in refused]
        assert first.written == len(kept)
        if not kept:
            store.close()
            return
        import_file(store, names[1], folder / "first", format_name, plugins=plugins)
        second = export_project(store, names[1], format_name, folder / "second", plugins=plugins)
        if format_name == "txt":  # bare texts: the copy holds the same items, unlabelled, and exports none
            with store.transaction() as session:
                project = get_project(session, names[1])
                texts = list(session.scalars(select(Item.text).where(Item.project_id == project.id).order_by(Item.id)))
            assert texts == [e.text for e in kept] and second.written == 0
        else:
            assert contents(folder / "second") == contents(folder / "first") and not second.refused
            _, copied = annotated_examples(store, names[1], plugins=plugins)
            assert [carried(e, task_name, format_name) for _, e in copied] == \
                [carried(e, task_name, format_name) for e in kept]
        store.close()

    check()


def test_the_reported_inputs(tmp_path):
    """The issue's small inputs: a CoNLL text with a line break, TSV quotes, ``-o -``, a refused item named."""
    from click.testing import CliRunner

    from bertanno.cli import cli

    db = str(tmp_path / "r.db")
    runner = CliRunner()
    ner = tmp_path / "ner.jsonl"
    ner.write_text(json.dumps({"text": "第一行\r\n张三住在上海", "spans": [[5, 7, "PER"], [9, 11, "LOC"]]},
                              ensure_ascii=False) + "\n" + json.dumps({"text": "李四", "spans": [[0, 2, "PER"]]},
                                                                      ensure_ascii=False) + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "init", "n", "--task", "ner", "--labels", "PER,LOC"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "n", str(ner)]).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "export", "n", "--format", "conll", "-o", "-"])
    assert result.exit_code == 0 and not (Path.cwd() / "-").exists()
    assert result.stdout == "李 B-PER\n四 I-PER\n\n"
    assert "1 item(s) not written" in result.stderr and "item 1: the text holds a line break" in result.stderr

    reviews = tmp_path / "reviews.jsonl"
    reviews.write_text('{"text": "\\"好评\\"但是物流慢", "label": "positive"}\n{"text": "他说\\"还行\\"", "label": "negative"}\n',
                       encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "init", "s", "--task", "sentiment"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "s", str(reviews)]).exit_code == 0
    exported = tmp_path / "s.tsv"
    assert runner.invoke(cli, ["--db", db, "export", "s", "--format", "tsv", "-o", str(exported)]).exit_code == 0
    assert exported.read_text(encoding="utf-8") == 'text\tlabel\n"好评"但是物流慢\tpositive\n他说"还行"\tnegative\n'
