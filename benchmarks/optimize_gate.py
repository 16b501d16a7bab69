"""The accuracy gate of ``bertanno optimize`` on models trained here: how far each variant agrees with the model
as trained, and what it does to the headline metric, on the evaluation split.

For each dataset a fresh project takes ``--train`` training-split items as gold and ``--eval`` test-split items
as its evaluation split; ``bertanno train`` fine-tunes ``zh-mini`` (bertanno's own pretrained 4 x 256 Chinese
BERT, shipped in the package) by its plan (or ``--epochs``); then ``optimize --variant auto`` gates ``int8`` and
``onnx-int8`` against it (``app.optimizing.optimize``), and ``bertanno distill --student N`` trains a student of
its lowest N layers on the gold items plus ``--unlabelled`` more training-split texts without labels, gated against
it on gold (``app.distilling.distill_project``, hidden states transferred unless ``--transfer none``), and a
student that passes is optimised in turn (``optimize --variant auto``). Writes
benchmarks/results/optimize_gate.json.

    python -m benchmarks.optimize_gate [--datasets chnsenticorp,chineseblue_cmedqaner] [--train 1500] [--eval 300]
                                       [--unlabelled 3000] [--student 2] [--resume]

``--resume`` keeps the rows of an earlier run with the same settings and runs only the sets it lacks (each set's row
is written as soon as it is done, so a run that was stopped loses at most the set it was on).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, machine_facts, use_threads

RESULTS = REPO / "benchmarks" / "results"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="chnsenticorp,waimai_10k,chineseblue_cmedqaner")
    parser.add_argument("--train", type=int, default=1500)
    parser.add_argument("--eval", type=int, default=300)
    parser.add_argument("--epochs", type=int, help="the teacher's epochs (default: bertanno train's plan)")
    parser.add_argument("--transfer", default="hidden", choices=("hidden", "none"),
                        help="what the student learns besides the teacher's outputs (distill --transfer)")
    parser.add_argument("--unlabelled", type=int, default=3000)
    parser.add_argument("--student", default="2", help="layers of the teacher (or a model) to distil into")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows of results/optimize_gate.json made with the same settings; run the rest")
    args = parser.parse_args(argv)
    use_threads(args.threads)

    from benchmarks.datasets import load
    from bertanno.app.distilling import distill_project
    from bertanno.app.optimizing import VARIANTS, optimize
    from bertanno.app.training_runs import train_project
    from bertanno.core.import_export import import_file
    from bertanno.core.plugins import get_plugins
    from bertanno.core.training import TrainConfig
    from bertanno.plugins.builtin.formats.jsonl import write_jsonl
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    plugins = get_plugins()
    result = {"machine": machine_facts(args.threads), "settings": vars(args), "started": time.strftime("%Y-%m-%d %H:%M"),
              "model": "zh-mini (4 x 256, pretrained here), fine-tuned here", "rows": []}
    output = RESULTS / "optimize_gate.json"
    if args.resume and output.exists():
        earlier = json.loads(output.read_text(encoding="utf-8"))
        differ = sorted(key for key, value in vars(args).items()
                        if key not in ("datasets", "resume") and earlier["settings"].get(key) != value)
        if differ:
            raise SystemExit(f"cannot resume: {output} was made with other settings ({', '.join(differ)})")
        result.update(started=earlier["started"], rows=earlier["rows"])
    done = {row["dataset"] for row in result["rows"]}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name in args.datasets.split(","):
            if name in done:
                continue
            data = load(name)
            task = plugins.task(data.task, labels=data.labels)
            store = Store.open(f"sqlite:///{folder / f'{name}.db'}")
            with store.transaction() as session:
                create_project(session, name, data.task, list(data.labels), "zh-mini")
            order = random.Random(0).sample(data.train, min(args.train + args.unlabelled, len(data.train)))
            unlabelled = [example.__class__(example.text, example.text_b, None) for example in order[args.train:]]
            for split, chosen in (("train", order[:args.train]), ("eval", random.Random(0).sample(
                    data.test, min(args.eval, len(data.test)))), ("raw", unlabelled)):
                path = folder / f"{name}-{split}.jsonl"
                with open(path, "w", encoding="utf-8") as stream:
                    write_jsonl(chosen, stream, {"kind": task.example_kind})
                import_file(store, name, path, split="eval" if split == "eval" else None)
            started = time.perf_counter()
            trained = train_project(store, name, TrainConfig(epochs=args.epochs, seed=0), models_dir=folder / "models",
                                    plugins=plugins)
            outcome = optimize(store, name, trained.version, tuple(VARIANTS), plugins)
            distill_started = time.perf_counter()
            student = distill_project(store, name, args.student, trained.version, TrainConfig(seed=0),
                                      models_dir=folder / "models", plugins=plugins, transfer=args.transfer)
            optimized = student.optimized
            row = {"dataset": name, "task": data.task, "version": trained.version,
                   "train_seconds": round(time.perf_counter() - started, 1), "metrics": trained.metrics,
                   "in_use": outcome.in_use, "variants": outcome.to_json()["variants"], "skipped": outcome.skipped,
                   "student": {"version": student.version, "started_from": student.student, "texts": student.texts,
                               "unlabelled": student.unlabelled, "metrics": student.metrics,
                               "gate": student.figures.as_record(), "in_use": student.in_use,
                               "epochs": len(student.result.history), "transfer": args.transfer,
                               "optimized": optimized if isinstance(optimized, (str, type(None)))
                               else optimized.to_json(),
                               "seconds": round(time.perf_counter() - distill_started, 1)}}
            result["rows"].append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            store.close()
            RESULTS.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(result, indent=2, ensure_ascii=False),
                                                        encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
