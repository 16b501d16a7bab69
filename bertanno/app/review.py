"""A review session: a reviewer walks the items a team decided without settling them (and, on request, a sample
of the ones they agreed on), sees each annotator's decision side by side with the model's prediction, and
records the final decision, which settles the item (``source="review"``).

It is driven by the same screens, keys and scripted mode as an annotation session (``bertanno.app.line_screen``,
``bertanno.app.screen``): Enter accepts the proposal (``Task.proposal``: what every annotator gave, or what a
strict majority of three or more gave, span by span for NER; a reject is never a vote), v chooses an
annotator's version or their union when there is no proposal, a digit or a correction gives another, x marks
the item unusable (decided, no label), s leaves it for later, u undoes. Nothing settles an item that no person
gave: without a majority Enter asks for a choice instead of storing an empty or intersected set.
"""

from __future__ import annotations

import random
import time
from typing import Any

from rich.console import Group

from bertanno.app.session import Current, ItemTiming, default_annotator
from bertanno.app.views import render_decisions
from bertanno.app.views.comments import render_comments
from bertanno.core.filters import matching_items
from bertanno.core.guidelines import GuidelinesInForce
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import item_example, open_project
from bertanno.core.stats import decision_kind
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Prediction
from bertanno.store import Store, queue
from bertanno.store import annotations as annotations_q
from bertanno.store.items import items_by_id
from bertanno.store.predictions import latest_predictions
from bertanno.store.projects import project_annotators


