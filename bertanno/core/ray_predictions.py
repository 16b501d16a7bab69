"""Bulk pre-annotation on Ray Data: a served model in a pool of Ray actors, one model per actor, the
predictions written back by the driver (to the store in chunks, or to JSONL shards), so that a job that is
stopped or loses a worker continues without predicting an item twice.

The engine is Ray's own (``ray.data``: blocks, an actor pool, retries of a task whose actor died); bertanno
adds what is the project's: which items are still to do, the model every actor loads (the same
``load_served`` as a local run, with the version's optimised variant), and idempotent writes. Optional:
``pip install 'bertanno[ray]'``.

Shape of a job: the driver reads the ids still to do (``ProjectHandle.item_ids(latest_not_by=version)``), then
windows of ``WINDOW`` items at a time: their examples (pickled) become a ``ray.data`` dataset, the actor pool
predicts batches of ``batch_size``, and the driver stores what comes back ``chunk_size`` items per
transaction. Files (``predict_files_on_ray``) go the same way into JSONL shards, each written whole.
Throughput on N machines is bounded by ``min(actors x per-actor items/s, store write rate)`` (``benchmarks.scale``
measures both).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from bertanno.core.plugins import Plugins
from bertanno.core.pre_annotation import CHUNK_SIZE, BulkPrediction
from bertanno.core.project import open_project
from bertanno.core.serving import load_served
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Task
from bertanno.store import Store

RAY_EXTRA = "pip install 'bertanno[ray]'"
WINDOW = 50_000
"""Items handed to Ray per dataset: bounds the driver's memory; each window loads the model once per actor."""
BATCH_SIZE = CHUNK_SIZE
"""Items per actor call (each call is one Ray task: the unit a dead actor's replacement redoes). As large as a
local chunk because ``predict`` sorts a call's texts by length before batching them: with 64 items per call the
padding grew and one actor of 2 threads ran at under 2/3 of the local path's rate (20,000 waimai/ChnSentiCorp
texts, 4 x 256 model, 2 cores)."""
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a cluster address to answer before saying it cannot be reached."""


@dataclass(frozen=True)
class ModelSource:
    """Where every actor loads the model from: a version directory that each Ray node can read (the same
    machine, or storage all nodes mount), the project it must belong to, and the precision to serve."""

    directory: str
    project_uid: str | None = None
    precision: str | None = None


@dataclass(frozen=True)
class RayJob:
    """How a job runs on Ray: the cluster ``address`` (None: a local Ray instance), the actor pool's size (None:
    the cluster's CPUs divided by ``threads``, or its GPUs divided by ``gpus``), each actor's torch threads (= its
    Ray CPUs) and its GPUs (0: a CPU actor; 0.5: two actors share a GPU)."""

    address: str | None = None
    actors: int | None = None
    threads: int = 1
    gpus: float = 0.0


def require_ray():
    """The ``ray`` module with Ray Data. Raises ``BertannoError`` naming the extra when it is not installed."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data ships as the ray[data] extra)
    except ImportError:
        raise BertannoError(f"Ray is not installed: {RAY_EXTRA}") from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Open a TCP connection to a ``host:port`` or ``ray://host:port`` address within ``timeout`` seconds,
    so that an unreachable cluster is a sentence instead of Ray's minute of retries. ``auto`` and addresses
    without a port are left to Ray. Raises ``BertannoError``."""
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise BertannoError(f"the Ray cluster at {address} cannot be reached ({error.strerror or error}; waited "
                            f"up to {timeout:.0f} s): is `ray start --head` running there, and is the port "
                            "open from this machine?") from None


@contextlib.contextmanager
def _stderr_silenced():
    """File descriptor 2 pointed at /dev/null for the block (C++ code writes there, not to ``sys.stderr``)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Join the Ray cluster at ``address`` (``host:6379``, ``ray://host:10001`` or ``auto``), or start a local
    Ray instance with ``num_cpus`` CPUs (default: all) when ``address`` is None; an instance this process has
    already started is reused. Returns whether this call started it (and so should shut it down).
    Raises ``BertannoError`` when Ray is missing or the address cannot be reached."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address:
        check_reachable(address)
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's C++ warnings would break the progress bar
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        with _stderr_silenced():  # Ray's C++ core prints a line of its own as it starts, whatever the level
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=num_cpus, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise BertannoError(f"could not connect to {where}: {error}") from None
    return True


class _PredictActor:
    """One model per Ray actor: loads the version once, then predicts batches of pickled examples."""

    def __init__(self, source: ModelSource, threads: int):
        import torch

        torch.set_num_threads(max(1, threads))
        if not os.path.isdir(source.directory):
            raise BertannoError(f"the model directory {source.directory} is not on Ray node "
                                f"{socket.gethostname()}: put the project's models folder on storage every "
                                "node mounts")
        self.served = load_served(source.directory, project_uid=source.project_uid, precision=source.precision)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        examples = [pickle.loads(blob) for blob in batch["example"]]
        predictions, stats = self.served.predict(examples)
        truncated = np.zeros(len(examples), dtype=np.int64)
        if len(examples):
            truncated[0] = stats.truncated  # the batch's count in its first row: the column sums to the total
        return {"key": batch["key"],
                "prediction": np.array([pickle.dumps(p) for p in predictions], dtype=object),
                "truncated": truncated}


_WORKER_SENTENCE = re.compile(r"bertanno\.errors\.\w+: (?P<sentence>[^\n]+)")


def _model_error(error: Exception) -> Exception:
    """The bertanno sentence inside a Ray error (a model that would not load in an actor, raised in the actor's
    creation task and carried back as text in Ray's ``ActorDiedError``), else ``error`` itself."""
    seen: Exception | None = error
    while seen is not None:
        if isinstance(seen, BertannoError):
            return BertannoError(f"a Ray worker could not serve the model: {seen}")
        seen = getattr(seen, "cause", None) if isinstance(getattr(seen, "cause", None), BaseException) \
            else seen.__cause__
    found = _WORKER_SENTENCE.search(str(error))
    if found:
        return BertannoError(f"a Ray worker could not serve the model: {found['sentence']}")
    return error


@contextlib.contextmanager
def _ray_session(address: str | None, threads: int, actors: int | None, gpus: float = 0.0):
    """Connected (``connect``) for the block, Ray Data quiet, and the actor pool's size; shuts down a Ray
    instance that it started. Raises ``BertannoError`` when ``gpus`` per actor asks for more GPUs than the cluster
    has (Ray would wait for them for ever)."""
    started_here = connect(address)
    ray = require_ray()
    try:
        resources = ray.cluster_resources()
        if gpus and resources.get("GPU", 0) < gpus:
            raise BertannoError(f"--gpus {gpus:g}: each actor asks for {gpus:g} GPU, and the Ray cluster has "
                                f"{resources.get('GPU', 0):g} (start its nodes with their GPUs, or leave --gpus out "
                                "for CPU actors)")
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.max_consecutive_actor_init_deaths = 1  # a model that will not load fails the job, not forever
        fitting = resources.get("GPU", 0) // gpus if gpus else resources.get("CPU", 1) // threads
        yield ray, actors or max(1, int(fitting))
    finally:
        if started_here:
            ray.shutdown()


def _predicted_batches(ray, rows: list[dict], source: ModelSource, pool_size: int, threads: int, batch_size: int,
                       chunk_size: int, gpus: float = 0.0):
    """Predict ``rows`` (``{"key": int, "example": pickled Example}``) on an actor pool of ``threads`` CPUs and
    ``gpus`` GPUs each (an actor given a GPU sees only it, and ``Predictor`` runs there in half precision); yields
    ``(keys, predictions, truncated)`` about ``chunk_size`` rows at a time, each key once (a batch redone after an
    actor died is not passed on twice). Raises ``BertannoError`` with the worker's sentence when the model does
    not load in an actor."""
    pool_size = min(pool_size, len(rows))  # no actor without work: each loads a model
    blocks = min(len(rows), max(pool_size, min(-(-len(rows) // batch_size), pool_size * 4)))
    dataset = ray.data.from_items(rows, override_num_blocks=blocks)
    predicted = dataset.map_batches(
        _PredictActor, fn_constructor_kwargs={"source": source, "threads": threads},
        compute=ray.data.ActorPoolStrategy(size=pool_size), batch_size=batch_size, num_cpus=threads,
        batch_format="numpy", **({"num_gpus": gpus} if gpus else {}))
    seen: set[int] = set()
    try:
        for batch in predicted.iter_batches(batch_size=chunk_size, batch_format="numpy"):
            keys, predictions = [], []
            for key, blob in zip(batch["key"].tolist(), batch["prediction"]):
                if key not in seen:
                    seen.add(key)
                    keys.append(key)
                    predictions.append(pickle.loads(blob))
            yield keys, predictions, int(batch["truncated"].sum())
    except Exception as error:  # Ray wraps a worker's exception in its own task error
        raised = _model_error(error)
        if raised is error:
            raise
        raise raised from None


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def predict_project_on_ray(store: Store, project_name: str, source: ModelSource, version: str, *,
                           address: str | None = None, actors: int | None = None, threads: int = 1,
                           gpus: float = 0.0,
                           undecided_only: bool = True, progress: Callable[[int, int], None] | None = None,
                           plugins: Plugins | None = None, chunk_size: int = CHUNK_SIZE,
                           batch_size: int = BATCH_SIZE, window: int = WINDOW) -> BulkPrediction:
    """Predict the project's items (only the undecided ones with ``undecided_only``) whose latest prediction is
    not from ``version``, on a Ray actor pool of ``actors`` actors (default: the cluster's CPUs divided by
    ``threads``, the torch threads and Ray CPUs of each actor; with ``gpus`` per actor, the cluster's GPUs divided
    by it), and store the results under ``version`` in
    chunks of ``chunk_size`` items: a stopped job keeps the chunks stored and the next run does only the rest;
    an actor that dies is replaced by Ray and its batch redone, and an item that comes back twice is stored once.
    ``address``: see ``connect``. ``progress(done, total)`` counts stored items.

    Raises ``BertannoError`` when Ray is missing, the cluster cannot be reached or has fewer GPUs than an actor
    asks for, or the model cannot load in a worker (nothing of that window stored); ``ValueError`` for sizes below
    1; what the store raises."""
    _check_sizes(chunk_size=chunk_size, batch_size=batch_size, window=window, threads=threads)
    project = open_project(store, project_name, plugins)
    todo = project.item_ids(undecided=undecided_only, latest_not_by=version)
    result = BulkPrediction(already=len(project.item_ids(undecided=undecided_only)) - len(todo))
    if not todo:
        return result
    with _ray_session(address, threads, actors, gpus) as (ray, pool_size):
        started, done = time.perf_counter(), 0
        if progress:
            progress(0, len(todo))
        for start in range(0, len(todo), window):
            rows = [{"key": item_id, "example": pickle.dumps(example)}
                    for item_id, example in project.examples_of(todo[start:start + window])]
            for ids, predictions, truncated in _predicted_batches(ray, rows, source, pool_size, threads, batch_size,
                                                                  chunk_size, gpus):
                project.save_predictions(ids, predictions, version)
                done += len(ids)
                result.chunks += 1
                result.stats.examples += len(ids)
                result.stats.truncated += truncated
                if progress:
                    progress(done, len(todo))
        result.stats.seconds = time.perf_counter() - started
    return result


@dataclass
class ShardedPrediction:
    """What ``predict_files_on_ray`` did: the shards written now, those already complete from an earlier run,
    the items predicted now, and the texts truncated to the model's length."""

    written: list[Path]
    kept: list[Path]
    predicted: int
    truncated: int
    seconds: float


def shard_name(index: int) -> str:
    """``part-00003.jsonl``: shard ``index`` holds input rows ``index * chunk_size`` onwards, in input order."""
    return f"part-{index:05d}.jsonl"


def predict_files_on_ray(examples: Sequence[Example], task: Task, source: ModelSource, output: Path,
                         model_name: str, *,
                         address: str | None = None, actors: int | None = None, threads: int = 1,
                         gpus: float = 0.0, chunk_size: int = CHUNK_SIZE, batch_size: int = BATCH_SIZE,
                         progress: Callable[[int, int], None] | None = None,
                         plugins: Plugins | None = None) -> ShardedPrediction:
    """Predict ``examples`` (read from the input files, in order, for ``task``: the version's) on a Ray actor pool
    and write the predictions as the registry's ``jsonl`` (``core.import_export.predictions_jsonl``: ``bertanno
    import`` reads them back) in shards of ``chunk_size`` rows under the folder ``output``, each written whole
    (a temporary file renamed) once all its rows are back. A shard already there is kept and its rows are not
    predicted again, so a stopped job continues where it stopped. ``progress(done, total)`` counts the rows of
    this run.

    Raises ``BertannoError`` when ``output`` is a file, Ray is missing, the cluster cannot be reached or has fewer
    GPUs than an actor asks for (``gpus``, as in ``predict_project_on_ray``), or the model cannot load in a
    worker; ``ValueError`` for sizes below 1."""
    from bertanno.core.import_export import predictions_jsonl

    _check_sizes(chunk_size=chunk_size, batch_size=batch_size, threads=threads)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise BertannoError(f"{output} is a file: with --ray, -o names a folder for the JSONL shards")
    output.mkdir(parents=True, exist_ok=True)
    shards = range((len(examples) + chunk_size - 1) // chunk_size)
    present = {index for index in shards if (output / shard_name(index)).exists()}
    kept = [output / shard_name(index) for index in sorted(present)]
    todo = [index for index in shards if index not in present]
    rows = [{"key": row, "example": pickle.dumps(examples[row])}
            for index in todo for row in range(index * chunk_size, min(len(examples), (index + 1) * chunk_size))]
    result = ShardedPrediction([], kept, 0, 0, 0.0)
    if not rows:
        return result
    waiting: dict[int, dict[int, object]] = {index: {} for index in todo}
    started = time.perf_counter()
    with _ray_session(address, threads, actors, gpus) as (ray, pool_size):
        if progress:
            progress(0, len(rows))
        for keys, predictions, truncated in _predicted_batches(ray, rows, source, pool_size, threads, batch_size,
                                                               chunk_size, gpus):
            result.predicted += len(keys)
            result.truncated += truncated
            for row, prediction in zip(keys, predictions):
                index = row // chunk_size
                waiting[index][row] = prediction
                first, last = index * chunk_size, min(len(examples), (index + 1) * chunk_size)
                if len(waiting[index]) == last - first:
                    done = waiting.pop(index)
                    text = predictions_jsonl(task, examples[first:last], [done[r] for r in range(first, last)],
                                             model_name, plugins)
                    partial = output / (shard_name(index) + ".partial")
                    partial.write_text(text, encoding="utf-8", newline="")
                    partial.replace(output / shard_name(index))
                    result.written.append(output / shard_name(index))
            if progress:
                progress(result.predicted, len(rows))
    result.seconds = time.perf_counter() - started
    return result
