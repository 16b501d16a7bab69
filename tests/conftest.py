"""Shared fixtures: no entry-point autoload, no real model cache, small random models from ../shared/models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before bertanno is imported anywhere: tests never autoload entry points or touch a real cache.
os.environ["BERTANNO_LOAD_PLUGINS"] = ""
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BERTANNO_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
RAW = SHARED / "data" / "raw"


def require(path: Path) -> Path:
    """``path`` under the shared folder; the test is skipped only when there is no shared folder at all."""
    if not SHARED.exists():
        pytest.skip(f"no shared folder at {SHARED} (set BERTANNO_SHARED)")
    return path


@pytest.fixture(autouse=True)
def isolated_hub_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("hf-cache")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(cache.parent / "hf-home"))
    return cache


@pytest.fixture(scope="session")
def plugins():
    from bertanno.plugins.manager import Plugins

    return Plugins(load_entrypoints=False)


@pytest.fixture(scope="session")
def make_bundle(plugins):
    """``make_bundle("bert-base-chinese", "ner")``: a small random model of that real architecture, cached."""
    from bertanno.core.scratch import build_random_bundle

    cache = {}

    def make(model: str = "bert-base-chinese", task: str = "sentiment", labels=None, layers: int = 2,
             hidden: int = 64, **kwargs):
        key = (model, task, tuple(labels or ()), layers, hidden, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = build_random_bundle(require(MODELS / model), plugins.task(task, labels=labels),
                                             layers=layers, hidden=hidden, **kwargs)
        return cache[key]

    return make
