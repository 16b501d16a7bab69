import socket
import subprocess
import sys
import threading
import time

import pytest

from bertanno.core.hub import ModelUnavailableError, resolve_model
from bertanno.core.model_info import list_models

SILENT_TIMEOUT = 10


@pytest.fixture
def silent_server():
    """A loopback server that accepts connections and never answers: a hub that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def run_cli(*args, env_overrides=None, timeout=60):
    import os

    env = dict(os.environ, **(env_overrides or {}))
    env = {k: v for k, v in env.items() if v is not None}
    started = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "bertanno", *args], capture_output=True, text=True,
                               env=env, timeout=timeout)
    return completed, time.monotonic() - started


def test_absent_model_offline_fails_fast_with_places_and_remedies():
    completed, seconds = run_cli("models", "--check", "medbert")
    assert completed.returncode == 3
    assert seconds < SILENT_TIMEOUT
    message = completed.stderr
    assert "medbert" in message and "trueto/medbert-base-wwm-chinese" in message
    assert "Hugging Face cache" in message and "HF_HUB_OFFLINE" in message
    assert "HF_ENDPOINT" in message and "directory" in message
    assert "Traceback" not in message


@pytest.mark.slow
def test_a_hub_that_never_answers_does_not_hang_the_command(silent_server):
    completed, seconds = run_cli("models", "--check", "lawformer",
                                 env_overrides={"HF_HUB_OFFLINE": None, "HF_ENDPOINT": silent_server})
    assert completed.returncode == 3, completed.stderr
    assert seconds < SILENT_TIMEOUT
    assert "thunlp/Lawformer" in completed.stderr and "unreachable" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_refused_connection_is_reported(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ModelUnavailableError, match="unreachable"):
        resolve_model("some-org/some-model")


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no model directory"):
        resolve_model(str(tmp_path / "nothing-here"))
    with pytest.raises(ModelUnavailableError, match="holds no model weights"):
        resolve_model(str(tmp_path))


def fake_snapshot(cache, repo_id, files):
    folder = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("0" * 40)
    for name in files:
        (snapshot / name).write_text("{}")
    return snapshot


def test_a_cached_snapshot_is_found_without_network(isolated_hub_cache):
    weights = fake_snapshot(isolated_hub_cache, "thunlp/Lawformer", ["config.json", "pytorch_model.bin"])
    tokenizer = fake_snapshot(isolated_hub_cache, "hfl/chinese-roberta-wwm-ext", ["vocab.txt"])
    source = resolve_model("lawformer")
    assert source.weights_dir == weights and source.tokenizer_dir == tokenizer
    rows = {row["name"]: row for row in list_models()}
    assert rows["lawformer"]["available"] and not rows["medbert"]["available"]


def test_a_cached_config_without_weights_is_not_enough(isolated_hub_cache):
    fake_snapshot(isolated_hub_cache, "trueto/medbert-base-wwm-chinese", ["config.json"])
    with pytest.raises(ModelUnavailableError, match="no snapshot of trueto/medbert-base-wwm-chinese with weights"):
        resolve_model("medbert")


def test_a_model_shipped_in_a_package_resolves_without_the_hub_or_says_it_is_missing(tmp_path, monkeypatch):
    from bertanno import hookimpl
    from bertanno.core.plugins import Plugins
    from bertanno.plugins.specs import ModelSpec

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shipped = tmp_path / "shipped"
    shipped.mkdir()

    class Plugin:
        @hookimpl
        def register_models(self, register):
            register(ModelSpec(name="tiny-shipped", hub_id="example/tiny", description="a shipped model",
                               directory=shipped))

    plugins = Plugins(load_entrypoints=False, extra=[Plugin()])
    with pytest.raises(ModelUnavailableError, match="should be shipped in .*reinstall"):
        resolve_model("tiny-shipped", plugins)
    assert [r["available"] for r in list_models(plugins) if r["name"] == "tiny-shipped"] == [False]
    (shipped / "model.safetensors").write_bytes(b"")
    source = resolve_model("tiny-shipped", plugins)
    assert source.weights_dir == shipped == source.tokenizer_dir
    assert [r["available"] for r in list_models(plugins) if r["name"] == "tiny-shipped"] == [True]


def test_the_default_model_is_bert_base_chinese_when_present_else_the_shipped_zh_mini(isolated_hub_cache):
    from bertanno.core.hub import default_model

    name, reason = default_model()  # an empty hub cache: nothing to use but what ships
    assert name == "zh-mini" and "bert-base-chinese's weights are not on this machine" in reason
    assert resolve_model(name).weights_dir.is_dir()  # and it is there, offline
    fake_snapshot(isolated_hub_cache, "google-bert/bert-base-chinese", ["config.json", "model.safetensors"])
    assert default_model() == ("bert-base-chinese", "bert-base-chinese's weights are on this machine")
