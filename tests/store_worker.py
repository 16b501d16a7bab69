"""A separate process that works a project's queue, for the concurrency and crash tests.

    python store_worker.py URL PROJECT SESSION [--pause SECONDS] [--annotator NAME] [--lease SECONDS]

Draws items until the queue is empty, accepting each, and prints ``ack ITEM_ID`` only after the
decision is committed; ``taken ITEM_ID`` when the decision was refused because the item's lease (``--lease``,
default the queue's 15 minutes) expired and the item went to someone else meanwhile. ``--annotator``: the
annotator's name (default: the session id), so that a restarted worker is the same person in a new session. An
empty draw waits while an item this annotator has not decided is still incomplete (another session holds it; with
an overlap it comes back for a second annotator once decided) and stops when there is none: a condition that,
unlike "no one holds a lease now", cannot turn true while another worker is between a draw and its decision.
"""

import random
import sys
import time

from sqlalchemy import func, select

from bertanno.store import Store
from bertanno.store.annotations import ItemTaken, record_decision, undecided
from bertanno.store.projects import get_project
from bertanno.store.queue import DEFAULT_LEASE_SECONDS, next_item
from bertanno.store.schema import Item


def main(url: str, project_name: str, session_id: str, pause: float, annotator: str | None = None,
         lease: float = DEFAULT_LEASE_SECONDS) -> None:
    annotator = annotator or session_id
    jitter = random.Random(session_id)
    store = Store.open(url)
    with store.transaction() as session:
        project_id = get_project(session, project_name).id
    while True:
        with store.transaction() as session:
            item = next_item(session, project_id, annotator, session_id, lease_seconds=lease)
        if item is None:
            with store.transaction() as session:  # held by another annotator: it may come back for a second one
                open_for_me = session.scalar(select(func.count()).select_from(Item).where(
                    Item.project_id == project_id, undecided(project_id, annotator=annotator)))
            if open_for_me:
                time.sleep(0.02)
                continue
            break
        time.sleep(pause * jitter.uniform(0.0, 3.0))  # some items stay open past their lease
        try:
            with store.transaction() as session:
                record_decision(session, project_id, item.id, annotator, session_id, "accept", "positive")
        except ItemTaken:
            print(f"taken {item.id}", flush=True)
            continue
        print(f"ack {item.id}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    def option(name, default):
        return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

    main(sys.argv[1], sys.argv[2], sys.argv[3], float(option("--pause", 0.0)), option("--annotator", None),
         float(option("--lease", DEFAULT_LEASE_SECONDS)))
