"""The project handle (core/project.py) and the one definition of a decided item (store/annotations.py)."""

import sqlite3

import pytest

import bertanno.core.import_export as transfer
from bertanno.core.pre_annotation import predict_project
from bertanno.core.project import open_project
from bertanno.plugins.task import Prediction
from bertanno.store import Store, StoreError, queue
from bertanno.store import annotations as annotations_q
from bertanno.store.projects import create_project


class Constant:
    """A served model that proposes one label for everything."""

    def __init__(self, task):
        self.task = task

    def predict(self, examples, progress=None):
        from bertanno.plugins.families import PredictStats

        return [Prediction("positive", 0.9) for _ in examples], PredictStats(examples=len(examples))


@pytest.fixture
def reviews(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "reviews", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "reviews.csv"
    data.write_text("label,review\n,一号\n,二号\n,三号\npositive,四号\n", encoding="utf-8")
    transfer.import_file(store, "reviews", data)
    return open_project(store, "reviews")


def test_the_handle_knows_the_project_and_turns_rows_into_examples(reviews):
    assert reviews.name == "reviews" and reviews.labels == ["negative", "positive"] and len(reviews.uid) == 32
    assert reviews.item_count() == 4
    assert [example.text for _, example in reviews.items()] == ["一号", "二号", "三号", "四号"]
    [(item_id, labelled)] = reviews.annotated()
    assert labelled.text == "四号" and labelled.payload == "positive"
    [(_, with_provenance)] = reviews.annotated(provenance=True)
    assert with_provenance.meta["provenance"]["source"] == "import"


def test_a_missing_project_is_a_sentence(store):
    with pytest.raises(StoreError, match="no project"):
        open_project(store, "nowhere")


def test_one_definition_of_decided_for_the_queue_the_count_and_prediction(store, reviews):
    ids = [item_id for item_id, _ in reviews.items()]
    first_session, other_session = queue.new_session_id(), queue.new_session_id()
    with store.transaction() as session:
        annotations_q.record_decision(session, reviews.id, ids[0], "li", first_session, "reject", "positive")
        annotations_q.record_decision(session, reviews.id, ids[1], "li", first_session, "skip")
    # a reject decides its item (no label); a skip decides nothing; the gold import decides item 4
    assert [item_id for item_id, _ in reviews.items(undecided=True)] == [ids[1], ids[2]]
    with store.transaction() as session:
        assert queue.remaining(session, reviews.id) == 2
        # the session that skipped is not served its skip again; another session is
        assert queue.next_item(session, reviews.id, "li", first_session).id == ids[2]
        assert queue.next_item(session, reviews.id, "wang", other_session).id == ids[1]
    predict_project(store, "reviews", Constant(reviews.task), "c001", undecided_only=True)
    assert [item_id for item_id, _ in reviews.items(unpredicted_by="c001")] == [ids[0], ids[3]]
    assert reviews.items(undecided=True, unpredicted_by="c001") == []


def test_saved_predictions_come_back_with_their_ids(reviews):
    ids = [item_id for item_id, _ in reviews.items()]
    stored = reviews.save_predictions(ids[:2], [Prediction("negative", 0.6), Prediction("positive", 0.7)], "c002")
    assert len(set(stored)) == 2
    assert [item_id for item_id, _ in reviews.items(unpredicted_by="c002")] == ids[2:]
    assert [item_id for item_id, _ in reviews.items(limit=1)] == ids[:1]


def test_import_reads_the_whole_file_before_it_takes_the_write_lock(tmp_path, monkeypatch):
    path = tmp_path / "lock.db"
    store = Store.open(f"sqlite:///{path}")
    with store.transaction() as session:
        create_project(session, "reviews", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "reviews.csv"
    data.write_text("label,review\npositive,好吃\n", encoding="utf-8")
    writable_while_parsing = []
    real_read = transfer.read_examples

    def read_and_probe(*args, **kwargs):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once while another connection holds the write lock
            other.execute("ROLLBACK")
            writable_while_parsing.append(True)
        except sqlite3.OperationalError:
            writable_while_parsing.append(False)
        finally:
            other.close()
        return real_read(*args, **kwargs)

    monkeypatch.setattr(transfer, "read_examples", read_and_probe)
    assert transfer.import_file(store, "reviews", data).added == 1
    store.close()
    assert writable_while_parsing == [True]


@pytest.mark.parametrize("task_name, labels, texts", [
    ("sentiment", ["negative", "positive"], ["很好吃", "送餐太慢了"]),
    ("ner", ["PER", "LOC"], ["张三在北京工作", "李四去了上海"]),
])
def test_what_predict_writes_import_reads_back_as_pre_annotations(store, tmp_path, make_bundle, plugins, task_name,
                                                                   labels, texts):
    from bertanno.app.session import AnnotationSession
    from bertanno.core.engine import Predictor
    from bertanno.core.reading import read_examples
    from bertanno.store.annotations import current_annotations
    from bertanno.store.predictions import latest_predictions

    bundle = make_bundle(task=task_name, labels=labels)
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    examples = read_examples(source, bundle.task, plugins=plugins).examples
    predictions, _ = Predictor(bundle).predict(examples)
    written = tmp_path / "predictions.jsonl"
    written.write_text(transfer.predictions_jsonl(bundle.task, examples, predictions, "v7", plugins), encoding="utf-8")

    with store.transaction() as session:
        create_project(session, "p", task_name, labels, "bert-base-chinese")
    report = transfer.import_file(store, "p", written, plugins=plugins)
    assert (report.added, report.predictions, report.labelled) == (2, 2, 0)  # pre-annotations, never gold
    project = open_project(store, "p", plugins)
    ids = [item_id for item_id, _ in project.items()]
    with store.transaction() as session:
        assert current_annotations(session, project.id) == {}
        stored = latest_predictions(session, ids)
        assert [stored[i].model_version for i in ids] == ["v7", "v7"]
        assert [project.task.payload_from_json(stored[i].payload) for i in ids] == [p.payload for p in predictions]
        assert [stored[i].confidence for i in ids] == [round(p.confidence, 4) for p in predictions]
    # a project without a model of its own shows them in the session, and accepting one stores it
    session = AnnotationSession(store, "p", "li", predict_ahead=False, plugins=plugins)
    current = session.next()
    assert current.prediction.payload == predictions[0].payload
    session.decide("accept")
    session.close()
    [(item_id, accepted)] = project.annotated()
    assert item_id == ids[0] and accepted.payload == predictions[0].payload
    # importing the same predictions again adds no item, only the predictions again
    again = transfer.import_file(store, "p", written, plugins=plugins)
    assert (again.added, again.duplicates, again.predictions) == (0, 2, 2)


def test_a_malformed_prediction_is_a_sentence(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "好", "label": "positive", "meta": {"prediction": {"confidence": 7}}}\n', encoding="utf-8")
    with pytest.raises(transfer.BertannoError, match=r"bad.jsonl:1: meta.prediction must be"):
        transfer.import_file(store, "p", data)
    with store.transaction() as session:
        from bertanno.store.items import count_items
        assert count_items(session, open_project(store, "p").id) == 0


def test_training_data_holds_out_a_stable_tenth_of_each_label(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "split", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "labelled.csv"
    data.write_text("label,review\n" + "".join(f"{'positive' if n % 4 else 'negative'},第{n}条评论\n" for n in range(40)),
                    encoding="utf-8")
    transfer.import_file(store, "split", data)
    project = open_project(store, "split")
    training, evaluation = project.training_data()
    assert len(training) + len(evaluation) == 40
    assert sorted(e.payload for e in evaluation) == ["negative", "positive", "positive", "positive"]  # 10 % each
    assert {e.text for e in evaluation}.isdisjoint(e.text for _, e in training)
    again_training, again_evaluation = project.training_data()
    assert [e.text for e in again_evaluation] == [e.text for e in evaluation]  # items never move
    assert [annotation_id for annotation_id, _ in again_training] == [annotation_id for annotation_id, _ in training]
