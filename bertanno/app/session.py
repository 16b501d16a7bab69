"""An annotation session: items drawn from the project's queue, shown with their pre-annotation,
each decision committed before the next item appears; undo walks back through the session.

Fetch-ahead: while the person looks at an item, the next one is leased and loaded (``fetch_ahead``, which the
full-screen app runs in a thread once the item is drawn), so a key press only commits its decision.

Predict-ahead: a background thread pre-annotates the items the queue will serve next, in
batches, and stores the predictions, so moving on never waits for the model. An item with no
prediction yet is predicted on the spot (or shown without one when the project has no model).
"""

from __future__ import annotations

import getpass
import math
import random
import statistics
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bertanno.app.autopilot import check_audit
from bertanno.app.background import yield_to_the_screen
from bertanno.app.live import LiveTrainer, live_families
from bertanno.app.training_runs import champion_model
from bertanno.app.views.comments import render_comments
from bertanno.core.bundle import record_family_name
from bertanno.core.filters import matching_items
from bertanno.core.guidelines import GuidelinesInForce
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import item_example, open_project
from bertanno.core.serving import load_served
from bertanno.core.stats import FAST_ACCEPT_SECONDS, decision_kind
from bertanno.errors import BertannoError
from bertanno.plugins.families import ServedModel, ServingUnavailable
from bertanno.plugins.task import EVALUATION_ITEMS, Example, Prediction, headline_scores
from bertanno.store import Store, queue
from bertanno.store import annotations as annotations_q
from bertanno.store.autopilot import is_audit_item
from bertanno.store.items import count_items, item_position
from bertanno.store.predictions import latest_predictions
from bertanno.store.versions import version_named

AHEAD_BATCH = 32
RENEW_SECONDS = 60.0
"""How often a session renews its leases while a person works (on a key, and on the full screen's timer)."""
IDLE_LIMIT_SECONDS = 60.0
"""A pause between two keys longer than this is not counted as time spent on the item (a break, a phone call,
a session left open overnight)."""
PACE_WINDOW = 10
"""How many of its latest accepts a session looks at before it says they are too fast (``pace_notice``)."""


@dataclass
class Current:
    item_id: int
    example: Example
    prediction: Prediction | None
    prediction_id: int | None
    shown_at: float = field(default_factory=time.perf_counter)
    restored: Any = None
    """The person's own annotation of the item when an undo brought it back (a correction: their spans or
    label, not the model's), else ``None``."""
    keystrokes: int = 0
    active: float = 0.0
    """Seconds spent on the item so far: the pauses between its keys, each one over the idle limit cut out."""
    last_key_at: float | None = None
    given_seconds: float | None = None
    """The item's time as given by a decisions file (``@SECONDS``): recorded instead of the measured time."""
    blind: bool = False
    """A blind control: its pre-annotation (``prediction_id``) exists but is not shown (``prediction`` is None)."""
    problem: str | None = None
    """Why the serving model gave no pre-annotation for this item (its endpoint down), said on screen."""
    gold_check: bool = False
    """A gold item served as a check of the annotator (``init --gold-share``), looking like any other item."""
    audit: bool = False
    """An item of an autopilot run's audit sample, served without its pre-annotation (``app.autopilot``)."""


def session_predictor(store: Store, project_name: str, model: str | None = None,
                      plugins: Plugins | None = None, precision: str | None = None
                      ) -> tuple[ServedModel | None, str | None]:
    """The model that pre-annotates: ``model`` (a saved version of any family) if given, else the
    project's champion; ``(None, None)`` when the project has none. ``precision="full"``: without the version's
    optimised variant."""
    if model:
        return load_served(model, plugins, precision=precision), Path(model).name
    return champion_model(store, project_name, plugins, required=False, precision=precision)


def default_annotator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "annotator"


