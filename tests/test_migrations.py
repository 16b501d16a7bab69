"""Opening an older database upgrades it (after a backup for SQLite) and loses nothing."""

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from bertanno.store import Store, StoreError
from bertanno.store.database import current_revision, head_revision, open_engine, upgrade


def fill_at_first_revision(engine):
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO projects (id, name, task, labels, model, config, created_at) "
            "VALUES (1, 'old', 'ner', :labels, 'medbert', '{}', '2026-01-01 00:00:00')"), {"labels": json.dumps(["disease"])})
        connection.execute(text(
            "INSERT INTO items (id, project_id, text, meta, input_hash, created_at) "
            "VALUES (1, 1, '高血压病史十年', '{}', 'h1', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO predictions (id, item_id, model_version, payload, confidence, created_at) "
            "VALUES (1, 1, 'v1', :payload, 0.7, '2026-01-01 00:00:00')"), {"payload": json.dumps([[0, 3, "disease"]])})
        connection.execute(text(
            "INSERT INTO annotations (id, project_id, item_id, annotator, session_id, decision, payload, prediction_id,"
            " source, created_at) VALUES (1, 1, 1, 'doctor', 's1', 'accept', :payload, 1, 'human', '2026-01-01 00:00:00')"),
            {"payload": json.dumps([[0, 3, "disease"]])})
        connection.execute(text(
            "INSERT INTO annotation_events (id, project_id, item_id, annotation_id, kind, data, created_at) "
            "VALUES (1, 1, 1, 1, 'decision', '{}', '2026-01-01 00:00:00')"))


def test_an_old_database_is_upgraded_with_nothing_lost(db_url, tmp_path):
    engine = open_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    fill_at_first_revision(engine)
    engine.dispose()

    store = Store.open(db_url)
    try:
        assert current_revision(store.engine) == head_revision() != "0001"
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT name, model FROM projects")).all() == [("old", "medbert")]
            assert connection.execute(text("SELECT text FROM items")).scalar() == "高血压病史十年"
            assert connection.execute(text("SELECT confidence FROM predictions")).scalar() == 0.7
            payload = connection.execute(text("SELECT payload FROM annotations")).scalar()
            assert (json.loads(payload) if isinstance(payload, str) else payload) == [[0, 3, "disease"]]
            assert connection.execute(text("SELECT count(*) FROM annotation_events")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM leases")).scalar() == 0  # a table of 0002
            assert len(connection.execute(text("SELECT uid FROM projects")).scalar()) == 32  # 0006 gives each an id
            # 0011 counts each item's annotators from the annotations already there: the item stays decided
            assert connection.execute(text("SELECT annotators FROM items")).scalar() == 1
            assert not connection.execute(text("SELECT authoritative FROM items")).scalar()
            if db_url.startswith("sqlite"):  # off while migrating (a rebuilt table must not cascade), on again
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        store.close()
    if db_url.startswith("sqlite"):
        database = Path(db_url.removeprefix("sqlite:///"))
        [backup] = database.parent.glob(f"{database.name}.backup-0001-*")
        assert store.backup == backup
        old = Store(open_engine(f"sqlite:///{backup}"))
        assert current_revision(old.engine) == "0001"
        old.close()


def test_a_database_from_a_newer_bertanno_is_refused(db_url):
    store = Store.open(db_url)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    with pytest.raises(StoreError, match="newer bertanno"):
        Store.open(db_url)


def test_a_database_with_foreign_tables_is_not_touched(db_url):
    engine = open_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StoreError, match="tables that bertanno did not create"):
        Store.open(db_url)
