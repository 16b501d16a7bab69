"""bertanno stats (prove the help, part 3): figures from hand-made decision records, checked by hand."""

import json

import pytest
from click.testing import CliRunner

from bertanno.core.import_export import import_file
from bertanno.core.stats import MIN_ITEMS, project_stats
from bertanno.errors import BertannoError
from bertanno.store.annotations import record_decision
from bertanno.store.projects import create_project
from bertanno.store.schema import Prediction


@pytest.fixture
def decided(store, tmp_path):
    """50 reviews: 25 shown v1's 'positive' (20 accepted in 2 s, 5 corrected to negative in 4 s), 25 blind with
    the same hidden prediction (15 labelled positive, 10 negative, 6 s each)."""
    with store.transaction() as session:
        project = create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese",
                                 blind_share=0.5)
        project_id = project.id
    data = tmp_path / "items.txt"
    data.write_text("".join(f"第{n}条评论\n" for n in range(50)), encoding="utf-8")
    import_file(store, "p", data)
    with store.transaction() as session:
        for item_id in range(1, 51):
            prediction = Prediction(item_id=item_id, model_version="v1", payload="positive", confidence=0.9)
            session.add(prediction)
            session.flush()
            if item_id <= 20:
                decision, payload, seconds, edit, blind = "accept", "positive", 2, {"kind": "accepted"}, False
            elif item_id <= 25:
                decision, payload, seconds, edit = "correct", "negative", 4, {"kind": "corrected", "label changed": 1}
                blind = False
            else:
                decision, payload, seconds, edit, blind = ("correct", "positive" if item_id <= 40 else "negative", 6,
                                                          {"kind": "labelled"}, True)
            how = {"active_ms": seconds * 1000, "keystrokes": 1, "shown_version": None if blind else "v1",
                   "shown_family": None if blind else "transformer", "edit": edit, "blind": blind}
            record_decision(session, project_id, item_id, "li" if item_id % 2 else "[red]wang", "s1", decision, payload,
                            prediction.id, seconds * 1000, how)
    return store


def test_the_figures_match_the_hand_counts(decided):
    figures = project_stats(decided, "p")
    assert figures["decisions"] == 50 and figures["overall"]["acceptance_rate"] == pytest.approx(0.8)
    v1, blind = figures["groups"]["v1"], figures["groups"]["(blind)"]
    assert (v1["accepted"], v1["corrected"], v1["edits"], v1["median_seconds"]) == (20, 5, {"label changed": 5}, 2)
    assert v1["items_per_hour"] == pytest.approx(25 / ((20 * 2 + 5 * 4) / 3600))
    assert (blind["labelled"], blind["acceptance_rate"], blind["median_seconds"]) == (25, None, 6)
    assert figures["seconds_per_item"] == {"with_pre_annotation": 2, "items_with": 25,
                                           "without_pre_annotation": 6, "items_without": 25}
    assert figures["corrected_most"] == [{"model": "positive", "person": "negative", "count": 5}]
    control = figures["blind"]
    assert control["judged"] and control["time_saved_seconds"] == 4
    assert control["time_saved_ci95"][0] <= 4 <= control["time_saved_ci95"][1]
    assert control["agreement_shown"] == pytest.approx(20 / 25) and control["agreement_blind"] == pytest.approx(15 / 25)
    by_annotator = project_stats(decided, "p", by="annotator")["groups"]
    assert by_annotator["li"]["decisions"] == by_annotator["[red]wang"]["decisions"] == 25
    assert set(project_stats(decided, "p", by="label")["groups"]) == {"positive", "negative"}
    with pytest.raises(BertannoError, match="--by must be one of"):
        project_stats(decided, "p", by="week")


def test_too_few_items_and_no_decisions_are_said(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "empty", "sentiment", ["negative", "positive"], "bert-base-chinese")
    figures = project_stats(store, "empty")
    assert figures["decisions"] == 0 and "no decisions yet" in figures["note"]
    assert not figures["blind"]["judged"] and f"needs {MIN_ITEMS}" in figures["blind"]["note"]


def test_the_stats_command(decided, tmp_path):
    from bertanno.cli import cli

    url = decided.url
    runner = CliRunner()
    shown = runner.invoke(cli, ["--db", url, "stats", "p"], terminal_width=120)
    assert shown.exit_code == 0, shown.output
    assert "50 decisions" in shown.output and "acceptance 80 %" in shown.output
    assert "time saved per item 4.0 s" in shown.output and "agreement with the model 80% when shown" in shown.output
    data = json.loads(runner.invoke(cli, ["--db", url, "stats", "p", "--json", "--by", "day"]).output)
    assert data["by"] == "day" and data["blind"]["items_blind"] == 25
    assert "--blind-share" in runner.invoke(cli, ["stats", "--help"]).output
    names = runner.invoke(cli, ["--db", url, "stats", "p", "--by", "annotator"], terminal_width=120).output
    assert "[red]wang" in names  # a name is shown as written, never read as markup
