"""The forecast (issue 51, part 4): a learning curve fitted to the gate's history says what more decisions buy."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from test_autopilot import reviews
from test_fast_families import CONFIG, project

from bertanno.app.training_runs import train_project
from bertanno.cli import cli
from bertanno.core.forecast import fit_learning_curve
from bertanno.core.import_export import import_file


def test_a_synthetic_curve_is_recovered_with_an_interval_that_holds_the_truth():
    def truth(n):
        return 0.95 - 0.9 * n ** -0.5

    sizes = np.array([100, 150, 200, 300, 400, 600, 800, 1200])
    noise = np.random.default_rng(0).normal(0, 0.003, len(sizes))
    curve = fit_learning_curve(sizes, truth(sizes) + noise)
    assert curve.a == pytest.approx(0.95, abs=0.02) and len(curve.refits) > 150
    needed, low, high = curve.decisions_for(0.92)
    exact = (0.03 / 0.9) ** -2  # 900 decisions
    assert low <= exact <= high and needed == pytest.approx(exact, rel=0.35)
    low, high = curve.score_interval(5000)
    assert low <= truth(5000) <= high
    assert math.isinf(curve.decisions_for(0.99)[0])  # above the ceiling: never
    assert curve.decisions_for(0.5)[0] < 100


def test_too_few_points_give_no_curve():
    assert fit_learning_curve([100, 100, 200], [0.8, 0.81, 0.85]) is None
    with pytest.raises(ValueError, match="3 sizes and 2 scores"):
        fit_learning_curve([1, 2, 3], [0.1, 0.2])


def test_stats_forecast_from_the_gate_history(tmp_path, monkeypatch):
    lines, _ = reviews(1200, seed=0)
    rows = lines.splitlines()
    store = project(tmp_path, "sentiment", ["negative", "positive"], "\n".join(rows[:150]) + "\n")
    train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m")
    for part, (start, end) in enumerate([(150, 400), (400, 1200)]):
        path = tmp_path / f"more{part}.jsonl"
        path.write_text("\n".join(rows[start:end]) + "\n", encoding="utf-8")
        import_file(store, "p", path)
        train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m", tolerance=1.0)
    pool, _ = reviews(300, seed=1, labelled=False, prefix="新")
    (tmp_path / "pool.jsonl").write_text(pool, encoding="utf-8")
    import_file(store, "p", tmp_path / "pool.jsonl")
    train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m", tolerance=1.0)  # predicts the pool
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "m"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    figures = json.loads(runner.invoke(cli, ["--db", db, "stats", "p", "--forecast", "--target", "0.8",
                                             "--json"]).output)["forecast"]
    assert [point[0] for point in figures["points"]] == [135, 360, 1080, 1080]
    assert figures["projected"][0]["decisions"] == 1080 and 0 <= figures["curve"]["a"] <= 1
    assert figures["autopilot_today"]["undecided"] == 300
    shown = runner.invoke(cli, ["--db", db, "stats", "p", "--forecast", "--target", "0.8"], env={"COLUMNS": "200"})
    assert "forecast from 4 trained version(s)" in shown.output and "at 2,160 decisions" in shown.output, shown.output
    assert "autopilot today: " in shown.output and "assuming " in shown.output
    assert "0.8 is reached at today's decisions" in shown.output
    ceiling = runner.invoke(cli, ["--db", db, "stats", "p", "--forecast", "--target", "0.99"], env={"COLUMNS": "200"})
    assert "0.99 is above the fitted ceiling" in ceiling.output, ceiling.output
    report = runner.invoke(cli, ["--db", db, "report", "p", "-o", str(tmp_path / "report")])
    assert report.exit_code == 0 and (tmp_path / "report" / "forecast.png").is_file(), report.output
    alone = runner.invoke(cli, ["--db", db, "stats", "p", "--target", "0.8"])
    assert alone.exit_code == 2 and "add --forecast" in alone.output
