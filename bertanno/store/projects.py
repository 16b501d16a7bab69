"""Projects: one task, one label set, one domain model."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bertanno.store.annotations import standing
from bertanno.store.database import StoreError
from bertanno.store.schema import SETTLE_RULES, Annotation, Item, Project

NAME = re.compile(r"\w[\w.-]{0,99}")
"""Project names: letters (Chinese included), digits, ``_``, ``-`` and ``.``, starting with a letter, digit or
``_``, at most 100 characters. They name folders, so nothing that could climb out of one."""


def check_name(name: str) -> str:
    """``name`` if it is a valid project name; ``StoreError`` with the rule otherwise."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        raise StoreError(f"{name!r} cannot name a project: use letters (Chinese included), digits, '_', '-' and "
                         "'.', starting with a letter, digit or '_', at most 100 characters, no '..'")
    return name


MAX_BLIND_SHARE = 0.5
MAX_OVERLAP = 10


def create_project(session: Session, name: str, task: str, labels: list[str], model: str,
                   config: dict | None = None, blind_share: float = 0.0, overlap: int = 1,
                   settle: str = "unanimous", gold_share: float = 0.0) -> Project:
    """A new project; ``blind_share`` (0 to ``MAX_BLIND_SHARE``) of its items are served as blind controls,
    ``gold_share`` (0 to ``MAX_BLIND_SHARE``) of the draws serve a gold item as a check, and each item is judged by
    ``overlap`` different annotators whose decisions settle it by the ``settle`` rule."""
    check_name(name)
    check_blind_share(blind_share)
    check_blind_share(gold_share, "gold")
    check_team(overlap, settle)
    if find_project(session, name) is not None:
        raise StoreError(f"a project named {name!r} exists already")
    project = Project(name=name, task=task, labels=list(labels), model=model, config=dict(config or {}),
                      blind_share=blind_share, overlap=overlap, settle=settle, gold_share=gold_share)
    session.add(project)
    session.flush()
    return project


def check_blind_share(share: float, what: str = "blind") -> float:
    """``share`` if it is a fraction from 0 to ``MAX_BLIND_SHARE``; ``StoreError`` otherwise (``what``: the blind
    or the gold share, as the message names it)."""
    if not 0.0 <= share <= MAX_BLIND_SHARE:
        raise StoreError(f"the {what} share is a fraction from 0 to {MAX_BLIND_SHARE}, got {share}")
    return share


def set_gold_share(session: Session, name: str, share: float) -> float:
    """Serve a gold item as a check in ``share`` of project ``name``'s draws from now on; returns the share before.
    Raises ``StoreError`` for an unknown project or a share outside 0 to ``MAX_BLIND_SHARE``."""
    check_blind_share(share, "gold")
    project = get_project(session, name)
    before, project.gold_share = project.gold_share or 0.0, share
    return before


def set_blind_share(session: Session, name: str, share: float) -> float:
    """Serve ``share`` of project ``name``'s items as blind controls from now on; returns the share before.
    Decisions already made keep what was recorded for them. Raises ``StoreError`` for an unknown project or a
    share outside 0 to ``MAX_BLIND_SHARE``."""
    check_blind_share(share)
    project = get_project(session, name)
    before, project.blind_share = project.blind_share or 0.0, share
    return before


def check_team(overlap: int, settle: str) -> None:
    """Raise ``StoreError`` unless ``overlap`` is from 1 to ``MAX_OVERLAP`` and ``settle`` is one of
    ``SETTLE_RULES``."""
    if not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        raise StoreError(f"the overlap is the number of annotators who judge each item, from 1 to {MAX_OVERLAP}; "
                         f"got {overlap}")
    if settle not in SETTLE_RULES:
        raise StoreError(f"the settle rule is one of {', '.join(SETTLE_RULES)}, got {settle!r}")


def project_annotators(session: Session, project_id: int) -> list[str]:
    """The people who have made decisions in the project (annotators and reviewers), sorted."""
    return sorted(session.scalars(select(Annotation.annotator).distinct().where(
        Annotation.project_id == project_id, Annotation.source != "import")))


def set_team(session: Session, name: str, overlap: int | None = None, settle: str | None = None) -> tuple[int, str]:
    """Change how many annotators judge each of project ``name``'s items and how their decisions settle it, from
    the next item served on; returns the overlap and rule before. Decisions already made stay; items that now
    have too few annotators are served again to others. Raises ``StoreError`` for an unknown project, values out
    of range (``check_team``), or an overlap above the number of people who have decided items of the project
    (once anyone has: nobody else could complete the items)."""
    project = get_project(session, name)
    before = (project.overlap or 1, project.settle or "unanimous")
    overlap, settle = before[0] if overlap is None else overlap, before[1] if settle is None else settle
    check_team(overlap, settle)
    people = project_annotators(session, project.id)
    if overlap > 1 and people and overlap > len(people):
        raise StoreError(f"overlap {overlap} needs {overlap} different annotators per item, but only {len(people)} "
                         f"ha{'s' if len(people) == 1 else 've'} worked on {name} ({', '.join(people)}): the items "
                         "would wait for people who never come; start the others' sessions first (bertanno annotate "
                         f"{name} --annotator NAME) or choose an overlap up to {len(people)}")
    project.overlap, project.settle = overlap, settle
    return before


def find_project(session: Session, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name))


def get_project(session: Session, name: str) -> Project:
    project = find_project(session, name)
    if project is None:
        known = ", ".join(session.scalars(select(Project.name).order_by(Project.name))) or "none yet"
        raise StoreError(f"no project named {name!r} (projects: {known}); create one with: bertanno init {name} --task …")
    return project


def project_summaries(session: Session) -> list[dict]:
    items = dict(session.execute(select(Item.project_id, func.count()).group_by(Item.project_id)).all())
    annotated = dict(session.execute(
        select(Annotation.project_id, func.count(func.distinct(Annotation.item_id)))
        .where(*standing())
        .group_by(Annotation.project_id)
    ).all())
    return [
        {"name": p.name, "task": p.task, "labels": p.labels, "model": p.model,
         "items": items.get(p.id, 0), "annotated": annotated.get(p.id, 0)}
        for p in session.scalars(select(Project).order_by(Project.name))
    ]
