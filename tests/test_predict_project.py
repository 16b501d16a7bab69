"""Bulk pre-annotation of a project (issue 'inference at the hardware's limit', part 3): chunked, prefetched,
resumable after a kill without any item predicted twice by one version."""

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bertanno.cli import cli
from bertanno.core.bundle import save_version
from bertanno.core.engine import Predictor
from bertanno.core.import_export import import_file
from bertanno.core.pre_annotation import predict_project
from bertanno.core.project import open_project
from bertanno.store import Store
from bertanno.store.projects import create_project
from bertanno.store.schema import Prediction


def make_project(store, tmp_path, count, labelled=0):
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    data = tmp_path / "items.csv"
    data.write_text("text,label\n" + "".join(f"第{n}条评论{'很好' if n % 2 else '太差'},"
                                             f"{('positive' if n % 2 else 'negative') if n < labelled else ''}\n"
                                             for n in range(count)), encoding="utf-8")
    import_file(store, "p", data)


def predictions_per_item(store, version):
    with store.transaction() as session:
        return dict(session.execute(select(Prediction.item_id, func.count()).where(
            Prediction.model_version == version).group_by(Prediction.item_id)).all())


def test_chunks_are_stored_prefetched_and_never_repeated(store, tmp_path, make_bundle, monkeypatch):
    make_project(store, tmp_path, 45, labelled=5)
    predictor = Predictor(make_bundle(labels=["negative", "positive"]))
    encoded_ahead = []
    real_predict = predictor.predict

    def spy(examples, progress=None, encoded=None):
        encoded_ahead.append(encoded is not None and len(encoded) == len(examples))
        return real_predict(examples, progress=progress, encoded=encoded)

    monkeypatch.setattr(predictor, "predict", spy)
    seen = []
    result = predict_project(store, "p", predictor, "v1", undecided_only=True, chunk_size=10,
                             progress=lambda done, total: seen.append((done, total)))
    assert (result.predicted, result.already, result.chunks) == (40, 0, 4)
    assert encoded_ahead == [True] * 4  # every chunk tokenised by the prefetch thread
    assert seen[0] == (0, 40) and seen[-1] == (40, 40) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    counts = predictions_per_item(store, "v1")
    undecided = {item_id for item_id, _ in open_project(store, "p").items(undecided=True)}
    assert set(counts) == undecided and set(counts.values()) == {1}
    again = predict_project(store, "p", predictor, "v1", undecided_only=True, chunk_size=10)
    assert (again.predicted, again.already) == (0, 40)
    everything = predict_project(store, "p", predictor, "v1", chunk_size=7)
    assert (everything.predicted, everything.already) == (5, 40)
    assert set(predictions_per_item(store, "v1").values()) == {1}
    other = predict_project(store, "p", predictor, "v2", chunk_size=50)
    assert other.predicted == 45
    back = predict_project(store, "p", predictor, "v1", chunk_size=50)  # after a rollback: v1 is served again
    assert (back.predicted, back.already) == (45, 0)
    with pytest.raises(ValueError, match="chunk_size"):
        predict_project(store, "p", predictor, "v1", chunk_size=0)


@pytest.mark.slow
def test_a_killed_run_resumes_without_predicting_an_item_twice(tmp_path, make_bundle):
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    store = Store.open(url)
    make_project(store, tmp_path, 1500)
    model = tmp_path / "v9"
    save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), model)
    run = subprocess.Popen([sys.executable, "-m", "bertanno", "--db", url, "predict-project", "p", "--model",
                            str(model), "--chunk-size", "10", "--threads", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and not predictions_per_item(store, "v9") and run.poll() is None:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait()
    stored = predictions_per_item(store, "v9")
    assert 0 < len(stored) < 1500, "the kill came before the first chunk or after the last"
    assert len(stored) % 10 == 0  # whole chunks only
    result = CliRunner().invoke(cli, ["--db", url, "predict-project", "p", "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert f"{1500 - len(stored)} items pre-annotated by v9" in result.output
    assert f"{len(stored)} already had its predictions" in result.output
    counts = predictions_per_item(store, "v9")
    assert len(counts) == 1500 and set(counts.values()) == {1}
    done = CliRunner().invoke(cli, ["--db", url, "predict-project", "p", "--model", str(model)])
    assert "nothing to do: all 1500 undecided items have v9's predictions already" in done.output
    store.close()


def test_predict_project_needs_a_champion_or_a_model(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", url, "init", "p", "--task", "sentiment"]).exit_code == 0
    result = runner.invoke(cli, ["--db", url, "predict-project", "p"])
    assert result.exit_code == 1 and "no champion model yet" in str(result.exception)
    assert "--chunk-size" in runner.invoke(cli, ["predict-project", "--help"]).output
