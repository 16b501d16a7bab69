"""Autopilot (issue 51, parts 2 and 3): the champion labels the undecided items its calibration bounds above the
target, as a source of its own; a blind audit sample served first proves or withdraws them."""

import json
import random

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from test_fast_families import CONFIG, project

from bertanno.app.autopilot import autopilot_runs, check_audit, plan_autopilot, start_autopilot, withdraw_autopilot
from bertanno.app.session import AnnotationSession
from bertanno.app.training_runs import train_project
from bertanno.cli import cli
from bertanno.core.autopilot import audit_size
from bertanno.core.import_export import annotated_examples, import_file
from bertanno.core.project import open_project
from bertanno.errors import BertannoError
from bertanno.store import queue
from bertanno.store.versions import version_named

WORDS = {"negative": ("太差", "一般"), "positive": ("很好", "还行")}
"""A strong word (5 % of reviews say the other label's) and a weak one (40 %) per label."""


def reviews(count: int, seed: int, labelled: bool = True, prefix: str = "") -> tuple[str, dict[str, str]]:
    """JSON lines of reviews, and each text's true label."""
    generator = random.Random(seed)
    rows, truth = [], {}
    for n in range(count):
        label = generator.choice(["negative", "positive"])
        strong = generator.random() < 0.6
        flipped = generator.random() < (0.05 if strong else 0.4)
        shown = {"negative": "positive", "positive": "negative"}[label] if flipped else label
        text = f"{prefix}第{n}家{generator.choice('店铺馆')}{WORDS[shown][0 if strong else 1]}"
        truth[text] = label
        rows.append(json.dumps({"text": text, **({"label": label} if labelled else {})}, ensure_ascii=False))
    return "\n".join(rows) + "\n", truth


@pytest.fixture
def trained(tmp_path):
    """A sentiment project: 800 labelled reviews (80 in the evaluation split), a linear champion, and 600
    undecided reviews (their truth returned)."""
    lines, _ = reviews(800, seed=0)
    store = project(tmp_path, "sentiment", ["negative", "positive"], lines)
    train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m")
    pool, truth = reviews(600, seed=1, labelled=False, prefix="新")
    (tmp_path / "pool.jsonl").write_text(pool, encoding="utf-8")
    import_file(store, "p", tmp_path / "pool.jsonl")
    return store, truth


def test_the_threshold_keeps_the_bound_at_the_target_and_labels_every_item_above_it(trained):
    store, _ = trained
    plan = plan_autopilot(store, "p", target=0.8, max_share=1.0)
    assert plan.pool == 600 and 0 < len(plan.chosen) < 600, plan.describe()
    assert plan.estimate >= plan.bound >= 0.8
    above = [label for label in plan.labels if label["confidence"] >= plan.threshold]
    assert len(above) == len(plan.chosen) == len(plan.labels)  # every item at or above it, none below
    strict = plan_autopilot(store, "p", target=0.99, max_share=1.0)
    assert not strict.chosen and "under the target 0.99" in strict.describe()
    capped = plan_autopilot(store, "p", target=0.8, max_share=0.1)
    assert 0 < len(capped.chosen) <= 60 and capped.capped and capped.bound >= plan.bound - 1e-9
    assert len(plan.audit) == audit_size(plan.estimate, 0.8, len(plan.chosen))
    assert plan_autopilot(store, "p", target=0.8, max_share=1.0, seed=0).audit == plan.audit  # seeded
    assert plan_autopilot(store, "p", target=0.8, max_share=1.0, seed=1).audit != plan.audit
    with pytest.raises(BertannoError, match="--target"):
        plan_autopilot(store, "p", target=1.0)


