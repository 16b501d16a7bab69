"""doccano's files (issue 'move in and move out', part 1): its own layouts import as expected, export and
import again give the same file, and what is malformed is a row error with file and line."""

import json

import pytest

from bertanno.core.import_export import export_project, import_file
from bertanno.core.reading import BadRowsError, read_examples
from bertanno.plugins.task import Span
from bertanno.store.projects import create_project

# Written by hand from doccano's documentation: sequence labelling, the pre-1.0 "labels" key, classification.
NER = ('{"id": 1, "text": "张三住在上海", "label": [[0, 2, "PER"], [4, 6, "LOC"]]}\n'
       '{"id": 2, "text": "李四去了北京", "labels": [[4, 6, "LOC"], [0, 2, "PER"]], "meta": {"source": "old"}}\n'
       '{"id": 3, "text": "今天天气很好", "label": []}\n')
CLASSES = ('{"id": 7, "text": "很好吃", "label": ["positive"]}\n'
           '{"id": 8, "text": "送餐太慢了", "label": ["negative"], "comments": []}\n'
           '{"id": 9, "text": "还没吃", "label": []}\n')
CSV = "id,text,label\r\n1,很好吃,positive\r\n2,送餐太慢了,negative\r\n3,还没吃,\r\n"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    return path


def test_doccano_sequence_labelling_is_recognised_and_read(tmp_path, plugins):
    task = plugins.task("ner", labels=["PER", "LOC"])
    path = write(tmp_path, "doccano.jsonl", NER)
    examples = read_examples(path, task, plugins=plugins).examples  # no --format: the shape says doccano
    assert [e.payload for e in examples] == [[Span(0, 2, "PER"), Span(4, 6, "LOC")],
                                             [Span(0, 2, "PER"), Span(4, 6, "LOC")], None]
    assert examples[0].meta["id"] == 1 and examples[1].meta["meta"] == {"source": "old"}
    # [] is what doccano writes for a text nobody annotated; with empty=no-entities it is a text without entities
    annotated = read_examples(path, task, "doccano", {"empty": "no-entities"}, plugins=plugins).examples
    assert annotated[2].payload == []


def test_doccano_classification_jsonl_and_csv(tmp_path, plugins):
    task = plugins.task("sentiment", labels=["negative", "positive"])
    jsonl = read_examples(write(tmp_path, "classes.jsonl", CLASSES), task, plugins=plugins).examples
    assert [(e.text, e.payload) for e in jsonl] == [("很好吃", "positive"), ("送餐太慢了", "negative"), ("还没吃", None)]
    csv = read_examples(write(tmp_path, "doccano.csv", CSV), task, "doccano-csv", plugins=plugins).examples
    assert [(e.text, e.payload, e.meta.get("id")) for e in csv] == [
        ("很好吃", "positive", "1"), ("送餐太慢了", "negative", "2"), ("还没吃", None, "3")]


def test_bertanno_jsonl_is_still_read_as_jsonl(tmp_path, plugins):
    task = plugins.task("sentiment", labels=["negative", "positive"])
    [example] = read_examples(write(tmp_path, "own.jsonl", '{"text": "好", "label": "positive"}\n'), task,
                              plugins=plugins).examples
    assert example.payload == "positive"


@pytest.mark.parametrize("name, content, message", [
    ("past.jsonl", '{"text": "张三", "label": [[0, 5, "PER"]]}\n', "past.jsonl:1"),
    ("shape.jsonl", '{"text": "张三", "label": [[0, 2]]}\n', "[start, end, type]"),
    ("unknown.jsonl", '{"text": "张三", "label": [[0, 2, "ORG"]]}\n', "ORG"),
    ("notlist.jsonl", '{"text": "张三", "label": [[0, 2, "PER"]]}\n{"text": "李四", "label": "PER"}\n',
     "notlist.jsonl:2"),
])
def test_malformed_doccano_rows_are_errors_with_file_and_line(tmp_path, plugins, name, content, message):
    task = plugins.task("ner", labels=["PER", "LOC"])
    with pytest.raises(BadRowsError) as raised:
        read_examples(write(tmp_path, name, content), task, "doccano", plugins=plugins)
    assert message in str(raised.value)


def test_export_import_export_through_doccano_is_identical(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "a", "ner", ["PER", "LOC"], "bert-base-chinese")
        create_project(session, "b", "ner", ["PER", "LOC"], "bert-base-chinese")
    import_file(store, "a", write(tmp_path, "doccano.jsonl", NER))
    first = export_project(store, "a", "doccano", tmp_path / "first.jsonl")
    assert first.written == 2 and not first.refused  # the unlabelled third text is not exported
    rows = [json.loads(line) for line in (tmp_path / "first.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == {"id": 1, "text": "张三住在上海", "label": [[0, 2, "PER"], [4, 6, "LOC"]]}
    import_file(store, "b", tmp_path / "first.jsonl")
    export_project(store, "b", "doccano", tmp_path / "second.jsonl")
    assert (tmp_path / "second.jsonl").read_bytes() == (tmp_path / "first.jsonl").read_bytes()