class ItemTiming:
    """The time and keystrokes a person spends on the item on screen (``current``), with pauses over
    ``idle_limit`` seconds (default ``IDLE_LIMIT_SECONDS``) cut out: what an annotation and a review session
    record with each decision. Raises ``BertannoError`` for a limit that is not a positive number."""

    current: Current | None
    store: Store
    project_id: int
    counts: dict[str, int]
    """This session's decisions by kind: accept, correct, reject, skip."""
    started: float
    """When the session started (``time.perf_counter`` seconds)."""

    def __init__(self, idle_limit: float | None = None):
        idle_limit = IDLE_LIMIT_SECONDS if idle_limit is None else idle_limit
        if not idle_limit > 0:
            raise BertannoError(f"the idle limit must be a positive number of seconds, got {idle_limit}")
        self.idle_limit = idle_limit
        self._heading: tuple[int, str] | None = None  # (item id, its heading), read once per item
        self.kinds: Counter = Counter()
        """This session's standing decisions by kind (``core.stats.KINDS``), as ``bertanno stats`` counts them."""

    def comment(self, text: str) -> dict:
        """Attach ``text`` to the item on screen, by this session's person (a text that starts with ``!`` flags
        the item for discussion). Returns the comment. Raises ``BertannoError`` without an item, ``StoreError``
        for an empty or too long text."""
        if self.current is None:
            raise BertannoError("no item to comment on")
        saved = self.project.add_comment(self.current.item_id, self.annotator, text)
        self._comments = None
        return saved

    def item_comments(self) -> list[dict]:
        """The comments on the item on screen, oldest first (read once per item, and after each new one)."""
        if self.current is None:
            return []
        cached = getattr(self, "_comments", None)
        if cached is None or cached[0] != self.current.item_id:
            found = self.project.comments([self.current.item_id]).get(self.current.item_id, [])
            self._comments = cached = (self.current.item_id, found)
        return cached[1]

    def guidelines_news(self) -> int | None:
        """The number of the guidelines version that came into force since the previous item (announced with
        this one), else ``None``."""
        guidelines = getattr(self, "guidelines", None)
        return guidelines.version if guidelines is not None and guidelines.changed else None

    def item_heading(self) -> str:
        """``item 3/22``: the place of the item on screen among its project's items (``store.items.
        item_position``), not its database id."""
        item_id = self.current.item_id
        if self._heading is None or self._heading[0] != item_id:
            with self.store.transaction() as db:
                heading = f"item {item_position(db, self.project_id, item_id)}/{count_items(db, self.project_id)}"
            self._heading = (item_id, heading)
        return self._heading[1]

    @staticmethod
    def begin(current: Current) -> None:
        """Start the clock and the key count of an item just put on screen."""
        current.shown_at = current.last_key_at = time.perf_counter()
        current.keystrokes, current.active, current.given_seconds = 0, 0.0, None

    def touch(self, keys: int = 1, at: float | None = None) -> None:
        """``keys`` key presses on the current item (``at``: when, ``time.perf_counter`` seconds; a monotonic
        clock, so a wall clock set back changes nothing): counted, and the pause since the previous one added
        to the item's active time unless it is longer than the idle limit."""
        current = self.current
        if current is None:
            return
        now = time.perf_counter() if at is None else at
        previous = current.last_key_at if current.last_key_at is not None else current.shown_at
        if 0 <= now - previous <= self.idle_limit:
            current.active += now - previous
        current.last_key_at = max(now, previous)
        current.keystrokes += keys

    def give_time(self, seconds: float) -> None:
        """Record ``seconds`` (finite, >= 0) as the current item's active time instead of the time measured: a
        decisions file's ``@SECONDS`` (a scripted session replaying, or simulating, a person's pace). Raises
        ``BertannoError`` for a negative or non-finite time or without a current item."""
        if self.current is None:
            raise BertannoError("no item to give a time to")
        if not math.isfinite(seconds) or seconds < 0:
            raise BertannoError(f"an item's time is a number of seconds from 0 up, got {seconds}")
        self.current.given_seconds = seconds

    def renew(self) -> None:
        """Keep the item on screen this person's (``AnnotationSession.renew``); nothing is leased here."""

    CHOOSES = False
    """Whether the choose key (v) can pick a version here: in a review."""
    UNPROPOSED = "(no entities)"
    """What a span view's list says when the item opened with nothing proposed and nothing is marked yet."""
    rejected_by_all = False
    """Whether every annotator marked the current item unusable (a review's item; Enter then agrees)."""

    def choices(self) -> list[tuple[str, Any]]:
        """Versions a person may settle the current item with instead of a proposal (a review without a
        majority: ``ReviewSession.choices``); an annotation session has none."""
        return []

    def choose(self, number: int) -> Any:
        """Take choice ``number`` as the current item's proposal (``ReviewSession.choose``). Raises
        ``BertannoError`` here: an annotation session has nothing to choose between."""
        raise BertannoError("there is nothing to choose between here: v chooses a version in a review")

    def accepted_payload(self, decision: str, payload: Any, shown: str) -> Any:
        """The payload of a decision about the current item: an accept without one takes what was shown (the
        ``shown``: a pre-annotation, a proposal). Raises ``BertannoError`` without a current item, or for an accept
        of nothing shown."""
        if self.current is None:
            raise BertannoError("no item to decide on")
        if decision == "accept" and payload is None:
            if self.current.prediction is None:
                raise BertannoError(f"there is no {shown} to accept: choose a label or correct it")
            return self.current.prediction.payload
        return payload

    def decided(self) -> int:
        """This session's decisions, skips left out."""
        return sum(self.counts.values()) - self.counts["skip"]

    def per_minute(self) -> float:
        """This session's pace: decisions (skips left out) per minute since it started."""
        minutes = (time.perf_counter() - self.started) / 60
        return self.decided() / minutes if minutes > 0 else 0.0

    @staticmethod
    def timing(current: Current) -> dict:
        """``{"active_ms", "keystrokes"}`` of an item: its active time (the given one, if a script gave one)."""
        seconds = current.active if current.given_seconds is None else current.given_seconds
        return {"active_ms": round(seconds * 1000), "keystrokes": current.keystrokes}


