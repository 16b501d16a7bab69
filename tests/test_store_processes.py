"""Real processes against one database: two annotators never get the same item; a killed writer
loses nothing it acknowledged."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bertanno.core.transfer import import_file
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation, AnnotationEvent, Lease

WORKER = Path(__file__).with_name("store_worker.py")


def fill(store, tmp_path, count, overlap=1):
    with store.transaction() as session:
        create_project(session, "reviews", "sentiment", ["negative", "positive"], "bert-base-chinese",
                       overlap=overlap)
    path = tmp_path / "items.txt"
    path.write_text("".join(f"第{i}条评论\n" for i in range(count)), encoding="utf-8")
    import_file(store, "reviews", path)


def start_worker(url, session_id, pause=0.0):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen([sys.executable, str(WORKER), url, "reviews", session_id, "--pause", str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def acks(output: str) -> list[int]:
    return [int(line.split()[1]) for line in output.splitlines() if line.startswith("ack ")]


@pytest.mark.slow
def test_two_processes_never_receive_the_same_item(store, db_url, tmp_path):
    fill(store, tmp_path, 80)
    workers = [start_worker(db_url, f"annotator-{n}", pause=0.005) for n in range(2)]
    outputs = [worker.communicate(timeout=240) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    first, second = (acks(stdout) for stdout, _ in outputs)
    assert first and second, "both workers must have drawn items for the test to mean anything"
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(set(first + second)) and len(first) + len(second) == 80
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 80
        assert session.scalar(select(func.count()).select_from(Lease)) == 0


@pytest.mark.slow
def test_a_killed_writer_loses_no_acknowledged_decision(store, db_url, tmp_path):
    fill(store, tmp_path, 2000)
    worker = start_worker(db_url, "crashy")
    acknowledged = []
    deadline = time.monotonic() + 120
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        line = worker.stdout.readline()
        if line.startswith("ack "):
            acknowledged.append(int(line.split()[1]))
    worker.send_signal(signal.SIGKILL)  # in the middle of the stream, wherever it is
    worker.wait(timeout=30)
    assert len(acknowledged) == 150
    if db_url.startswith("sqlite"):
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with store.transaction() as session:
        stored = set(session.scalars(select(Annotation.item_id).where(Annotation.source == "human")))
        events = session.scalar(select(func.count()).select_from(AnnotationEvent).where(AnnotationEvent.kind == "decision"))
    assert set(acknowledged) <= stored
    assert len(stored) - len(acknowledged) <= 2  # at most the decisions committed but not yet printed
    assert events == len(stored)  # a decision and its event are committed together or not at all


@pytest.mark.slow
def test_with_overlap_each_item_goes_to_k_different_processes(store, db_url, tmp_path):
    fill(store, tmp_path, 40, overlap=2)
    workers = [start_worker(db_url, f"annotator-{n}", pause=0.003) for n in range(3)]
    outputs = [worker.communicate(timeout=240) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    decided = [acks(stdout) for stdout, _ in outputs]
    assert sum(map(bool, decided)) >= 2, "at least two workers must have drawn items for the test to mean anything"
    for mine in decided:
        assert len(mine) == len(set(mine))  # never the same item twice to one annotator
    everything = [item for mine in decided for item in mine]
    assert len(everything) == 80 and all(everything.count(item) == 2 for item in set(everything))
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 80  # none lost
        assert session.scalar(select(func.count()).select_from(Lease)) == 0
