"""Autopilot measured: does the audited interval hold the truth, and do the auto labels reach their target?

    python -m benchmarks.autopilot [--datasets chnsenticorp,waimai_10k,chineseblue_cmedqaner] [--pool 5000]
        [--gold 300] [--checkpoints 200,500,1000] [--targets 0.9,0.95,0.97] [--every 50] [--threads 1]

Per set: a project of the set's task whose queue is a seeded sample of ``--pool`` training examples (labels
hidden) and whose evaluation split starts with ``--gold`` other training examples imported as gold (``import
--split eval``: a team's gold items). A simulated team that knows the gold labels works the queue most uncertain
first through bertanno's own ``AnnotationSession`` (it accepts a right pre-annotation and corrects a wrong one);
the live fast family (linear for sentences, crf for NER; ``--family transformer``: zh-mini by ``train``'s plan)
is retrained through the gate every ``--every`` decisions. At each checkpoint, for each target, on a copy of the
project: ``autopilot`` plans and starts a run (``--max-share`` 0.8, the audit size its default), the same team
decides the audit sample it is served first, and the run passes or is withdrawn. Reported per run: the share of the remaining queue auto-labelled, the auto
labels' true accuracy (gold is known here), the audited estimate and its 95 % interval and whether it holds the
truth, the verdict, and the decisions saved (labels kept, audit excluded), beside the oracle's cut (the most
confident items whose true accuracy reaches the target: what a perfectly known accuracy would allow). Also: the
forecast at the first checkpoint (``stats --forecast``'s learning curve) of the score at the last one, against the
score reached.
Checkpoints per set are resumable from ``~/.cache/bertanno-runs/autopilot/``. Writes
``benchmarks/results/autopilot.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

from benchmarks.common import use_threads, write_rows

CHECKPOINTS = Path.home() / ".cache" / "bertanno-runs" / "autopilot"
FAMILY = {"sentiment": "linear", "pair": "linear", "ner": "crf"}


def key_of(example) -> tuple:
    return (example.text, example.text_b)


def work(session, task, gold: dict, decisions: int) -> int:
    """The simulated team decides up to ``decisions`` items; returns how many it decided."""
    done = 0
    while done < decisions:
        current = session.next()
        if current is None:
            break
        want = gold[key_of(current.example)]
        shown = current.prediction.payload if current.prediction is not None else None
        if shown is not None and task.payload_to_json(shown) == task.payload_to_json(want):
            session.decide("accept")
        else:
            session.decide("correct", want)
        done += 1
    return done


def autopilot_run(database: Path, copy: Path, task, gold: dict, texts: dict, target: float, plugins) -> dict:
    """One autopilot run on a copy of the project: plan, start, audit by the simulated team, verdict."""
    import sqlite3

    from bertanno.app.autopilot import autopilot_runs, plan_autopilot, start_autopilot
    from bertanno.app.session import AnnotationSession
    from bertanno.store import Store

    copy.unlink(missing_ok=True)
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target_db:  # WAL included, unlike a file copy
        source.backup(target_db)
    store = Store.open(f"sqlite:///{copy}")
    try:
        plan = plan_autopilot(store, "p", target=target, max_share=0.8, plugins=plugins)
        row = {"target": target, "pool": plan.pool, "labelled": len(plan.chosen), "audit": len(plan.audit),
               "threshold": plan.threshold, "estimate": plan.estimate, "bound": plan.bound,
               "share": len(plan.chosen) / plan.pool if plan.pool else 0.0,
               "oracle": oracle_cut(store, plan, task, gold, texts, target, 0.8)}
        if not plan.chosen:
            return {**row, "status": "nothing labelled", "reason": plan.reason}
        right = sum(is_right(task, gold, texts, label["item_id"], label["payload"]) for label in plan.labels)
        row["true_accuracy"] = right / len(plan.labels)
        start_autopilot(store, plan)
        session = AnnotationSession(store, "p", "auditor", predict_ahead=False, plugins=plugins)
        while (current := session.next()) is not None and current.audit:
            session.decide("correct", gold[key_of(current.example)])
        session.close()
        [state] = autopilot_runs(store, "p")
        low, high = state.interval
        return {**row, "status": state.status, "audited": state.audited, "audited_accuracy": state.accuracy,
                "interval": [low, high], "covers": low <= row["true_accuracy"] <= high,
                "saved": state.labelled if state.status == "passed" else 0}
    finally:
        store.close()


def is_right(task, gold: dict, texts: dict, item_id: int, payload) -> bool:
    """Whether ``payload`` (as stored: JSON) is the gold label of item ``item_id`` (its text key in ``texts``)."""
    from bertanno.plugins.task import payload_category

    return payload_category(task.payload_to_json(gold[texts[item_id]])) == payload_category(payload)


def oracle_cut(store, plan, task, gold: dict, texts: dict, target: float, max_share: float) -> int:
    """The most items of the plan's pool, most confident first and at most ``max_share`` of it, whose true accuracy
    (gold is known here) is at least ``target``: what autopilot could take if it knew its labels' accuracy
    exactly. Against the number it labelled it separates what the bound costs from what the model lacks."""
    from bertanno.core.project import open_project
    from bertanno.store.predictions import undecided_predictions

    with store.transaction() as db:
        pool = undecided_predictions(db, open_project(store, "p").id, plan.version)
    right = 0
    best = 0
    for size, (item_id, payload, _) in enumerate(pool[:int(max_share * len(pool))], start=1):
        right += is_right(task, gold, texts, item_id, payload)
        if right >= target * size:
            best = size
    return best


def run_set(name: str, args, folder: Path, plugins) -> dict:
    from benchmarks.datasets import load
    from bertanno.app.new_project import create_project
    from bertanno.app.session import AnnotationSession
    from bertanno.app.training_runs import champion_model, train_project
    from bertanno.core.forecast import fit_learning_curve
    from bertanno.core.import_export import import_file
    from bertanno.core.project import open_project
    from bertanno.core.stats import learning_points
    from bertanno.core.training import TrainConfig
    from bertanno.store import Store
    from bertanno.store.versions import champion

    data = load(name)
    task = plugins.task(data.task, labels=data.labels)
    family = args.family or FAMILY[data.task]
    generator = random.Random(0)
    chosen = generator.sample(data.train, min(args.pool + args.gold, len(data.train)))
    size = min(args.pool, len(chosen) - args.gold)  # a small set keeps its gold items, its pool shrinks
    pool, gold_items = chosen[:size], chosen[size:]
    gold = {key_of(e): e.payload for e in chosen}
    database = folder / f"{name}.db"
    store = Store.open(f"sqlite:///{database}")
    models = folder / "models"
    create_project(store, "p", task, "zh-mini", models_dir=models, plugins=plugins)

    def lines(examples, labelled: bool) -> str:
        return "".join(json.dumps({"text": e.text, **({"text_b": e.text_b} if e.text_b else {}),
                                   **({"label" if data.task != "ner" else "spans":
                                       task.payload_to_json(e.payload)} if labelled else {})},
                                  ensure_ascii=False) + "\n" for e in examples)

    (folder / "gold.jsonl").write_text(lines(gold_items, True), encoding="utf-8")
    (folder / "pool.jsonl").write_text(lines(pool, False), encoding="utf-8")
    import_file(store, "p", folder / "gold.jsonl", "jsonl", split="eval", plugins=plugins)
    import_file(store, "p", folder / "pool.jsonl", "jsonl", plugins=plugins)
    texts = {item_id: key_of(example) for item_id, example in open_project(store, "p", plugins).items()}
    config = TrainConfig(seed=0)
    model, version = champion_model(store, "p", plugins, required=False)
    session = AnnotationSession(store, "p", "team", "uncertain", model, version, predict_ahead=False, plugins=plugins)
    decided, runs, forecast = 0, [], None
    marks = sorted(int(c) for c in args.checkpoints.split(","))
    while decided < marks[-1]:
        step = min(args.every - decided % args.every, min(m for m in marks if m > decided) - decided)
        decided += work(session, task, gold, step)
        train_project(store, "p", config, trigger="retrain", models_dir=models, plugins=plugins, family=family,
                      tolerance=1.0)
        session.serve_champion()
        print(json.dumps({"dataset": name, "decided": decided}), flush=True)
        if decided in marks:
            with store.transaction() as db:
                project_id = open_project(store, "p", plugins).id
                reigning = champion(db, project_id)
                points = learning_points(db, project_id, reigning)
                score = points[-1][1] if points else None
            if decided == marks[0]:
                curve = fit_learning_curve([p[0] for p in points], [p[1] for p in points])
                if curve is not None:
                    low, high = curve.score_interval(marks[-1])
                    forecast = {"at": decided, "for": marks[-1], "score": float(curve.score(marks[-1])),
                                "interval": [low, high], "points": len(points)}
            if decided == marks[-1] and forecast is not None:
                forecast["reached"] = score
                forecast["covers"] = forecast["interval"][0] <= score <= forecast["interval"][1]
            for target in (float(t) for t in args.targets.split(",")):
                row = autopilot_run(database, folder / "copy.db", task, gold, texts, target, plugins)
                row.update(dataset=name, decisions=decided, champion=reigning.name, score=score)
                runs.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
    session.close()
    store.close()
    return {"dataset": name, "family": family, "pool": len(pool), "gold": len(gold_items), "runs": runs,
            "forecast": forecast}


def main(argv=None) -> dict:
    from bertanno.core.plugins import get_plugins

    parser = argparse.ArgumentParser(prog="python -m benchmarks.autopilot", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="chnsenticorp,waimai_10k,chineseblue_cmedqaner")
    parser.add_argument("--pool", type=int, default=5000)
    parser.add_argument("--gold", type=int, default=300)
    parser.add_argument("--checkpoints", default="200,500,1000")
    parser.add_argument("--targets", default="0.9,0.95,0.97")
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default="autopilot", help="results file name in benchmarks/results")
    parser.add_argument("--family", help="The family retrained (default: linear for sentences, crf for NER); "
                                         "transformer: zh-mini by bertanno train's plan (slow on CPU: raise --every)")
    args = parser.parse_args(argv)
    use_threads(args.threads)
    plugins = get_plugins()
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    sets = []
    for name in args.datasets.split(","):
        saved = CHECKPOINTS / (f"{name}-{args.pool}-{args.gold}-{args.checkpoints}-{args.targets}-{args.every}"
                               + (f"-{args.family}" if args.family else "") + ".json")
        if saved.is_file():
            sets.append(json.loads(saved.read_text(encoding="utf-8")))
            continue
        started = time.perf_counter()
        folder = CHECKPOINTS / f"work-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        result = run_set(name, args, folder, plugins)
        result["seconds"] = round(time.perf_counter() - started, 1)
        saved.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        sets.append(result)
    return write_rows(args.output, "benchmarks.autopilot", argv, args.threads, sets)


if __name__ == "__main__":
    main()
