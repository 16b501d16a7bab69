"""Teams (issue 'Teams', part 1): each item judged by K different annotators, settled when they agree (or by a
majority rule, or a review), and K = 1 exactly as before."""

from datetime import datetime

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.core.project import open_project
from bertanno.store.annotations import (
    ItemTaken,
    current_annotations,
    disagreements,
    record_decision,
    settled,
    undo_last,
)
from bertanno.store.database import StoreError
from bertanno.store.projects import create_project, get_project, set_team
from bertanno.store.queue import next_item, remaining
from bertanno.store.schema import Annotation


def team_project(store, tmp_path, overlap=2, settle="unanimous", count=4, task="sentiment", labels=None):
    labels = labels or ["negative", "positive"]
    with store.transaction() as session:
        project_id = create_project(session, "team", task, labels, "bert-base-chinese", overlap=overlap,
                                    settle=settle).id
    path = tmp_path / "items.txt"
    path.write_text("".join(f"第{i}条\n" for i in range(count)), encoding="utf-8")
    import_file(store, "team", path)
    return project_id


def serve(store, project_id, annotator):
    with store.transaction() as session:
        item = next_item(session, project_id, annotator, f"session-{annotator}")
        return None if item is None else item.id


def decide(store, project_id, item_id, annotator, payload, decision="correct"):
    with store.transaction() as session:
        record_decision(session, project_id, item_id, annotator, f"session-{annotator}", decision, payload)


def annotation(id, annotator, payload, source="human", decision="correct"):
    return Annotation(id=id, annotator=annotator, payload=payload, source=source, decision=decision,
                      created_at=datetime(2026, 12, 1))


def test_the_settle_rule():
    a, b, c = (annotation(1, "a", "positive"), annotation(2, "b", "positive"), annotation(3, "c", "negative"))
    assert settled([a], 2) is None  # waits for a second annotator
    assert settled([a, b], 2) is b  # both agree: the latest of them
    assert settled([a, c], 2) is None  # they disagree: a review decides
    assert settled([a, b, c], 3) is None and settled([a, b, c], 3, "majority") is b
    assert settled([a, c, annotation(4, "r", "negative", source="review")], 2).id == 4
    again = annotation(5, "a", "negative")  # a changes their mind: each annotator's latest counts
    assert settled([a, c, again], 2) is again
    spans = [annotation(6, "a", [[0, 2, "PER"], [3, 5, "LOC"]]), annotation(7, "b", [[3, 5, "LOC"], [0, 2, "PER"]])]
    assert settled(spans, 2).id == 7  # the same spans in another order agree
    gold, person = annotation(8, "import", "negative", source="import"), annotation(9, "a", "positive")
    assert settled([gold, person], 1) is person  # overlap 1: the latest decision, as it always was


def test_an_item_goes_to_k_different_annotators_and_never_twice_to_one(store, tmp_path):
    project_id = team_project(store, tmp_path, count=2)
    first = serve(store, project_id, "ann")
    decide(store, project_id, first, "ann", "positive")
    assert serve(store, project_id, "ann") != first  # never the same person twice
    assert serve(store, project_id, "bob") == first  # the item comes back for a second annotator
    decide(store, project_id, first, "bob", "positive")
    assert serve(store, project_id, "cy") != first  # complete: two annotators have decided it
    with store.transaction() as session:
        assert set(current_annotations(session, project_id)) == {first}
        assert remaining(session, project_id) == 1


def test_disagreements_wait_for_a_review_or_settle_by_majority(store, tmp_path):
    project_id = team_project(store, tmp_path, overlap=3, count=1)
    for annotator, label in (("ann", "positive"), ("bob", "positive"), ("cy", "negative")):
        item = serve(store, project_id, annotator)
        decide(store, project_id, item, annotator, label)
    with store.transaction() as session:
        assert current_annotations(session, project_id) == {} and disagreements(session, project_id) == [item]
        set_team(session, "team", settle="majority")
    with store.transaction() as session:
        assert current_annotations(session, project_id)[item].payload == "positive"
        assert disagreements(session, project_id) == []
    handle = open_project(store, "team")
    training, _ = handle.training_data()
    assert [example.payload for _, example in training] == ["positive"]


