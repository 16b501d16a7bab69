"""Settling a team's labels by estimated reliability (issue 'a team's quality', part 5): Dawid–Skene and MACE on a
simulated team with known noise rates rank the annotators as their noise does and beat majority vote where a
reliable annotator is outvoted; a project with --settle dawid-skene or mace settles its items so, records how, and
refuses a span task; agreement reports each annotator's competence."""

import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.store.aggregation import aggregate

NOISE = {"good": 0.05, "fair": 0.2, "poor": 0.4, "spammer": 0.75}
LABELS = ["a", "b", "c"]


def simulated(items: int = 400, seed: int = 0):
    """Items with a gold label each, labelled by every annotator of ``NOISE`` with three chances in four, a wrong
    label (uniformly among the others) with their noise rate."""
    rng = random.Random(seed)
    gold, labelled = [], []
    for _ in range(items):
        truth = rng.choice(LABELS)
        gold.append(truth)
        labelled.append([(who, rng.choice([x for x in LABELS if x != truth]) if rng.random() < noise else truth)
                         for who, noise in NOISE.items() if rng.random() < 0.75])
    return gold, labelled


def majority(item):
    counts = Counter(label for _, label in item).most_common()
    return counts[0][0] if counts else None


@pytest.mark.parametrize("method", ["dawid-skene", "mace"])
def test_competences_rank_the_annotators_as_their_noise_does_and_the_aggregate_beats_majority(method):
    gold, labelled = simulated()
    fitted = aggregate(labelled, method)
    ranked = sorted(fitted.competence, key=fitted.competence.get, reverse=True)
    assert ranked == ["good", "fair", "poor", "spammer"], fitted.competence
    accuracy = sum(fitted.best(i)[0] == truth for i, truth in enumerate(gold)) / len(gold)
    by_majority = sum(majority(item) == truth for item, truth in zip(labelled, gold)) / len(gold)
    assert accuracy > by_majority + 0.03, (accuracy, by_majority)
    assert fitted.posteriors.shape == (len(gold), 3) and abs(fitted.posteriors.sum(axis=1) - 1).max() < 1e-9


def test_equally_reliable_annotators_are_settled_as_majority_does_and_odd_input_is_handled():
    fitted = aggregate([[("x", "a"), ("y", "a"), ("z", "b")], [("x", "b"), ("y", "b"), ("z", "b")], []])
    assert [fitted.best(i)[0] for i in range(2)] == ["a", "b"]
    # an item nobody labelled gets the prior: the labels' shares over the others
    assert fitted.posteriors[2].tolist() == pytest.approx(fitted.posteriors[:2].mean(axis=0).tolist(), abs=0.01)
    empty = aggregate([[], []], "mace")
    assert empty.labels == [] and empty.competence == {}
    with pytest.raises(ValueError, match="dawid-skene, mace"):
        aggregate([], "vote")


def decide_file(tmp_path, name, decisions):
    path = tmp_path / f"{name}.txt"
    path.write_text("".join(f"c {label}\n" for label in decisions), encoding="utf-8")
    return str(path)


def test_a_project_settled_by_dawid_skene_trusts_its_reliable_annotator_and_says_so(tmp_path):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    refused = runner.invoke(cli, ["--db", db, "init", "n", "--task", "ner", "--overlap", "3", "--settle", "mace"])
    assert refused.exit_code != 0 and "label and pair tasks" in str(refused.exception)
    created = runner.invoke(cli, ["--db", db, "init", "r", "--task", "sentiment", "--overlap", "3", "--settle",
                                  "dawid-skene"])
    assert created.exit_code == 0, created.output
    rng = random.Random(3)
    gold = [rng.choice(["negative", "positive"]) for _ in range(120)]
    (tmp_path / "items.txt").write_text("".join(f"第{n}条\n" for n in range(len(gold))), encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "r", str(tmp_path / "items.txt")]).exit_code == 0
    flip = {"negative": "positive", "positive": "negative"}
    noise = {"lead": 0.02, "ann": 0.3, "bob": 0.35}
    given = {who: [flip[g] if rng.random() < p else g for g in gold] for who, p in noise.items()}
    for who in noise:  # each serves the items in order (one session at a time: every item to all three)
        done = runner.invoke(cli, ["--db", db, "annotate", "r", "--annotator", who, "--decisions",
                                   decide_file(tmp_path, who, given[who])])
        assert done.exit_code == 0, done.output
    out = tmp_path / "out.jsonl"
    assert runner.invoke(cli, ["--db", db, "export", "r", "--provenance", "-o", str(out)]).exit_code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(gold)  # every item settled: nothing left for a review
    settled = {row["text"]: row["label"] for row in rows}
    accuracy = sum(settled[f"第{n}条"] == g for n, g in enumerate(gold)) / len(gold)
    votes = [Counter(given[who][n] for who in noise).most_common(1)[0][0] for n in range(len(gold))]
    by_majority = sum(v == g for v, g in zip(votes, gold)) / len(gold)
    assert accuracy > by_majority and accuracy >= 0.95, (accuracy, by_majority)
    assert all(row["meta"]["provenance"]["settled_by"]["rule"] == "dawid-skene" for row in rows)
    assert all(0.5 < row["meta"]["provenance"]["settled_by"]["probability"] <= 1 for row in rows)
    report = json.loads(runner.invoke(cli, ["--db", db, "agreement", "r", "--json"]).output)
    for method in ("dawid-skene", "mace"):
        competence = report["competence"][method]
        assert competence["lead"] > competence["ann"] and competence["lead"] > competence["bob"]
    shown = runner.invoke(cli, ["--db", db, "agreement", "r"], env={"COLUMNS": "100"}).output
    assert "estimated competence" in shown and "Dawid–Skene" in shown
    configured = runner.invoke(cli, ["--db", db, "configure", "r", "--settle", "mace"])
    assert configured.exit_code == 0 and "settle dawid-skene → mace" in configured.output
