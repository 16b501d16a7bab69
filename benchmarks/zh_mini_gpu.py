"""Pretrain zh-mini candidates on a lent GPU inside a fixed time budget, with the code of ``bertanno pretrain``.

    python -m benchmarks.zh_mini_gpu --corpus F … --minutes M --out DIR [--runs continue,scratch6]

A GPU lease is short and its length is fixed, so the learning-rate schedule must end when the lease does:
every run is first probed (a short run of the same shape, all runs at once, so they share the GPU and the
CPU cores as they will), its steps/s measured between its 20th and last probe step, and the real runs are
then given the number of steps that fits the minutes left (a linear schedule decayed to zero at the end,
``--hours`` as a hard stop behind it). Each finished model is written to ``DIR/NAME/`` as fp16 safetensors
in shards under 16 MiB with its pretrain record and model card, then packed as ``DIR/NAME.tar.*`` pieces of
15 MiB (what a device lease can hand back). ``python -m benchmarks.zh_mini_ship DIR/NAME`` puts one into
the package.

The runs (``--runs``):
- ``continue``: the shipped zh-mini (4 x 256) continued at batch 256 (learning rate 4e-4, fresh AdamW);
- ``scratch6``: a new 6 x 256 from random weights at batch 256 (learning rate 7e-4).
Only bertanno itself is imported (no CLI, no store): the device machine lacks the CLI's dependencies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

RUNS = {
    "continue": dict(from_model="zh-mini", batch_size=256, learning_rate=4e-4, warmup=0.05),
    "scratch6": dict(from_model=None, layers=6, hidden=256, batch_size=256, learning_rate=7e-4, warmup=0.06),
}
PROBE_STEPS = 120
PIECE = 15 * 2**20


def run_one(args) -> None:
    """One pretraining run (a child process): prints progress, writes ``rate.json`` with steps/s."""
    from bertanno.pretraining.pretrain import PretrainConfig, pretrain

    spec = {**RUNS[args.name], **({"batch_size": args.batch_size} if args.batch_size else {}),
            **({"learning_rate": args.lr} if args.lr else {})}
    config = PretrainConfig(layers=spec.get("layers", 4), hidden=spec.get("hidden", 256),
                            batch_size=spec["batch_size"], learning_rate=spec["learning_rate"],
                            warmup_steps=max(10, int(spec["warmup"] * args.steps)), steps=args.steps,
                            hours=args.hours, eval_steps=max(10, args.steps // 12), workers=args.workers,
                            checkpoint_minutes=1e6)
    marks: dict[int, float] = {}
    started = time.perf_counter()

    def on_step(step, total, info):
        marks[step] = time.perf_counter()
        if step % 200 == 0 or "held_out" in info:
            extra = (f" held-out loss {info['held_out']['loss']:.3f} acc {info['held_out']['accuracy']:.3f}"
                     if "held_out" in info else "")
            print(f"[{args.name}] step {step}/{total} {info['tokens_per_second']:,.0f} tok/s "
                  f"loss {info['loss']}{extra}", flush=True)

    pretrain(args.output, args.corpus, config, from_model=spec["from_model"], on_step=on_step)
    first = min(marks, key=lambda s: abs(s - 20))
    last = max(marks)
    rate = (last - first) / (marks[last] - marks[first]) if last > first else 0.0
    Path(args.output, "rate.json").write_text(json.dumps({"steps_per_second": rate,
                                                          "startup_seconds": marks[min(marks)] - started}))


def launch(name: str, output: Path, corpus: list[str], steps: int, hours: float, workers: int, log: Path,
           batch_size: int | None, lr: float | None):
    command = [sys.executable, "-m", "benchmarks.zh_mini_gpu", "one", name, str(output), "--steps", str(steps),
               "--hours", str(hours), "--workers", str(workers), *[a for c in corpus for a in ("--corpus", c)],
               *(["--batch-size", str(batch_size)] if batch_size else []), *(["--lr", str(lr)] if lr else [])]
    return subprocess.Popen(command, stdout=open(log, "a"), stderr=subprocess.STDOUT)


def export(model_dir: Path, out: Path, name: str) -> list[Path]:
    """fp16 shards under 16 MiB + tokenizer + record + card in ``out/name/``, packed in 15 MiB tar pieces."""
    import shutil

    import torch
    from transformers import BertForMaskedLM

    target = out / name
    model = BertForMaskedLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.half().save_pretrained(str(target), safe_serialization=True, max_shard_size="15MB")
    for extra in ("tokenizer.json", "tokenizer_config.json", "bertanno-pretrain.json", "README.md"):
        if (model_dir / extra).exists():
            shutil.copy(model_dir / extra, target / extra)
    archive = out / f"{name}.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(target, arcname=name)
    data = archive.read_bytes()
    pieces = []
    for index in range(0, len(data), PIECE):
        piece = out / f"{name}.tar.{index // PIECE:02d}"
        piece.write_bytes(data[index:index + PIECE])
        pieces.append(piece)
    archive.unlink()
    shutil.rmtree(target)
    return pieces


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "one":
        parser = argparse.ArgumentParser()
        parser.add_argument("name")
        parser.add_argument("output")
        parser.add_argument("--steps", type=int, required=True)
        parser.add_argument("--hours", type=float, required=True)
        parser.add_argument("--workers", type=int, required=True)
        parser.add_argument("--corpus", action="append", required=True)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--lr", type=float)
        return run_one(parser.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True)
    parser.add_argument("--minutes", type=float, required=True, help="wall time for everything, export included")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zh-mini-gpu"))
    parser.add_argument("--runs", default="continue,scratch6")
    parser.add_argument("--workers", type=int, default=6, help="data workers per run")
    parser.add_argument("--export-minutes", type=float, default=1.0)
    parser.add_argument("--probe-steps", type=int, default=PROBE_STEPS)
    parser.add_argument("--batch-size", type=int, help="override every run's batch (a CPU smoke test)")
    parser.add_argument("--lr", type=float, help="override every run's peak learning rate")
    args = parser.parse_args(argv)
    deadline = time.time() + args.minutes * 60
    names = args.runs.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    logs = {n: args.out / f"{n}.log" for n in names}
    probes = {n: launch(n, args.work / f"probe-{n}", args.corpus, args.probe_steps, 1.0, args.workers,
                        logs[n], args.batch_size, args.lr)
              for n in names}
    rates = {}
    for name, process in probes.items():
        if process.wait() != 0:
            print(f"probe {name} failed (see {logs[name]})", flush=True)
            continue
        rates[name] = json.loads((args.work / f"probe-{name}" / "rate.json").read_text())
        print(f"probe {name}: {rates[name]}", flush=True)
    left = deadline - time.time() - args.export_minutes * 60
    runs = {}
    for name, rate in rates.items():
        train_seconds = left - rate["startup_seconds"] - 20
        steps = int(rate["steps_per_second"] * train_seconds)
        print(f"run {name}: {steps} steps in ~{train_seconds:.0f} s", flush=True)
        if steps < 2 * args.probe_steps:
            print(f"run {name}: too little time left for a run worth having", flush=True)
            continue
        runs[name] = launch(name, args.work / name, args.corpus, steps, (left - 10) / 3600, args.workers,
                            logs[name], args.batch_size, args.lr)
    for name, process in runs.items():
        code = process.wait()
        model_dir = args.work / name
        if code == 0 and (model_dir / "config.json").exists():
            print(f"export {name}: {[p.name for p in export(model_dir, args.out, name)]}", flush=True)
        else:
            print(f"run {name} failed with {code}", flush=True)


if __name__ == "__main__":
    main()
