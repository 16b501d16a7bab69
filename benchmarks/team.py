"""Teams: simulated annotators with known error rates, what `agreement` reports against what their noise implies,
the accuracy of settled decisions, and the store under a team's concurrent load.

Part 1, simulation (SQLite): three annotators with 5 %, 10 % and 20 % noise decide real items of ChnSentiCorp
(a wrong label) and cMedQANER (each gold span, with that probability, gets a boundary error or a type error) with
overlap 3 (majority rule) and overlap 2 (every pair of annotators shares a third of the items; disagreements
settled by a simulated reviewer with 2 % noise through ``ReviewSession``, the code `bertanno review` runs). The
expected figures follow from the noise alone:

- two annotators with flip rates p, q on a binary label agree on 1 - p - q + 2pq of the items; Cohen's kappa
  follows from that and each one's label shares (Cohen 1960);
- span F1 between two annotators is about (1 - p)(1 - q): a span both left intact matches (two identical
  errors on one span also match, which adds a little; a widened span that runs into the next one drops it,
  which takes a little away);
- the majority of three (binary) is right with probability P(at least two of three right).

Aggregation: the same simulated annotators, and two other teams of three (one careful annotator outvoted by two
careless ones; two good ones and one who answers at random half the time), settle ChnSentiCorp items by majority
vote, Dawid–Skene and MACE (``--settle``); their accuracy against gold, and the competence each method estimates
for each annotator (the truth: 1 - flip rate). The rubber-stamp alarm: five simulated annotators (three who read
what is shown, one who accepts everything in a median 0.3 s, one who accepts everything at a reader's pace), 10 %
blind controls; who ``stats`` flags.

Part 2, PostgreSQL under load (``--postgres URL``): 8 annotator processes with overlap 2 decide 5,000 items
concurrently: decisions per second, p50/p95 latency of drawing the next item, and the checks that no annotator
was served an item twice and no acknowledged decision was lost.

    python -m benchmarks.team [--items 1000] [--postgres URL] [--processes 8] [--load-items 5000]
    python -m benchmarks.team --aggregation-only     # only the aggregation rows, the rest kept
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
from itertools import combinations
from pathlib import Path

from benchmarks.common import REPO, machine_facts

NOISE = {"ann": 0.05, "bob": 0.10, "cy": 0.20}
REVIEWER_NOISE = 0.02
RESULT = REPO / "benchmarks" / "results" / "team.json"


# -- part 1: simulated annotators ----------------------------------------------------------------------------------
def noisy_label(gold: str, labels: list[str], p: float, rng: random.Random) -> str:
    return rng.choice([label for label in labels if label != gold]) if rng.random() < p else gold


def noisy_spans(text: str, gold, labels: list[str], p: float, rng: random.Random):
    """Each gold span, with probability ``p``: half the time a boundary error (its end one character further or
    nearer, kept inside the text and non-empty), half the time a type error (another type)."""
    from bertanno.plugins.task import Span

    spans = []
    for span in gold:
        if rng.random() < p:
            if rng.random() < 0.5:
                end = span.end + 1 if (span.end < len(text) and rng.random() < 0.5) or span.end - span.start == 1 \
                    else span.end - 1
                span = Span(span.start, min(end, len(text)), span.label)
            else:
                span = Span(span.start, span.end, rng.choice([label for label in labels if label != span.label]))
        spans.append(span)
    # a boundary error may now overlap the next span: keep the spans apart as any annotation would
    kept = []
    for span in sorted(spans):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def expected_binary(p: float, q: float, share: float) -> dict:
    """Percent agreement and Cohen's kappa two annotators with flip rates ``p``, ``q`` reach on a binary label
    whose first value has the share ``share``."""
    observed = 1 - p - q + 2 * p * q
    first_p = share * (1 - p) + (1 - share) * p
    first_q = share * (1 - q) + (1 - share) * q
    chance = first_p * first_q + (1 - first_p) * (1 - first_q)
    return {"percent": observed, "cohen_kappa": (observed - chance) / (1 - chance)}


def majority_right(rates: list[float]) -> float:
    """P(at least two of three annotators right), binary labels."""
    a, b, c = (1 - r for r in rates)
    return a * b * c + a * b * (1 - c) + a * (1 - b) * c + (1 - a) * b * c


def simulate(dataset, items: int, overlap: int, seed: int = 0) -> dict:
    from bertanno.app.review import ReviewSession
    from bertanno.core.agreement import project_agreement
    from bertanno.store import Store
    from bertanno.store.annotations import current_annotations, disagreements, record_decision
    from bertanno.store.items import add_items, project_item_ids
    from bertanno.store.projects import create_project

    rng = random.Random(seed)
    from bertanno.store.items import input_hash

    unique: dict = {}
    for example in dataset.test + dataset.train:  # a text that occurs twice is one item: the first
        if example.payload is not None:
            unique.setdefault(input_hash(example.text, example.text_b), example)
    examples = list(unique.values())[:items]
    labels = dataset.labels
    ner = dataset.task == "ner"
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'team.db'}")
        with store.transaction() as session:
            project = create_project(session, "team", dataset.task, labels, "bert-base-chinese", overlap=overlap,
                                     settle="majority" if overlap == 3 else "unanimous")
            add_items(session, project.id, [{"text": e.text, "text_b": e.text_b, "meta": {},
                                             "input_hash": input_hash(e.text, e.text_b)} for e in examples])
            ids = project_item_ids(session, project.id)
        task = dataset_task(dataset)
        gold = dict(zip(ids, examples))
        names = list(NOISE)
        with store.transaction() as session:
            for index, (item_id, example) in enumerate(gold.items()):
                deciders = names if overlap == 3 else list(combinations(names, 2))[index % 3]
                for name in deciders:
                    payload = (noisy_spans(example.text, example.payload, labels, NOISE[name], rng) if ner
                               else noisy_label(example.payload, labels, NOISE[name], rng))
                    record_decision(session, project.id, item_id, name, f"s-{name}", "correct",
                                    task.payload_to_json(payload))
        report = project_agreement(store, "team")
        with store.transaction() as session:
            unsettled = len(disagreements(session, project.id))
        reviewed = 0
        if unsettled:
            review = ReviewSession(store, "team", "reviewer")
            while (current := review.next()) is not None:
                truth = gold[current.item_id].payload
                payload = (noisy_spans(current.example.text, truth, labels, REVIEWER_NOISE, rng) if ner
                           else noisy_label(truth, labels, REVIEWER_NOISE, rng))
                review.decide("correct", payload)
                reviewed += 1
        with store.transaction() as session:
            settled = current_annotations(session, project.id)
            right = sum(task.payload_from_json(a.payload) == gold[i].payload for i, a in settled.items()
                        if not ner) if not ner else None
            if ner:
                predicted = [task.payload_from_json(settled[i].payload) if i in settled else [] for i in ids]
                span_f1 = task.metrics([gold[i].payload for i in ids], predicted)["f1"]
        store.close()
    share = sum(e.payload == labels[0] for e in examples) / len(examples) if not ner else None
    pairs = []
    for pair in report.pairs:
        p, q = NOISE[pair["first"]], NOISE[pair["second"]]
        expected = (expected_binary(p, q, share) if not ner else {"f1_exact": (1 - p) * (1 - q)})
        measured = {k: round(v, 4) for k, v in pair.items() if k in ("percent", "cohen_kappa", "f1_exact",
                                                                      "f1_overlap")}
        pairs.append({"pair": f"{pair['first']} ({p:.0%}) / {pair['second']} ({q:.0%})", "items": pair["items"],
                      "measured": measured, "expected": {k: round(v, 4) for k, v in expected.items()}})
    result = {"dataset": dataset.name, "task": dataset.task, "items": len(examples), "overlap": overlap,
              "settle": "majority" if overlap == 3 else "unanimous + review", "pairs": pairs,
              "group": {k: round(v, 4) for k, v in report.group.items()},
              "unsettled_before_review": unsettled, "reviewed": reviewed, "settled_items": len(settled)}
    if ner:
        result["settled_span_f1_vs_gold"] = round(span_f1, 4)
    else:
        result["settled_accuracy_vs_gold"] = round(right / len(settled), 4)
        rates = list(NOISE.values())
        if overlap == 3:
            result["expected_accuracy"] = round(majority_right(rates), 4)
        else:  # a pair agrees and is right, or disagrees and the reviewer is right
            pair_rates = list(combinations(rates, 2))
            result["expected_accuracy"] = round(sum(
                (1 - p) * (1 - q) + (p * (1 - q) + q * (1 - p)) * (1 - REVIEWER_NOISE) for p, q in pair_rates) / 3, 4)
    return result


TEAMS = {  # overlap 3: who labels every item, with which flip rate
    "part 1's team": NOISE,
    "one careful, two careless": {"lead": 0.03, "ann": 0.30, "bob": 0.35},
    "two good, one spammer": {"ann": 0.05, "bob": 0.10, "spam": 0.50},
}


def aggregation(dataset, items: int, seed: int = 0) -> list[dict]:
    """Settled accuracy against gold by majority vote, Dawid–Skene and MACE (``store.aggregation``, what
    ``--settle dawid-skene`` / ``mace`` settle with) for each team of ``TEAMS`` labelling ``items`` items of a label
    set with overlap 3, and each annotator's estimated competence against the truth (1 - flip rate); a tie
    (possible with more than two labels) counts as wrong for majority."""
    from collections import Counter

    from bertanno.store.aggregation import aggregate

    examples = [e for e in dataset.test + dataset.train if e.payload is not None][:items]
    rows = []
    for team, rates in TEAMS.items():
        rng = random.Random(seed)
        labelled = [[(who, noisy_label(e.payload, dataset.labels, rate, rng)) for who, rate in rates.items()]
                    for e in examples]
        gold = [e.payload for e in examples]
        votes = [Counter(label for _, label in item).most_common(2) for item in labelled]
        majority = sum(v[0][0] == g and (len(v) == 1 or v[0][1] > v[1][1]) for v, g in zip(votes, gold))
        row = {"dataset": dataset.name, "team": team, "items": len(examples), "flip_rates": rates,
               "accuracy": {"majority": round(majority / len(gold), 4)}, "competence": {}}
        for method in ("dawid-skene", "mace"):
            fitted = aggregate(labelled, method)
            right = sum(fitted.best(i)[0] == g for i, g in enumerate(gold))
            row["accuracy"][method] = round(right / len(gold), 4)
            row["competence"][method] = {who: round(value, 3) for who, value in fitted.competence.items()}
        rows.append(row)
    return rows


ALARM_TEAM = {  # who, how they work: median accept seconds, and whether they read what is shown
    "careful 1": (2.5, "reads"), "careful 2": (3.0, "reads"), "careful 3": (1.8, "reads"),
    "stamper": (0.3, "accepts all"), "swayed": (1.6, "accepts all"),
}


def alarm_simulation(items: int = 400, model_accuracy: float = 0.85, own_accuracy: float = 0.9,
                     blind_share: float = 0.1, seed: int = 0) -> dict:
    """The rubber-stamp alarm (``core.stats.annotator_alarms``, what ``stats`` and ``report`` flag) on simulated
    annotators of a binary task whose model is right ``model_accuracy`` of the time: each decides ``items``
    items, ``blind_share`` of them blind (their own label, right ``own_accuracy`` of the time); on shown items
    one who ``reads`` accepts a right pre-annotation and corrects a wrong one (catching it ``own_accuracy`` of
    the time), one who ``accepts all`` accepts everything; accept times log-normal around each one's median.
    Returns each annotator's row and flags, and the hits against who actually rubber-stamps."""
    import math

    from bertanno.core.stats import annotator_alarms

    rng = random.Random(seed)
    records = []
    for who, (median, habit) in ALARM_TEAM.items():
        for _ in range(items):
            truth = rng.choice(["a", "b"])
            predicted = truth if rng.random() < model_accuracy else ("b" if truth == "a" else "a")
            seconds = median * math.exp(rng.gauss(0, 0.4))
            if rng.random() < blind_share:
                own = truth if rng.random() < own_accuracy else ("b" if truth == "a" else "a")
                records.append({"annotator": who, "decision": "correct", "payload": own, "predicted": predicted,
                                "active_ms": int(seconds * 2000), "blind": True, "edit": {"kind": "labelled"}})
                continue
            caught = habit == "reads" and predicted != truth and rng.random() < own_accuracy
            records.append({"annotator": who, "decision": "correct" if caught else "accept",
                            "payload": truth if caught else predicted, "predicted": predicted,
                            "active_ms": int(seconds * 1000), "blind": False,
                            "edit": {"kind": "corrected" if caught else "accepted"}})
    rows = annotator_alarms(records)
    stamping = {who for who, (_, habit) in ALARM_TEAM.items() if habit == "accepts all"}
    flagged = {row["annotator"] for row in rows if row["flags"]}
    return {"items_each": items, "model_accuracy": model_accuracy, "own_accuracy": own_accuracy,
            "blind_share": blind_share, "team": {who: {"median_accept_s": m, "habit": h}
                                                 for who, (m, h) in ALARM_TEAM.items()},
            "rows": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()} for row in rows],
            "hits": len(flagged & stamping), "missed": sorted(stamping - flagged),
            "false_alarms": sorted(flagged - stamping)}


