"""Annotations and their append-only event log: decisions, imports, undo."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, delete, distinct, exists, func, insert, not_, select, update
from sqlalchemy.orm import Session

from bertanno.store.aggregation import METHODS, aggregate
from bertanno.store.autopilot import auto_decided
from bertanno.store.database import StoreError
from bertanno.store.guidelines import version_in_force
from bertanno.store.schema import (
    DECISIONS,
    Annotation,
    AnnotationEvent,
    Item,
    Lease,
    Prediction,
    Project,
    utcnow,
)

IMPORT_ANNOTATOR = "import"
DISAGREEMENTS = "disagreements"
"""``export --only disagreements``: the items a team decided without settling them, for a review."""
PEOPLE = ("human", "review")
"""The sources of decisions people make in bertanno: annotators' (``human``) and reviewers' (``review``)."""


def record_imports(session: Session, project_id: int, labelled: list[tuple[int, object, str | None]],
                   source: str) -> int:
    """Gold labels from a file: one ``import`` annotation and one event per ``(item id, payload, annotator)``;
    the annotator is the one the file names (Label Studio's ``completed_by``), else ``import``."""
    if not labelled:
        return 0
    now = utcnow()
    rows = [(item_id, payload, annotator or IMPORT_ANNOTATOR) for item_id, payload, annotator in labelled]
    result = session.execute(
        insert(Annotation).returning(Annotation.id, Annotation.item_id, sort_by_parameter_order=True),
        [{"project_id": project_id, "item_id": item_id, "annotator": annotator, "session_id": IMPORT_ANNOTATOR,
          "decision": "accept", "payload": payload, "source": "import", "created_at": now}
         for item_id, payload, annotator in rows],
    )
    session.execute(insert(AnnotationEvent), [
        {"project_id": project_id, "item_id": row.item_id, "annotation_id": row.id, "kind": "import",
         "annotator": annotator, "data": {"file": source}, "created_at": now}
        for row, (_, _, annotator) in zip(result, rows)
    ])
    refresh_items(session, [item_id for item_id, _, _ in rows])
    return len(labelled)


class ItemTaken(StoreError):
    """A decision that does not count: the item is no longer this annotator's, or another reviewer settled it
    (``record_decision``)."""

    def __init__(self, item_id: int, settled: bool = False):
        super().__init__(f"item {item_id} was settled by another reviewer while it was open: your decision is not "
                         "counted; next item" if settled else
                         f"item {item_id} was handed to someone else while it was open: it is not counted; "
                         "next item")
        self.item_id = item_id


def taken_by_another(session: Session, item_id: int, session_id: str) -> bool:
    """Whether another session than ``session_id`` holds a live lease on the item (this session's own lease, live
    or expired, is no obstacle: nobody else took the item meanwhile)."""
    return bool(session.scalar(select(exists().where(Lease.item_id == item_id, Lease.session_id != session_id,
                                                     Lease.expires_at >= utcnow()))))


def still_theirs(session: Session, project_id: int, item_id: int, annotator: str, session_id: str) -> bool:
    """Whether a person's decision about the item may still count, read after its row is locked: the item still
    needs this annotator (not complete under the project's overlap, no review or import settled it, no standing
    decision of theirs: ``undecided``) and no other session holds a live lease on it (``taken_by_another``)."""
    return (not taken_by_another(session, item_id, session_id)
            and not is_decided(session, project_id, item_id, annotator=annotator))


def gold_items(project_id: int, annotator: str, skipped_by: str | None = None):
    """A condition on ``Item`` rows: the project's gold items (the evaluation split, settled by an import) that
    ``annotator`` has not decided as a check (and ``skipped_by``, that session has not skipped): what a gold draw
    of ``queue.next_item`` serves."""
    conditions = [Item.project_id == project_id, Item.split == "eval", Item.authoritative.is_(True),
                  exists().where(*_of_item(), *standing(), Annotation.source == "import"),
                  ~exists().where(*_of_item(), *standing(), Annotation.annotator == annotator,
                                  Annotation.source == "human")]
    if skipped_by is not None:
        conditions.append(~exists().where(*_of_item(), Annotation.undone_at.is_(None),
                                          Annotation.decision == "skip", Annotation.session_id == skipped_by))
    return and_(*conditions)


def gold_open(session: Session, project_id: int, item_id: int, annotator: str, skipped_by: str | None = None) -> bool:
    """Whether the item is a gold item ``annotator`` may still check (``gold_items``, reading that item only)."""
    return bool(session.scalar(select(exists().where(Item.id == item_id,
                                                     gold_items(project_id, annotator, skipped_by)))))


def gold_payloads(session: Session, project_id: int, item_ids: list[int]) -> dict[int, object]:
    """The gold label of each of these items that has one: the payload of its latest standing import or review
    decision (what settles it, ``settled``), rejects left out. Reads those items' decisions only."""
    found = {}
    for item_id, decisions in standing_by_item(session, project_id, item_ids).items():
        authoritative = [a for a in decisions if a.source != "human"]
        if authoritative and authoritative[-1].decision != "reject":
            found[item_id] = authoritative[-1].payload
    return found


def gold_still_open(session: Session, project_id: int, item_id: int, annotator: str, session_id: str) -> bool:
    """``still_theirs`` for a gold check: no other session holds a live lease on the item and the annotator has
    not checked it already (``gold_open``)."""
    return not taken_by_another(session, item_id, session_id) and gold_open(session, project_id, item_id, annotator)


DECISION_RECORD = ("active_ms", "keystrokes", "shown_version", "shown_family", "edit", "blind", "guidelines_version",
                   "gold_check")
"""The annotation columns that say how a person's decision was made (``record_decision``'s ``how``)."""


def record_decision(session: Session, project_id: int, item_id: int, annotator: str, session_id: str,
                    decision: str, payload: object = None, prediction_id: int | None = None,
                    duration_ms: int | None = None, how: dict | None = None, source: str = "human") -> Annotation:
    """A person's decision, its event, and the release of the item's lease, in the caller's transaction.
    ``how``: how it was made (``DECISION_RECORD``: active time, keystrokes, what was shown, the edit, blind, the
    guidelines version shown: by default the one in force).
    ``source``: ``human`` (an annotator's) or ``review`` (a reviewer's, which settles the item).

    An annotator's decision (not a skip) counts only while the item is still theirs (``still_theirs``), checked
    with the item's row locked (``refresh_items``' lock, so that two transactions deciding one item see each
    other): a session whose lease expired while the item was on screen, and whose item was then served to
    someone else or decided meanwhile, raises ``ItemTaken`` and nothing is stored. So an item never has more
    standing decisions than the project's overlap, and an annotator never two. A review counts only while no
    other review or import settled the item (``ItemTaken`` too)."""
    if decision not in DECISIONS:
        raise StoreError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if source not in PEOPLE:
        raise StoreError(f"a person's decision has the source {' or '.join(PEOPLE)}, got {source!r}")
    if decision != "skip":
        lock_items(session, [item_id])
        check = gold_still_open if (how or {}).get("gold_check") else still_theirs
        if source == "human" and not check(session, project_id, item_id, annotator, session_id):
            raise ItemTaken(item_id)
        if source == "review" and session.scalar(select(Item.authoritative).where(Item.id == item_id)):
            raise ItemTaken(item_id, settled=True)
    how = dict(how or {})
    if "guidelines_version" not in how:  # the version in force now, unless the caller says which it showed
        how["guidelines_version"] = version_in_force(session, project_id)
    annotation = Annotation(project_id=project_id, item_id=item_id, annotator=annotator, session_id=session_id,
                            decision=decision, payload=payload, prediction_id=prediction_id, source=source,
                            duration_ms=duration_ms, **how)
    session.add(annotation)
    session.flush()
    session.add(AnnotationEvent(project_id=project_id, item_id=item_id, annotation_id=annotation.id, kind="decision",
                                annotator=annotator, session_id=session_id,
                                data={"decision": decision, "payload": payload}))
    session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.session_id == session_id))
    refresh_items(session, [item_id])
    return annotation