def test_auto_labels_never_leak_into_human_exports_training_or_the_evaluation_split(trained):
    store, _ = trained
    handle = open_project(store, "p")
    person = AnnotationSession(store, "p", "ann", predict_ahead=False)
    for _ in range(2):  # two of the pool's items decided by a person first
        person.next()
        person.decide("correct", "positive")
    person.close()
    training_before, evaluation_before = handle.training_data()
    plan = plan_autopilot(store, "p", target=0.8, max_share=1.0, audit=16)
    run = start_autopilot(store, plan)
    training, evaluation = handle.training_data()
    assert (len(training), len(evaluation)) == (len(training_before), len(evaluation_before))
    assert len(annotated_examples(store, "p", "human")[1]) == 2
    _, everything = annotated_examples(store, "p", "all", provenance=True)
    auto = [example for _, example in everything if example.meta["provenance"]["source"] == "auto"]
    assert len(auto) == len(plan.chosen)  # the audit items too, provisionally
    assert {e.meta["provenance"]["autopilot_run"] for e in auto} == {run}
    assert all(e.meta["provenance"]["provisional"] and e.meta["provenance"]["threshold"] == plan.threshold
               for e in auto)
    assert len(annotated_examples(store, "p", "auto")[1]) == len(plan.chosen)
    with store.transaction() as session:  # the labelled items left the queue, the audit stays in it
        assert queue.remaining(session, handle.id) == 598 - len(plan.chosen) + 16


def test_the_audit_comes_first_blind_and_a_run_as_good_as_claimed_passes(trained, tmp_path):
    store, truth = trained
    plan = plan_autopilot(store, "p", target=0.6, max_share=0.5, audit=20)
    texts = dict(open_project(store, "p").examples_of(plan.chosen))
    right = sum(truth[texts[label["item_id"]].text] == label["payload"] for label in plan.labels)
    assert right / len(plan.labels) >= 0.6  # the labels are as good as the target in truth too
    start_autopilot(store, plan)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    served = []
    for _ in range(20):
        current = session.next()
        served.append(current.item_id)
        assert current.audit and current.prediction is None and not current.blind
        label = next(item["payload"] for item in plan.labels if item["item_id"] == current.item_id)
        session.decide("correct", label)  # the person agrees with every audited label
    assert sorted(served) == plan.audit
    assert not session.next().audit  # then the ordinary queue
    session.close()
    [state] = autopilot_runs(store, "p")
    assert state.status == "passed" and state.audited == state.right == 20 and state.interval[0] >= 0.6
    assert "passed" in state.note
    labelled = len(annotated_examples(store, "p", "auto")[1])
    assert labelled == len(plan.chosen) - 20  # the audited items are people's now
    evaluation = len(open_project(store, "p").training_data()[1])
    for with_auto, auto in ((False, 0), (True, labelled)):  # trained on only when asked, never evaluated on
        outcome = train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m", with_auto=with_auto)
        with store.transaction() as session:
            version = version_named(session, open_project(store, "p").id, outcome.version)
            assert version.training_snapshot["auto_labels"] == auto
            assert version.training_snapshot["evaluation_items"] == evaluation
    with pytest.raises(BertannoError, match="nothing to withdraw"):
        withdraw_autopilot(store, "p")


def test_an_audit_worse_than_claimed_withdraws_every_label(trained):
    store, _ = trained
    plan = plan_autopilot(store, "p", target=0.8, max_share=1.0, audit=30)
    start_autopilot(store, plan)
    handle = open_project(store, "p")
    with store.transaction() as session:
        waiting = queue.remaining(session, handle.id)
    people = AnnotationSession(store, "p", "ann", predict_ahead=False)
    decided = 0
    while people.next() is not None and people.current.audit:
        label = next(item["payload"] for item in plan.labels if item["item_id"] == people.current.item_id)
        people.decide("correct", {"negative": "positive", "positive": "negative"}[label])  # all wrong
        decided += 1
    people.close()
    [state] = autopilot_runs(store, "p")
    assert state.status == "withdrawn" and decided < 30 and "withdrawn early" in state.note  # before the sample ends
    assert state.interval[1] < 0.8
    assert annotated_examples(store, "p", "auto")[1] == []
    with store.transaction() as session:  # every label taken back: its items are in the queue again
        assert queue.remaining(session, handle.id) == waiting + len(plan.chosen) - 30 - decided


