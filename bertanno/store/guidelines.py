"""A project's annotation guidelines, versioned: each change is a new row, numbered from 1."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bertanno.store.schema import Guidelines


def latest_guidelines(session: Session, project_id: int) -> Guidelines | None:
    """The version in force (the highest number), or ``None`` when the project has no guidelines."""
    return session.scalar(select(Guidelines).where(Guidelines.project_id == project_id)
                          .order_by(Guidelines.version.desc()).limit(1))


def version_in_force(session: Session, project_id: int) -> int | None:
    """The number of the version in force, or ``None``: one indexed lookup, cheap enough for every item."""
    return session.scalar(select(func.max(Guidelines.version)).where(Guidelines.project_id == project_id))


def guidelines_version(session: Session, project_id: int, version: int) -> Guidelines | None:
    """Version ``version`` of the project's guidelines, or ``None`` when there is no such version."""
    return session.scalar(select(Guidelines).where(Guidelines.project_id == project_id,
                                                   Guidelines.version == version))


def guidelines_history(session: Session, project_id: int) -> list[Guidelines]:
    """Every version, oldest first."""
    return list(session.scalars(select(Guidelines).where(Guidelines.project_id == project_id)
                                .order_by(Guidelines.version)))


def add_guidelines(session: Session, project_id: int, text: str, author: str) -> tuple[Guidelines, bool]:
    """Store ``text`` as the next version, unless it is the version in force already; returns the version in
    force and whether it is new. Two writers at once: the unique (project, version) makes the second fail, not
    overwrite."""
    latest = latest_guidelines(session, project_id)
    if latest is not None and latest.text == text:
        return latest, False
    number = (version_in_force(session, project_id) or 0) + 1
    row = Guidelines(project_id=project_id, version=number, text=text, author=author)
    session.add(row)
    session.flush()
    return row, True
