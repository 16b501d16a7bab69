"""The tables. Schema changes go through migrations (``store/migrations``), never ``create_all`` on a
database that exists; the schema here must match the migrations' head (a test checks it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DECISIONS = ("accept", "reject", "correct", "skip")
SOURCES = ("human", "import", "review")
SETTLE_RULES = ("unanimous", "majority", "dawid-skene", "mace")
VERSION_STATUSES = ("candidate", "champion", "retired")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("uid", name="uq_projects_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[str] = mapped_column(String(100))
    labels: Mapped[list] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(500))
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    vocabulary_id: Mapped[int | None] = mapped_column(
        ForeignKey("vocabularies.id", ondelete="SET NULL", name="fk_projects_vocabulary_id"), nullable=True)
    """The domain terms every model of the project is extended with (``bertanno vocab add``)."""
    adapted_model: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    """A directory of ``model`` after domain-adaptive masked-LM training; training starts from it when set."""
    blind_share: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    """The share of items served as blind controls: no pre-annotation shown (``bertanno init --blind-share``)."""
    gold_share: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    """The share of draws that serve an annotator a gold item (the evaluation split's imported labels) as an
    ordinary item: a gold check of that annotator (``init --gold-share``)."""
    overlap: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """How many different annotators judge each item (``init --overlap``); 1: the first decision decides it."""
    settle: Mapped[str] = mapped_column(String(16), default="unanimous", server_default="unanimous")
    """How the decisions of ``overlap`` annotators settle an item: ``unanimous``, ``majority`` (more than half
    agree), or by each annotator's estimated reliability, ``dawid-skene`` or ``mace`` (label tasks:
    ``store.aggregation``); otherwise a review decides (``store.annotations.settle_items``)."""
    uid: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    """A random id, unique across databases: recorded in every model version of the project (and in the name of
    its models folder), and checked when a version is loaded for the project."""


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "input_hash", name="uq_items_project_hash"),
                      Index("ix_items_project_queue", "project_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    input_hash: Mapped[str] = mapped_column(String(64))
    split: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """``eval`` (the evaluation split: never trained on) or ``train``, chosen once per item when it is first
    labelled and a model is trained or evaluated; ``NULL`` until then."""
    annotators: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many different annotators have a standing decision (not undone, not a skip) on the item: kept by
    ``store.annotations`` with every decision, undo and import, read by the queue (``undecided``)."""
    authoritative: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Whether a standing review or import decision settles the item, whatever the annotators said."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(200))
    payload: Mapped[object] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    details: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """What the model said beside its proposal (``Prediction.details``): an LLM's ``reason``, ``tokens_in``,
    ``tokens_out``, ``named`` and ``dropped`` entities; null for a family that says nothing more."""


class Annotation(Base):
    """One decision about one item. Rows are never changed except ``undone_at`` (set by undo)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_project_item", "project_id", "item_id"),
                      Index("ix_annotations_project_annotator", "project_id", "annotator"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    payload: Mapped[object | None] = mapped_column(JSON, nullable=True)
    prediction_id: Mapped[int | None] = mapped_column(ForeignKey("predictions.id", ondelete="SET NULL"), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="human")
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Wall time from the item shown to the decision."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    active_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Time spent on the item: ``duration_ms`` with every pause between keys longer than the idle limit cut out."""
    keystrokes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shown_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The model version whose pre-annotation was on screen (``None``: nothing was shown)."""
    shown_family: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Its model family (transformer, linear, crf, gazetteer, a zero-shot family …)."""
    blind: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """A blind control: the item was served without its pre-annotation (``prediction_id`` is the one hidden)."""
    edit: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    """The decision relative to what was shown: ``kind`` (accepted, corrected, labelled, rejected, skipped)
    and the task's counts of what changed (``Task.edit_summary``)."""
    guidelines_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The version of the project's guidelines in force when the decision was made (``None``: none yet)."""
    gold_check: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """A decision on a gold item served as a check of the annotator: compared with the gold label, never a label
    of the item (the gold one settles it)."""


class AnnotationEvent(Base):
    """Append-only log of every decision, import and undo: what audit and undo read."""

    __tablename__ = "annotation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=True)
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    annotator: Mapped[str | None] = mapped_column(String(200), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Lease(Base):
    """An item handed to one annotator session until ``expires_at``: two sessions never get the same item."""

    __tablename__ = "leases"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    annotator: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Lock(Base):
    """A named lock (``retrain:PROJECT``) so two unattended runs never overlap."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime)


class Vocabulary(Base):
    """An ordered term list; the order decides the added tokens' ids, so the hash covers it."""

    __tablename__ = "vocabularies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    terms: Mapped[list] = mapped_column(JSON)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Comment(Base):
    """A note a person attached to an item, maybe flagging it for discussion; rows are never changed."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_project_item", "project_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    """For discussion: ``bertanno comments P --flagged`` lists the items a team should talk about."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Guidelines(Base):
    """One version of a project's annotation guidelines (Markdown), numbered from 1; rows are never changed."""

    __tablename__ = "guidelines"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_guidelines_project_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_model_versions_project_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    directory: Mapped[str] = mapped_column(String(2000))
    base_model: Mapped[str] = mapped_column(String(500))
    vocab_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    training_snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    calibration: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """From the version's confidence to the probability of being right, fitted on the evaluation split
    (``core.calibration.Calibration.to_json`` per level: ``item`` and the task's unit); null until fitted."""


class TrainingRun(Base):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    decision: Mapped[str | None] = mapped_column(String(32), nullable=True)
    log: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    succeeded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    gate: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    """The promotion gate's verdict: both scores, the paired-bootstrap interval of their difference, the decision."""


class AutopilotRun(Base):
    """One ``bertanno autopilot`` run: the version whose calibrated confidence labelled items, the threshold it
    chose for the target, the audit that checks it and how it ended (``store.autopilot``)."""

    __tablename__ = "autopilot_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(200))
    target: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    """The lowest raw confidence of the version that was auto-labelled."""
    estimate: Mapped[float] = mapped_column(Float)
    """The calibrated accuracy expected of the auto labels, and its one-sided lower bound (``bound``)."""
    bound: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="auditing")
    """``auditing`` (the labels are provisional), ``passed``, or ``withdrawn`` (every label of the run taken back)."""
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    """The run's settings (max share, audit size, seed, confidence level) and what it said when it ended."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AutoLabel(Base):
    """A label the model gave an item on autopilot: its own source, never an annotation (never gold, never
    trained on unless asked); ``audit``: the item is in the run's audit sample, served to people without it."""

    __tablename__ = "auto_labels"
    __table_args__ = (Index("ix_auto_labels_project_item", "project_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("autopilot_runs.id", ondelete="CASCADE"), index=True)
    payload: Mapped[object] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    """The calibrated probability that the label is right."""
    audit: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
