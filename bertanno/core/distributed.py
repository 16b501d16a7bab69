"""Training in several processes: transformers' Trainer under torch's launcher (``torch.distributed.run``, the
launcher ``accelerate launch`` and ``torchrun`` drive), one process per GPU, or per share of the CPU cores with
the gloo backend.

Only the training step leaves the calling process. The caller (``bertanno train``/``retrain``) keeps every store
read and write, the project's training lock, the gate and the saved version; it hands the start model, the
examples and the config to N worker processes through a scratch folder, the Trainer in each runs one
data-parallel rank (``DistributedDataParallel``: gradients averaged every step), every rank scores each epoch on
the same validation examples (so all stop at the same epoch), and rank 0 writes the best weights and the run's
record back. The per-process batch is the batch divided by the processes, so that a step sees as many examples
as in one process.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from bertanno.core.bundle import ModelBundle, load_version, save_version
from bertanno.core.crf import CRF_KEY
from bertanno.core.token_features import FEATURES_KEY, load_features, save_features
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example

PROGRESS = "bertanno-rank0 "
"""Prefix of the lines rank 0 prints for the caller: a JSON object with ``step`` or ``epoch``."""


def world_size() -> int:
    """Processes of the data-parallel job this process belongs to (1 outside one), from the launcher's
    ``WORLD_SIZE``."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank in the job (0 outside one), from the launcher's ``RANK``."""
    return int(os.environ.get("RANK", "0"))


def train_in_processes(bundle: ModelBundle, examples: Sequence[Example], validation: Sequence[Example], config,
                       on_step: Callable[[int, int, float | None], None] | None = None,
                       on_epoch: Callable[[dict], None] | None = None):
    """``core.training.train`` run by ``config.processes`` data-parallel worker processes; ``bundle``'s model
    gets the best epoch's weights. Returns the ``TrainResult`` (seconds per epoch as the workers measured).
    ``config`` must be filled in (``TrainConfig.for_model``) and use the Trainer (``full`` or ``lora``).

    Raises ``BertannoError`` with the workers' last lines when the job fails. Ctrl-C reaches the workers too:
    when rank 0 hands back the best weights so far the result says ``interrupted``, else ``KeyboardInterrupt``
    is raised again."""
    from bertanno.core.training import TrainResult

    processes = config.processes
    if config.mode == "frozen":
        raise BertannoError("--processes splits the Trainer's steps: use it with --mode full or lora (the frozen "
                            "mode trains a head on cached features in one process)")
    with tempfile.TemporaryDirectory(prefix="bertanno-ranks-") as scratch:
        folder = Path(scratch)
        save_version(bundle, folder / "start")
        with open(folder / "job.pickle", "wb") as handle:
            pickle.dump((list(examples), list(validation), replace(config, cache_dir=None)), handle)
        threads = max(1, (os.cpu_count() or 1) // processes)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
                   "-m", "bertanno.core.distributed", str(folder)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
        tail: list[str] = []
        interrupted = False
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            for line in process.stdout:
                if line.startswith(PROGRESS):
                    event = json.loads(line[len(PROGRESS):])
                    if "step" in event and on_step:
                        on_step(event["step"], event["total"], event["loss"])
                    elif "epoch" in event and on_epoch:
                        on_epoch(event["epoch"])
                else:
                    tail = (tail + [line.rstrip()])[-20:]
            process.wait()
        except KeyboardInterrupt:
            interrupted = True  # the workers got the same Ctrl-C: wait for rank 0 to hand back its best weights
            process.wait()
        outcome = folder / "result.json"
        if interrupted and not outcome.exists():
            raise KeyboardInterrupt  # the launcher stopped the ranks before rank 0 wrote anything back
        if process.returncode != 0 and not interrupted:
            shown = "\n".join(line for line in tail if line.strip())
            raise BertannoError(f"training in {processes} processes failed (exit {process.returncode}); the "
                                f"workers' last lines:\n{shown}")
        record = json.loads(outcome.read_text(encoding="utf-8"))
        import torch

        bundle.model.load_state_dict(torch.load(folder / "best.pt", map_location="cpu", weights_only=True))
        carry_back(bundle, folder, record)
    bundle.model.eval()
    return TrainResult(bundle, record["validation"], record["history"], record["best_epoch"],
                       record["stopped_early"], record["interrupted"] or interrupted, record["unexpressible"],
                       record["seconds_per_epoch"])


def carry_back(bundle: ModelBundle, folder: Path, record: dict) -> None:
    """Give the caller's ``bundle`` what rank 0 trained besides the weights: a CRF head's scores (``core.crf``) and
    the lexicon feature table (``core.token_features``), or their absence."""
    setattr(bundle.model.config, CRF_KEY, record.get("crf"))
    setattr(bundle.model.config, FEATURES_KEY, record.get("token_features"))
    bundle.token_features = load_features(folder, bundle.model.config)


def _report(event: dict) -> None:
    """Rank 0 tells the caller of a step or an epoch (one ``PROGRESS`` line on its stdout)."""
    if rank() == 0:
        print(PROGRESS + json.dumps(event), flush=True)


def worker(folder: Path) -> None:
    """One rank of a ``train_in_processes`` job: load the start model and the job, train (the Trainer joins the
    process group the launcher set up), and on rank 0 write the best weights and the run's record."""
    from bertanno.core.training import train

    bundle = load_version(folder / "start")
    with open(folder / "job.pickle", "rb") as handle:
        examples, validation, config = pickle.load(handle)
    result = train(bundle, examples, validation, config,
                   on_step=lambda step, total, loss: _report({"step": step, "total": total, "loss": loss}),
                   on_epoch=lambda record: _report({"epoch": record}))
    if rank() == 0:
        import torch

        torch.save(bundle.model.state_dict(), folder / "best.pt")
        save_features(bundle.token_features, folder)
        record = {"validation": result.validation, "history": result.history, "best_epoch": result.best_epoch,
                  "stopped_early": result.stopped_early, "interrupted": result.interrupted,
                  "unexpressible": result.unexpressible, "seconds_per_epoch": result.seconds_per_epoch,
                  "crf": getattr(bundle.model.config, CRF_KEY, None),
                  "token_features": getattr(bundle.model.config, FEATURES_KEY, None)}
        (folder / "result.json").write_text(json.dumps(record), encoding="utf-8")


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