def test_one_wrong_label_early_in_the_audit_does_not_withdraw_a_good_run(trained):
    """The benchmark's run on waimai_10k (labels right 95.6 %, target 0.85) was withdrawn after one audited item:
    0 of 1 has the Wilson interval 0–0.79, which lay below the target. Withdrawn early only when it must be."""
    store, _ = trained
    plan = plan_autopilot(store, "p", target=0.8, max_share=1.0, audit=30)
    start_autopilot(store, plan)
    people = AnnotationSession(store, "p", "ann", predict_ahead=False)
    decided = 0
    while people.next() is not None and people.current.audit:
        label = next(item["payload"] for item in plan.labels if item["item_id"] == people.current.item_id)
        wrong = {"negative": "positive", "positive": "negative"}[label]
        people.decide("correct", wrong if decided == 0 else label)  # the first wrong, the other 29 right
        decided += 1
        if decided == 1:
            assert check_audit(store, "p").status == "auditing"
    people.close()
    [state] = autopilot_runs(store, "p")
    assert decided == 30 and (state.audited, state.right) == (30, 29)
    assert state.status == "passed" and state.interval[0] >= 0.8  # 29 of 30: 0.833–0.981


def test_too_few_confident_items_to_audit_labels_nothing(trained):
    store, _ = trained
    plan = plan_autopilot(store, "p", target=0.8, max_share=0.02)  # 12 of 600: 16 must be audited to show 0.8
    assert plan.chosen == [] and plan.audit == [] and "too few to audit" in plan.reason
    assert "at least 16 are needed" in plan.reason
    with pytest.raises(BertannoError):
        start_autopilot(store, plan)
    assert autopilot_runs(store, "p") == []


@given(outcomes=st.lists(st.booleans(), min_size=1, max_size=60), target=st.floats(0.5, 0.99))
def test_an_audit_withdraws_early_only_when_its_end_is_already_certain(outcomes, target):
    from bertanno.core.autopilot import Z_AUDIT, audit_verdict
    from bertanno.core.stats import wilson_interval

    size, right = len(outcomes), sum(outcomes)
    end = "passed" if wilson_interval(right, size, Z_AUDIT)[0] >= target else "withdrawn"
    assert audit_verdict(right, size, size, target) == end
    seen = right_so_far = 0
    for outcome in outcomes:  # looked at after every decision, as check_audit does
        seen, right_so_far = seen + 1, right_so_far + outcome
        verdict = audit_verdict(right_so_far, seen, size, target)
        if verdict != "auditing":
            break
    assert verdict == end  # stopping early never changes what the whole sample would have said
    if end == "withdrawn" and seen < size:  # and it stops as soon as no rest of the sample could save the run
        assert wilson_interval(right_so_far + size - seen, size, Z_AUDIT)[0] < target
    with pytest.raises(ValueError, match="cannot have"):
        audit_verdict(size + 1, size, size, target)


def test_withdrawing_by_hand_and_one_run_at_a_time(trained):
    store, _ = trained
    start_autopilot(store, plan_autopilot(store, "p", target=0.8, max_share=1.0, audit=16))
    with pytest.raises(BertannoError, match="still being audited"):
        plan_autopilot(store, "p", target=0.8)
    assert check_audit(store, "p").status == "auditing"
    state = withdraw_autopilot(store, "p")
    assert state.status == "withdrawn" and annotated_examples(store, "p", "auto")[1] == []


def test_the_audit_is_large_enough_to_pass_a_run_as_good_as_claimed_four_times_in_five():
    from bertanno.core.autopilot import POWER, audit_power

    size = audit_size(0.99, 0.97, 10_000)
    assert audit_power(size, 0.99, 0.97) >= POWER > max(audit_power(n, 0.99, 0.97) for n in range(10, size))
    assert 300 < size < 700  # the textbook sample size for 0.97 against 0.99 at this power is about 440
    assert audit_size(0.99, 0.97, 50) == 50  # fewer labelled items than that: all of them
    assert audit_power(100, 0.9, 0.97) < 0.01 and audit_power(5, 0.99, 0.97) == 0.0  # too few to ever show it
    generator = np.random.default_rng(0)  # the power is what a simulation of audits finds
    from bertanno.core.stats import wilson_interval
    passed = np.mean([wilson_interval(int(right), 200)[0] >= 0.9 for right in generator.binomial(200, 0.95, 4000)])
    assert passed == pytest.approx(audit_power(200, 0.95, 0.9), abs=0.02)


