"""Fine-tuning a bundle on examples: full fine-tuning or LoRA through transformers' Trainer, or a
frozen encoder whose features are computed once and cached while only the head trains.

Whatever the mode, the model is scored after each epoch with the same decoding ``predict`` uses,
the best epoch is kept, training stops early when the validation score stops improving, and
Ctrl-C stops cleanly with the best weights so far.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bertanno.core.bundle import ModelBundle
from bertanno.core.crf import CRF_KEY, CRF_LEARNING_RATE, CRF_MODULE, attach_crf, check_head, detach_crf
from bertanno.core.distributed import train_in_processes, world_size
from bertanno.core.engine import Predictor, check_device, pad_batch, score_model
from bertanno.core.token_features import FEATURE_LEARNING_RATE, FEATURE_MODULE, detach_features
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example

MODES = ("full", "frozen", "lora")
ADAPTER_LEARNING_RATE = 2e-4
"""LoRA adapters and a head on a frozen encoder train few weights and take a larger step (the PEFT tutorial's)."""
SMALL_HIDDEN = 768
"""Encoders narrower than BERT-base count as small."""


@dataclass(frozen=True)
class TrainingDefaults:
    """What training uses when --lr, --epochs or --batch-size are not given, and why."""

    kind: str
    """``a pretrained encoder``, ``a small pretrained encoder (hidden H)`` or ``random weights``."""
    learning_rate: float
    epochs: int
    batch_size: int
    source: str
    """Where the numbers come from."""


TOKEN_STEPS = 500
"""Optimizer steps a token task's training plan reaches at least (``token_task_epochs``)."""
MAX_TOKEN_EPOCHS = 30
TOKEN_PATIENCE = 3


def token_task_epochs(examples: int, batch_size: int, rule_epochs: int) -> int:
    """Epochs for a token task (NER) of ``examples`` training examples: enough for ``TOKEN_STEPS`` optimizer
    steps, at least the model's rule and at most ``MAX_TOKEN_EPOCHS`` (early stopping ends it sooner when
    validation stalls). Measured here: zh-mini's token head at 4 epochs scored 0.000 on validation after epochs
    1 and 2 on a held-out NER set of 1,215 sentences, and 12 epochs lifted three held-out NER sets by 6 to 19
    points of entity F1; a set of 20,000 sentences reaches the steps within the rule's epochs."""
    steps_per_epoch = max(1, math.ceil(examples / batch_size))
    return min(MAX_TOKEN_EPOCHS, max(rule_epochs, math.ceil(TOKEN_STEPS / steps_per_epoch)))


SENTENCE_STEPS = 120
"""Optimizer steps a sentence or pair task's training plan reaches at least (``sentence_task_epochs``): 4 epochs
of 930 examples at batch 32, what the rule's 4 epochs were measured on (the demo's reviews)."""
MAX_SENTENCE_EPOCHS = 16
SENTENCE_PATIENCE = 3


def sentence_task_epochs(examples: int, batch_size: int, rule_epochs: int) -> int:
    """Epochs for a sentence or pair task of ``examples`` training examples: enough for ``SENTENCE_STEPS``
    optimizer steps, at least the model's rule and at most ``MAX_SENTENCE_EPOCHS``. Measured with zh-mini
    (``benchmarks.sentence_plan``): on 270 ChnSentiCorp reviews the rule's 4 epochs (36 steps) stopped at its best,
    the first, with accuracy 0.572, and 16 epochs reached 0.761 (best epoch 6); on 1,350 reviews (172 steps) 12
    epochs scored 2.1 points under the rule's 4, so from about 1,000 examples the rule stands."""
    steps_per_epoch = max(1, math.ceil(examples / batch_size))
    return min(MAX_SENTENCE_EPOCHS, max(rule_epochs, math.ceil(SENTENCE_STEPS / steps_per_epoch)))


def training_defaults(bundle: ModelBundle, mode: str = "full") -> TrainingDefaults:
    """The documented rule for a model's training defaults, by how its weights came to be and its width:

    - pretrained, hidden >= 768 (bert-base-chinese, medbert, Lawformer): lr 2e-5, 3 epochs, batch 16, from the
      BERT paper's fine-tuning grid (Devlin et al. 2019, appendix A.3: lr 5e-5/3e-5/2e-5, batch 16/32, 2-4 epochs);
    - pretrained, narrower (zh-mini and other compact BERTs): lr 2e-4, 4 epochs, batch 32: epochs and batch from
      the compact-BERT grid (Turc et al. 2019, "Well-Read Students Learn Better": 4 epochs, batch up to 128), the
      lr measured here above that grid's 1e-4: zh-mini on the demo's 1,182 reviews, evaluation accuracy 0.845 at
      2e-4 (mean of seeds 0-2), 0.833 at 3e-4, 0.797 at 1e-4 (seed 0), where a 2 x 128 model from random weights
      at its own rule reached 0.817 (``benchmarks.zh_mini_demo``);
    - random weights (``core.scratch``, and versions trained from them): lr 1e-3, 4 epochs, batch 32, measured
      here: a 2 x 128 model from random weights reaches 0.83 accuracy on the demo's ChnSentiCorp reviews with
      these and stays at chance with the pretrained rule.

    LoRA and a frozen encoder's head take ``ADAPTER_LEARNING_RATE`` unless the weights are random.
    ``bundle.model.config.hidden_size`` gives the width."""
    if not bundle.pretrained:
        return TrainingDefaults("random weights", 1e-3, 4, 32, "a model trained from scratch needs a large step")
    hidden = getattr(getattr(bundle.model, "config", None), "hidden_size", SMALL_HIDDEN)
    if hidden < SMALL_HIDDEN:
        rule = TrainingDefaults(f"a small pretrained encoder (hidden {hidden})", 2e-4, 4, 32,
                                "the compact-BERT grid, lr measured on zh-mini")
    else:
        rule = TrainingDefaults("a pretrained encoder", 2e-5, 3, 16, "the BERT paper's fine-tuning grid")
    return rule if mode == "full" else replace(rule, learning_rate=ADAPTER_LEARNING_RATE,
                                               source=rule.source + f"; {ADAPTER_LEARNING_RATE:g} for {mode}")


@dataclass
class TrainConfig:
    mode: str = "full"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    """``None``: by the model (``training_defaults``), filled in by ``for_model`` before training."""
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    patience: int = 2
    """Epochs without a better validation score before stopping."""
    seed: int = 42
    class_weights: bool = True
    """Weigh the loss by inverse label frequency when labels are imbalanced (classification)."""
    device: str | None = None
    cache_dir: Path | None = None
    """Where the frozen mode keeps encoder features between runs."""
    processes: int = 1
    """Data-parallel training processes (``core.distributed``): one per GPU, or per share of the CPU cores."""
    layer_decay: float = 1.0
    """Layer-wise learning-rate decay (``learning_rate_scale``): each encoder layer below the top learns at this
    factor of the one above; 1: every layer at the same rate."""
    lexicon_features: bool | None = None
    """A token task's feature table beside the encoder (``core.token_features``): bigrams, jieba words and term
    matches; ``None``: on for NER in full fine-tuning (``chosen_features``)."""
    head: str | None = None
    """A token task's output layer (``core.crf.HEADS``): ``softmax`` (each token's tag on its own, constrained
    Viterbi at decoding) or ``crf`` (a linear-chain CRF trained by its likelihood); ``None``: ``crf`` for a task
    that decodes IOB2 tags, else ``softmax`` (``chosen_head``)."""
    checkpoint_dir: Path | None = None
    """Full fine-tuning in one process only: keep a checkpoint here after each epoch (weights, optimizer, scheduler,
    random states and the judge's best epoch) and, when one is there, resume from it, so a killed run loses at
    most the epoch it was in. A run that ended resumes as ended. The caller removes the folder when done."""

    def __post_init__(self):
        if self.mode not in MODES:
            raise BertannoError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.epochs is not None and self.epochs < 1:
            raise BertannoError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise BertannoError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise BertannoError(f"--lr must be a positive number, got {self.learning_rate}")
        if self.patience < 1:
            raise BertannoError(f"--patience must be at least 1, got {self.patience}")
        check_device(self.device)
        if self.processes < 1:
            raise BertannoError(f"--processes must be at least 1, got {self.processes}")
        if self.checkpoint_dir is not None and (self.mode != "full" or self.processes > 1):
            raise BertannoError("checkpoints between epochs are kept for full fine-tuning in one process only")
        if not 0 < self.layer_decay <= 1:
            raise BertannoError(f"--layer-decay must be above 0 and at most 1, got {self.layer_decay}")
        if self.lexicon_features and self.mode != "full":
            raise BertannoError("--lexicon-features trains with --mode full")
        if self.head is not None:
            from bertanno.core.crf import HEADS

            if self.head not in HEADS:
                raise BertannoError(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
            if self.head == "crf" and self.mode == "frozen":
                raise BertannoError("--head crf trains with --mode full or lora (the frozen mode trains sentence "
                                    "heads)")

    def for_model(self, bundle: ModelBundle, examples: int | None = None) -> tuple["TrainConfig", TrainingDefaults]:
        """This config with every unset number taken from ``training_defaults(bundle, mode)``, and the rule; with
        ``examples`` (the training examples) a token task's epochs by ``token_task_epochs`` and its patience
        raised to ``TOKEN_PATIENCE``, another task's by ``sentence_task_epochs`` and ``SENTENCE_PATIENCE``, when
        epochs were not given."""
        rule = training_defaults(bundle, self.mode)
        batch = self.batch_size or rule.batch_size
        patience = self.patience
        if examples and self.epochs is None:
            token = getattr(bundle.task, "head", None) == "token"
            epochs = (token_task_epochs if token else sentence_task_epochs)(examples, batch, rule.epochs)
            if epochs != rule.epochs:
                steps, wait = (TOKEN_STEPS, TOKEN_PATIENCE) if token else (SENTENCE_STEPS, SENTENCE_PATIENCE)
                why = ("a token head needs many more passes than a sentence head" if token
                       else "a small set gets few steps an epoch")
                rule = replace(rule, epochs=epochs, source=rule.source + (
                    f"; {epochs} epochs for {examples:,} examples{' of a token task' if token else ''} (at least "
                    f"{steps} steps: {why}), patience {wait}"))
                patience = max(patience, wait)
        return replace(self, epochs=self.epochs or rule.epochs, batch_size=batch, patience=patience,
                       learning_rate=self.learning_rate or rule.learning_rate), rule

    def describe(self) -> str:
        """``lr 0.001, 4 epochs, batch 32`` (after ``for_model``), then the layer decay when there is one,
        ``crf head`` with a CRF and ``lexicon features`` with a feature table."""
        head = ", crf head" if self.head == "crf" else ""
        decay = f", layer decay {self.layer_decay:g}" if self.layer_decay != 1.0 else ""
        features = ", lexicon features" if self.lexicon_features else ""
        return f"lr {self.learning_rate:g}, {self.epochs} epochs, batch {self.batch_size}{decay}{head}{features}"

    @property
    def lr(self) -> float:
        if self.learning_rate is None:
            raise BertannoError("the learning rate is set by the model: call TrainConfig.for_model first")
        return self.learning_rate


@dataclass
class TrainResult:
    bundle: ModelBundle
    validation: dict[str, float]
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    interrupted: bool = False
    unexpressible: int = 0
    seconds_per_epoch: float = 0.0


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def headline(scores: dict[str, float]) -> float:
    return next(iter(scores.values())) if scores else 0.0


def score(bundle: ModelBundle, examples: Sequence[Example], device: str | None = None) -> dict[str, float]:
    """The task's metrics for ``bundle`` on labelled ``examples``, decoded exactly as ``predict`` does."""
    if not examples:
        return {}
    was_training = bundle.model.training
    scores = score_model(Predictor(bundle, device=device), examples)
    bundle.model.train(was_training)
    return scores


def encode_for_training(bundle: ModelBundle, examples: Sequence[Example]) -> tuple[list[dict], int]:
    """Training windows with labels, and how many spans the tokenizer could not express."""
    from bertanno.core.token_features import FEATURE_MODULE, windows_feature_ids

    with_features = getattr(bundle.model, FEATURE_MODULE, None) is not None
    windows, unexpressible = [], 0
    for example in examples:
        encoded = bundle.task.encode(bundle.tokenizer, example, bundle.max_length, with_labels=True)
        unexpressible += len(encoded.unexpressible)
        if with_features:
            for window, ids in zip(encoded.windows, windows_feature_ids(
                    example.text, [w["offset_mapping"] for w in encoded.windows], bundle.added_terms)):
                window["feature_ids"] = ids
        for window in encoded.windows:
            windows.append({k: v for k, v in window.items() if k != "offset_mapping"})
    return windows, unexpressible


def label_weights(bundle: ModelBundle, examples: Sequence[Example]) -> list[float] | None:
    """Inverse-frequency weights for single-label classification when the largest class is 1.5x the smallest."""
    task = bundle.task
    if task.head != "sequence" or task.multi_label:
        return None
    counts = Counter(e.payload for e in examples)
    present = [counts.get(label, 0) for label in task.labels]
    if min(present) == 0 or max(present) < 1.5 * min(present):
        return None
    total = sum(present)
    return [total / (len(present) * count) for count in present]


class EpochJudge:
    """Scores each epoch, remembers the best weights, and says when to stop."""

    def __init__(self, bundle: ModelBundle, validation: Sequence[Example], patience: int, device: str | None,
                 on_epoch: Callable[[dict], None] | None = None):
        self.bundle, self.validation, self.patience, self.device = bundle, validation, patience, device
        self.on_epoch = on_epoch
        self.history: list[dict] = []
        self.best_score = -math.inf
        self.best_state = None
        self.best_epoch = 0
        self.best_scores: dict[str, float] = {}

    def __call__(self, epoch: int, loss: float | None) -> bool:
        """Record the epoch; ``True`` means stop."""
        scores = score(self.bundle, self.validation, self.device)
        record = {"epoch": epoch, "loss": loss, **scores}
        self.history.append(record)
        if self.on_epoch:
            self.on_epoch(record)
        value = headline(scores) if scores else -float(loss or 0.0)
        if value > self.best_score:
            self.best_score, self.best_epoch, self.best_scores = value, epoch, scores
            self.best_state = copy.deepcopy(self.bundle.model.state_dict())
            return False
        return epoch - self.best_epoch >= self.patience

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.bundle.model.load_state_dict(self.best_state)

    def state(self) -> dict:
        """What a resumed run needs of the judge (``TrainConfig.checkpoint_dir``): tensors, numbers and lists."""
        return {"history": self.history, "best_score": self.best_score, "best_state": self.best_state,
                "best_epoch": self.best_epoch, "best_scores": self.best_scores}

    def load_state(self, state: dict) -> None:
        self.history, self.best_score, self.best_state = state["history"], state["best_score"], state["best_state"]
        self.best_epoch, self.best_scores = state["best_epoch"], state["best_scores"]


def train(bundle: ModelBundle, examples: Sequence[Example], validation: Sequence[Example], config: TrainConfig,
          on_step: Callable[[int, int, float | None], None] | None = None,
          on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Fine-tune ``bundle`` in place on ``examples``; ``validation`` picks the best epoch."""
    if not examples:
        raise BertannoError("nothing to train on: the project has no labelled items outside its evaluation split")
    config, _ = config.for_model(bundle)  # a no-op for a config already filled in
    if config.processes > 1 and world_size() == 1:  # the caller of a multi-process job; its workers train below
        return train_in_processes(bundle, examples, validation, config, on_step, on_epoch)
    trainer = {"full": _train_with_trainer, "lora": _train_lora, "frozen": _train_frozen_head}[config.mode]
    with_crf = prepare_head(bundle, config.head)
    with_features = prepare_features(bundle, config.lexicon_features, config.mode)
    try:
        return judged_training(bundle, validation, config,
                               lambda judge: trainer(bundle, examples, config, judge, on_step), on_epoch)
    finally:
        if with_crf:
            detach_crf(bundle.model)
        if with_features:
            bundle.token_features = detach_features(bundle.model)


def chosen_features(bundle: ModelBundle, wanted: bool | None, mode: str = "full") -> bool:
    """Whether ``bundle`` trains with the lexicon feature table for ``--lexicon-features`` ``wanted``: as given,
    or (``None``) on for a task that decodes IOB2 tags (``Task.crf_decoding``: ner, relations) in full
    fine-tuning, off otherwise. On by default since it measured better with the CRF head on the shared NER sets,
    same zh-mini, plan and examples: entity F1 0.773 -> 0.807 (cMedQANER), 0.834 -> 0.846 (CAIL2021 xxcq),
    0.615 -> 0.684 (MSRA), above a CRF over characters alone on all three
    (``python -m benchmarks.crf_head``)."""
    if wanted is None:
        return bool(bundle.task.crf_decoding) and mode == "full"
    return wanted


def prepare_features(bundle: ModelBundle, wanted: bool | None, mode: str = "full") -> bool:
    """Attach a feature table to ``bundle.model`` (``core.token_features``) when ``chosen_features`` says so,
    starting from the bundle's table (a version trained with one) or zeros; drop the bundle's table when it is
    not wanted. Returns whether a table trains. Raises ``BertannoError`` when features are asked for a task
    without tokens to tag."""
    from bertanno.core.token_features import FEATURES_KEY, attach_features

    wanted = chosen_features(bundle, wanted, mode)
    if wanted and bundle.task.head != "token":
        raise BertannoError(f"--lexicon-features adds features per token; task {bundle.task.name!r} has no tokens "
                            "to tag (they are for ner)")
    if not wanted:
        bundle.token_features = None
        if getattr(bundle.model.config, FEATURES_KEY, None):
            setattr(bundle.model.config, FEATURES_KEY, None)
        return False
    attach_features(bundle.model, len(bundle.task.model_labels), bundle.token_features)
    return True


def chosen_head(bundle: ModelBundle, head: str | None) -> str:
    """The head ``bundle`` trains with for ``--head`` ``head``: as given, or (``None``) ``crf`` for a task that
    decodes IOB2 tags (``Task.crf_decoding``: ner, relations) and ``softmax`` for any other. The CRF is the
    default since it measured better than the softmax head on all three shared NER sets, the same zh-mini, plan
    and examples: entity F1 0.759 -> 0.773 (cMedQANER), 0.791 -> 0.834 (CAIL2021 xxcq), 0.564 -> 0.615 (MSRA)
    (``python -m benchmarks.crf_head``). Raises ``BertannoError`` when the task cannot take a CRF
    (``core.crf.check_head``)."""
    if head is None:
        head = "crf" if bundle.task.crf_decoding else "softmax"
    check_head(head, bundle.task)
    return head


def prepare_head(bundle: ModelBundle, head: str | None) -> bool:
    """Set ``bundle.model`` up for the head ``chosen_head`` picks: attach a CRF layer (from the scores the model
    has, or zeros) or drop CRF scores a softmax head must not decode with. Returns whether a CRF trains."""
    if chosen_head(bundle, head) == "crf":
        attach_crf(bundle.model, bundle.task.model_labels)
        return True
    if getattr(bundle.model.config, CRF_KEY, None):
        setattr(bundle.model.config, CRF_KEY, None)
    return False


def judged_training(bundle: ModelBundle, validation: Sequence[Example], config: TrainConfig,
                    fit: Callable[[EpochJudge], tuple[bool, int, float]],
                    on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Seed, then run ``fit(judge)`` (which trains ``bundle.model`` in place and returns whether it stopped early,
    the unexpressible spans and the seconds per epoch) with an ``EpochJudge`` scoring each epoch on ``validation``;
    keep the best epoch's weights. Ctrl-C during ``fit`` ends it cleanly with the best weights so far
    (``TrainResult.interrupted``). ``config`` must be filled in (``TrainConfig.for_model``)."""
    set_seed(config.seed)
    judge = EpochJudge(bundle, validation, config.patience, config.device, on_epoch)
    interrupted = False
    try:
        stopped_early, unexpressible, seconds = fit(judge)
    except KeyboardInterrupt:
        interrupted, stopped_early, unexpressible, seconds = True, False, 0, 0.0
    judge.restore_best()
    bundle.model.eval()
    return TrainResult(bundle, judge.best_scores, judge.history, judge.best_epoch, stopped_early, interrupted,
                       unexpressible, seconds)


# -- full fine-tuning and LoRA: transformers' Trainer -------------------------------------------------------------

JUDGE_FILE = "bertanno_judge.pt"
"""Beside each epoch's checkpoint of transformers' Trainer: the judge's state, written after the checkpoint, so a
checkpoint folder without it was cut off while saving and is not resumed from."""


def _trainer_callback(judge: EpochJudge, on_step):
    import os
    import time

    from transformers import TrainerCallback

    class JudgeEachEpoch(TrainerCallback):
        last_loss: float | None = None
        stopped_early = False
        seconds_before = 0.0  # training seconds of the runs this one resumes
        started = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def seconds(self) -> float:
            """Training seconds so far, the resumed runs' included."""
            return self.seconds_before + time.perf_counter() - self.started

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.last_loss = float(logs["loss"])

        def on_step_end(self, args, state, control, **kwargs):
            if on_step:
                on_step(state.global_step, state.max_steps, self.last_loss)

        def on_epoch_end(self, args, state, control, **kwargs):
            if judge(round(state.epoch or 0), self.last_loss):
                self.stopped_early = True
                control.should_training_stop = True

        def on_save(self, args, state, control, **kwargs):
            import torch

            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            saved = {**judge.state(), "stopped_early": self.stopped_early, "last_loss": self.last_loss,
                     "ended": self.stopped_early or state.global_step >= state.max_steps,
                     "seconds": self.seconds()}
            torch.save(saved, folder / (JUDGE_FILE + ".partial"))
            os.replace(folder / (JUDGE_FILE + ".partial"), folder / JUDGE_FILE)

    return JudgeEachEpoch()


def last_checkpoint(folder: Path) -> Path | None:
    """The latest complete epoch checkpoint in ``folder`` (``TrainConfig.checkpoint_dir``), or ``None``."""
    complete = [path for path in Path(folder).glob("checkpoint-*")
                if path.name.split("-")[-1].isdigit() and (path / JUDGE_FILE).is_file()]
    return max(complete, key=lambda path: int(path.name.split("-")[-1]), default=None)


def _weighted_loss(weights: list[float] | None):
    if weights is None:
        return None
    import torch

    def compute_loss(outputs, labels, num_items_in_batch=None):
        loss = torch.nn.functional.cross_entropy(outputs.logits, labels,
                                                 weight=torch.tensor(weights, device=outputs.logits.device))
        return loss

    return compute_loss


def run_trainer(model, windows: list[dict], collate: Callable[[list[dict]], dict], config: TrainConfig,
                judge: EpochJudge, on_step, trainer_class=None, compute_loss_func=None) -> tuple[bool, float]:
    """Train ``model`` on ``windows`` with transformers' ``Trainer`` (or ``trainer_class``, a subclass: e.g. one
    whose ``compute_loss`` reads extra fields of the batch), ``collate`` making each batch, ``judge`` scoring
    each epoch and stopping early; nothing saved to disk unless ``config.checkpoint_dir`` is set (then a checkpoint
    after each epoch, and a resume from the last one there). Returns whether it stopped early and the seconds per
    epoch (over all the runs a resumed one continues). ``config`` must be filled in (``TrainConfig.for_model``)."""
    import torch
    from transformers import PrinterCallback, Trainer, TrainingArguments

    use_cpu = config.device == "cpu" or (config.device is None and not torch.cuda.is_available())
    # on a GPU: mixed precision, bf16 where the GPU has it (float32 master weights either way); on the CPU float32,
    # since bf16 without AVX-512-BF16/AMX is emulated (Predictor's note)
    on_cuda = not use_cpu and (config.device or "cuda").startswith("cuda")
    bf16 = on_cuda and torch.cuda.is_bf16_supported()
    ranks = world_size()  # > 1 in a worker of core.distributed: each rank takes its share of the batch
    callback = _trainer_callback(judge, on_step)
    resume = None
    if config.checkpoint_dir is not None:
        Path(config.checkpoint_dir).mkdir(parents=True, exist_ok=True)
        resume = last_checkpoint(config.checkpoint_dir)
        if resume is not None:
            saved = torch.load(resume / JUDGE_FILE, weights_only=True)
            judge.load_state(saved)
            callback.stopped_early, callback.last_loss = saved["stopped_early"], saved["last_loss"]
            callback.seconds_before = saved["seconds"]
            if saved["ended"]:  # the run had finished: nothing left to train
                return callback.stopped_early, saved["seconds"] / max(1, len(judge.history))
    with contextlib.ExitStack() as stack:
        # without a checkpoint folder, the Trainer's output goes to a scratch folder and nothing is saved
        output = config.checkpoint_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bertanno-trainer-"))
        arguments = TrainingArguments(
            output_dir=str(output),
            num_train_epochs=config.epochs,
            per_device_train_batch_size=max(1, config.batch_size // ranks),
            learning_rate=config.lr,
            weight_decay=config.weight_decay,
            warmup_steps=config.warmup_ratio,
            lr_scheduler_type="linear",
            train_sampling_strategy="group_by_length",
            save_strategy="epoch" if config.checkpoint_dir else "no",
            save_total_limit=2,  # the newest may be cut off by a kill while saving: keep the one before it
            eval_strategy="no",
            logging_steps=max(1, len(windows) // config.batch_size // 10),
            report_to="none",
            disable_tqdm=True,
            seed=config.seed,
            use_cpu=use_cpu,
            bf16=bf16,
            fp16=on_cuda and not bf16,
            remove_unused_columns=False,
            dataloader_num_workers=0,
            ddp_backend=("gloo" if use_cpu else "nccl") if ranks > 1 else None,
            # each rank's loss is the mean over its share and DDP averages the gradients: the step's mean, as in
            # one process (averaging tokens across devices would scale a model's own mean loss by the ranks)
            average_tokens_across_devices=False,
        )
        trainer = (trainer_class or Trainer)(
            model=model,
            args=arguments,
            train_dataset=windows,
            data_collator=collate,
            callbacks=[callback],
            compute_loss_func=compute_loss_func,
        )
        trainer.remove_callback(PrinterCallback)  # progress goes through on_step, not printed dicts
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    epochs = max(1, len(judge.history))
    return callback.stopped_early, callback.seconds() / epochs


LAYER = re.compile(r"(?:^|\.)(?:encoder\.)?layers?\.(\d+)\.")


def learning_rate_scale(name: str, layers: int, decay: float) -> float:
    """Layer-wise learning-rate decay (Howard and Ruder 2018, "Universal Language Model Fine-tuning"; Sun et al.
    2019, "How to Fine-Tune BERT for Text Classification"): the factor on the learning rate of the parameter
    ``name`` of an encoder with ``layers`` layers: 1 for the head (classifier, pooler, CRF), ``decay ** (layers -
    i)`` for layer ``i`` (0 the lowest), ``decay ** (layers + 1)`` for the embeddings. ``decay`` 1: no decay."""
    if decay == 1.0:
        return 1.0
    match = LAYER.search(name)
    if match:
        return decay ** (layers - int(match.group(1)))
    if "embeddings" in name.split("."):
        return decay ** (layers + 1)
    return 1.0


def _grouped_trainer(layer_decay: float = 1.0):
    """transformers' Trainer whose AdamW gives the parameters under ``CRF_MODULE`` and ``FEATURE_MODULE`` their own
    steps (``CRF_LEARNING_RATE``, ``FEATURE_LEARNING_RATE``, no weight decay) and the encoder's layers the step ``learning_rate_scale`` gives them;
    weight decay as the Trainer groups it (none on biases and LayerNorm)."""
    import torch
    from transformers import Trainer

    class GroupedTrainer(Trainer):
        def create_optimizer(self, model=None):
            if self.optimizer is None:
                model = self.model if model is None else model
                decay = set(self.get_decay_parameter_names(model))
                layers = int(getattr(getattr(model, "config", None), "num_hidden_layers", 0) or 0)
                groups: dict[tuple[float, float], list] = {}
                for name, parameter in model.named_parameters():
                    if not parameter.requires_grad:
                        continue
                    if CRF_MODULE in name.split("."):
                        key = (CRF_LEARNING_RATE, 0.0)
                    elif FEATURE_MODULE in name.split("."):
                        key = (FEATURE_LEARNING_RATE, 0.0)
                    else:
                        key = (self.args.learning_rate * learning_rate_scale(name, layers, layer_decay),
                               self.args.weight_decay if name in decay else 0.0)
                    groups.setdefault(key, []).append(parameter)
                self.optimizer = torch.optim.AdamW(
                    [{"params": params, "lr": lr, "weight_decay": weight_decay}
                     for (lr, weight_decay), params in groups.items()],
                    lr=self.args.learning_rate, betas=(self.args.adam_beta1, self.args.adam_beta2),
                    eps=self.args.adam_epsilon)
            return self.optimizer

    return GroupedTrainer


def _run_trainer(bundle: ModelBundle, model, examples, config: TrainConfig, judge: EpochJudge, on_step):
    windows, unexpressible = encode_for_training(bundle, examples)
    keep_token_types = getattr(bundle.model.config, "type_vocab_size", 1) > 1
    pad_id = bundle.tokenizer.pad_token_id or 0
    crf = getattr(bundle.model, CRF_MODULE, None)
    grouped = crf is not None or config.layer_decay != 1.0 or getattr(bundle.model, FEATURE_MODULE, None) is not None
    # a CRF's loss comes from the model itself (core.crf.attach_crf's hook); class weights are for sentence heads
    loss = _weighted_loss(label_weights(bundle, examples) if config.class_weights else None)
    stopped_early, seconds = run_trainer(
        model, windows, lambda batch: pad_batch(batch, pad_id, keep_token_types, with_labels=True), config, judge,
        on_step, trainer_class=_grouped_trainer(config.layer_decay) if grouped else None, compute_loss_func=loss)
    return stopped_early, unexpressible, seconds


def _train_with_trainer(bundle, examples, config, judge, on_step):
    return _run_trainer(bundle, bundle.model, examples, config, judge, on_step)


def _train_lora(bundle, examples, config, judge, on_step):
    try:
        from peft import LoraConfig, TaskType, get_peft_model
    except ImportError:
        raise BertannoError("LoRA needs the peft package: pip install 'bertanno[lora]'") from None
    task_type = TaskType.TOKEN_CLS if bundle.task.head == "token" else TaskType.SEQ_CLS
    lora = LoraConfig(task_type=task_type, r=8, lora_alpha=16, lora_dropout=0.1, target_modules=["query", "value"])
    crf = getattr(bundle.model, CRF_MODULE, None)
    peft_model = get_peft_model(bundle.model, lora)
    if crf is not None:  # the adapter freezes what it does not wrap; the CRF's scores train beside it
        crf.requires_grad_(True)
    bundle.model = peft_model  # scored through the adapter while training
    try:
        result = _run_trainer(bundle, peft_model, examples, config, judge, on_step)
        judge.restore_best()
        judge.best_state = None
    finally:
        bundle.model = peft_model.merge_and_unload()
    return result


# -- frozen encoder: cached features, a trained head -------------------------------------------------------------

def _head(model):
    head = getattr(model, "classifier", None)
    if head is None:
        raise BertannoError(f"frozen mode needs a model with a 'classifier' head; {type(model).__name__} has none")
    return head


def encoder_features(bundle: ModelBundle, windows: list[dict], batch_size: int = 32):
    """The inputs of the classification head for each window, computed once under inference mode."""
    import torch

    head = _head(bundle.model)
    captured = []
    hook = head.register_forward_pre_hook(lambda module, inputs: captured.append(inputs[0].detach()))
    keep_token_types = getattr(bundle.model.config, "type_vocab_size", 1) > 1
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]["input_ids"]))
    features = [None] * len(windows)
    bundle.model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                indices = order[start:start + batch_size]
                batch = pad_batch([windows[i] for i in indices], bundle.tokenizer.pad_token_id or 0, keep_token_types)
                captured.clear()
                bundle.model(**batch)
                inputs = captured[0]
                for row, index in enumerate(indices):
                    # A head that reads a sequence (RoBERTa/Longformer style) only reads its first token.
                    features[index] = inputs[row, :1].clone() if inputs.dim() == 3 else inputs[row].clone()
    finally:
        hook.remove()
    return torch.stack(features)


def _cache_key(bundle: ModelBundle, examples: Sequence[Example]) -> str:
    from bertanno.core.pooling import POOLING_KEY

    digest = hashlib.sha256()
    digest.update(json.dumps([bundle.base_model, bundle.max_length, bundle.metadata.get("created"),
                              getattr(bundle.model.config, POOLING_KEY, None),
                              bundle.task.describe()["config"]], sort_keys=True).encode())  # which features
    for parameter in list(bundle.model.base_model.parameters())[:3]:  # which weights, cheaply
        digest.update(parameter.detach().float().cpu().numpy().tobytes()[:4096])
    for example in examples:
        digest.update(example.text.encode() + b"\x1f" + (example.text_b or "").encode() + b"\x1e")
    return digest.hexdigest()[:24]


def cached_features(bundle: ModelBundle, examples: Sequence[Example], windows: list[dict], cache_dir: Path | None):
    import torch

    if cache_dir is None:
        return encoder_features(bundle, windows), False
    path = Path(cache_dir) / f"features-{_cache_key(bundle, examples)}.pt"
    if path.exists():
        return torch.load(path, weights_only=True), True
    features = encoder_features(bundle, windows)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(features, path)
    return features, False


def _train_frozen_head(bundle, examples, config, judge, on_step):
    import time

    import torch

    if bundle.task.head != "sequence" or bundle.task.multi_label:
        raise BertannoError("frozen mode trains a classification head on cached sentence features; "
                            f"task {bundle.task.name!r} needs full or lora")
    windows, _ = encode_for_training(bundle, examples)
    features, _ = cached_features(bundle, examples, windows, config.cache_dir)
    labels = torch.tensor([w["labels"] for w in windows])
    head = _head(bundle.model)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.lr, eps=1e-8)
    weights = label_weights(bundle, examples) if config.class_weights else None
    loss_function = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights) if weights else None)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(windows) / config.batch_size)
    total = steps_per_epoch * config.epochs
    started = time.perf_counter()
    step = 0
    for epoch in range(1, config.epochs + 1):
        head.train()
        permutation = torch.randperm(len(windows), generator=generator)
        running = 0.0
        for start in range(0, len(windows), config.batch_size):
            batch = permutation[start:start + config.batch_size]
            logits = head(features[batch])
            logits = logits.squeeze(1) if logits.dim() == 3 else logits
            loss = loss_function(logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
            step += 1
            if on_step:
                on_step(step, total, loss.item())
        head.eval()
        if judge(epoch, running / steps_per_epoch):
            return True, 0, (time.perf_counter() - started) / epoch
    return False, 0, (time.perf_counter() - started) / config.epochs
