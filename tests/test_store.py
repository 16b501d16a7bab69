"""The store on SQLite and PostgreSQL: schema, projects, import, export, decisions, undo, the queue."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bertanno.core.import_export import export_project, import_file
from bertanno.core.reading import BadRowsError
from bertanno.store import StoreError, queue
from bertanno.store import annotations as annotations_q
from bertanno.store.database import current_revision, head_revision
from bertanno.store.projects import create_project, get_project, project_summaries
from bertanno.store.schema import Annotation, AnnotationEvent, Item, Lease, utcnow


def make_project(store, name="reviews", task="sentiment", labels=("negative", "positive")):
    with store.transaction() as session:
        return create_project(session, name, task, list(labels), "bert-base-chinese").id


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


REVIEWS = "label,review\npositive,很快，好吃\nnegative,送餐太慢了\n,还没吃\npositive,味道不错\n"


def test_a_new_database_is_migrated_to_head(store):
    assert current_revision(store.engine) == head_revision()
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_orm_schema_matches_the_migrations(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bertanno.store.schema import Base

    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_projects_are_unique_and_named_in_errors(store):
    make_project(store)
    with pytest.raises(StoreError, match="exists already"):
        make_project(store)
    with store.transaction() as session, pytest.raises(StoreError, match=r"no project named 'other' \(projects: reviews\)"):
        get_project(session, "other")


def test_import_stores_items_and_gold_labels_and_reimport_adds_nothing(store, tmp_path):
    make_project(store)
    path = write(tmp_path, "reviews.csv", REVIEWS)
    report = import_file(store, "reviews", path)
    assert (report.read, report.added, report.duplicates, report.labelled) == (4, 4, 0, 3)
    again = import_file(store, "reviews", path)
    assert (again.added, again.duplicates, again.labelled) == (0, 4, 0)
    # the same texts with other spacing and full-width forms are the same items; other labels are counted
    variant = write(tmp_path, "variant.csv",
                    "label,review\nnegative, 很快，好吃 \n,味道不错\n,新的一条\npositive,新的一条\nnegative,新的一条\n")
    report = import_file(store, "reviews", variant)
    # 很快，好吃 keeps its stored label (a conflict, counted); 新的一条 repeats with two labels: no gold, unsettled
    assert (report.added, report.duplicates, report.conflicts, report.unsettled, report.labelled) == (1, 4, 1, 1, 0)
    with store.transaction() as session:
        stored = session.scalar(select(Item).where(Item.text == "新的一条"))
        assert [c["label"] for c in stored.meta["conflicting_labels"]] == ["positive", "negative"]
        assert annotations_q.current_annotations(session, stored.project_id).get(stored.id) is None
    relabel = write(tmp_path, "relabel.csv", "label,review\nnegative,还没吃\n")  # stored without a label
    assert import_file(store, "reviews", relabel).labelled == 1
    with store.transaction() as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
        assert [item.text for item in items] == ["很快，好吃", "送餐太慢了", "还没吃", "味道不错", "新的一条"]
        assert items[0].source == "reviews.csv:2"
        imports = session.scalars(select(Annotation).where(Annotation.source == "import")).all()
        assert sorted(a.payload for a in imports) == ["negative", "negative", "positive", "positive"]
        events = session.scalar(select(func.count()).select_from(AnnotationEvent).where(AnnotationEvent.kind == "import"))
        assert events == 4
        [summary] = project_summaries(session)
        assert (summary["items"], summary["annotated"]) == (5, 4)  # 新的一条 waits for a person


def test_import_is_all_or_nothing_unless_told(store, tmp_path):
    make_project(store)
    path = write(tmp_path, "bad.csv", "label,review\npositive,好\nmeh,一般\nnegative,差\n")
    with pytest.raises(BadRowsError, match="bad.csv:3"):
        import_file(store, "reviews", path)
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 0
    report = import_file(store, "reviews", path, skip_bad=True)
    assert report.added == 2 and [e.line for e in report.errors] == [3]


def test_decisions_undo_and_the_event_log(store, tmp_path):
    project_id = make_project(store)
    import_file(store, "reviews", write(tmp_path, "x.txt", "一\n二\n三\n"))
    with store.transaction() as session:
        ids = session.scalars(select(Item.id).order_by(Item.id)).all()
        annotations_q.record_decision(session, project_id, ids[0], "ann", "s1", "accept", "positive")
        annotations_q.record_decision(session, project_id, ids[1], "ann", "s1", "correct", "negative")
        annotations_q.record_decision(session, project_id, ids[2], "ann", "s1", "skip")
    with store.transaction() as session:
        assert annotations_q.undo_last(session, "s1").item_id == ids[2]
        assert annotations_q.undo_last(session, "s1").item_id == ids[1]
    with store.transaction() as session:
        standing = annotations_q.current_annotations(session, project_id)
        assert {item: a.payload for item, a in standing.items()} == {ids[0]: "positive"}
        kinds = [e.kind for e in annotations_q.events(session, project_id)]
        assert kinds == ["decision", "decision", "decision", "undo", "undo"]
        with pytest.raises(StoreError, match="decision must be one of"):
            annotations_q.record_decision(session, project_id, ids[0], "ann", "s1", "maybe")


def test_export_filters_and_jsonl_round_trips(store, tmp_path):
    project_id = make_project(store)
    import_file(store, "reviews", write(tmp_path, "reviews.csv", REVIEWS + ",送到时还是热的\n"))
    with store.transaction() as session:
        unlabelled = session.scalar(select(Item.id).where(Item.text == "还没吃"))
        other = session.scalar(select(Item.id).where(Item.text == "送到时还是热的"))
        labelled = session.scalar(select(Item.id).where(Item.text == "送餐太慢了"))
        annotations_q.record_decision(session, project_id, unlabelled, "ann", "s1", "correct", "negative")
        annotations_q.record_decision(session, project_id, other, "ann", "s1", "accept", "positive")
        with pytest.raises(annotations_q.ItemTaken):  # the file's gold label decided it: nobody was served it
            with session.begin_nested():
                annotations_q.record_decision(session, project_id, labelled, "ann", "s1", "accept", "negative")
    report = export_project(store, "reviews", "jsonl", None)
    count, exported = report.written, report.text
    records = [json.loads(line) for line in exported.splitlines()]
    assert count == 5 and [r["text"] for r in records] == ["很快，好吃", "送餐太慢了", "还没吃", "味道不错",
                                                           "送到时还是热的"]
    assert export_project(store, "reviews", "jsonl", None, only="corrected").written == 1
    assert export_project(store, "reviews", "jsonl", None, only="accepted").written == 1
    assert export_project(store, "reviews", "jsonl", None, only="human").written == 2
    with_provenance = export_project(store, "reviews", "jsonl", None, only="human", provenance=True).text
    provenance = json.loads(with_provenance.splitlines()[0])["meta"]["provenance"]
    assert provenance["decision"] == "correct" and provenance["annotator"] == "ann"
    # import the export into a new project: the same items and labels
    make_project(store, "copy")
    path = write(tmp_path, "export.jsonl", exported)
    assert import_file(store, "copy", path).labelled == 5
    assert export_project(store, "copy", "jsonl", None).text == exported


def test_export_formats(store, tmp_path):
    make_project(store, "entities", "ner", ["PER", "LOC"])
    import_file(store, "entities", write(tmp_path, "x.jsonl", '{"text": "张三在北京", "spans": [[0, 2, "PER"], [3, 5, "LOC"]]}\n'))
    assert export_project(store, "entities", "conll", None).text == "张 B-PER\n三 I-PER\n在 O\n北 B-LOC\n京 I-LOC\n\n"
    with pytest.raises(Exception, match="cannot write spans"):
        export_project(store, "entities", "csv", None)
    export_project(store, "entities", "hf", tmp_path / "hf")
    from datasets import load_from_disk

    dataset = load_from_disk(str(tmp_path / "hf"))
    assert dataset[0]["text"] == "张三在北京" and dataset[0]["spans"][1] == {"start": 3, "end": 5, "label": "LOC"}


def test_the_queue_gives_two_sessions_different_items_and_expired_leases_come_back(store, tmp_path):
    project_id = make_project(store)
    import_file(store, "reviews", write(tmp_path, "x.txt", "一\n二\n三\n"))
    with store.transaction() as session:
        first = queue.next_item(session, project_id, "a", "s1")
        second = queue.next_item(session, project_id, "b", "s2")
        assert first.id != second.id
        assert queue.next_item(session, project_id, "a", "s1").id == first.id  # resume the held item
    with store.transaction() as session:  # s1 crashed: its lease expires and the item comes back
        session.execute(update(Lease).where(Lease.session_id == "s1").values(expires_at=utcnow() - timedelta(seconds=1)))
    with store.transaction() as session:
        third = queue.next_item(session, project_id, "b", "s3")
        assert third.id == first.id
        annotations_q.record_decision(session, project_id, third.id, "b", "s3", "accept", "positive")
        assert session.get(Lease, third.id) is None  # a decision releases its lease
        assert queue.next_item(session, project_id, "b", "s3").id not in (first.id, second.id)
        assert queue.next_item(session, project_id, "c", "s4") is None  # everything decided or leased
        assert queue.release(session, "s2") == 1
        assert queue.next_item(session, project_id, "c", "s4").id == second.id


def test_a_skip_puts_the_item_after_the_others_for_its_session_only_and_twice_aside(store, tmp_path):
    project_id = make_project(store)
    import_file(store, "reviews", write(tmp_path, "x.txt", "一\n二\n"))
    with store.transaction() as session:
        first = queue.next_item(session, project_id, "a", "s1")
        annotations_q.record_decision(session, project_id, first.id, "a", "s1", "skip")
        assert queue.next_item(session, project_id, "b", "s2").id == first.id    # another session: at once
        queue.release(session, "s2")
        second = queue.next_item(session, project_id, "a", "s1")
        assert second.id != first.id                                              # the others first
        annotations_q.record_decision(session, project_id, second.id, "a", "s1", "correct", "positive")
        again = queue.next_item(session, project_id, "a", "s1")
        assert again.id == first.id                                               # then the skip comes back
        annotations_q.record_decision(session, project_id, first.id, "a", "s1", "skip")
        assert queue.next_item(session, project_id, "a", "s1") is None            # skipped twice: aside


def test_uncertain_order_serves_the_least_confident_first(store, tmp_path):
    from bertanno.store.predictions import add_predictions

    project_id = make_project(store)
    import_file(store, "reviews", write(tmp_path, "x.txt", "一\n二\n三\n四\n"))
    with store.transaction() as session:
        ids = session.scalars(select(Item.id).order_by(Item.id)).all()
        add_predictions(session, [
            {"item_id": ids[0], "model_version": "v1", "payload": "positive", "confidence": 0.9},
            {"item_id": ids[1], "model_version": "v1", "payload": "positive", "confidence": 0.55},
            {"item_id": ids[2], "model_version": "v1", "payload": "positive", "confidence": 0.6},
            {"item_id": ids[2], "model_version": "v2", "payload": "negative", "confidence": 0.99},
        ])
    served = []
    with store.transaction() as session:
        for _ in range(4):
            item = queue.next_item(session, project_id, "a", "s1", order="uncertain")
            annotations_q.record_decision(session, project_id, item.id, "a", "s1", "skip")
            served.append(item.id)
    assert served == [ids[1], ids[0], ids[2], ids[3]]  # the newest prediction counts; none last


def test_a_bad_url_is_a_sentence(tmp_path):
    from bertanno.store import Store

    with pytest.raises(StoreError, match="cannot use the database URL"):
        Store.open("nosuchdb://x")
    with pytest.raises(StoreError, match="cannot open the database"):
        Store.open(f"sqlite:///{tmp_path}/missing-dir/x.db")
