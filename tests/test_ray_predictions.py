"""Bulk pre-annotation on Ray Data (issue 'beyond one machine', part 1), on a real local Ray instance: complete,
nothing stored twice when an actor is killed mid-job or the job is run again, on SQLite and PostgreSQL; and the
sentences for Ray missing, an unreachable cluster and a model no worker can load."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from test_predict_project import make_project, predictions_per_item

from bertanno.cli import cli
from bertanno.core.bundle import save_version
from bertanno.core.ray_predictions import ModelSource, check_reachable, connect, predict_project_on_ray, require_ray
from bertanno.errors import BertannoError
from bertanno.store import Store


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance with 2 CPUs for the module (starting one costs seconds); the jobs reuse it."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("Ray is not installed: .ci/run installs the ray extra for these tests")
        pytest.skip("Ray is an optional extra (pip install 'bertanno[ray]')")
    assert connect(None, num_cpus=2) is True
    yield ray
    ray.shutdown()


def kill_one_actor_once_stored(store, version, killed: list, timeout=300.0):
    """Watch the store; once the first chunk is in and more is to come, SIGKILL one Ray actor process."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predictions_per_item(store, version):
            pids = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True).stdout.split()
            if pids:
                os.kill(int(pids[0]), signal.SIGKILL)
                killed.append(len(predictions_per_item(store, version)))
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_ray_job_survives_a_killed_actor_and_a_rerun_stores_nothing_twice(local_ray, db_url, tmp_path,
                                                                               make_bundle):
    store = Store.open(db_url)
    make_project(store, tmp_path, 2000)
    model = tmp_path / "v7"
    save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), model)
    killed: list[int] = []
    watcher = threading.Thread(target=kill_one_actor_once_stored, args=(store, "v7", killed), daemon=True)
    watcher.start()
    # small Ray tasks (64 items) so that many are still to run when the first chunk is stored
    result = predict_project_on_ray(store, "p", ModelSource(str(model)), "v7", actors=2, chunk_size=50,
                                    batch_size=64)
    watcher.join(timeout=10)
    assert killed and killed[0] < 2000, "the actor was killed after the job had stored everything"
    assert (result.predicted, result.already) == (2000, 0)
    counts = predictions_per_item(store, "v7")
    assert len(counts) == 2000 and set(counts.values()) == {1}
    again = CliRunner().invoke(cli, ["--db", db_url, "predict-project", "p", "--model", str(model), "--ray"])
    assert "nothing to do: all 2000 undecided items have v7's predictions already" in again.output
    other = tmp_path / "v8"
    save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), other)
    command = CliRunner().invoke(cli, ["--db", db_url, "predict-project", "p", "--model", str(other), "--ray",
                                       "--actors", "2", "--chunk-size", "500"])
    assert command.exit_code == 0, command.output
    assert "2000 items pre-annotated by v8" in command.output
    assert set(predictions_per_item(store, "v8").values()) == {1} and len(predictions_per_item(store, "v8")) == 2000
    store.close()


