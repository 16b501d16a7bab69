"""Model versions (candidate / champion / retired) and the training runs that made them."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bertanno.store.database import StoreError
from bertanno.store.schema import ModelVersion, TrainingRun, utcnow


def add_version(session: Session, project_id: int, name: str, directory: str, base_model: str,
                snapshot: dict, metrics: dict, vocab_hash: str | None = None) -> ModelVersion:
    version = ModelVersion(project_id=project_id, name=name, directory=directory, base_model=base_model,
                           vocab_hash=vocab_hash, training_snapshot=snapshot, metrics=metrics, status="candidate")
    session.add(version)
    session.flush()
    return version


def next_version_name(session: Session, project_id: int, prefix: str) -> str:
    """``PREFIX001`` for a project's first version with that prefix, ``PREFIX002`` next, …"""
    names = session.scalars(select(ModelVersion.name).where(ModelVersion.project_id == project_id))
    numbers = [int(name[len(prefix):]) for name in names
               if name.startswith(prefix) and name[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def set_metrics(session: Session, version: ModelVersion, metrics: dict) -> None:
    """Record a version's scores on the project's evaluation split as it is now."""
    version.metrics = dict(metrics)
    session.flush()


def set_calibration(session: Session, version: ModelVersion, calibration: dict | None) -> None:
    """Record a version's calibration maps (``{level: Calibration.to_json()}``), fitted on the evaluation split."""
    version.calibration = dict(calibration) if calibration else None
    session.flush()


def champion(session: Session, project_id: int) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.project_id == project_id,
                                                     ModelVersion.status == "champion"))


def list_versions(session: Session, project_id: int) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).where(ModelVersion.project_id == project_id)
                                .order_by(ModelVersion.id)))


def version_named(session: Session, project_id: int, name: str) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.project_id == project_id,
                                                     ModelVersion.name == name))


def get_version(session: Session, project_id: int, name: str) -> ModelVersion:
    version = version_named(session, project_id, name)
    if version is None:
        known = ", ".join(v.name for v in list_versions(session, project_id)) or "none yet"
        raise StoreError(f"no model version {name!r} in this project (versions: {known})")
    return version


def version_or_champion(session: Session, project_id: int, name: str | None, project_name: str,
                        naming: str = "name a version") -> ModelVersion:
    """The version called ``name``, or the champion when ``name`` is ``None``. Raises ``StoreError`` for an unknown
    name, or when the project has no champion yet (``naming``: how the command names a version instead)."""
    if name:
        return get_version(session, project_id, name)
    reigning = champion(session, project_id)
    if reigning is None:
        raise StoreError(f"project {project_name!r} has no champion yet: {naming}, or train one "
                         f"(bertanno train {project_name})")
    return reigning


def make_champion(session: Session, version: ModelVersion, rollback: bool = False) -> ModelVersion | None:
    """Make ``version`` the champion; the one it replaces is retired and returned.

    A promotion stamps ``promoted_at``; a rollback does not, so rolling back twice walks further back.
    """
    previous = champion(session, version.project_id)
    if previous is not None and previous.id == version.id:
        return None
    if previous is not None:
        previous.status = "retired"
    version.status = "champion"
    if not rollback:
        version.promoted_at = utcnow()
    session.flush()
    return previous


def previous_champion(session: Session, project_id: int) -> ModelVersion | None:
    """The retired version promoted most recently before the current champion."""
    current = champion(session, project_id)
    query = select(ModelVersion).where(ModelVersion.project_id == project_id, ModelVersion.status == "retired",
                                       ModelVersion.promoted_at.is_not(None))
    if current is not None and current.promoted_at is not None:
        query = query.where(ModelVersion.promoted_at < current.promoted_at)
    return session.scalar(query.order_by(ModelVersion.promoted_at.desc()).limit(1))


INTERRUPTED = "interrupted"
"""The decision of a run whose process ended before it finished (killed, crashed): set by the next run."""


def start_run(session: Session, project_id: int, trigger: str, counts: dict) -> TrainingRun:
    """A new training run row of the project. Called under the project's training lock, so a run of the
    project still open is one whose process died (a SIGKILL, a crash): it is closed first as ``interrupted``
    (not succeeded, finished now), so that no row stays open forever."""
    session.execute(update(TrainingRun).where(TrainingRun.project_id == project_id,
                                              TrainingRun.finished_at.is_(None)).values(
        decision=INTERRUPTED, succeeded=False, finished_at=utcnow(),
        log="the process ended before this run finished (killed or crashed); closed by the next run"))
    run = TrainingRun(project_id=project_id, trigger=trigger, counts=counts, metrics={}, log="")
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, decision: str, succeeded: bool, metrics: dict | None = None,
               candidate_id: int | None = None, log: str = "", gate: dict | None = None) -> None:
    session.execute(update(TrainingRun).where(TrainingRun.id == run_id).values(
        decision=decision, succeeded=succeeded, metrics=metrics or {}, candidate_id=candidate_id, log=log,
        gate=gate, finished_at=utcnow()))


def runs(session: Session, project_id: int) -> list[TrainingRun]:
    return list(session.scalars(select(TrainingRun).where(TrainingRun.project_id == project_id)
                                .order_by(TrainingRun.id)))