def undo_last(session: Session, session_id: str) -> Annotation | None:
    """Withdraw the session's latest standing decision; ``None`` when there is nothing left to undo."""
    annotation = session.scalar(
        select(Annotation)
        .where(Annotation.session_id == session_id, Annotation.undone_at.is_(None),
               Annotation.source.in_(PEOPLE))
        .order_by(Annotation.id.desc()).limit(1)
    )
    if annotation is None:
        return None
    annotation.undone_at = utcnow()
    session.add(AnnotationEvent(project_id=annotation.project_id, item_id=annotation.item_id,
                                annotation_id=annotation.id, kind="undo", annotator=annotation.annotator,
                                session_id=session_id, data={"decision": annotation.decision}))
    session.flush()
    refresh_items(session, [annotation.item_id])
    return annotation


@dataclass(frozen=True)
class Selection:
    """Which annotations count: ``all`` (imports and people), ``human``, ``corrected`` or ``accepted``."""

    only: str = "all"

    CHOICES = ("all", "human", "corrected", "accepted")

    def __post_init__(self):
        if self.only not in self.CHOICES:
            raise StoreError(f"--only must be one of {', '.join(self.CHOICES)}, got {self.only!r}")

    def admits(self, annotation: Annotation) -> bool:
        if self.only == "human":  # people's decisions: annotators' and reviewers'
            return annotation.source in PEOPLE
        if self.only == "corrected":
            return annotation.decision == "correct"
        if self.only == "accepted":
            return annotation.decision == "accept" and annotation.source == "human"
        return True