@pytest.mark.slow
def test_predict_files_on_ray_writes_whole_shards_in_input_order_and_resumes(local_ray, tmp_path, make_bundle):
    model = tmp_path / "v5"
    save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), model)
    rows = [f"第{n}条评论{'很好' if n % 2 else '太差'}" for n in range(1200)]
    (tmp_path / "archive.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "predictions"
    command = ["predict", str(model), str(tmp_path / "archive.txt"), "--ray", "--actors", "2", "-o", str(out)]
    first = CliRunner().invoke(cli, command)
    assert first.exit_code == 0, first.output
    assert "1200 items predicted" in first.output and "3 shard(s) written" in first.output
    shards = sorted(out.glob("part-*.jsonl"))
    assert [p.name for p in shards] == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    lines = [json.loads(line) for p in shards for line in p.read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines] == rows  # every row once, in input order across the shards
    assert all(line["meta"]["prediction"]["model"] == "v5" for line in lines)
    last = shards[-1].read_text(encoding="utf-8")
    shards[-1].unlink()  # as if the job had stopped before its last shard
    again = CliRunner().invoke(cli, command)
    assert again.exit_code == 0, again.output
    assert "176 items predicted" in again.output and "1 shard(s) written" in again.output
    assert "2 shard(s) already there kept" in again.output
    assert shards[-1].read_text(encoding="utf-8") == last and not list(out.glob("*.partial"))


@pytest.mark.slow
def test_a_model_no_worker_can_load_stops_the_job_with_a_sentence(local_ray, tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'gone.db'}")
    make_project(store, tmp_path, 20)
    missing = ModelSource(str(tmp_path / "not-mounted" / "v3"))
    with pytest.raises(BertannoError, match="a Ray worker could not serve the model: the model directory .* is not "
                                            "on Ray node"):
        predict_project_on_ray(store, "p", missing, "v3", actors=1)
    assert predictions_per_item(store, "v3") == {}
    store.close()


def test_an_unreachable_cluster_is_a_sentence_within_the_timeout():
    with socket_closed_port() as port:
        started = time.perf_counter()
        with pytest.raises(BertannoError, match=rf"the Ray cluster at 127.0.0.1:{port} cannot be reached"):
            check_reachable(f"127.0.0.1:{port}", timeout=10)
        assert time.perf_counter() - started < 10
    check_reachable("auto")  # nothing to check: Ray finds the cluster itself


def test_without_ray_the_sentence_names_the_extra(monkeypatch, tmp_path, make_bundle):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BertannoError, match=r"Ray is not installed: pip install 'bertanno\[ray\]'"):
        require_ray()
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store.open(url)
    make_project(store, tmp_path, 3)
    store.close()
    model = tmp_path / "m"
    model.mkdir()
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", url, "predict-project", "p", "--model", str(model), "--ray"])
    assert result.exit_code == 1 and "Ray is not installed: pip install 'bertanno[ray]'" in str(result.exception)
    base = runner.invoke(cli, ["predict", "bert-base-chinese", str(tmp_path / "x.db"), "--ray", "-o", "out"])
    assert base.exit_code == 1 and "is not a saved version: with --ray" in str(base.exception)
    version = tmp_path / "v1"
    save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), version)
    no_folder = runner.invoke(cli, ["predict", str(version), str(tmp_path / "x.db"), "--ray"])
    assert no_folder.exit_code == 2 and "with --ray, name a folder for the JSONL shards with -o" in no_folder.output
    usage = runner.invoke(cli, ["--db", url, "predict-project", "p", "--actors", "2"])
    assert usage.exit_code == 2 and "--actors and --gpus size a Ray actor pool: add --ray" in usage.output
    assert "--ray [ADDRESS]" in runner.invoke(cli, ["predict-project", "--help"]).output


class socket_closed_port:
    """A loopback port that nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def __exit__(self, *exc):
        return False


def test_gpu_actors_on_a_cluster_without_gpus_are_a_sentence_not_a_wait(local_ray, tmp_path, make_bundle):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    store = Store.open(url)
    make_project(store, tmp_path, 5)
    store.close()
    model = tmp_path / "v1"
    save_version(make_bundle(labels=["negative", "positive"], layers=1, hidden=32), model)
    runner = CliRunner()
    started = time.perf_counter()
    result = runner.invoke(cli, ["--db", url, "predict-project", "p", "--model", str(model), "--ray", "--gpus", "1"])
    assert result.exit_code == 1 and time.perf_counter() - started < 60
    assert "--gpus 1: each actor asks for 1 GPU, and the Ray cluster has 0" in str(result.exception)
    store = Store.open(url)
    assert predictions_per_item(store, "v1") == {}
    store.close()
    alone = runner.invoke(cli, ["--db", url, "predict-project", "p", "--model", str(model), "--gpus", "0.5"])
    assert alone.exit_code == 2 and "--actors and --gpus size a Ray actor pool: add --ray" in alone.output
