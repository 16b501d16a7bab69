"""A model that learns while a person annotates: every N decisions the project's live families (``linear``
for sentences and pairs, ``crf`` and ``lexicon`` for NER, or a plugin's family marked ``live``) are refitted in a
background thread on everything decided so far, and goes through the same gate as every version. When
it is promoted, the session switches to it for the next items; a key press never waits for a refit.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from bertanno.app.background import yield_to_the_screen
from bertanno.app.training_runs import RunOutcome, train_project
from bertanno.core.plugins import Plugins
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.plugins.families import ModelFamily
from bertanno.plugins.task import Task
from bertanno.store import Store

EVERY = 20


def live_families(task: Task, plugins: Plugins) -> list[ModelFamily]:
    """The registered families that are ``live`` and serve ``task`` with their dependencies installed, the
    built-in ones first (``crf`` before ``lexicon`` for NER); each refit trains each of them in this order."""
    families = [plugins.family(name) for name in plugins.families]
    families = [f for f in families if f.live and task.example_kind in f.example_kinds and f.missing() is None]
    order = {"linear": 0, "crf": 0, "lexicon": 1}
    return sorted(families, key=lambda family: order.get(family.name, 2))


class LiveTrainer:
    """Counts decisions and refits in the background; ``on_promoted()`` runs (in that thread) after a refit
    becomes the champion. A refit that cannot train yet (one label so far) is reported in ``status``, and
    the session goes on by hand."""

    def __init__(self, store: Store, project_name: str, family: ModelFamily | Sequence[ModelFamily],
                 plugins: Plugins, on_promoted: Callable[[], None], every: int = EVERY, models_dir=None):
        if every < 1:
            raise BertannoError("--live-every must be at least 1")
        self.families = [family] if isinstance(family, ModelFamily) else list(family)
        self.family = self.families[0]  # the one the session names ("a crf model takes over after …")
        self.store, self.project_name, self.plugins = store, project_name, plugins
        self.on_promoted, self.every, self.models_dir = on_promoted, every, models_dir
        self.pending = 0
        self.last: RunOutcome | None = None
        self.last_family = self.family.name  # the family of ``last``
        self.problem: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def decided(self) -> None:
        """Count one decision; start a refit when ``every`` have accumulated and none is running."""
        with self._lock:
            self.pending += 1
            if self.pending < self.every or self.running:
                return
            self.pending = 0
            self._thread = threading.Thread(target=self._refit, name="live-refit", daemon=True)
            self._thread.start()

    def undone(self) -> None:
        """A decision was undone: it no longer counts towards the next refit."""
        with self._lock:
            self.pending = max(0, self.pending - 1)

    def _refit(self) -> None:
        """Train each live family in turn (each through the gate): a later one competes with the earlier one's
        version when that was promoted."""
        yield_to_the_screen()
        problems, last = [], None
        for family in self.families:
            try:
                outcome = train_project(self.store, self.project_name, TrainConfig(), trigger="live",
                                        family=family.name, models_dir=self.models_dir, plugins=self.plugins)
            except BertannoError as exc:
                problems.append(f"{family.name} not refitted: {exc}")
                continue
            except Exception as exc:  # a refit must never take the session down
                problems.append(f"{family.name} refit failed: {type(exc).__name__}: {exc}")
                continue
            if last is None or outcome.decision == "promoted":
                last = (family.name, outcome)
            if outcome.decision == "promoted":
                self.on_promoted()
        if last is not None:
            self.last_family, self.last = last
        # the primary family's problem is the one to show (a lexicon with no entities yet says little)
        self.problem = problems[0] if problems and (last is None or problems[0].startswith(self.family.name)) \
            else None

    def status(self) -> str:
        """One line for the screen: refitting, the last refit's verdict, or why it could not train."""
        names = "+".join(family.name for family in self.families)
        if self.running:
            return f"{names}: refitting…"
        if self.problem:
            return self.problem
        if self.last is not None:
            verdict = "serving" if self.last.decision == "promoted" else "kept as a candidate"
            return f"{self.last_family} {self.last.version} {verdict}"
        return f"{names}: first fit after {self.every - self.pending} more decision(s)"

    def wait(self, timeout: float | None = None) -> None:
        """Let a refit in progress finish (closing a session must not cut a version in half)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
