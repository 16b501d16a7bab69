"""A real third-party plugin package, pip-installed, listed by ``bertanno plugins`` and run end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent / "plugins" / "bertanno-topics"


def pip(*args):
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed():
    result = pip("install", "--no-deps", "--no-build-isolation", str(PACKAGE))
    assert result.returncode == 0, result.stderr
    yield
    pip("uninstall", "-y", "bertanno-topics")


def bertanno(*args, load=None):
    env = {k: v for k, v in os.environ.items() if k != "BERTANNO_LOAD_PLUGINS"}
    env["COLUMNS"] = "200"
    if load is not None:
        env["BERTANNO_LOAD_PLUGINS"] = load
    return subprocess.run([sys.executable, "-m", "bertanno", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.slow
def test_plugins_lists_the_installed_plugin_with_hooks_and_version(installed):
    result = bertanno("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    [topics] = [p for p in listing["plugins"] if p["distribution"] == "bertanno-topics"]
    assert topics["version"] == "0.3.1" and not topics["builtin"]
    assert topics["hooks"] == ["register_models", "register_tasks", "register_views"]
    assert topics["registers"] == {"tasks": ["topics"], "models": ["mc-bert"], "views": ["topics"]}
    assert topics["source"].endswith("bertanno_topics.py")
    assert listing["problems"] == []
    table = bertanno("plugins")
    assert "bertanno-topics" in table.stdout and "0.3.1" in table.stdout


def test_the_environment_variable_keeps_it_out(installed):
    listing = json.loads(bertanno("plugins", "--json", load="").stdout)
    assert all(p["distribution"] != "bertanno-topics" for p in listing["plugins"])


@pytest.mark.slow
def test_its_task_runs_end_to_end_like_a_built_in(installed, tmp_path, monkeypatch):
    from conftest import MODELS, require

    from bertanno.core.bundle import save_version
    from bertanno.core.plugins import Plugins
    from bertanno.core.scratch import build_random_bundle

    monkeypatch.setenv("BERTANNO_LOAD_PLUGINS", "topics")
    loaded = Plugins()
    task = loaded.task("topics")
    bundle = build_random_bundle(require(MODELS / "medbert-base-wwm-chinese"), task, layers=1, hidden=32)
    assert bundle.model.config.problem_type == "multi_label_classification"
    version = save_version(bundle, tmp_path / "topics-v1")
    data = tmp_path / "questions.jsonl"
    data.write_text('{"text": "高血压吃什么药", "labels": ["drug"]}\n{"text": "糖尿病人饮食要注意什么"}\n', encoding="utf-8")
    result = bertanno("predict", str(version), str(data), load="topics")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["text"] for row in rows] == ["高血压吃什么药", "糖尿病人饮食要注意什么"]
    for row in rows:
        assert isinstance(row["labels"], list) and set(row["labels"]) <= set(task.labels)
        assert 0.0 <= row["meta"]["prediction"]["confidence"] <= 1.0
    # its view draws the item on the line screen (the full screen's label keys widget draws the same)
    from rich.console import Console

    from bertanno.app.views import render_item
    from bertanno.plugins.task import Example, Prediction

    console = Console(width=60, record=True, color_system=None)
    console.print(render_item(task, Example("高血压吃什么药"), Prediction(["drug"], 0.8), loaded))
    assert "高血压吃什么药\n→ topics: drug" in console.export_text()
    # without the plugin, the saved version says which task is missing instead of crashing
    missing = bertanno("predict", str(version), str(data), load="")
    assert missing.returncode == 1 and "unknown task 'topics'" in missing.stderr and "Traceback" not in missing.stderr
