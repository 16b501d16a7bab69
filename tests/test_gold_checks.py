"""Gold checks (issue 'a team's quality', part 4): a share of draws serves a gold item of the evaluation split as an
ordinary item; the decision is recorded as a check and compared with gold by stats (with a Wilson interval and by
week) and the report, never changes the gold label, never trains or scores a model, and each annotator checks each
gold item once. The alarm compares what an annotator accepts with what they give themselves on gold."""

import json
import random

from click.testing import CliRunner
from sqlalchemy import select

from bertanno.app.session import AnnotationSession
from bertanno.cli import cli
from bertanno.core.project import open_project
from bertanno.core.stats import annotator_alarms, gold_figures, project_stats, wilson_interval
from bertanno.plugins.task import Prediction
from bertanno.store.schema import Annotation


class Guess:
    """Proposes ``positive`` for a text with 好, else ``negative``."""

    def predict(self, examples):
        return [Prediction("positive" if "好" in e.text else "negative", 0.9) for e in examples], None


def gold_project(tmp_path, db, gold_share="0.5"):
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment", "--gold-share", gold_share]).exit_code == 0
    gold = [{"text": f"金标准{n}{'好' if n % 2 else '差'}", "label": "positive" if n % 2 else "negative"}
            for n in range(12)]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in gold),
                                         encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "p", str(tmp_path / "gold.jsonl"), "--split", "eval"]
                         ).exit_code == 0
    (tmp_path / "items.txt").write_text("".join(f"普通{n}{'好' if n % 3 else ''}\n" for n in range(20)),
                                        encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "p", str(tmp_path / "items.txt")]).exit_code == 0
    return {row["text"]: row["label"] for row in gold}


def work(store, annotator, gold, wrong_on_gold=(), seed=0):
    """Decide every item served: on a gold item the gold label, except on ``wrong_on_gold`` (the other one)."""
    session = AnnotationSession(store, "p", annotator, predictor=Guess(), model_version="v001", predict_ahead=False)
    session._gold_draws = random.Random(seed)  # which draws are gold checks: fixed for the test
    served = []
    while (current := session.next()) is not None:
        text = current.example.text
        served.append((text, current.gold_check))
        if text in gold:
            label = gold[text] if text not in wrong_on_gold else ("negative" if gold[text] == "positive" else
                                                                  "positive")
            session.decide("correct", label)
        else:
            session.decide("accept")
    session.close()
    return served


def test_gold_items_are_served_as_checks_once_each_and_never_change_the_gold_label(tmp_path):
    from bertanno.store import Store

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    gold = gold_project(tmp_path, db)
    store = Store.open(db)
    wrong = [text for text in gold][:3]
    served = work(store, "ann", gold, wrong_on_gold=wrong)
    checks = [text for text, is_check in served if is_check]
    assert checks and all(text in gold for text in checks) and len(set(checks)) == len(checks)
    assert sum(not is_check for _, is_check in served) == 20  # every ordinary item, once
    again = work(store, "bob", gold, seed=1)  # another annotator checks the same gold items
    assert {text for text, is_check in again if is_check} and all(is_check for text, is_check in again if text in gold)
    with store.transaction() as session:
        marked = session.scalars(select(Annotation).where(Annotation.gold_check.is_(True))).all()
    assert len(marked) == len(checks) + sum(is_check for _, is_check in again)
    handle = open_project(store, "p")
    training, evaluation = handle.training_data()
    assert sorted(e.payload for e in evaluation) == sorted(gold.values())  # the gold labels, as imported
    assert not any(e.text in gold for _, e in training)
    exported = {e.text: e.payload for _, e in handle.annotated()}
    assert all(exported[text] == label for text, label in gold.items())  # ann's wrong checks changed nothing
    figures = {row["annotator"]: row for row in project_stats(store, "p")["gold"]}
    ann = figures["ann"]
    assert ann["checks"] == len(checks) and ann["agreeing"] == len(checks) - len(set(wrong) & set(checks))
    assert ann["ci95"][0] <= ann["agreement"] <= ann["ci95"][1] and sum(t for _, t in ann["by_week"].values()) == len(
        checks)
    assert figures["bob"]["agreement"] == 1.0
    shown = CliRunner().invoke(cli, ["--db", db, "stats", "p"], env={"COLUMNS": "120"})
    assert "gold checks" in shown.output and f"{ann['agreement']:.0%}" in shown.output
    store.close()


def test_the_gold_share_is_set_at_init_and_changed_by_configure(tmp_path):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    gold_project(tmp_path, db, gold_share="0")
    runner = CliRunner()
    changed = runner.invoke(cli, ["--db", db, "configure", "p", "--gold-share", "0.2"])
    assert changed.exit_code == 0 and "gold share of p: 0 → 0.2" in changed.output
    refused = runner.invoke(cli, ["--db", db, "configure", "p", "--gold-share", "0.9"])
    assert refused.exit_code == 2


def test_without_a_gold_share_no_gold_item_is_served(tmp_path):
    from bertanno.store import Store

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    gold = gold_project(tmp_path, db, gold_share="0")
    store = Store.open(db)
    served = work(store, "ann", gold)
    assert len(served) == 20 and not any(is_check for _, is_check in served)
    store.close()


def test_wilson_interval_and_the_alarm_on_gold():
    low, high = wilson_interval(8, 10)
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943  # Wilson (1927), as tabulated
    assert wilson_interval(0, 0) == (0.0, 1.0)
    from datetime import datetime

    def check(kind, right, when=datetime(2026, 12, 1)):
        return {"annotator": "stamp", "decision": "accept" if kind == "accepted" else "correct", "gold_check": True,
                "payload": "positive" if right else "negative", "gold": "positive", "predicted": "positive",
                "edit": {"kind": kind}, "active_ms": 2000, "blind": False, "created_at": when}

    records = [check("accepted", n % 2 == 0) for n in range(30)] + [check("corrected", True) for _ in range(15)]
    [row] = annotator_alarms(records)
    assert "accepts_wrong" in row["flags"] and row["gold_accepted"] == 0.5 and row["gold_given"] == 1.0
    [figures] = gold_figures(records)
    assert figures["checks"] == 45 and figures["agreeing"] == 30 and list(figures["by_week"]) == ["2026-W49"]