def test_overlap_one_is_the_single_annotator_project_it_always_was(store, tmp_path):
    project_id = team_project(store, tmp_path, overlap=1, count=2)
    first = serve(store, project_id, "ann")
    decide(store, project_id, first, "ann", "positive")
    assert serve(store, project_id, "bob") != first
    with pytest.raises(ItemTaken):  # decided: nobody else decides it again (before, bob's replaced ann's)
        decide(store, project_id, first, "bob", "negative")
    with store.transaction() as session:
        assert current_annotations(session, project_id)[first].payload == "positive"
        undo_last(session, "session-ann")
    decide(store, project_id, first, "ann", "negative")  # after an undo, the latest decision stands
    with store.transaction() as session:
        assert current_annotations(session, project_id)[first].payload == "negative"


def test_the_team_settings_refuse_what_cannot_work(store, tmp_path):
    project_id = team_project(store, tmp_path, overlap=1, count=2)
    with store.transaction() as session:
        for overlap, settle in ((0, "unanimous"), (11, "unanimous"), (2, "loudest")):
            with pytest.raises(StoreError):
                set_team(session, "team", overlap, settle)
    decide(store, project_id, serve(store, project_id, "ann"), "ann", "positive")
    with store.transaction() as session:
        with pytest.raises(StoreError, match="only 1 has worked on team \\(ann\\)"):
            set_team(session, "team", 2)
        assert get_project(session, "team").overlap == 1  # nothing written


def test_init_and_configure_set_the_overlap(store, db_url):
    runner = CliRunner()
    created = runner.invoke(cli, ["--db", db_url, "init", "clinic", "--task", "sentiment", "--overlap", "2"])
    assert created.exit_code == 0, created.output
    shown = runner.invoke(cli, ["--db", db_url, "configure", "clinic", "--settle", "majority"])
    assert shown.exit_code == 0 and "overlap 2 → 2, settle unanimous → majority" in shown.output
    assert "overlap 2 (majority)" in shown.output
    bad = runner.invoke(cli, ["--db", db_url, "configure", "clinic", "--overlap", "0"])
    assert bad.exit_code == 2 and "--overlap" in bad.output


# -- agreement (part 2) -------------------------------------------------------------------------------------------

def test_cohens_kappa_against_a_hand_computed_table(plugins):
    """50 items: both yes 20, yes/no 5, no/yes 10, both no 15. Observed 0.7; chance 0.5 x 0.6 + 0.5 x 0.4 = 0.5;
    kappa (0.7 - 0.5) / (1 - 0.5) = 0.4."""
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    scores = plugins.task("sentiment", labels=["yes", "no"]).pair_agreement(first, second)
    assert scores["percent"] == pytest.approx(0.7) and scores["cohen_kappa"] == pytest.approx(0.4)


