"""A model that learns while a person annotates: every N decisions the project's live family (``linear``
for sentences and pairs, ``crf`` for NER, or a plugin's family marked ``live``) is refitted in a
background thread on everything decided so far, and goes through the same gate as every version. When
it is promoted, the session switches to it for the next items; a key press never waits for a refit.
"""

from __future__ import annotations

import threading
from typing import Callable

from bertanno.app.background import yield_to_the_screen
from bertanno.app.training_runs import RunOutcome, train_project
from bertanno.core.plugins import Plugins
from bertanno.core.training import TrainConfig
from bertanno.errors import BertannoError
from bertanno.plugins.families import ModelFamily
from bertanno.plugins.task import Task
from bertanno.store import Store

EVERY = 20


def live_family(task: Task, plugins: Plugins) -> ModelFamily | None:
    """The first registered family that is ``live`` and serves ``task``, if its dependencies are installed."""
    for name in plugins.families:
        family = plugins.family(name)
        if family.live and task.example_kind in family.example_kinds and family.missing() is None:
            return family
    return None


class LiveTrainer:
    """Counts decisions and refits in the background; ``on_promoted()`` runs (in that thread) after a refit
    becomes the champion. A refit that cannot train yet (one label so far) is reported in ``status``, and
    the session goes on by hand."""

    def __init__(self, store: Store, project_name: str, family: ModelFamily, plugins: Plugins,
                 on_promoted: Callable[[], None], every: int = EVERY, models_dir=None):
        if every < 1:
            raise BertannoError("--live-every must be at least 1")
        self.store, self.project_name, self.family, self.plugins = store, project_name, family, plugins
        self.on_promoted, self.every, self.models_dir = on_promoted, every, models_dir
        self.pending = 0
        self.last: RunOutcome | None = None
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

    def _refit(self) -> None:
        yield_to_the_screen()
        try:
            outcome = train_project(self.store, self.project_name, TrainConfig(), trigger="live",
                                    family=self.family.name, models_dir=self.models_dir, plugins=self.plugins)
        except BertannoError as exc:
            self.problem = f"{self.family.name} not refitted: {exc}"
            return
        except Exception as exc:  # a refit must never take the session down
            self.problem = f"{self.family.name} refit failed: {type(exc).__name__}: {exc}"
            return
        self.last, self.problem = outcome, None
        if outcome.decision == "promoted":
            self.on_promoted()

    def status(self) -> str:
        """One line for the screen: refitting, the last refit's verdict, or why it could not train."""
        if self.running:
            return f"{self.family.name}: refitting…"
        if self.problem:
            return self.problem
        if self.last is not None:
            verdict = "serving" if self.last.decision == "promoted" else "kept as a candidate"
            return f"{self.family.name} {self.last.version} {verdict}"
        return f"{self.family.name}: first fit after {self.every - self.pending} more decision(s)"

    def wait(self, timeout: float | None = None) -> None:
        """Let a refit in progress finish (closing a session must not cut a version in half)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