class AnnotationSession(ItemTiming):
    CONTEXT_TITLE = "comments"
    """What the plain screen calls ``context()``'s panel."""

    def __init__(self, store: Store, project_name: str, annotator: str | None = None, order: str = "sequential",
                 predictor: ServedModel | None = None, model_version: str | None = None, predict_ahead: bool = True,
                 plugins: Plugins | None = None, live_every: int | None = None, models_dir=None,
                 idle_limit: float = IDLE_LIMIT_SECONDS, fast_accept: float = FAST_ACCEPT_SECONDS,
                 where: str | None = None):
        if order not in queue.ORDERS:
            raise BertannoError(f"--order must be one of {', '.join(queue.ORDERS)}")
        self.store, self.project_name, self.order = store, project_name, order
        super().__init__(idle_limit)
        self.annotator = annotator or default_annotator()
        self.session_id = queue.new_session_id()
        self.plugins = plugins or get_plugins()
        self.predictor, self.model_version = predictor, model_version
        self.project = open_project(store, project_name, self.plugins)
        self.project_id, self.task = self.project.id, self.project.task
        self.guidelines = GuidelinesInForce(store, self.project_id)
        self.where = where or None
        self.among = matching_items(self.project, where)  # --where: only these items (None: every item)
        self.fast_accept = fast_accept
        self._accepts: deque = deque(maxlen=PACE_WINDOW)  # this session's latest accepts, active seconds each
        self._paced_at = 0  # the accept count at the last pace notice
        self._gold_draws = random.Random(self.session_id)  # which draws serve a gold check (init --gold-share)
        self.total = self.project.item_count()
        with store.transaction() as session:
            queue.reclaim_stale(session, self.project_id, self.annotator)  # a crashed session's item comes back now
        if not self.total:
            raise BertannoError(f"project {project_name!r} has no items yet; add some with: bertanno import {project_name} FILE")
        self.counts = {"accept": 0, "correct": 0, "reject": 0, "skip": 0}
        self.started = time.perf_counter()
        self.current: Current | None = None
        self._restored: dict[int, Any] = {}  # item id -> the annotation an undo withdrew
        self._model_lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._remaining: int | None = None  # undecided items, counted by fetch_ahead, kept by decide and undo
        self._ahead_item: tuple[Current, str | None] | None = None  # (the item leased ahead, the model then)
        self._stop = threading.Event()
        self._renewed = time.perf_counter()  # when this session's leases were last renewed
        self._ahead = None
        self._predict_ahead_wanted = predict_ahead
        self.serving, self.serving_family = self._describe_serving(model_version)
        self.live = None
        if live_every:
            families = live_families(self.task, self.plugins)
            if families:
                self.live = LiveTrainer(store, project_name, families, self.plugins, self.serve_champion,
                                        live_every, models_dir)
        self._start_predicting_ahead()

    def _start_predicting_ahead(self) -> None:
        # under the model lock and published only once started: a live refit calls this from its own thread
        # while close() may be reading self._ahead, and nothing starts once the session is stopping
        with self._model_lock:
            if (self.predictor is not None and self._predict_ahead_wanted and self._ahead is None
                    and not self._stop.is_set()):
                ahead = threading.Thread(target=self._predict_ahead, name="predict-ahead", daemon=True)
                ahead.start()
                self._ahead = ahead

    def _describe_serving(self, name: str | None) -> tuple[str, str | None]:
        """Which model serves the pre-annotations, with its score on the evaluation split when it has one, and
        its family (``None`` for a model that is not a version of this project)."""
        if name is None:
            return "no model", None
        with self.store.transaction() as session:
            version = version_named(session, self.project_id, name)
            if version is None:
                return name, None
            family = record_family_name(version.training_snapshot)
            metrics = dict(version.metrics or {})
        score = next(iter(headline_scores(metrics).items()), None)
        items = metrics.get(EVALUATION_ITEMS)
        scored = (f", {score[0]} {score[1]:.2f}" + (f" on {items}" if items is not None else "")) if score else ""
        return f"{name} ({family}{scored})", family

    def serve_champion(self) -> None:
        """Serve the project's champion from the next item on (called when a live refit is promoted)."""
        model, name = champion_model(self.store, self.project_name, self.plugins, required=False)
        if model is None:
            return
        serving, family = self._describe_serving(name)
        with self._model_lock:
            self.predictor, self.model_version, self.serving, self.serving_family = model, name, serving, family
        self._start_predicting_ahead()

    # -- the queue ------------------------------------------------------------------------------------------------
    def next(self) -> Current | None:
        """The next item for this session (the one it holds, after a restart), or ``None`` when all are done.
        An item leased ahead by ``fetch_ahead`` is served at once if it is still good: fetched for the model that
        serves now, and well inside its lease (else the queue is asked again, which renews or replaces it)."""
        with self._fetch_lock:
            ahead, self._ahead_item = self._ahead_item, None
        fresh = (ahead is not None and ahead[1] == self.model_version
                 and time.perf_counter() - ahead[0].shown_at < queue.DEFAULT_LEASE_SECONDS / 2)
        current = ahead[0] if fresh else self._fetch()
        if current is not None:
            self.begin(current)
            current.restored = self._restored.pop(current.item_id, None)
            self.guidelines.check()  # a new version is announced with this item and recorded with its decision
        self.current = current
        return current

    def fetch_ahead(self) -> None:
        """Lease and load the item after the current one now, in the person's thinking time, so that the next
        key press only has to commit its decision (``next`` then serves it). Safe from another thread; does
        nothing without a current item, or when one is already fetched."""
        with self._fetch_lock:
            current = self.current
            if current is None or self._ahead_item is not None or self._stop.is_set():
                return
            try:
                fetched = self._fetch(exclude=current.item_id)
            except Exception:  # only a head start: next() fetches again on the main thread and reports the error
                return
            self._ahead_item = (fetched, self.model_version) if fetched is not None else None
            with self.store.transaction() as session:  # the progress count, refreshed off the key press's path
                self._remaining = queue.remaining(session, self.project_id)

    def _fetch(self, exclude: int | None = None) -> Current | None:
        """Lease the next item (not ``exclude``) and load it with its pre-annotation (predicted now if the
        model serving has none stored for it)."""
        gold = self.project.gold_share > 0 and self._gold_draws.random() < self.project.gold_share
        with self.store.transaction() as session:
            item = queue.next_item(session, self.project_id, self.annotator, self.session_id, self.order,
                                   exclude=exclude, gold=gold, among=self.among)
            if item is None:
                return None
            gold_check = bool(item.authoritative)  # only a gold draw serves an item an import settled
            audit = is_audit_item(session, self.project_id, item.id)
            stored = latest_predictions(session, [item.id]).get(item.id)
            example = item_example(item)
        prediction, prediction_id, problem = None, None, None
        if stored is not None and (self.model_version is None or stored.model_version == self.model_version):
            prediction, prediction_id = self._from_store(stored), stored.id
        elif self.predictor is not None:
            try:
                prediction, prediction_id = self._predict_now(item.id, example)
            except ServingUnavailable as exc:  # an endpoint down: this item without a pre-annotation, said why
                problem = str(exc)
        if prediction is not None and prediction.payload is None:  # the model gave no answer for this item
            prediction = None
        if audit:  # an autopilot audit: the person's own judgement of the auto label, nothing shown
            return Current(item.id, example, None, prediction_id, audit=True)
        if self.project.is_blind(item.id):  # predicted and recorded, never shown
            return Current(item.id, example, None, prediction_id, blind=True, gold_check=gold_check)
        return Current(item.id, example, prediction, prediction_id, problem=problem, gold_check=gold_check)

    def touch(self, keys: int = 1, at: float | None = None) -> None:
        """A key press (``ItemTiming.touch``), which also renews this session's leases once a minute
        (``renew``): an item on screen stays this person's while they work on it."""
        super().touch(keys, at)
        if time.perf_counter() - self._renewed >= RENEW_SECONDS:
            self.renew()

    def renew(self) -> None:
        """Renew the leases this session holds (the item on screen and the one fetched ahead) for another
        ``queue.DEFAULT_LEASE_SECONDS``: called on keys (at most once a minute) and by the full screen's timer.
        A lease that expired and went to someone else meanwhile is not taken back: the decision about that
        item will not count (``record_decision`` raises ``ItemTaken``)."""
        self._renewed = time.perf_counter()
        with self.store.transaction() as session:
            queue.renew(session, self.session_id)

    def decide(self, decision: str, payload=None) -> None:
        """Commit a decision about the current item (accept keeps the pre-annotation). Raises ``ItemTaken``
        (nothing stored, the current item dropped) when the item stopped being this person's while it was open:
        its lease expired and it went to someone else, or it was decided meanwhile."""
        current, payload = self.current, self.accepted_payload(decision, payload, "pre-annotation")
        if decision == "reject":
            payload = current.prediction.payload if current.prediction else None
        if decision in ("accept", "correct"):
            self.task.validate(Example(current.example.text, current.example.text_b, payload))
            if current.prediction is not None and decision == "correct" and payload == current.prediction.payload:
                decision = "accept"
        duration = int((time.perf_counter() - current.shown_at) * 1000)
        stored_payload = None if payload is None else self.task.payload_to_json(payload)
        how = self._how(current, decision, payload)
        try:
            with self._fetch_lock, self.store.transaction() as session:  # after a fetch ahead (and its count)
                annotation = annotations_q.record_decision(
                    session, self.project_id, current.item_id, self.annotator, self.session_id, decision,
                    stored_payload, current.prediction_id, duration, how)
                saved = {"id": annotation.id, "decision": decision, "payload": stored_payload,
                         "annotator": self.annotator}
                if self._remaining is not None and decision != "skip":
                    self._remaining -= 1
        except annotations_q.ItemTaken:
            self.current = None  # nothing stored: the item is someone else's now; the next one comes
            raise
        self._renewed = time.perf_counter()  # the decision released this item's lease; the next was leased now
        self.counts[decision] += 1
        self.kinds[how["edit"]["kind"]] += 1
        if how["edit"]["kind"] == "accepted":
            self._accepts.append(how["active_ms"] / 1000)
        if self.live is not None and decision != "skip":
            self.live.decided()
        if current.audit and decision != "skip":  # the audit may have its verdict now
            check_audit(self.store, self.project_name)
        self.plugins.notify("annotation_saved", project=self.project_name, item={"id": current.item_id,
                            "text": current.example.text}, annotation=saved)

    def _how(self, current: Current, decision: str, payload) -> dict:
        """How a decision was made: active time, keystrokes, what was shown, and the edit relative to it."""
        shown = current.prediction
        if decision in ("reject", "skip"):
            edit = {"kind": "rejected" if decision == "reject" else "skipped"}
        elif shown is None:
            edit = {"kind": "labelled"}
        else:
            changes = self.task.edit_summary(shown.payload, payload)
            edit = {"kind": "corrected" if changes else "accepted", **changes}
        return {**self.timing(current),
                "shown_version": (self.model_version or "unnamed") if shown is not None else None,
                "shown_family": self.serving_family if shown is not None else None, "edit": edit,
                "blind": current.blind, "guidelines_version": self.guidelines.version,
                "gold_check": True if current.gold_check else None}

    def set_filter(self, where: str | None) -> bool:
        """Serve only the items that meet ``where`` from now on (``core.filters``; empty: every item again).
        Returns whether the item on screen stays: when it does not meet the filter, it (and any item leased ahead)
        goes back to the queue and ``next`` serves a matching one. Raises ``BertannoError`` for a bad filter, and
        then nothing changes."""
        among = matching_items(self.project, where)
        self.where, self.among = (where or "").strip() or None, among
        with self._fetch_lock, self.store.transaction() as session:
            ahead, self._ahead_item = self._ahead_item, None
            if ahead is not None:
                queue.release_item(session, ahead[0].item_id, self.session_id)
            keep = self.current is not None and (among is None or self.current.item_id in set(among))
            if self.current is not None and not keep:
                queue.release_item(session, self.current.item_id, self.session_id)
                self.current = None
        return keep

    def pace_notice(self) -> str | None:
        """A gentle word when this session's last ``PACE_WINDOW`` accepts took a median under ``fast_accept``
        seconds (``core.stats.FAST_ACCEPT_SECONDS``; 0 never), said at most once every ``PACE_WINDOW`` accepts;
        else ``None``."""
        accepted = self.kinds["accepted"]
        if (not self.fast_accept or len(self._accepts) < PACE_WINDOW or accepted - self._paced_at < PACE_WINDOW
                or statistics.median(self._accepts) >= self.fast_accept):
            return None
        self._paced_at = accepted
        return (f"your last {PACE_WINDOW} accepts took {statistics.median(self._accepts):.1f} s each: a "
                "pre-annotation can be wrong in a way that takes a moment to see")

    def undo(self) -> bool:
        """Withdraw this session's last decision; its item is shown again next. ``False`` if nothing to undo."""
        with self._fetch_lock, self.store.transaction() as session:  # (after a fetch ahead in flight)
            ahead, self._ahead_item = self._ahead_item, None
            if ahead is not None:  # the item leased ahead goes back: the undone one comes next
                queue.release_item(session, ahead[0].item_id, self.session_id)
            annotation = annotations_q.undo_last(session, self.session_id)
            if annotation is None:
                return False
            if self.current is not None:  # hand back the item on screen; the undone one comes first
                queue.release_item(session, self.current.item_id, self.session_id)
            queue.hold(session, self.project_id, annotation.item_id, self.annotator, self.session_id)
            self.counts[annotation.decision] -= 1
            self.kinds[decision_kind(annotation.edit)] -= 1
            if self.live is not None and annotation.decision != "skip":
                self.live.undone()  # the refit countdown counts standing decisions
            if self._remaining is not None and annotation.decision != "skip":
                self._remaining += 1
            if annotation.decision in ("accept", "correct") and annotation.payload is not None:
                self._restored[annotation.item_id] = self.task.payload_from_json(annotation.payload)
        return True

    def close(self) -> None:
        """Stop and join the background threads (a batch being predicted finishes first; a refit in progress
        finishes and is recorded), then hand back this session's items. Nothing runs after it returns, so the
        process exits cleanly."""
        self._stop.set()
        with self._model_lock:
            ahead = self._ahead
        if ahead is not None:
            ahead.join()
        if self.live is not None:
            self.live.wait()
        with self._fetch_lock, self.store.transaction() as session:  # after a fetch ahead in flight
            self._ahead_item = None
            queue.release(session, self.session_id)

    REJECT_WORD = "reject"
    """What the reject key does, in the screen's key line."""
    REJECT_HELP = "reject the pre-annotation"
    """What x does, as the help says it (the footer says ``REJECT_WORD``)."""

    def serving_line(self) -> str:
        """The header's word on what proposes the annotations: the model serving, with its score."""
        return "no model yet" if self.model_version is None else f"model {self.serving}"

    def context(self):
        """What the screen shows beside the item: the comments people left on it (``views.comments``), or nothing
        (a review also shows the team's decisions)."""
        return render_comments(self.item_comments())

    def item_note(self) -> tuple[str, str]:
        """A line about the current item for the header, and its style."""
        if self.current.prediction is None:
            if self.current.problem:
                return f"no pre-annotation: {self.current.problem}", "yellow"
            return "no pre-annotation: choose a label or mark the spans", "yellow"
        note = self._confidence_note()
        if note:
            return f"pre-annotation: {note}", ""
        return f"pre-annotation {self.current.prediction.confidence:.0%} sure", ""

    def _confidence_note(self) -> str:
        """The serving family's ``confidence_note`` (a gazetteer's matches carry no probability); empty when its
        confidence is a probability or the family is not known here."""
        if self.serving_family is None or self.serving_family not in self.plugins.families:
            return ""  # no version of this project serves, or its family's plugin is gone: the number as it is
        return self.plugins.family(self.serving_family).confidence_note

    # -- progress ---------------------------------------------------------------------------------------------------
    def progress(self) -> dict:
        """Items done of all (everyone's standing decisions), this session's counts and pace. The count is the
        one ``fetch_ahead`` made, kept up by this session's own decisions and undos (so a colleague's decisions
        show from the next item on); without a fetch ahead it is counted now."""
        remaining = self._remaining
        if remaining is None:
            with self.store.transaction() as session:
                remaining = queue.remaining(session, self.project_id)
        return {"done": self.total - remaining, "total": self.total, "session": dict(self.counts),
                "per_minute": self.per_minute()}

    # -- the model ----------------------------------------------------------------------------------------------------
    def _predict_now(self, item_id: int, example: Example) -> tuple[Prediction, int]:
        with self._model_lock:  # predicting ahead may have stored this item's prediction while the lock was held
            with self.store.transaction() as session:
                stored = latest_predictions(session, [item_id]).get(item_id)
            if stored is not None and stored.model_version == self.model_version:
                return self._from_store(stored), stored.id
            [prediction], _ = self.predictor.predict([example])
            return prediction, self._store_predictions([item_id], [prediction], self.model_version)[0]

    def _from_store(self, stored) -> Prediction:
        """A stored prediction row as the model gave it (payload ``None``: it gave no answer for the item)."""
        payload = None if stored.payload is None else self.task.payload_from_json(stored.payload)
        return Prediction(payload, stored.confidence, details=stored.details or {})

    def _store_predictions(self, item_ids: list[int], predictions: list[Prediction],
                           version: str | None = None) -> list[int]:
        return self.project.save_predictions(item_ids, predictions, version or self.model_version or "unnamed")

    def _unpredicted(self) -> list[tuple[int, Example]]:
        """The next undecided items, in item order, with no prediction from this model version."""
        return self.project.items(undecided=True, unpredicted_by=self.model_version or "unnamed", limit=AHEAD_BATCH)

    def _predict_ahead(self) -> None:
        yield_to_the_screen()
        while not self._stop.is_set():
            batch = self._unpredicted()
            if not batch:
                self._stop.wait(1.0)
                continue
            try:
                with self._model_lock:  # stored before the lock is let go: the current item's fetch then finds it
                    still = {item_id for item_id, _ in self._unpredicted()}  # a fetch may have predicted one meanwhile
                    batch = [(item_id, example) for item_id, example in batch if item_id in still]
                    if batch:
                        predictions, _ = self.predictor.predict([example for _, example in batch])
                        self._store_predictions([item_id for item_id, _ in batch], predictions, self.model_version)
            except ServingUnavailable:  # the endpoint is down: try again in a while, items meanwhile go without
                self._stop.wait(30.0)
                continue
