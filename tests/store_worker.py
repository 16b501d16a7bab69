"""A separate process that works a project's queue, for the concurrency and crash tests.

    python store_worker.py URL PROJECT SESSION [--pause SECONDS]

Draws items until the queue is empty, accepting each, and prints ``ack ITEM_ID`` only after the
decision is committed. An empty draw while other sessions hold items waits for them: with an overlap, an item
another annotator holds comes back for a second one.
"""

import sys
import time

from sqlalchemy import func, select

from bertanno.store import Store
from bertanno.store.annotations import record_decision
from bertanno.store.projects import get_project
from bertanno.store.queue import next_item
from bertanno.store.schema import Lease


def main(url: str, project_name: str, session_id: str, pause: float) -> None:
    store = Store.open(url)
    with store.transaction() as session:
        project_id = get_project(session, project_name).id
    while True:
        with store.transaction() as session:
            item = next_item(session, project_id, session_id, session_id)
        if item is None:
            with store.transaction() as session:  # taken by another annotator: it may come back for a second one
                others = session.scalar(select(func.count()).select_from(Lease).where(Lease.project_id == project_id))
            if others:
                time.sleep(0.02)
                continue
            break
        time.sleep(pause)
        with store.transaction() as session:
            record_decision(session, project_id, item.id, session_id, session_id, "accept", "positive")
        print(f"ack {item.id}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    pause = float(sys.argv[sys.argv.index("--pause") + 1]) if "--pause" in sys.argv else 0.0
    main(sys.argv[1], sys.argv[2], sys.argv[3], pause)