def _of_item():
    """An annotation of the ``Item`` row at hand, by its project too, so that the (project, item) index of
    annotations serves the correlated subquery (on the item id alone SQLite scans every annotation per item:
    importing waimai_10k's 12,000 rows took 19 s in ``refresh_items``)."""
    return Annotation.project_id == Item.project_id, Annotation.item_id == Item.id


def standing():
    """The conditions of a decision that stands: not undone, not a skip. A standing reject decides its item
    (nobody is asked again) but gives it no label (see ``current_annotations``)."""
    return Annotation.undone_at.is_(None), Annotation.decision != "skip"


def undecided(project_id: int, skipped_by: str | None = None, annotator: str | None = None):
    """The one definition of an undecided item, as a condition on ``Item`` rows of the project: not complete, that
    is without standing decisions (not undone, not skips) of as many different annotators as the project's
    ``overlap`` (1, the default: any standing decision) and without a standing import or review decision (the
    item's ``annotators`` and ``authoritative``, which ``refresh_items`` keeps). The queue's variants:
    ``annotator`` also leaves out the items that person has decided, so that nobody is served an item twice, and
    ``skipped_by=SESSION_ID`` that session's own skips, so that a skip hides an item from the session that
    skipped it and from no one else. A standing auto label outside an audit sample decides an item too
    (``store.autopilot``). ``not_(undecided(…))``: decided."""
    overlap = select(Project.overlap).where(Project.id == project_id).scalar_subquery()
    conditions = [Item.authoritative.is_(False), Item.annotators < overlap, ~auto_decided()]
    if annotator is not None:
        conditions.append(~exists().where(*_of_item(), *standing(),
                                          Annotation.annotator == annotator))
    if skipped_by is not None:
        conditions.append(~exists().where(*_of_item(), Annotation.undone_at.is_(None),
                                          Annotation.decision == "skip", Annotation.session_id == skipped_by))
    return and_(*conditions)


def skipped_once_by(session_id: str):
    """A condition on ``Item`` rows: the session skipped the item once (a standing skip) and no more, so the queue
    serves it again after every other item, once (``queue.next_item``)."""
    skips = (select(func.count()).where(*_of_item(), Annotation.undone_at.is_(None), Annotation.decision == "skip",
                                        Annotation.session_id == session_id).scalar_subquery())
    return skips == 1


