"""The demo job on the embedded default: everything that exists, end to end, with no network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bertanno.core.bundle import load_version, save_version
from bertanno.core.engine import PredictStats, Predictor
from bertanno.core.reading import read_examples
from bertanno.core.scratch import build_random_bundle
from bertanno.plugins.manager import get_plugins
from bertanno.plugins.task import Example, Prediction

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "chnsenticorp_dev_sample.tsv"


@dataclass
class DemoResult:
    version_dir: Path
    examples: list[Example]
    predictions: list[Prediction]
    stats: PredictStats
    metrics: dict[str, float]


def run_demo(directory: str | Path) -> DemoResult:
    plugins = get_plugins()
    task = plugins.task("sentiment")
    examples = read_examples(SAMPLE, task, "tsv", {"label_map": "0=negative,1=positive"}).examples
    bundle = build_random_bundle(task=task, layers=2, hidden=128, seed=0)
    version_dir = save_version(bundle, Path(directory) / "models" / "demo-v1", {"note": "random weights, untrained"})
    reloaded = load_version(version_dir)
    predictions, stats = Predictor(reloaded).predict(examples)
    metrics = task.metrics([e.payload for e in examples], [p.payload for p in predictions])
    return DemoResult(version_dir, examples, predictions, stats, metrics)
