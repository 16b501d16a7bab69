"""Label Studio's JSON export (issue 'move in and move out', part 2): tasks in its own layout import with their
annotators as gold and their predictions as pre-annotations; export and import again give the same file."""

import json

import pytest

from bertanno.core.import_export import export_project, import_file
from bertanno.core.project import open_project
from bertanno.core.reading import BadRowsError, read_examples
from bertanno.plugins.task import Span
from bertanno.store.annotations import current_annotations
from bertanno.store.predictions import latest_predictions
from bertanno.store.projects import create_project

# Written by hand from Label Studio's export documentation (JSON, NER template).
NER_TASKS = [
    {"id": 11, "data": {"text": "张三住在上海"},
     "annotations": [{"id": 1, "completed_by": 3, "was_cancelled": False, "result": [
         {"value": {"start": 0, "end": 2, "text": "张三", "labels": ["PER"]}, "from_name": "label", "to_name": "text",
          "type": "labels"},
         {"value": {"start": 4, "end": 6, "text": "上海", "labels": ["LOC"]}, "from_name": "label", "to_name": "text",
          "type": "labels"}]},
         {"id": 2, "completed_by": 4, "result": []}]},
    {"id": 12, "data": {"text": "李四去了北京"}, "annotations": [],
     "predictions": [{"model_version": "ner-v2", "score": 0.87, "result": [
         {"value": {"start": 4, "end": 6, "text": "北京", "labels": ["LOC"]}, "from_name": "label",
          "to_name": "text", "type": "labels"}]}]},
    {"id": 13, "data": {"text": "今天天气很好"}, "annotations": [{"completed_by": {"email": "li@example.com"},
                                                          "was_cancelled": True, "result": []}]},
]
CHOICES = [{"id": 1, "data": {"text": "很好吃"}, "annotations": [{"completed_by": 7, "result": [
    {"value": {"choices": ["positive"]}, "from_name": "sentiment", "to_name": "text", "type": "choices"}]}]}]


def write(tmp_path, name, tasks):
    path = tmp_path / name
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_tasks_import_with_annotators_as_gold_and_predictions_as_pre_annotations(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "ner", "ner", ["PER", "LOC"], "bert-base-chinese")
    report = import_file(store, "ner", write(tmp_path, "export.json", NER_TASKS))  # recognised: a JSON array
    assert (report.added, report.labelled, report.predictions) == (3, 1, 1)
    assert [note.message for note in report.notes] == [
        "1 task(s) have several annotations: the first is kept as gold (with its annotator), the others are left out"]
    project = open_project(store, "ner")
    ids = [item_id for item_id, _ in project.items()]
    with store.transaction() as session:
        gold = current_annotations(session, project.id)
        assert list(gold) == [ids[0]] and gold[ids[0]].annotator == "3"
        assert gold[ids[0]].payload == [[0, 2, "PER"], [4, 6, "LOC"]]
        predicted = latest_predictions(session, ids)
        assert predicted[ids[1]].model_version == "ner-v2" and predicted[ids[1]].confidence == 0.87
        assert predicted[ids[1]].payload == [[4, 6, "LOC"]]


def test_choices_and_the_offset_bug(tmp_path, plugins):
    sentiment = plugins.task("sentiment", labels=["negative", "positive"])
    [example] = read_examples(write(tmp_path, "c.json", CHOICES), sentiment, plugins=plugins).examples
    assert example.payload == "positive" and example.meta["annotator"] == "7"
    ner = plugins.task("ner", labels=["PER", "LOC"])
    shifted = [{"id": 1, "data": {"text": "😀张三住在上海"}, "annotations": [{"result": [  # UTF-16 offsets: 2 for 😀
        {"value": {"start": 2, "end": 4, "text": "张三", "labels": ["PER"]}, "type": "labels"}]}]}]
    path = write(tmp_path, "emoji.json", shifted)
    with pytest.raises(BadRowsError, match=r"'张三' in the text|Label Studio says '张三'"):
        read_examples(path, ner, "label-studio", {"offsets": "check"}, plugins=plugins)
    result = read_examples(path, ner, "label-studio", plugins=plugins)  # re-anchored by default, and said
    [repaired] = result.examples
    assert repaired.payload == [Span(1, 3, "PER")]
    assert [note.message.split(":")[0] for note in result.notes] == ["1 span(s) re-anchored to their surface text"]


@pytest.mark.parametrize("tasks, message", [
    ({"data": {"text": "x"}}, "array of tasks"),
    ([{"data": {"text": "张三"}, "annotations": [{"result": [{"value": {"start": 0, "end": 9, "labels": ["PER"]}}]}]}],
     "outside the text"),
    ([{"data": {}, "annotations": []}], "no text in data"),
])
def test_malformed_exports_are_row_errors(tmp_path, plugins, tasks, message):
    with pytest.raises(BadRowsError, match=message):
        read_examples(write(tmp_path, "bad.json", tasks), plugins.task("ner", labels=["PER", "LOC"]), "label-studio",
                      plugins=plugins)


def test_export_import_export_through_label_studio_is_identical(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "a", "ner", ["PER", "LOC"], "bert-base-chinese")
        create_project(session, "b", "ner", ["PER", "LOC"], "bert-base-chinese")
    import_file(store, "a", write(tmp_path, "export.json", NER_TASKS))
    first = export_project(store, "a", "label-studio", tmp_path / "first.json")
    assert first.written == 1
    [task] = json.loads((tmp_path / "first.json").read_text(encoding="utf-8"))
    assert task["id"] == 11 and task["annotations"][0]["completed_by"] == "3"
    import_file(store, "b", tmp_path / "first.json")
    export_project(store, "b", "label-studio", tmp_path / "second.json")
    assert (tmp_path / "second.json").read_bytes() == (tmp_path / "first.json").read_bytes()