def is_decided(session: Session, project_id: int, item_id: int, skipped_by: str | None = None,
               annotator: str | None = None) -> bool:
    """Whether one item is decided (``undecided``'s variants), reading that item's row and annotations only."""
    return bool(session.scalar(select(exists().where(
        Item.id == item_id, not_(undecided(project_id, skipped_by, annotator))))))


def refresh_items(session: Session, item_ids: list[int]) -> None:
    """Bring the decision state of these items (``Item.annotators``, ``Item.authoritative``) up to date with their
    annotations, in the caller's transaction: after every decision, undo and import. The rows are locked first (in
    id order), so that on PostgreSQL two transactions deciding one item count each other's decision: the second
    waits for the first to commit, then counts in a statement that sees it (SQLite runs one writer at a time)."""
    people = (select(func.count(distinct(Annotation.annotator)))
              .where(*_of_item(), *standing(), Annotation.source == "human").scalar_subquery())
    authority = exists().where(*_of_item(), *standing(), Annotation.source != "human")
    ids = sorted(set(item_ids))
    lock_items(session, ids)
    for start in range(0, len(ids), 500):
        session.execute(update(Item).where(Item.id.in_(ids[start:start + 500]))
                        .values(annotators=people, authoritative=authority)
                        .execution_options(synchronize_session=False))


def lock_items(session: Session, item_ids: list[int]) -> None:
    """Lock these items' rows until the caller's transaction ends (``SELECT … FOR NO KEY UPDATE`` in id order, so
    that two transactions never wait on each other in a cycle; SQLite runs one writer at a time already). Two
    lockers of one item wait for each other, but a lease being inserted for the item (whose foreign key takes
    a key-share lock on the item's row) does not wait: with ``FOR UPDATE`` a queue that cleared an expired lease
    and leased the item again deadlocked with a decision releasing that lease."""
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), 500):
        session.execute(select(Item.id).where(Item.id.in_(ids[start:start + 500])).order_by(Item.id)
                        .with_for_update(key_share=True))


def latest_human_decision(session: Session, project_id: int) -> int:
    """The id of the project's newest decision by a person (annotator or reviewer), 0 when there is none (a
    version records it)."""
    return session.scalar(select(func.max(Annotation.id)).where(
        Annotation.project_id == project_id, Annotation.source.in_(PEOPLE))) or 0


def human_decisions_since(session: Session, project_id: int, since: int) -> int:
    """How many standing decisions by people (annotators and reviewers) have an annotation id above ``since``."""
    return session.scalar(select(func.count()).select_from(Annotation).where(
        Annotation.project_id == project_id, Annotation.source.in_(PEOPLE), Annotation.id > since, *standing())) or 0


def session_decisions(session: Session, session_id: str) -> list[tuple[Annotation, Item]]:
    """Every annotation one annotation session made, oldest first, with its item."""
    return list(session.execute(select(Annotation, Item).join(Item, Item.id == Annotation.item_id)
                                .where(Annotation.session_id == session_id).order_by(Annotation.id)).all())


def agreement_key(annotation: Annotation) -> str:
    """What two decisions must share to agree (``decision_key`` of the annotation's decision and payload)."""
    return decision_key(annotation.decision, annotation.payload)


def decision_key(decision: str, payload: object) -> str:
    """What two decisions must share to agree: the label (``payload``, as stored) they give, written canonically
    (lists of spans or labels in sorted order, so that order never counts), or that both rejected the
    pre-annotation."""
    if decision == "reject":
        return "reject"

    def canonical(value):
        if isinstance(value, list):
            return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in value.items()}
        return value

    return json.dumps(canonical(payload), sort_keys=True, ensure_ascii=False)