def test_krippendorffs_alpha_reproduces_the_published_example(plugins):
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example: 4 observers, 12
    units, missing values; alpha = 0.743."""
    table = {"A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
             "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
             "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
             "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]}
    units = [{name: str(values[i]) for name, values in table.items() if values[i] is not None} for i in range(12)]
    alpha = plugins.task("sentiment").group_agreement(units)["krippendorff_alpha"]
    assert alpha == pytest.approx(0.743, abs=5e-4)


def test_span_f1_between_annotators_by_hand(plugins):
    ner = plugins.task("ner", labels=["PER", "LOC"])
    first = [[[0, 2, "PER"], [3, 5, "LOC"]], []]
    second = [[[0, 2, "PER"], [3, 6, "LOC"]], []]
    scores = ner.pair_agreement(first, second)
    assert scores["f1_exact"] == pytest.approx(0.5)  # 1 of 2 spans each side the same: 2 x 1 / (2 + 2)
    assert scores["f1_overlap"] == pytest.approx(1.0)  # the LOC spans share characters
    assert scores["f1_exact/PER"] == 1.0 and scores["f1_exact/LOC"] == 0.0
    assert scores["percent"] == pytest.approx(0.5)  # the second item: both found nothing


def test_the_agreement_command_on_a_team_project(store, db_url, tmp_path):
    import json

    from bertanno.store.predictions import add_predictions, latest_predictions

    project_id = team_project(store, tmp_path, overlap=2, count=6)
    labels = {"ann": ["positive"] * 6, "bob": ["positive"] * 4 + ["negative"] * 2}
    for annotator in ("ann", "bob"):
        for label in labels[annotator]:
            item = serve(store, project_id, annotator)
            with store.transaction() as session:
                add_predictions(session, [{"item_id": item, "model_version": "v001", "payload": "positive",
                                           "confidence": 0.9}])
                shown = latest_predictions(session, [item])[item].id
                record_decision(session, project_id, item, annotator, f"session-{annotator}",
                                "accept" if label == "positive" else "correct", label, prediction_id=shown)
    result = CliRunner().invoke(cli, ["--db", db_url, "agreement", "team", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["annotators"] == ["ann", "bob"] and report["overlapping"] == 6
    [pair] = report["pairs"]
    assert pair["items"] == 6 and pair["percent"] == pytest.approx(4 / 6)
    assert [row["annotator"] for row in report["model"]] == ["ann", "bob"]
    assert report["model"][0]["percent"] == 1.0 and report["model"][1]["percent"] == pytest.approx(4 / 6)
    shown = CliRunner().invoke(cli, ["--db", db_url, "agreement", "team"])
    assert "ann · bob" in shown.output and "κ 0.00 · 67% same" in shown.output


def test_agreement_without_overlapping_items_is_a_sentence(store, db_url, tmp_path):
    project_id = team_project(store, tmp_path, overlap=1, count=2)
    decide(store, project_id, serve(store, project_id, "ann"), "ann", "positive")
    result = CliRunner().invoke(cli, ["--db", db_url, "agreement", "team"])
    assert result.exit_code == 1 and "no item of team has been decided by two annotators" in str(result.exception)


# -- export and training (part 4) -----------------------------------------------------------------------------------

def test_a_teams_export_carries_each_decision_and_the_disagreements_apart(store, db_url, tmp_path):
    import json

    project_id = team_project(store, tmp_path, overlap=2, count=2)
    for annotator, labels in (("ann", ["positive", "positive"]), ("bob", ["positive", "negative"])):
        for label in labels:
            decide(store, project_id, serve(store, project_id, annotator), annotator, label)
    runner = CliRunner()
    settled_export = runner.invoke(cli, ["--db", db_url, "export", "team", "--provenance"])
    [line] = settled_export.stdout.splitlines()  # the disagreement is not a label yet
    record = json.loads(line)
    assert record["label"] == "positive"
    assert [(d["annotator"], d["payload"]) for d in record["meta"]["provenance"]["decisions"]] == [
        ("ann", "positive"), ("bob", "positive")]
    waiting = runner.invoke(cli, ["--db", db_url, "export", "team", "--only", "disagreements"])
    assert waiting.exit_code == 0 and "1 items awaiting a review exported" in waiting.stderr
    [line] = waiting.stdout.splitlines()
    record = json.loads(line)
    assert record["label"] is None and record["text"] == "第1条"
    assert {d["annotator"]: d["payload"] for d in record["meta"]["decisions"]} == {"ann": "positive", "bob": "negative"}


# -- the project report (part 5) -------------------------------------------------------------------------------------

def chromium() -> str:
    import shutil

    found = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                  if shutil.which(name)), None)
    if found is None:
        pytest.skip("no Chromium to open the report in (.ci/run installs Debian's chromium package; it could not be "
                    "installed here)")
    return found


def test_the_report_renders_its_sections_and_figures_in_a_real_browser(store, db_url, tmp_path):
    import subprocess

    from bertanno.store.versions import add_version, make_champion

    project_id = team_project(store, tmp_path, overlap=2, count=4)
    for annotator, labels in (("ann", ["positive", "negative", "positive", "positive"]),
                              ("bob", ["positive", "negative", "negative", "positive"])):
        for label in labels:
            item = serve(store, project_id, annotator)
            with store.transaction() as session:
                record_decision(session, project_id, item, annotator, f"session-{annotator}", "correct", label,
                                how={"active_ms": 4000, "keystrokes": 2, "edit": {"kind": "labelled"}})
    with store.transaction() as session:
        make_champion(session, add_version(session, project_id, "v001", str(tmp_path), "bert-base-chinese", {},
                                           {"accuracy": 0.75, "macro_f1": 0.7}))
    output = tmp_path / "report"
    result = CliRunner().invoke(cli, ["--db", db_url, "report", "team", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "with 5 figure(s)" in result.output and "no pre-annotation has been accepted" in result.output
    assert sorted(p.name for p in output.glob("*.png")) == ["agreement.png", "annotators.png", "decided.png",
                                                            "labels.png", "versions.png"]
    shown = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                            "--dump-dom", (output / "report.html").as_uri()],
                           capture_output=True, text=True, timeout=120)
    dom = shown.stdout
    assert shown.returncode == 0 and dom, shown.stderr[-2000:]
    for key in ("decided", "annotators", "labels", "agreement", "versions", "acceptance"):
        assert f'<section id="{key}">' in dom
    assert 'data-images="5"' in dom and 'data-images-loaded="5"' in dom  # every figure decoded by the browser
    assert "ann · bob" in dom and "0.500" in dom  # kappa of the pair: 3 of 4 the same, chance 0.5


def test_the_report_refuses_a_file_as_its_folder(store, db_url, tmp_path):
    team_project(store, tmp_path, overlap=1, count=1)
    target = tmp_path / "taken.html"
    target.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", db_url, "report", "team", "-o", str(target)])
    assert result.exit_code == 1 and "is a file" in str(result.exception)
    assert target.read_text(encoding="utf-8") == "mine"


def test_each_items_row_keeps_count_of_its_decisions(store, tmp_path):
    from bertanno.store.schema import Item

    project_id = team_project(store, tmp_path, count=1)
    item = serve(store, project_id, "ann")

    def state():
        with store.transaction() as session:
            row = session.get(Item, item)
            return row.annotators, row.authoritative

    decide(store, project_id, item, "ann", "positive")
    with pytest.raises(ItemTaken):  # the same person again: refused, never two decisions of one annotator
        decide(store, project_id, item, "ann", "negative")
    assert state() == (1, False)
    decide(store, project_id, item, "bob", "positive")
    assert state() == (2, False)
    with store.transaction() as session:
        undo_last(session, "session-bob")
    assert state() == (1, False) and serve(store, project_id, "bob") == item  # undone: it comes back
    decide(store, project_id, item, "cy", None, decision="skip")
    assert state() == (1, False)  # a skip decides nothing
    with store.transaction() as session:
        record_decision(session, project_id, item, "chen", "review-1", "correct", "negative", source="review")
    assert state() == (1, True) and serve(store, project_id, "dan") is None


def test_two_decisions_of_one_item_at_once_are_both_counted(store, tmp_path):
    import threading
    import time as clock

    from bertanno.store.schema import Item

    project_id = team_project(store, tmp_path, count=1, overlap=3)
    item = serve(store, project_id, "ann")
    first_in = threading.Event()

    def slow_first():
        with store.transaction() as session:
            record_decision(session, project_id, item, "ann", "session-ann", "correct", "positive")
            first_in.set()
            clock.sleep(0.5)  # still uncommitted while the second decision counts

    thread = threading.Thread(target=slow_first)
    thread.start()
    first_in.wait(10)
    decide(store, project_id, item, "bob", "negative")
    thread.join()
    with store.transaction() as session:
        assert session.get(Item, item).annotators == 2


def test_the_agreement_command_prints_per_type_figures_without_json(store, db_url, tmp_path):
    """Issue 45, part 5: the per entity type span F1 is on the screen, not only in --json."""
    project_id = team_project(store, tmp_path, overlap=2, count=2, task="ner", labels=["PER", "LOC"])
    given = {"ann": [[[0, 1, "PER"], [1, 2, "LOC"]], []], "bob": [[[0, 1, "PER"], [1, 3, "LOC"]], []]}
    for annotator, payloads in given.items():
        for payload in payloads:
            decide(store, project_id, serve(store, project_id, annotator), annotator, payload)
    shown = CliRunner().invoke(cli, ["--db", db_url, "agreement", "team"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any("PER" in line and "span F1 1.00" in line for line in lines), shown.output
    assert any("LOC" in line and "span F1 0.00" in line for line in lines), shown.output
