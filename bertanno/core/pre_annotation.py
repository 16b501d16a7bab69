"""Pre-annotate a project's items with a model version and store the predictions, in resumable chunks."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from bertanno.core.engine import Predictor
from bertanno.core.plugins import Plugins
from bertanno.core.project import open_project
from bertanno.plugins.families import PredictStats, ServedModel
from bertanno.store import Store

CHUNK_SIZE = 512
"""Items predicted and stored per transaction: what a kill can cost, and how often the progress bar moves at
least."""


@dataclass
class BulkPrediction:
    """What ``predict_project`` did: ``stats`` of the items it predicted and stored now (summed over chunks), the
    items whose latest prediction was the version's already (an earlier run's, kept), and its chunks."""

    stats: PredictStats = field(default_factory=PredictStats)
    already: int = 0
    chunks: int = 0

    @property
    def predicted(self) -> int:
        return self.stats.examples


def predict_project(store: Store, project_name: str, predictor: ServedModel, version: str,
                    undecided_only: bool = False, progress: Callable[[int, int], None] | None = None,
                    plugins: Plugins | None = None, chunk_size: int = CHUNK_SIZE) -> BulkPrediction:
    """Predict the project's items (or only the undecided ones: no standing decision) whose latest prediction is
    not from ``version`` (the one a session serves: after a rollback the old champion predicts again), and store
    the results under ``version``, ``chunk_size`` items per transaction, so that a run killed or interrupted keeps
    the chunks it finished and the next run continues with the rest (no item predicted twice in a row by one
    version). While the model predicts a chunk, a second thread reads the next one from the
    store and tokenises it (a transformer ``Predictor``). ``progress(done, total)`` counts items as batches
    finish. Raises what the store, the model or ``open_project`` raise; chunks stored before stay stored."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    project = open_project(store, project_name, plugins)
    todo = project.item_ids(undecided=undecided_only, latest_not_by=version)
    result = BulkPrediction(already=len(project.item_ids(undecided=undecided_only)) - len(todo))
    chunks = [todo[start:start + chunk_size] for start in range(0, len(todo), chunk_size)]
    encode = predictor.encode if isinstance(predictor, Predictor) else None

    def load(ids: list[int]):
        items = project.examples_of(ids)
        examples = [example for _, example in items]
        return [item_id for item_id, _ in items], examples, encode(examples) if encode else None

    started, done = time.perf_counter(), 0
    if progress and todo:
        progress(0, len(todo))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bertanno-prefetch") as pool:
        pending = pool.submit(load, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            ids, examples, encoded = pending.result()
            pending = pool.submit(load, chunks[index + 1]) if index + 1 < len(chunks) else None

            def inner(windows_done: int, windows: int, base: int = done, size: int = len(ids)) -> None:
                if progress:
                    progress(base + size * windows_done // max(windows, 1), len(todo))

            if encoded is not None:
                predictions, stats = predictor.predict(examples, progress=inner, encoded=encoded)
            else:
                predictions, stats = predictor.predict(examples, progress=inner)
            project.save_predictions(ids, predictions, version)
            done += len(ids)
            result.chunks += 1
            for name in ("examples", "windows", "tokens", "truncated", "batches", "unaligned", "unanswered"):
                setattr(result.stats, name, getattr(result.stats, name) + getattr(stats, name))
            if progress:
                progress(done, len(todo))
    result.stats.seconds = time.perf_counter() - started
    return result