def settled(annotations: list[Annotation], overlap: int, rule: str = "unanimous") -> Annotation | None:
    """The annotation that settles one item, from its standing decisions (oldest first, skips left out): with
    ``overlap`` 1 the latest decision, whatever its source; otherwise the latest review or import when there is
    one, else, once ``overlap``
    different annotators have decided (each one's latest counts), the latest of them when they all agree
    (``agreement_key``) or, with ``rule="majority"``, the latest of the more than half who agree; ``None`` while
    the item waits for more annotators or for a review of their disagreement. (``settle_items`` leaves gold checks
    out before it asks.)"""
    if not annotations or overlap <= 1:
        return annotations[-1] if annotations else None
    authoritative = [a for a in annotations if a.source != "human"]
    if authoritative:
        return authoritative[-1]
    latest = {a.annotator: a for a in annotations}
    if len(latest) < overlap:
        return None
    groups: dict[str, list[Annotation]] = defaultdict(list)
    for annotation in latest.values():
        groups[agreement_key(annotation)].append(annotation)
    members = max(groups.values(), key=len)
    if len(groups) == 1 or (rule == "majority" and 2 * len(members) > len(latest)):
        return max(members, key=lambda a: a.id)
    return None


def settle_items(standing: dict[int, list[Annotation]], overlap: int, rule: str,
                 notes: dict[int, dict] | None = None) -> dict[int, Annotation | None]:
    """``settled`` for every item of ``standing`` (``standing_by_item``'s). Under ``dawid-skene`` or ``mace``
    (overlap 2 or more, label tasks) an item that ``overlap`` annotators decided is settled by the aggregate
    (``store.aggregation``) fitted to every item's latest decision per annotator: the latest annotation that gave
    the most probable label, when that label's probability is over one half (else it waits for a review); a
    review or an import still settles its item. ``notes``, when given, gets per item settled by the aggregate
    ``{"rule": RULE, "probability": P}`` (how it was settled, for an export's provenance). A gold check
    (``gold_check``) never settles anything, whatever the rule: the gold item's import does."""
    standing = {item_id: [a for a in decisions if not a.gold_check] for item_id, decisions in standing.items()}
    if rule not in METHODS or overlap <= 1:
        return {item_id: settled(annotations, overlap, rule) for item_id, annotations in standing.items()}
    chosen: dict[int, Annotation | None] = {}
    people = {}
    for item_id, decisions in standing.items():
        authoritative = [a for a in decisions if a.source != "human"]
        chosen[item_id] = authoritative[-1] if authoritative else None
        if not authoritative:
            people[item_id] = {a.annotator: a for a in decisions}
    order = list(people)
    fitted = aggregate([[(who, agreement_key(a)) for who, a in people[item_id].items()] for item_id in order], rule)
    for row, item_id in enumerate(order):
        latest = people[item_id]
        if len(latest) < overlap:
            continue  # waits for more annotators; its decisions still taught the aggregate who to trust
        key, probability = fitted.best(row)
        givers = [a for a in latest.values() if agreement_key(a) == key]
        if givers and probability > 0.5:
            chosen[item_id] = max(givers, key=lambda a: a.id)
            if notes is not None:
                notes[item_id] = {"rule": rule, "probability": round(probability, 4)}
    return chosen


def _team(session: Session, project_id: int) -> tuple[int, str]:
    """The project's overlap and settle rule."""
    return tuple(session.execute(select(Project.overlap, Project.settle).where(Project.id == project_id)).one())


def standing_by_item(session: Session, project_id: int, item_ids: list[int] | None = None
                     ) -> dict[int, list[Annotation]]:
    """Each item's standing decisions (not undone, not skips), oldest first; ``item_ids``: of these items only."""
    grouped: dict[int, list[Annotation]] = defaultdict(list)
    chosen = [] if item_ids is None else [Annotation.item_id.in_(item_ids)]
    for annotation in session.scalars(select(Annotation).where(Annotation.project_id == project_id, *standing(),
                                                               *chosen).order_by(Annotation.id)):
        grouped[annotation.item_id].append(annotation)
    return grouped


