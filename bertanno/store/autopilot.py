"""Autopilot's runs and the labels the model gave on them (``autopilot_runs``, ``auto_labels``).

An auto label is never an annotation: it does not settle an item for the queue's counters, is not gold, is not
in the evaluation split and is not trained on; it takes its item out of the queue while it stands
(``annotations.undecided`` asks ``auto_decided``). An item in a run's audit sample stays in the queue until a
person decides it, and is served first (``queue.next_item``) and without a pre-annotation (the session).
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.orm import Session

from bertanno.store.schema import AutoLabel, AutopilotRun, Item, utcnow

AUDITING, PASSED, WITHDRAWN = "auditing", "passed", "withdrawn"
AUTO = "auto"
"""The source of an auto label, as exports and provenance name it (``export --only auto``)."""


def _of_item():
    return AutoLabel.project_id == Item.project_id, AutoLabel.item_id == Item.id


def auto_decided():
    """A condition on ``Item`` rows: a standing auto label (not withdrawn) outside an audit sample decides it."""
    return exists().where(*_of_item(), AutoLabel.withdrawn_at.is_(None), AutoLabel.audit.is_(False))


def audit_pending(project_id: int):
    """A condition on ``Item`` rows: in the audit sample of the project's run being audited (a person's decision
    on it is what the queue still waits for; ``annotations.undecided`` says whether it has one)."""
    running = select(AutopilotRun.id).where(AutopilotRun.project_id == project_id, AutopilotRun.status == AUDITING)
    return exists().where(*_of_item(), AutoLabel.audit.is_(True), AutoLabel.withdrawn_at.is_(None),
                          AutoLabel.run_id.in_(running))


def is_audit_item(session: Session, project_id: int, item_id: int) -> bool:
    """Whether the item is in the audit sample of a run being audited (served without a pre-annotation)."""
    return bool(session.scalar(select(and_(exists().where(Item.id == item_id, audit_pending(project_id))))))


def open_run(session: Session, project_id: int) -> AutopilotRun | None:
    """The project's run being audited, if any (one at a time)."""
    return session.scalar(select(AutopilotRun).where(AutopilotRun.project_id == project_id,
                                                     AutopilotRun.status == AUDITING))


def runs(session: Session, project_id: int) -> list[AutopilotRun]:
    """Every run of the project, oldest first."""
    return list(session.scalars(select(AutopilotRun).where(AutopilotRun.project_id == project_id)
                                .order_by(AutopilotRun.id)))


def add_run(session: Session, project_id: int, version: str, target: float, threshold: float, estimate: float,
            bound: float, details: dict, labels: list[dict]) -> AutopilotRun:
    """Record a run and its labels (``labels``: ``item_id``, ``payload`` as stored JSON, ``confidence``,
    ``probability``, ``audit``), in the caller's transaction."""
    run = AutopilotRun(project_id=project_id, version=version, target=target, threshold=threshold,
                       estimate=estimate, bound=bound, status=AUDITING, details=dict(details))
    session.add(run)
    session.flush()
    now = utcnow()
    if labels:
        session.execute(insert(AutoLabel), [{"project_id": project_id, "run_id": run.id, "created_at": now,
                                             "withdrawn_at": None, **label} for label in labels])
    return run


def run_labels(session: Session, run_id: int, audit: bool | None = None) -> list[AutoLabel]:
    """The run's labels, withdrawn ones included, in item order; ``audit``: only those in (``True``) or out of
    (``False``) its audit sample."""
    chosen = [] if audit is None else [AutoLabel.audit.is_(audit)]
    return list(session.scalars(select(AutoLabel).where(AutoLabel.run_id == run_id, *chosen)
                                .order_by(AutoLabel.item_id)))


def count_run_labels(session: Session, run_id: int) -> int:
    """How many items the run labelled outside its audit sample (withdrawn ones included)."""
    return session.scalar(select(func.count()).select_from(AutoLabel).where(
        AutoLabel.run_id == run_id, AutoLabel.audit.is_(False))) or 0


def item_auto_labels(session: Session, item_id: int) -> list[AutoLabel]:
    """Every auto label of one item, withdrawn ones included, oldest first."""
    return list(session.scalars(select(AutoLabel).where(AutoLabel.item_id == item_id).order_by(AutoLabel.id)))


def standing_auto_labels(session: Session, project_id: int) -> dict[int, AutoLabel]:
    """The project's standing auto labels (not withdrawn) by item id (the latest run's when several)."""
    rows = session.scalars(select(AutoLabel).where(AutoLabel.project_id == project_id,
                                                   AutoLabel.withdrawn_at.is_(None)).order_by(AutoLabel.id))
    return {row.item_id: row for row in rows}


def auto_decided_count(session: Session, project_id: int) -> int:
    """How many of the project's items stand on an auto label outside an audit sample (``auto_decided``)."""
    return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id,
                                                                      auto_decided())) or 0


def finish_run(session: Session, run: AutopilotRun, status: str, note: str, withdraw: bool = False) -> None:
    """End an audit: ``passed`` or ``withdrawn`` (then every label of the run not yet withdrawn is, and its items
    are back in the queue), with ``note`` saying why."""
    now = utcnow()
    if withdraw:
        session.execute(update(AutoLabel).where(AutoLabel.run_id == run.id, AutoLabel.withdrawn_at.is_(None))
                        .values(withdrawn_at=now))
    run.status, run.finished_at = status, now
    run.details = {**(run.details or {}), "note": note}
    session.flush()
