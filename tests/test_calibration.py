"""Calibration (issue 51, part 1): a map from a version's confidence to the probability of being right, fitted on
the evaluation split, stored with the version, shown by ``versions`` and ``stats``; and the bound autopilot uses."""

import json
import random

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_families import CONFIG, project

from bertanno.app.training_runs import evaluate, train_project
from bertanno.cli import cli
from bertanno.core.calibration import (
    MIN_UNITS,
    Calibration,
    accuracy_bound,
    calibrate_predictions,
    expected_calibration_error,
    fit_calibration,
)
from bertanno.core.plugins import get_plugins
from bertanno.plugins.task import Prediction, Span
from bertanno.store.projects import get_project
from bertanno.store.versions import champion


def synthetic(reliability, units: int = 4000, seed: int = 0):
    """Confidences uniform over 0.5..1 and outcomes right with probability ``reliability(confidence)``."""
    generator = np.random.default_rng(seed)
    confidence = generator.uniform(0.5, 1.0, units)
    return confidence, generator.uniform(size=units) < reliability(confidence)


@pytest.mark.parametrize("reliability", [lambda c: c ** 3, lambda c: 0.3 + 0.6 * (c > 0.8)],
                         ids=["over-confident", "a step"])
def test_the_map_recovers_a_known_reliability_and_lowers_the_error(reliability):
    confidence, right = synthetic(reliability)
    fitted = fit_calibration(confidence, right, evaluation_items=4000)
    grid = np.linspace(0.52, 0.98, 24)
    grid = grid[np.abs(grid - 0.8) > 0.03]  # away from the step's edge
    assert np.max(np.abs(fitted.probability(grid) - reliability(grid))) < 0.08
    assert fitted.ece_raw > 0.1 and fitted.ece < 0.03, fitted.describe()
    assert set(fitted.log_loss) == {"isotonic", "platt", "identity"}
    assert fitted.log_loss[fitted.method] == min(fitted.log_loss[m] for m in ("isotonic", "platt"))
    again = Calibration.from_json(json.loads(json.dumps(fitted.to_json())))
    assert np.allclose(again.probability(grid), fitted.probability(grid))


def test_a_smooth_miscalibration_is_fitted_by_platt_a_step_by_isotonic():
    logistic = fit_calibration(*synthetic(lambda c: 1 / (1 + np.exp(-(2 * np.log(c / (1 - c)) - 1.5)))))
    assert logistic.method == "platt" and logistic.platt[0] == pytest.approx(2, abs=0.3)
    assert fit_calibration(*synthetic(lambda c: np.where(c > 0.75, 0.95, 0.2))).method == "isotonic"


def test_a_calibrated_model_keeps_its_confidence_and_a_tiny_split_is_not_mapped():
    confidence, right = synthetic(lambda c: c, units=6000, seed=3)
    assert expected_calibration_error(confidence, right) < 0.03
    fitted = fit_calibration(confidence, right)
    assert np.max(np.abs(fitted.probability([0.6, 0.9]) - [0.6, 0.9])) < 0.06
    few = fit_calibration([0.9] * (MIN_UNITS - 1), [True] * (MIN_UNITS - 2) + [False])
    assert few.method == "identity" and few.probability([0.7]).tolist() == [0.7]
    assert "not calibrated" in few.describe()
    assert fit_calibration([0.9] * 50, [True] * 50).method == "identity"  # one outcome: nothing to fit
    with pytest.raises(ValueError, match="3 confidences and 2 outcomes"):
        fit_calibration([0.1, 0.2, 0.3], [True, False])


def test_the_bound_is_below_the_estimate_and_as_strict_as_a_binomial_bound():
    sixty = fit_calibration([0.95] * 60 + [0.5] * 40, [True] * 60 + [True] * 20 + [False] * 20)
    estimate, bound = accuracy_bound(sixty, [0.97] * 500)
    assert estimate == pytest.approx(61 / 62) and bound < estimate
    assert bound == pytest.approx(0.05 ** (1 / 61), abs=0.01)  # the top block: 60 right of 60 → about 0.95
    confidence, right = synthetic(lambda c: c ** 3, units=20000, seed=5)
    big = fit_calibration(confidence, right)
    high = confidence[confidence > 0.9]
    estimate, bound = accuracy_bound(big, high)
    truth = float(np.mean(high ** 3))
    assert bound < estimate and abs(estimate - truth) < 0.02 and estimate - bound < 0.02
    assert np.isnan(accuracy_bound(big, [])[1])


