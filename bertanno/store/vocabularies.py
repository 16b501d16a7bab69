"""Term lists kept in the store: one row per distinct ordered list, shared by projects and model versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bertanno.store.schema import Project, Vocabulary


def save_vocabulary(session: Session, name: str, terms: list[str], hash_: str) -> Vocabulary:
    """The row for this exact ordered list, created the first time it is seen."""
    vocabulary = session.scalar(select(Vocabulary).where(Vocabulary.hash == hash_))
    if vocabulary is None:
        vocabulary = Vocabulary(name=name, terms=list(terms), hash=hash_)
        session.add(vocabulary)
        session.flush()
    return vocabulary


def project_vocabulary(session: Session, project: Project) -> Vocabulary | None:
    return session.get(Vocabulary, project.vocabulary_id) if project.vocabulary_id else None
