"""Training in several processes (issue 'beyond one machine', part 2) on CPU: two gloo ranks under torch's
launcher train a tiny model to the same result as one process, through the core and through the command line,
with the store touched only by the calling process."""

import random

import pytest
from click.testing import CliRunner
from test_training import BAD, FAST, GOOD, project, tiny_base  # noqa: F401  (fixtures)

from bertanno.cli import cli
from bertanno.core.distributed import rank, world_size
from bertanno.core.training import TrainConfig, train
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example


def separable(count: int, offset: int, seed: int) -> list[Example]:
    """Reviews whose one sentiment word decides the label, half of each."""
    generator = random.Random(seed)
    return [Example(f"第{n + offset}家店{generator.choice(GOOD if n % 2 == 0 else BAD)}",
                    payload="positive" if n % 2 == 0 else "negative") for n in range(count)]


@pytest.mark.slow
def test_two_processes_train_to_the_same_result_as_one(plugins):
    from conftest import MODELS, require

    from bertanno.core.scratch import build_random_bundle

    training, validation = separable(160, 0, 0), separable(40, 1000, 1)
    runs = {}
    for processes in (1, 2):  # the same random start each time (make_bundle's cache would hand out one object)
        bundle = build_random_bundle(require(MODELS / "bert-base-chinese"),
                                     plugins.task("sentiment", labels=["negative", "positive"]), layers=1, hidden=32)
        steps, epochs = [], []
        config = TrainConfig(epochs=4, batch_size=16, learning_rate=3e-3, patience=4, seed=0, device="cpu",
                             processes=processes)
        result = train(bundle, training, validation, config, on_step=lambda step, total, loss: steps.append(step),
                       on_epoch=epochs.append)
        runs[processes] = (result, steps, epochs)
    (one, one_steps, one_epochs), (two, two_steps, two_epochs) = runs[1], runs[2]
    assert one.validation["accuracy"] == two.validation["accuracy"] == 1.0
    assert one_steps == two_steps and one_steps[-1] == 40  # the batch is split, so a step sees 16 examples in both
    assert [e["epoch"] for e in two_epochs] == [1, 2, 3, 4] and two.history == two_epochs
    for a, b in zip(one_epochs, two_epochs):  # the same mean loss per step (not twice it), the same scores
        assert abs(a["loss"] - b["loss"]) < 0.1 and a["accuracy"] == b["accuracy"], (one_epochs, two_epochs)
    assert two.best_epoch == one.best_epoch and not two.interrupted
    from bertanno.core.engine import Predictor

    predictions, _ = Predictor(two.bundle).predict(validation)  # the caller's model got rank 0's best weights
    assert [p.payload for p in predictions] == [e.payload for e in validation]


@pytest.mark.slow
def test_train_with_two_processes_from_the_command_line(project, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    args = ["--db", url, "train", "reviews", "--epochs", str(FAST["epochs"]), "--batch-size",
            str(FAST["batch_size"]), "--lr", str(FAST["learning_rate"]), "--seed", "0", "--processes", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "v001" in result.output and "champion" in result.output
    from bertanno.store.projects import get_project
    from bertanno.store.versions import champion

    with project.transaction() as session:
        version = champion(session, get_project(session, "reviews").id)
    assert version.name == "v001" and version.metrics["accuracy"] >= 0.9, version.metrics


def test_processes_outside_a_job_and_bad_settings():
    assert (world_size(), rank()) == (1, 0)
    with pytest.raises(BertannoError, match="--processes must be at least 1"):
        TrainConfig(processes=0)
    runner = CliRunner()
    usage = runner.invoke(cli, ["train", "reviews", "--processes", "0"])
    assert usage.exit_code == 2 and "--processes" in usage.output
    assert "--processes N" in runner.invoke(cli, ["train", "--help"]).output
    assert "--processes N" in runner.invoke(cli, ["retrain", "--help"]).output


def test_the_frozen_mode_is_refused_with_a_sentence(make_bundle):
    bundle = make_bundle(labels=["negative", "positive"], layers=1, hidden=32)
    config = TrainConfig(mode="frozen", epochs=1, batch_size=8, learning_rate=1e-3, processes=2)
    with pytest.raises(BertannoError, match="use it with --mode full or lora"):
        train(bundle, separable(8, 0, 0), separable(4, 100, 1), config)


@pytest.mark.slow
def test_a_ner_model_trained_in_two_processes_comes_back_with_its_crf_and_feature_table(plugins):
    from conftest import MODELS, require

    from bertanno.core.crf import CRF_KEY
    from bertanno.core.engine import Predictor
    from bertanno.core.scratch import build_random_bundle
    from bertanno.plugins.task import Span

    bundle = build_random_bundle(require(MODELS / "bert-base-chinese"), plugins.task("ner", labels=["PER", "LOC"]),
                                 layers=1, hidden=32)
    examples = [Example(f"张{n % 10}在北京工作", payload=[Span(0, 2, "PER"), Span(3, 5, "LOC")]) for n in range(16)]
    config = TrainConfig(epochs=1, batch_size=8, learning_rate=3e-3, seed=0, device="cpu", processes=2,
                         lexicon_features=True)
    result = train(bundle, examples, examples[:4], config)
    scores = getattr(result.bundle.model.config, CRF_KEY)  # the default head for ner, trained by the ranks
    assert scores and abs(sum(map(abs, scores["start"]))) > 0
    assert result.bundle.token_features is not None and result.bundle.token_features.any()
    predictor = Predictor(result.bundle, device="cpu")
    assert predictor.decoding == {"crf": scores} and predictor.token_features is result.bundle.token_features