def people_decisions(session: Session, project_id: int, item_ids: list[int] | None = None
                     ) -> dict[int, list[Annotation]]:
    """Each item's standing decisions by people (annotators, not imports or reviews), each annotator's latest
    only, oldest first: what a team's export and a review show side by side. ``item_ids``: of these items only."""
    people: dict[int, list[Annotation]] = {}
    for item_id, decisions in standing_by_item(session, project_id, item_ids).items():
        latest = {a.annotator: a for a in decisions if a.source == "human"}
        if latest:
            people[item_id] = sorted(latest.values(), key=lambda a: a.id)
    return people


def current_annotations(session: Session, project_id: int, selection: Selection = Selection(),
                        notes: dict[int, dict] | None = None) -> dict[int, Annotation]:
    """Each item's standing annotation, the one that settles it (``settle_items`` under the project's overlap and
    rule; overlap 1: the latest one not undone), rejects excluded (a rejected pre-annotation says what the label
    is not, not what it is) and items not settled left out. ``notes``: see ``settle_items``."""
    overlap, rule = _team(session, project_id)
    chosen = settle_items(standing_by_item(session, project_id), overlap, rule, notes)
    return {item_id: a for item_id, a in chosen.items()
            if a is not None and a.decision != "reject" and selection.admits(a)}


def disagreements(session: Session, project_id: int) -> list[int]:
    """The items that as many annotators as the project's overlap have decided without settling them (they
    disagree, beyond what the project's rule accepts): what a review walks. Empty with overlap 1."""
    overlap, rule = _team(session, project_id)
    if overlap <= 1:
        return []
    standing = standing_by_item(session, project_id)
    chosen = settle_items(standing, overlap, rule)
    return [item_id for item_id, annotations in standing.items()
            if len({a.annotator for a in annotations}) >= overlap and chosen[item_id] is None]


def review_items(session: Session, project_id: int, annotators: list[str] | None = None
                 ) -> tuple[list[int], list[int]]:
    """What a review walks, as ``(disagreeing, agreeing)`` item ids in item order: the items ``disagreements``
    names, and those that at least two annotators (as many as the overlap) decided alike, with no review or
    import yet (the pool of ``review --sample``'s spot checks). ``annotators``: only items that each of these
    people decided."""
    overlap, rule = _team(session, project_id)
    disagreeing, agreeing = [], []
    standing = standing_by_item(session, project_id)
    chosen = settle_items(standing, overlap, rule)
    for item_id, decisions in sorted(standing.items()):
        if any(a.source != "human" for a in decisions):
            continue  # a review or an import has decided it
        latest = {a.annotator: a for a in decisions}
        if len(latest) < max(overlap, 2) or (annotators and not set(annotators) <= set(latest)):
            continue
        if len({agreement_key(a) for a in latest.values()}) == 1:
            agreeing.append(item_id)
        elif chosen[item_id] is None:
            disagreeing.append(item_id)
    return disagreeing, agreeing


def events(session: Session, project_id: int) -> list[AnnotationEvent]:
    return list(session.scalars(select(AnnotationEvent).where(AnnotationEvent.project_id == project_id)
                                .order_by(AnnotationEvent.id)))


def decision_records(session: Session, project_id: int) -> list[dict]:
    """Every standing decision a person made in the project (not undone), oldest first, with how it was made
    (``DECISION_RECORD``) and the payload of the prediction that was shown, or hidden on a blind item
    (``predicted``; ``None`` when there was none) and what the model said beside it (``predicted_details``, an
    LLM's tokens and reason; ``None`` for most families): what ``bertanno stats`` reads."""
    rows = session.execute(
        select(Annotation, Prediction.payload, Prediction.details)
        .outerjoin(Prediction, Prediction.id == Annotation.prediction_id)
        .where(Annotation.project_id == project_id, Annotation.source == "human", Annotation.undone_at.is_(None))
        .order_by(Annotation.id)
    ).all()
    return [{"item_id": a.item_id, "annotator": a.annotator, "decision": a.decision, "payload": a.payload,
             "created_at": a.created_at, "predicted": predicted, "predicted_details": details,
             **{field: getattr(a, field) for field in DECISION_RECORD}} for a, predicted, details in rows]