def dataset_task(dataset):
    from bertanno.core.plugins import get_plugins

    return get_plugins().task(dataset.task, labels=dataset.labels)


# -- part 2: PostgreSQL under a team's load ------------------------------------------------------------------------
def annotator_process(url: str, project: str, name: str, started, output, think: float = 0.0) -> None:
    """One annotator: draw, (think ``think`` seconds,) decide, repeat until the queue is empty. Reports each draw's
    latency, each key-to-next-item latency (the decision committed and the next item drawn, as a key press in
    ``annotate`` does) and each acknowledged (committed) decision."""
    from sqlalchemy import func, select

    from bertanno.store import Store
    from bertanno.store.annotations import record_decision
    from bertanno.store.projects import get_project
    from bertanno.store.queue import new_session_id, next_item
    from bertanno.store.schema import Lease

    store = Store.open(url)
    session_id = new_session_id()
    with store.transaction() as session:
        project_id = get_project(session, project).id
    started.wait()
    latencies, key_to_next, acked, rng = [], [], [], random.Random(name)
    key_pressed = None
    while True:
        begin = time.perf_counter()
        with store.transaction() as session:
            item = next_item(session, project_id, name, session_id)
        now = time.perf_counter()
        latencies.append(now - begin)
        if key_pressed is not None:
            key_to_next.append(now - key_pressed)
        if item is None:
            with store.transaction() as session:  # held by another annotator: it may come back for a second one
                others = session.scalar(select(func.count()).select_from(Lease).where(Lease.project_id == project_id))
            if not others:
                break
            time.sleep(0.02)
            key_pressed = None  # the wait at the end of the queue is no key press's
            continue
        time.sleep(think)
        key_pressed = time.perf_counter()
        with store.transaction() as session:
            record_decision(session, project_id, item.id, name, session_id, "correct", rng.choice(["0", "1"]))
        acked.append(item.id)
    store.close()
    output.put((name, latencies, acked, key_to_next))


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank), in milliseconds."""
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 2) if ordered else 0.0


def load_project(url: str, prefix: str, items: int):
    """A new sentiment project with overlap 2 and ``items`` numbered texts: ``(store, name, project id)``."""
    from bertanno.store import Store
    from bertanno.store.items import add_items, input_hash
    from bertanno.store.projects import create_project

    store = Store.open(url)
    name = f"{prefix}-{int(time.time())}"
    with store.transaction() as session:
        project = create_project(session, name, "sentiment", ["0", "1"], "bert-base-chinese", overlap=2)
        add_items(session, project.id, [{"text": f"第{n}条评论", "text_b": None, "meta": {},
                                         "input_hash": input_hash(f"第{n}条评论")} for n in range(items)])
        return store, name, project.id


def load(url: str, processes: int, items: int) -> dict:
    from sqlalchemy import func, select

    from bertanno.store.schema import Annotation

    store, name, project_id = load_project(url, "load", items)
    context = multiprocessing.get_context("spawn")
    started, output = context.Event(), context.Queue()
    workers = [context.Process(target=annotator_process, args=(url, name, f"annotator-{n}", started, output))
               for n in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(3.0)  # every process has opened its connection
    begin = time.perf_counter()
    started.set()
    results = [output.get() for _ in workers]
    elapsed = time.perf_counter() - begin
    for worker in workers:
        worker.join()
    latencies = sorted(x for _, lat, _, _ in results for x in lat)
    acked = [(name, item) for name, _, items_acked, _ in results for item in items_acked]
    with store.transaction() as session:
        rows = session.execute(select(Annotation.annotator, Annotation.item_id).where(
            Annotation.project_id == project_id, Annotation.undone_at.is_(None))).all()
        per_item = dict(session.execute(select(Annotation.item_id, func.count(func.distinct(Annotation.annotator)))
                                        .where(Annotation.project_id == project_id).group_by(Annotation.item_id)).all())
        server = session.execute(select(func.version())).scalar()
    stored = {(a, i) for a, i in rows}
    store.close()
    return {"server": server.split(",")[0], "processes": processes, "items": items, "overlap": 2,
            "decisions": len(rows), "seconds": round(elapsed, 2), "decisions_per_s": round(len(rows) / elapsed, 1),
            "next_item_ms_p50": percentile(latencies, 0.5), "next_item_ms_p95": percentile(latencies, 0.95),
            "double_assignments": len(rows) - len(stored),
            "lost_decisions": sum(pair not in stored for pair in acked),
            "items_with_two_annotators": sum(count == 2 for count in per_item.values()),
            "items_with_more": sum(count > 2 for count in per_item.values())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items per simulated dataset")
    parser.add_argument("--postgres", metavar="URL", help="run the load part against this PostgreSQL server")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--load-items", type=int, default=5000)
    parser.add_argument("--load-only", action="store_true",
                        help="run only the PostgreSQL part; keep the simulation of the last results file")
    parser.add_argument("--aggregation-only", action="store_true",
                        help="run only the aggregation rows; keep everything else of the last results file")
    args = parser.parse_args(argv)

    from benchmarks.datasets import load as load_dataset

    shown = ["URL" if arg == args.postgres else arg for arg in argv or []]
    result = {"command": "python -m benchmarks.team " + " ".join(shown), "machine": machine_facts(threads=0),
              "noise": NOISE, "reviewer_noise": REVIEWER_NOISE, "simulation": []}
    if args.load_only:
        if not args.postgres:
            parser.error("--load-only needs --postgres URL")
        result = json.loads(RESULT.read_text(encoding="utf-8"))
        result["load_command"] = "python -m benchmarks.team " + " ".join(shown)
    if args.aggregation_only:
        result = json.loads(RESULT.read_text(encoding="utf-8"))
        result["aggregation_command"] = "python -m benchmarks.team " + " ".join(shown)
    if not args.load_only:
        result["aggregation"] = aggregation(load_dataset("chnsenticorp"), args.items)
        for row in result["aggregation"]:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        result["alarm"] = alarm_simulation()
        print(json.dumps({k: result["alarm"][k] for k in ("hits", "missed", "false_alarms")}), flush=True)
    for name in () if args.load_only or args.aggregation_only else ("chnsenticorp", "chineseblue_cmedqaner"):
        dataset = load_dataset(name)
        for overlap in (3, 2):
            row = simulate(dataset, args.items, overlap)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            result["simulation"].append(row)
    if args.postgres:
        result["postgres_load"] = load(args.postgres, args.processes, args.load_items)
        print(json.dumps(result["postgres_load"]), flush=True)
    RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