def test_a_small_block_of_the_most_confident_never_maps_below_a_larger_one_under_it():
    # a calibration from benchmarks.autopilot (waimai_10k, linear, 300 gold items): its top block of 5 units all
    # right mapped to 0.857, under the 68 of 71 below it (0.945), so the most confident items were bounded lowest
    from bertanno.core.calibration import block_values, isotonic_blocks, monotone_blocks, prefix_bounds

    blocks = [[0.6522, 0.8114, 90.0, 99.0], [0.8119, 0.8781, 72.0, 78.0], [0.8792, 0.9424, 68.0, 71.0],
              [0.945, 0.9495, 5.0, 5.0]]
    pooled = monotone_blocks(blocks)
    assert pooled[-1] == [0.8792, 0.9495, 73.0, 76.0] and pooled[:2] == blocks[:2]
    confidence = np.concatenate([np.linspace(0.70, 0.87, 100), np.linspace(0.88, 0.94, 71), [0.945, 0.946, 0.947,
                                                                                             0.948, 0.9495]])
    right = np.ones(len(confidence), dtype=bool)
    right[[5, 30, 60, 90]] = False
    right[[168, 169, 170]] = False  # just under the 5 most confident, which are right: a block of 5 of 5 on top
    fitted = isotonic_blocks(confidence, right)
    assert fitted[-1][3] > 5 and fitted[-1][1] == 0.9495  # pooled with the block under it
    assert list(block_values(fitted)) == sorted(block_values(fitted))
    confident = np.linspace(0.99, 0.95, 50)  # new items above every evaluation unit
    before = prefix_bounds(Calibration("isotonic", "item", 253, blocks=blocks), confident, [50])
    after = prefix_bounds(Calibration("isotonic", "item", 253, blocks=pooled), confident, [50])
    assert before[0][0] == pytest.approx(6 / 7) and after[0][0] == pytest.approx(74 / 78)
    assert after[1][0] > before[1][0] + 0.2  # Beta(74, 4) against Beta(6, 1) at 95 %


@settings(max_examples=80, deadline=None)
@given(confidence=st.lists(st.floats(0.5, 1.0), min_size=1, max_size=200, unique=True),
       wrong=st.sets(st.integers(0, 199), max_size=20))
def test_the_isotonic_map_rises_with_the_confidence_and_keeps_every_unit(confidence, wrong):
    from bertanno.core.calibration import block_values, isotonic_blocks

    confidence = np.sort(np.array(confidence))  # mostly right, as a model worth calibrating is
    right = np.array([index not in wrong for index in range(len(confidence))])
    blocks = isotonic_blocks(confidence, right)
    values = block_values(blocks)
    assert np.all(np.diff(values) >= -1e-12)
    assert sum(b[3] for b in blocks) == len(confidence) and sum(b[2] for b in blocks) == right.sum()
    assert all(b[0] <= b[1] < later[0] for b, later in zip(blocks, blocks[1:]))


def test_ner_units_are_the_proposed_spans():
    task = get_plugins().task("ner", ["PER", "LOC"])
    gold = [[Span(0, 2, "PER"), Span(5, 7, "LOC")]]
    prediction = Prediction([Span(0, 2, "PER"), Span(5, 7, "PER")], 0.4, {"span_confidence": [0.9, 0.4]})
    assert task.confidence_units(gold[0], prediction) == [(0.9, True), (0.4, False)]
    maps = calibrate_predictions(task, gold, [prediction])
    assert set(maps) == {"item", "span"} and maps["span"]["units"] == 2 and maps["item"]["units"] == 1
    assert maps["item"]["method"] == "identity"
    sentiment = get_plugins().task("sentiment", ["negative", "positive"])
    assert set(calibrate_predictions(sentiment, ["positive"], [Prediction("positive", 0.8)])) == {"item"}


def noisy_sentiment(count: int, seed: int = 0) -> str:
    """Reviews whose wording gives their label away four times in five (the rest carry the other word)."""
    generator = random.Random(seed)
    rows = []
    for n in range(count):
        label = generator.choice(["negative", "positive"])
        word = {"negative": "太差", "positive": "很好"}[label]
        if generator.random() < 0.2:
            word = {"太差": "很好", "很好": "太差"}[word]
        rows.append(json.dumps({"text": f"第{n}家{generator.choice('店铺馆')}{word}", "label": label},
                               ensure_ascii=False))
    return "\n".join(rows) + "\n"


def test_a_trained_version_carries_its_calibration_refitted_on_a_grown_split(tmp_path, monkeypatch):
    store = project(tmp_path, "sentiment", ["negative", "positive"], noisy_sentiment(400))
    train_project(store, "p", CONFIG, family="linear", models_dir=tmp_path / "m")
    with store.transaction() as session:
        stored = champion(session, get_project(session, "p").id).calibration
    item = stored["item"]
    assert set(stored) == {"item"} and item["units"] == item["evaluation_items"] == 40
    assert item["method"] in ("isotonic", "platt") and 0 <= item["ece"] <= 1
    more = tmp_path / "more.jsonl"
    more.write_text(noisy_sentiment(200, seed=1).replace("第", "又第"), encoding="utf-8")
    from bertanno.core.import_export import import_file
    import_file(store, "p", more, split="eval")
    evaluate(store, "p")  # re-scoring on the grown split refits the map
    with store.transaction() as session:
        assert champion(session, get_project(session, "p").id).calibration["item"]["units"] == 240
    monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "m"))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    listing = runner.invoke(cli, ["--db", db, "versions", "p"], env={"COLUMNS": "100"})
    assert "calibration of l001 (items): " in listing.output and "ECE" in listing.output, listing.output
    [row] = json.loads(runner.invoke(cli, ["--db", db, "versions", "p", "--json"]).output)
    assert row["calibration"]["item"]["units"] == 240
    figures = json.loads(runner.invoke(cli, ["--db", db, "stats", "p", "--json"]).output)
    assert figures["calibration"]["version"] == "l001"
    assert len(figures["calibration"]["levels"]["item"]["reliability"]) == 10
    report = runner.invoke(cli, ["--db", db, "report", "p", "-o", str(tmp_path / "report")])
    assert report.exit_code == 0 and (tmp_path / "report" / "calibration.png").is_file(), report.output
    assert "ECE before" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