def test_autopilot_on_the_command_line(trained, tmp_path, monkeypatch):
    store, _ = trained
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "m"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    dry = runner.invoke(cli, ["--db", db, "autopilot", "p", "--target", "0.8", "--dry-run"])
    assert dry.exit_code == 0 and "dry run: nothing labelled" in dry.output and "calibration of l001" in dry.output
    assert autopilot_runs(store, "p") == []
    small = runner.invoke(cli, ["--db", db, "autopilot", "p", "--target", "0.8", "--audit", "5"])
    assert small.exit_code != 0 and "cannot show 0.8 even if every label is right: it needs at least 16" in str(
        small.exception)  # an audit that could only ever withdraw is refused before it starts
    assert autopilot_runs(store, "p") == []
    done = runner.invoke(cli, ["--db", db, "autopilot", "p", "--target", "0.8", "--audit", "16", "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.output[done.output.index("{"):])
    assert shown["run"] == 1 and shown["audit"] == 16 and shown["bound"] >= 0.8
    status = runner.invoke(cli, ["--db", db, "autopilot", "p", "--status"], env={"COLUMNS": "200"})
    assert "provisional while the audit runs; audit 0 of 16 decided" in status.output, status.output
    stats = runner.invoke(cli, ["--db", db, "stats", "p"], env={"COLUMNS": "200"})
    assert f"autopilot: {shown['labelled'] - 16} item(s) on auto labels" in stats.output, stats.output
    everything = runner.invoke(cli, ["--db", db, "export", "p"])
    assert everything.exit_code == 0 and everything.output.count('{"text"') == 800 + shown["labelled"]
    auto = runner.invoke(cli, ["--db", db, "export", "p", "--only", "auto"])
    assert auto.output.count('{"text"') == shown["labelled"]
    first = annotated_ids(store)[0]
    position = sorted(open_project(store, "p").item_ids()).index(first) + 1
    explained = runner.invoke(cli, ["--db", db, "explain", "p", str(position)], env={"COLUMNS": "200"})
    assert "auto label of autopilot run 1 (l001, calibrated " in explained.output, explained.output
    assert "provisional: its run is being audited" in explained.output
    again = runner.invoke(cli, ["--db", db, "autopilot", "p"])
    assert again.exit_code != 0 and "still being audited" in str(again.exception)
    wrong = runner.invoke(cli, ["--db", db, "autopilot", "p", "--target", "1.2"])
    assert wrong.exit_code == 2 and "--target" in wrong.output
    withdrawn = runner.invoke(cli, ["--db", db, "autopilot", "p", "--withdraw"])
    assert withdrawn.exit_code == 0 and "withdrawn by hand" in withdrawn.output


def test_the_queue_leaves_auto_labels_out_and_serves_the_audit_first_on_every_database(store, tmp_path):
    from test_teams import decide, serve, team_project

    from bertanno.core.autopilot import audit_state
    from bertanno.store import autopilot as runs_q

    project_id = team_project(store, tmp_path, overlap=1, count=6)
    ids = sorted(open_project(store, "team").item_ids())
    with store.transaction() as session:
        run = runs_q.add_run(session, project_id, "v001", 0.9, 0.95, 0.97, 0.93, {}, [
            {"item_id": ids[4], "payload": "positive", "confidence": 0.99, "probability": 0.98, "audit": False},
            {"item_id": ids[5], "payload": "negative", "confidence": 0.97, "probability": 0.96, "audit": True}])
        assert queue.remaining(session, project_id) == 5 and runs_q.is_audit_item(session, project_id, ids[5])
    first = serve(store, project_id, "ann")
    decide(store, project_id, first, "ann", "negative")
    served = [first]
    with store.transaction() as session:
        state = audit_state(session, runs_q.open_run(session, project_id))
        assert (state.audited, state.right, state.labelled, state.size) == (1, 1, 1, 1)
    while (item := serve(store, project_id, "ann")) is not None:
        served.append(item)
        decide(store, project_id, item, "ann", "positive")
    assert served == [ids[5]] + ids[:4]  # the audit first, the auto-labelled item never
    with store.transaction() as session:
        runs_q.finish_run(session, runs_q.open_run(session, project_id), runs_q.WITHDRAWN, "test", withdraw=True)
        assert runs_q.standing_auto_labels(session, project_id) == {} and run.id
        assert queue.remaining(session, project_id) == 1  # withdrawn: its item is back in the queue


def annotated_ids(store) -> list[int]:
    """The items on auto labels, in item order."""
    return [item_id for item_id, _ in open_project(store, "p").annotated("auto")]