class ReviewSession(ItemTiming):
    """The items to review, one at a time, each decision committed before the next item is shown.

    ``reviewer``: the name recorded with the decisions (default: the user name). ``annotators``: only the items
    each of these people decided (unknown names raise ``BertannoError`` naming the project's people).
    ``sample``: add that many items the annotators agreed on, drawn at random (``seed``), shuffled in among
    the disagreements as spot checks. ``where``: only the items that meet that filter (``core.filters``). Raises
    ``BertannoError`` when there is nothing to review."""

    live = None
    CHOOSES = True
    CONTEXT_TITLE = "decisions"
    UNPROPOSED = "(no spans yet: no version is proposed; v chooses one, or mark the spans)"

    def __init__(self, store: Store, project_name: str, reviewer: str | None = None,
                 annotators: list[str] | None = None, sample: int = 0, seed: int = 0,
                 plugins: Plugins | None = None, idle_limit: float | None = None, where: str | None = None):
        super().__init__(idle_limit)
        if sample < 0:
            raise BertannoError(f"--sample is a number of items from 0 up, got {sample}")
        self.store, self.project_name = store, project_name
        self.annotator = reviewer or default_annotator()
        self.plugins = plugins or get_plugins()
        self.project = open_project(store, project_name, self.plugins)
        self.project_id, self.task = self.project.id, self.project.task
        self.guidelines = GuidelinesInForce(store, self.project_id)
        self.session_id = queue.new_session_id()
        with store.transaction() as session:
            people = project_annotators(session, self.project_id)
            unknown = [name for name in annotators or () if name not in people]
            if unknown:
                raise BertannoError(f"nobody named {', '.join(map(repr, unknown))} has decided items of project "
                                    f"{project_name!r}; its annotators: {', '.join(people) or 'none yet'}")
            disagreeing, agreeing = annotations_q.review_items(session, self.project_id, annotators)
        chosen = matching_items(self.project, where)
        if chosen is not None:  # --where: only the items that meet it
            kept = set(chosen)
            disagreeing, agreeing = [i for i in disagreeing if i in kept], [i for i in agreeing if i in kept]
        checks = random.Random(seed).sample(agreeing, min(sample, len(agreeing)))
        self.spot_checks = set(checks)
        walk = disagreeing + checks
        random.Random(seed).shuffle(walk) if checks else None  # a spot check must not look like one
        if not walk:
            who = (f" between {', '.join(annotators)}" if annotators else "") + (f" where {where}" if where else "")
            hint = "" if self.project.overlap > 1 else (f" (project {project_name!r} has each item decided by one "
                                                        "annotator: bertanno configure --overlap 2 asks for two)")
            raise BertannoError(f"no disagreements{who} to review in project {project_name!r}" + hint)
        self._walk = walk
        self.total = len(walk)
        self.model_version = None
        self.counts = {"accept": 0, "correct": 0, "reject": 0, "skip": 0}
        self.started = time.perf_counter()
        self.current: Current | None = None
        self._decisions: list[tuple[str, Any]] = []
        self._agreeing = 0
        self._restored: dict[int, Any] = {}
        self._choices: list[tuple[str, Any]] = []
        self._chosen: str | None = None
        self.rejected_by_all = False

    # -- the walk ---------------------------------------------------------------------------------------------------
    def next(self) -> Current | None:
        """The next item to review, with the proposal as its pre-annotation, or ``None`` when the walk is done.
        An item that another reviewer settled meanwhile is passed over."""
        self.current, self._chosen = None, None
        while self._walk:
            item_id = self._walk.pop(0)
            with self.store.transaction() as session:
                [item] = items_by_id(session, [item_id])
                if item.authoritative:  # a review or an import has decided it
                    continue
                people = annotations_q.people_decisions(session, self.project_id, [item_id]).get(item_id, [])
                stored = latest_predictions(session, [item_id]).get(item_id)
            payloads = [None if a.decision == "reject" else self.task.payload_from_json(a.payload) for a in people]
            self._decisions = [(a.annotator, p) for a, p in zip(people, payloads)]
            if stored is not None:
                self._decisions.append((f"model {stored.model_version} {stored.confidence:.0%}",
                                        self.task.payload_from_json(stored.payload)))
            given = [p for p in payloads if p is not None]
            self.rejected_by_all = not given
            proposal = None if not given else self.task.proposal(given, len(payloads))
            self._choices = [(f"{who}'s version", payload) for (who, payload), a in zip(self._decisions, people)
                             if a.decision != "reject"]
            union = self.task.union(given) if proposal is None and len(given) > 1 else None
            if union is not None:
                self._choices.append(("the union of every version", union))
            key = (annotations_q.decision_key("reject", None) if self.rejected_by_all else
                   None if proposal is None else annotations_q.decision_key("accept",
                                                                             self.task.payload_to_json(proposal)))
            self._agreeing = sum(annotations_q.agreement_key(a) == key for a in people)
            example = item_example(item)
            self.current = Current(item_id, example, None if proposal is None else Prediction(
                proposal, self._agreeing / len(people)), None, restored=self._restored.pop(item_id, None))
            self.begin(self.current)
            self.guidelines.check()
            return self.current
        return None

    def choices(self) -> list[tuple[str, Any]]:
        """What the reviewer may settle the current item with when there is no proposal: each annotator's version
        that gave a label (``(\"ann's version\", payload)``, in the order they decided), then, for two or more
        versions that differ, their union (``Task.union``); empty when there is a proposal to accept."""
        if self.current is None or self.current.prediction is not None or self.rejected_by_all:
            return []
        return list(self._choices)

    def choose(self, number: int) -> Any:
        """Take choice ``number`` (from 1, in ``choices()``' order) as the current item's proposal: Enter then
        settles the item with it, and a correction starts from it. Returns its payload. Raises ``BertannoError``
        when there is nothing to choose or no such choice."""
        choices = self.choices()
        if not choices:
            raise BertannoError("there is nothing to choose between on this item: Enter accepts the proposal")
        if not 1 <= number <= len(choices):
            raise BertannoError(f"choose a version from 1 to {len(choices)}: "
                                + ", ".join(f"{n} {what}" for n, (what, _) in enumerate(choices, start=1)))
        what, payload = choices[number - 1]
        self.current.prediction = Prediction(payload, 0.0)
        self._chosen = what
        return payload

    REJECT_WORD = "unusable"
    REJECT_HELP = "unusable: decided, no label"
    """What x does, as the help says it (the footer says ``REJECT_WORD``)."""

    def serving_line(self) -> str:
        return f"review by {self.annotator}"

    def fetch_ahead(self) -> None:
        """Nothing to fetch ahead: the walk is fixed when the review starts."""

    def context(self):
        """Each annotator's decision and the model's prediction, side by side (``views.render_decisions``), and the
        comments people left on the item."""
        if self.current is None:
            return None
        decisions = render_decisions(self.task, self.current.example, self._decisions, self.plugins)
        comments = render_comments(self.item_comments())
        return decisions if comments is None else Group(decisions, comments)

    def item_note(self) -> tuple[str, str]:
        """A line about the current item for the header, and its style."""
        current = self.current
        people = sum(not who.startswith("model ") for who, _ in self._decisions)
        check = "spot check of an agreed item · " if current.item_id in self.spot_checks else ""
        if self.rejected_by_all:
            return f"{check}every annotator marked it unusable: Enter agrees, or choose a label or mark the spans", \
                "yellow"
        if self._chosen is not None:
            return f"{check}chosen: {self._chosen}; Enter settles the item with it, or edit it first", "cyan"
        if current.prediction is None:
            return (f"{check}no majority among the {people} annotators: press v to choose a version "
                    f"({self.choice_line()}), or give your own", "yellow")
        if self._agreeing == people:
            return f"{check}proposal: the decision of all {people} annotators", ""
        if not self._agreeing:
            return f"{check}proposal: what most of the {people} annotators marked, span by span", ""
        return f"{check}proposal: the decision of {self._agreeing} of {people} annotators", ""

    def choice_line(self) -> str:
        """The choices as a person reads them: ``1 ann's version · 2 bob's version · 3 the union …``."""
        return " · ".join(f"{n} {what}" for n, (what, _) in enumerate(self.choices(), start=1))

    # -- decisions --------------------------------------------------------------------------------------------------
    def decide(self, decision: str, payload=None) -> None:
        """Record the final decision about the current item (``accept``: the proposal; ``correct``: ``payload``;
        ``reject``: the item is unusable, decided without a label; ``skip``: left for later). Raises
        ``BertannoError`` without a current item or a proposal to accept, ``ValueError`` for a payload the task
        does not accept (a label outside the set)."""
        if decision == "accept" and payload is None and self.rejected_by_all and self.current is not None:
            decision = "reject"  # every annotator marked it unusable, and the reviewer agrees
        if (decision == "accept" and payload is None and self.current is not None
                and self.current.prediction is None and self.choices()):
            raise BertannoError("no majority to accept: press v to choose a version "
                                f"({self.choice_line()}), or give your own")
        current, payload = self.current, self.accepted_payload(decision, payload, "proposal")
        if decision in ("reject", "skip"):
            payload = None
        if decision in ("accept", "correct"):
            self.task.validate(Example(current.example.text, current.example.text_b, payload))
            if current.prediction is not None and payload == current.prediction.payload:
                decision = "accept"
        stored = None if payload is None else self.task.payload_to_json(payload)
        shown = current.prediction.payload if current.prediction is not None else None
        changes = self.task.edit_summary(shown, payload) if decision in ("accept", "correct") and shown else {}
        edit = {"kind": {"reject": "rejected", "skip": "skipped"}.get(decision, "corrected" if changes else
                                                                      "accepted" if shown else "labelled"),
                **changes, "reviewed": [who for who, _ in self._decisions],
                **({"chosen": self._chosen} if self._chosen is not None else {})}
        how = {**self.timing(current), "shown_version": None, "shown_family": None, "edit": edit, "blind": False,
               "guidelines_version": self.guidelines.version}
        with self.store.transaction() as session:
            annotation = annotations_q.record_decision(
                session, self.project_id, current.item_id, self.annotator, self.session_id, decision, stored,
                None, how["active_ms"], how, source="review")
            saved = {"id": annotation.id, "decision": decision, "payload": stored, "annotator": self.annotator}
        self.counts[decision] += 1
        self.kinds[edit["kind"]] += 1
        self.current = None
        self.plugins.notify("annotation_saved", project=self.project_name,
                            item={"id": current.item_id, "text": current.example.text}, annotation=saved)

    def undo(self) -> bool:
        """Withdraw this review's last decision; its item is shown again next, as the reviewer left it."""
        with self.store.transaction() as session:
            annotation = annotations_q.undo_last(session, self.session_id)
        if annotation is None:
            return False
        if self.current is not None:
            self._walk.insert(0, self.current.item_id)
        self._walk.insert(0, annotation.item_id)
        self.counts[annotation.decision] -= 1
        self.kinds[decision_kind(annotation.edit)] -= 1
        if annotation.decision in ("accept", "correct") and annotation.payload is not None:
            self._restored[annotation.item_id] = self.task.payload_from_json(annotation.payload)
        return True

    def close(self) -> None:
        """Nothing runs in the background and nothing is leased: every decision is already committed."""

    def progress(self) -> dict:
        """Items reviewed in this session of all in the walk, this session's counts and pace."""
        return {"done": self.decided(), "total": self.total, "session": dict(self.counts),
                "per_minute": self.per_minute()}


def review_summary(counts: dict[str, int], reviewer: str) -> str:
    """The line printed when a review ends."""
    return (f"reviewed: {counts['accept']} proposals accepted, {counts['correct']} decided otherwise, "
            f"{counts['reject']} marked unusable, {counts['skip']} left for later (reviewer {reviewer})")

