"""``--where``: one filter syntax for the items of a project, used by ``annotate``, ``review``, ``export`` and
``stats`` (and the annotation app's filter key).

A filter is terms separated by spaces, all of which an item must meet; ``-`` before a term negates it; quote a term
that holds spaces (``"text:两个 字"``)::

    胸闷                  the text (either text of a pair) contains 胸闷 (also text:胸闷)
    text:/胸闷|气促/       the text matches the regular expression (Python's re, searched)
    label:DIS             a standing decision gives the label, or a span of that type
    model:positive        the latest prediction (what a session serves) gives it
    confidence:<0.6       the latest prediction's confidence (also >0.9, 0.4..0.7)
    annotator:li          li has a standing decision on it
    is:agreed             two or more annotators decided it, all alike      is:disagreed  waits for a review
    is:flagged            a comment flagged it for discussion               is:commented  has a comment
    is:blind              a blind control                                   is:gold       a gold item
    is:decided            settled (or decided by an import or a review)    is:undecided
    split:eval            in the evaluation split (split:train, split:none)
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from bertanno.core.project import ProjectHandle
from bertanno.errors import BertannoError
from bertanno.store.annotations import agreement_key, current_annotations, disagreements, standing_by_item
from bertanno.store.comments import item_comments
from bertanno.store.items import project_items
from bertanno.store.predictions import latest_predictions

KEYS = ("text", "label", "model", "confidence", "annotator", "is", "split")
STATES = ("agreed", "disagreed", "flagged", "commented", "blind", "gold", "decided", "undecided")


@dataclass
class Term:
    """One term: ``key`` (``text`` for a bare word), its ``value`` as written, ``negated``, and its test."""

    key: str
    value: str
    negated: bool
    test: Callable[[dict], bool] = field(repr=False)

    def admits(self, facts: dict) -> bool:
        return self.test(facts) != self.negated


def _names(payload: Any) -> set[str]:
    """The labels a stored payload gives: itself for a label, the span (and relation) types for spans."""
    if payload is None:
        return set()
    if isinstance(payload, str):
        return {payload}
    if isinstance(payload, dict):  # a relations payload: {"spans": [...], "relations": [...]}
        return _names(payload.get("spans")) | {r[2] for r in payload.get("relations") or [] if len(r) > 2}
    if isinstance(payload, list):
        return {str(unit[2]) for unit in payload if isinstance(unit, (list, tuple)) and len(unit) > 2} | {
            unit for unit in payload if isinstance(unit, str)}
    return {str(payload)}


def _confidence(value: str) -> Callable[[dict], bool]:
    found = re.fullmatch(r"\s*(<=|>=|<|>)?\s*([01](?:\.\d+)?|\.\d+)\s*(?:\.\.\s*([01](?:\.\d+)?|\.\d+))?\s*", value)
    if not found:
        raise BertannoError(f"confidence:{value}: write confidence:<0.6, confidence:>0.9 or confidence:0.4..0.7")
    operator, low, high = found.groups()
    low = float(low)
    if high is not None:
        return lambda f: f["confidence"] is not None and low <= f["confidence"] <= float(high)
    compare = {"<": lambda c: c < low, "<=": lambda c: c <= low, ">": lambda c: c > low, ">=": lambda c: c >= low,
               None: lambda c: abs(c - low) < 0.005}[operator]
    return lambda f: f["confidence"] is not None and compare(f["confidence"])


def parse_filter(text: str) -> list[Term]:
    """The terms of a ``--where`` filter (module docstring). Raises ``BertannoError`` with a sentence for an
    unknown key or state, a bad regular expression or number, or unbalanced quotes."""
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise BertannoError(f"--where {text!r}: {exc} (quote a term with spaces in it)") from None
    terms = []
    for word in words:
        negated = word.startswith("-") and len(word) > 1
        word = word[1:] if negated else word
        key, sep, value = word.partition(":")
        if not sep or key not in KEYS:
            if sep and re.fullmatch(r"[a-z]+", key):
                raise BertannoError(f"--where: {key}: is not a filter key; the keys: {', '.join(KEYS)} "
                                    "(a bare word searches the text)")
            key, value = "text", word
        if not value:
            raise BertannoError(f"--where: {key}: needs a value ({key}:SOMETHING)")
        terms.append(Term(key, value, negated, _test(key, value)))
    return terms


def _test(key: str, value: str) -> Callable[[dict], bool]:
    if key == "text":
        if len(value) > 2 and value.startswith("/") and value.endswith("/"):
            try:
                pattern = re.compile(value[1:-1])
            except re.error as exc:
                raise BertannoError(f"--where text:{value}: not a regular expression ({exc})") from None
            return lambda f: bool(pattern.search(f["text"]) or (f["text_b"] and pattern.search(f["text_b"])))
        return lambda f: value in f["text"] or bool(f["text_b"] and value in f["text_b"])
    if key == "label":
        return lambda f: value in f["labels"]
    if key == "model":
        return lambda f: value in f["model"]
    if key == "confidence":
        return _confidence(value)
    if key == "annotator":
        return lambda f: value in f["annotators"]
    if key == "split":
        if value not in ("eval", "train", "none"):
            raise BertannoError(f"--where split:{value}: the splits are eval, train and none")
        return lambda f: (f["split"] or "none") == value
    if value not in STATES:
        raise BertannoError(f"--where is:{value}: the states are {', '.join(STATES)}")
    return lambda f: value in f["states"]


def item_facts(handle: ProjectHandle) -> list[dict]:
    """What a filter reads of every item of the project, in item order: ``id``, ``text``, ``text_b``, ``split``,
    ``labels`` (of its standing decisions), ``model`` (the labels of its latest prediction) and ``confidence``,
    ``annotators`` (with a standing decision), ``states`` (``STATES`` that hold)."""
    store = handle.store
    with store.transaction() as session:
        items = project_items(session, handle.id)
        ids = [item.id for item in items]
        standing = standing_by_item(session, handle.id)
        settled = current_annotations(session, handle.id)
        open_items = set(disagreements(session, handle.id))
        predicted = latest_predictions(session, ids)
        comments = item_comments(session, handle.id)
        facts = []
        for item in items:
            decisions = standing.get(item.id, [])
            people = {a.annotator: a for a in decisions if a.source == "human" and not a.gold_check}
            states = set()
            if len(people) >= 2 and len({agreement_key(a) for a in people.values()}) == 1:
                states.add("agreed")
            if item.id in open_items:
                states.add("disagreed")
            if item.id in comments:
                states.add("commented")
                if any(c.flagged for c in comments[item.id]):
                    states.add("flagged")
            if handle.is_blind(item.id):
                states.add("blind")
            if item.split == "eval" and item.authoritative:
                states.add("gold")
            states.add("decided" if item.id in settled or item.authoritative else "undecided")
            prediction = predicted.get(item.id)
            facts.append({"id": item.id, "text": item.text, "text_b": item.text_b, "split": item.split,
                          "labels": set().union(*(_names(a.payload) for a in decisions)) if decisions else set(),
                          "model": _names(prediction.payload) if prediction else set(),
                          "confidence": prediction.confidence if prediction else None,
                          "annotators": set(people), "states": states})
    return facts


def matching_items(handle: ProjectHandle, where: str | None) -> list[int] | None:
    """The ids of the project's items that meet the ``--where`` filter, in item order; ``None`` for no filter
    (every item). Raises ``BertannoError`` as ``parse_filter`` does."""
    terms = parse_filter(where or "")
    if not terms:
        return None
    return [facts["id"] for facts in item_facts(handle) if all(term.admits(facts) for term in terms)]
