"""What every benchmark shares: where the shared data lives, machine facts, timing."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BERTANNO_SHARED", REPO.parent / "shared"))
RAW = SHARED / "data" / "raw"
MODELS = SHARED / "models"


def machine_facts(threads: int) -> dict:
    import tokenizers
    import torch
    import transformers

    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
    }


def use_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


@contextmanager
def stopwatch():
    """``with stopwatch() as elapsed: ...`` then ``elapsed()`` gives the seconds."""
    started = time.perf_counter()
    finished = []
    yield lambda: (finished[0] if finished else time.perf_counter()) - started
    finished.append(time.perf_counter())


def resident_bytes() -> int:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_memory(interval: float = 0.01):
    """``with peak_memory() as peak: ...`` then ``peak()``: the highest resident memory seen meanwhile, in MiB."""
    import threading

    highest = [resident_bytes()]
    done = threading.Event()

    def sample():
        while not done.is_set():
            highest[0] = max(highest[0], resident_bytes())
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: highest[0] / 2**20
    finally:
        done.set()
        sampler.join()


def save_with_variant(bundle, directory: Path, variant: str) -> Path:
    """``bundle`` saved as a version in ``directory`` with ``variant`` (``full``, ``int8``, ``onnx-int8``) prepared
    there and recorded as the one in use, as ``bertanno optimize`` leaves a version; returns the directory."""
    from bertanno.core.bundle import save_version, update_version_record
    from bertanno.core.optimize import FULL, prepare_variant

    directory = save_version(bundle, directory)
    if variant != FULL:
        prepare_variant(bundle, variant, directory)
    update_version_record(directory, {"variant": variant})
    return directory


def write_rows(name: str, module: str, argv, threads: int, rows: list[dict], merge: bool = False) -> dict:
    """``benchmarks/results/NAME.json``: the command (``python -m MODULE ARGV``), when it started, the machine and
    the ``rows``; returns what was written. ``merge``: the file's earlier rows of other sets (``dataset``) are kept
    before these, and its command before this one (a run over one set at a time)."""
    argv = sys.argv[1:] if argv is None else argv  # run as python -m MODULE: its own command line
    path = REPO / "benchmarks" / "results" / f"{name}.json"
    command = f"python -m {module} " + shlex.join(argv)
    if merge and path.exists():
        earlier = json.loads(path.read_text(encoding="utf-8"))
        done = {row["dataset"] for row in rows}
        rows = [row for row in earlier["rows"] if row["dataset"] not in done] + rows
        command = f"{earlier['command'].strip()}; {command}"
    result = {"command": command, "started": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_facts(threads),
              "rows": rows}
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


NER_SETS = "chineseblue_cmedqaner,cail2021_xxcq,msra_ner"
"""The three shared NER sets."""


def sample_arguments(parser, datasets: str = NER_SETS):
    """Add the options of a benchmark over the quality suite's samples to ``parser`` (``argparse``):
    ``--datasets``, ``--train`` (first N training examples, default 1,500), ``--test`` (first N test examples,
    default 1,000) and ``--threads``. Returns the parser."""
    parser.add_argument("--datasets", default=datasets)
    parser.add_argument("--train", type=int, default=1500)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    return parser


def parse_samples(parser, argv):
    """Parse ``argv`` with ``parser`` (``sample_arguments``' options and the benchmark's own), use ``--threads``
    torch threads, and return ``(args, the process-wide plugins)``."""
    from bertanno.core.plugins import get_plugins

    args = parser.parse_args(argv)
    use_threads(args.threads)
    return args, get_plugins()


def samples(args, plugins):
    """For each of ``args.datasets``: ``(name, task, training, test)``, the quality suite's training and test
    samples (``benchmarks.linear_family.sample``) cut to ``args.train`` and ``args.test`` examples."""
    from benchmarks.datasets import load
    from benchmarks.linear_family import sample

    for name in args.datasets.split(","):
        data = load(name)
        training, test = sample(data)
        yield name, plugins.task(data.task, labels=data.labels), training[:args.train], test[:args.test]


def fit_zh_mini(task, examples, plugins, start: str = "zh-mini", **settings):
    """zh-mini (or ``start``, another base model) fine-tuned on ``examples`` as ``bertanno train`` does, seed 42:
    the first tenth held out to choose the epoch, the plan for the model and task unless ``settings``
    (``TrainConfig`` fields) say otherwise. Returns ``(Predictor, the filled-in TrainConfig, TrainResult)``."""
    from bertanno.core.bundle import load_base
    from bertanno.core.engine import Predictor
    from bertanno.core.training import TrainConfig, set_seed, train

    cut = max(1, len(examples) // 10)
    validation, fitted = list(examples[:cut]), list(examples[cut:])
    set_seed(42)
    bundle = load_base(start, task, plugins)
    config, _ = TrainConfig(seed=42, **settings).for_model(bundle, len(fitted))
    result = train(bundle, fitted, validation, config)
    return Predictor(result.bundle), config, result


class FinishedRows:
    """The finished rows of a resumable benchmark, one JSON line each in ``path``, found again by ``key(row)`` (a
    tuple of the row's fields that name the measurement): a killed run skips what it had finished."""

    def __init__(self, path, key):
        self.path, self.key = path, key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        self.rows = {key(row): row for row in map(json.loads, lines)}

    def get(self, key: tuple) -> dict | None:
        """The row finished before under ``key`` (printed as such), or ``None``."""
        row = self.rows.get(key)
        if row is not None:
            print(json.dumps(row, ensure_ascii=False), "(done before)", flush=True)
        return row

    def add(self, row: dict) -> dict:
        """Keep ``row`` as finished (appended to the file) and print it; returns it."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.rows[self.key(row)] = row
        print(json.dumps(row, ensure_ascii=False), flush=True)
        return row
