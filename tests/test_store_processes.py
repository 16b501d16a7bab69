"""Real processes against one database: two annotators never get the same item; a killed writer
loses nothing it acknowledged."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bertanno.core.import_export import import_file
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


def start_worker(url, session_id, pause=0.0, annotator=None, lease=None):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    extra = [*(["--annotator", annotator] if annotator else []), *(["--lease", str(lease)] if lease else [])]
    return subprocess.Popen([sys.executable, str(WORKER), url, "reviews", session_id, "--pause", str(pause), *extra],
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


@pytest.mark.slow
def test_load_with_kills_and_expiring_leases_loses_and_doubles_nothing(store, db_url, tmp_path):
    """The load-and-fault check at small size: 4 annotator processes on an overlap-2 project, leases of a fifth
    of a second (so that items are served again while a slow process still has them open), and a SIGKILL now
    and then, each killed annotator coming back in a new session. In the end every item has exactly 2 standing
    decisions of 2 different annotators, every acknowledged decision is stored, and the refused ones are not."""
    fill(store, tmp_path, 30, overlap=2)
    chance = random.Random(7)
    names = [f"annotator-{n}" for n in range(4)]
    running = {name: start_worker(db_url, f"{name}-0", pause=0.05, annotator=name, lease=0.1) for name in names}
    acknowledged, taken, kills, finished = [], [], 0, {}
    deadline = time.monotonic() + 240
    while running and time.monotonic() < deadline:
        time.sleep(chance.uniform(0.2, 0.6))
        if kills < 3:  # kill one worker wherever it is, then start the same annotator in a new session
            name = chance.choice(sorted(running))
            worker = running.pop(name)
            worker.send_signal(signal.SIGKILL)
            stdout, _ = worker.communicate(timeout=30)
            acknowledged += [(name, item) for item in acks(stdout)]
            kills += 1
            running[name] = start_worker(db_url, f"{name}-{kills}", pause=0.05, annotator=name, lease=0.1)
            continue
        for name, worker in list(running.items()):
            if worker.poll() is not None:
                stdout, stderr = worker.communicate()
                assert worker.returncode == 0, stderr
                acknowledged += [(name, item) for item in acks(stdout)]
                taken += [line for line in stdout.splitlines() if line.startswith("taken ")]
                finished[name] = True
                del running[name]
    assert not running, "the workers did not finish in time"
    with store.transaction() as session:
        rows = session.execute(select(Annotation.item_id, Annotation.annotator).where(
            Annotation.source == "human", Annotation.undone_at.is_(None), Annotation.decision != "skip")).all()
    per_item: dict[int, list[str]] = {}
    for item, annotator in rows:
        per_item.setdefault(item, []).append(annotator)
    assert len(per_item) == 30 and all(len(who) == 2 and len(set(who)) == 2 for who in per_item.values())
    assert set(acknowledged) <= {(annotator, item) for item, annotator in rows}  # nothing acknowledged is lost
    assert len(rows) == 60  # nothing doubled: 30 items x 2 annotators
