"""Numbers that agree (issue 46, part 8): one function per count, used by every view, and every score shown with
the number of evaluation items it was computed on."""

import json

from click.testing import CliRunner

from bertanno.app.report import _decided, _pyplot
from bertanno.app.session import AnnotationSession
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.core.stats import counts_line, grouped_figures, project_stats
from bertanno.store import Store
from bertanno.store.annotations import decision_records
from bertanno.store.projects import create_project


def sentiment_project(tmp_path, count=6):
    store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    (tmp_path / "items.txt").write_text("".join(f"第{n}家店\n" for n in range(count)), encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")
    return store


def test_decisions_are_counted_once_the_same_way_by_stats_the_report_and_each_annotator(tmp_path):
    # 74 decisions were 73 in the report's timeline, 37 + 37 in its annotator table and 74 in stats: a skip
    store = sentiment_project(tmp_path)
    for annotator, decisions in (("ann", ["positive", "negative", "skip"]), ("bob", ["positive"])):
        session = AnnotationSession(store, "p", annotator, predict_ahead=False)
        for decision in decisions:
            session.next()
            session.decide("skip") if decision == "skip" else session.decide("correct", decision)
        session.close()
    with store.transaction() as db:
        records = decision_records(db, 1)
    stats = project_stats(store, "p")
    by_annotator = grouped_figures(records, "annotator")
    timeline = _decided(_pyplot(), records).rows[1][2]
    assert stats["decisions"] == sum(g["decisions"] for g in by_annotator.values()) == int(timeline) == 3
    assert by_annotator["ann"]["skipped"] == 1 and stats["overall"]["skipped"] == 1


def test_an_item_labelled_with_nothing_shown_is_the_same_kind_in_the_header_and_in_stats(tmp_path):
    # the header counted it as corrected (✎), stats as "labelled with nothing shown" (+)
    store = sentiment_project(tmp_path)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    session.next()
    session.decide("correct", "positive")  # nothing was shown: no model yet
    assert counts_line(session.kinds) == "✓0 ✎0 ✗0 ↷0 +1"
    assert project_stats(store, "p")["overall"]["labelled"] == 1
    session.undo()
    assert counts_line(session.kinds) == "✓0 ✎0 ✗0 ↷0"
    session.close()


def test_the_live_refit_countdown_does_not_count_undone_decisions(tmp_path):
    store = sentiment_project(tmp_path)
    session = AnnotationSession(store, "p", "ann", predict_ahead=False, live_every=5, models_dir=tmp_path / "m")
    for label in ("positive", "negative"):
        session.next()
        session.decide("correct", label)
    session.undo()
    assert session.live.pending == 1 and "first fit after 4 more decision(s)" in session.live.status()
    session.close()


def test_every_score_says_on_how_many_evaluation_items(tmp_path, monkeypatch):
    # one version showed 0.40, 0.9143 and 1.0000 in three views, none saying on how many items
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    rows = [{"text": f"第{n}家{'很好吃' if n % 2 else '太难吃'}", "label": "positive" if n % 2 else "negative"}
            for n in range(60)]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                         encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "r", "--task", "sentiment"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "r", str(tmp_path / "gold.jsonl")]).exit_code == 0
    trained = runner.invoke(cli, ["--db", db, "train", "r", "--family", "linear"])
    [line] = [line for line in trained.output.splitlines() if line.startswith("evaluation split:")]
    evaluated = json.loads(runner.invoke(cli, ["--db", db, "evaluate", "r", "--json"]).output)
    items = evaluated["evaluation_items"]
    assert items > 0 and line.endswith(f"on {items} items"), trained.output
    listing = runner.invoke(cli, ["--db", db, "versions", "r"], env={"COLUMNS": "80"}).output
    [row] = [line for line in listing.splitlines() if line.startswith(" l001 ")]
    assert f" {items} " in row and " on " in listing
    assert f"evaluated on  {items} items" in runner.invoke(cli, ["--db", db, "evaluate", "r"]).output
    store = Store.open(db)
    from bertanno.app.training_runs import champion_model

    model, version = champion_model(store, "r")
    session = AnnotationSession(store, "r", "ann", predictor=model, model_version=version, predict_ahead=False)
    assert session.serving_line().endswith(f" on {items})")  # model l001 (linear, accuracy 1.00 on 6)
    session.close()
