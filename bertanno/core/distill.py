"""Distillation: a small, fast student trained to give the outputs a fine-tuned teacher gives, on every text of a
project, labelled or not (Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural Network"). The
unlabelled texts are the point: the teacher labels them all, softly, so the student learns from far more than
the person annotated.

A student starts from the teacher's own lower layers (``student_from_layers``: RBT3-style layer selection) or
from another encoder with the same vocabulary (zh-mini, with a new head). Its weights are trained with
transformers' ``Trainer`` on the task's ``soft_target_loss``; each epoch is scored on labelled validation
examples as ``train`` does, and the best epoch is kept.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from bertanno.core.bundle import ModelBundle
from bertanno.core.engine import Predictor, pad_batch
from bertanno.core.training import TrainConfig, TrainResult, judged_training, run_trainer
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example

TEMPERATURE = 2.0
"""How far the teacher's distributions are softened; DistilBERT's (Sanh et al. 2019, "DistilBERT, a distilled
version of BERT", trained with temperature 2)."""


def check_temperature(temperature: float) -> float:
    """``temperature`` if it is a positive number; ``BertannoError`` otherwise."""
    if not temperature > 0:
        raise BertannoError(f"--temperature must be a positive number, got {temperature}")
    return temperature


def select_layers(total: int, keep: int) -> list[int]:
    """Which of a teacher's ``total`` encoder layers a student of ``keep`` layers starts from: the lowest ``keep``,
    as HFL's RBT3 was made from RoBERTa-wwm-ext's first three layers (Cui et al. 2020, "Revisiting Pre-trained
    Models for Chinese NLP") and as Sajjad et al. 2022 ("On the effect of dropping layers of pre-trained
    transformer models") found dropping the top layers to lose least. Raises ``BertannoError`` unless
    ``1 <= keep < total``."""
    if not 1 <= keep < total:
        raise BertannoError(f"a student of {keep} layer(s) from a teacher of {total}: give between 1 and {total - 1} "
                            "layers (fewer than the teacher has)")
    return list(range(keep))


def student_from_layers(teacher: ModelBundle, layers: int) -> ModelBundle:
    """A copy of the teacher (embeddings, head, tokenizer, terms) keeping only ``select_layers`` of its encoder
    layers. Raises ``BertannoError`` for a model whose encoder layers are not a ``base_model.encoder.layer``
    list (BERT, RoBERTa and Longformer have one)."""
    import torch

    model = copy.deepcopy(teacher.model)
    encoder = getattr(getattr(model, "base_model", None), "encoder", None)
    blocks = getattr(encoder, "layer", None)
    if not isinstance(blocks, torch.nn.ModuleList):
        family = getattr(model.config, "model_type", type(model).__name__)
        raise BertannoError(f"the {family} model family has no list of encoder layers to choose from; give "
                            "--student a model with the teacher's vocabulary instead (e.g. zh-mini)")
    keep = select_layers(len(blocks), layers)
    encoder.layer = torch.nn.ModuleList(blocks[index] for index in keep)
    model.config.num_hidden_layers = layers
    window = getattr(model.config, "attention_window", None)
    if isinstance(window, list):  # Longformer: one attention window per layer
        model.config.attention_window = [window[index] for index in keep]
    return replace(teacher, model=model, added_terms=list(teacher.added_terms), metadata={}, token_features=None)


def check_same_vocabulary(teacher: ModelBundle, student: ModelBundle, student_name: str) -> None:
    """Raise ``BertannoError`` unless both tokenizers map the same tokens to the same ids: the teacher's per-token
    outputs only fit a student that reads the same tokens."""
    if teacher.tokenizer.get_vocab() != student.tokenizer.get_vocab():
        raise BertannoError(f"{student_name} does not share the teacher's vocabulary ({len(student.tokenizer)} "
                            f"tokens against {len(teacher.tokenizer)}): a student must read the same tokens; give "
                            "--student a number of layers, or a model of the teacher's family")


def soft_labels(teacher: ModelBundle, examples: Sequence[Example], max_length: int, device: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Training windows of ``examples`` (their texts only) encoded with the teacher's tokenizer at ``max_length``,
    each carrying ``teacher_logits``: the teacher's logits for it as float16 (``[length, labels]`` or
    ``[labels]``). ``progress(done, total)`` counts windows."""
    predictor = Predictor(replace(teacher, max_length=max_length), device=device)
    texts = [Example(example.text, example.text_b) for example in examples]
    encoded = predictor.encode(texts)
    logits = predictor.window_logits(encoded, progress)
    if predictor.token_features is not None:  # the teacher's own scores include its lexicon features
        logits = [window_logits + scores for window_logits, scores in zip(logits, predictor.feature_scores(texts, encoded))]
    windows = [{key: value for key, value in window.items() if key != "offset_mapping"}
               for item in encoded for window in item.windows]
    for window, window_logits in zip(windows, logits):
        window["teacher_logits"] = window_logits.astype(np.float16)
    return windows


def _collate(pad_token_id: int, keep_token_types: bool):
    import torch

    def collate(windows: list[dict]) -> dict:
        batch = pad_batch(windows, pad_token_id, keep_token_types)
        first = windows[0]["teacher_logits"]
        if first.ndim == 2:  # per token: padded with zeros, masked out by the attention mask
            width = batch["input_ids"].shape[1]
            teacher = torch.zeros((len(windows), width, first.shape[-1]), dtype=torch.float32)
            for row, window in enumerate(windows):
                teacher[row, : len(window["teacher_logits"])] = torch.from_numpy(window["teacher_logits"].astype("f4"))
        else:
            teacher = torch.from_numpy(np.stack([window["teacher_logits"] for window in windows]).astype("f4"))
        batch["teacher_logits"] = teacher
        return batch

    return collate


def _distillation_trainer(task, temperature: float):
    from transformers import Trainer

    class DistillationTrainer(Trainer):
        """The Trainer with the task's soft-target loss against the teacher's logits carried in the batch."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            teacher = inputs.pop("teacher_logits")
            outputs = model(**inputs)
            loss = task.soft_target_loss(outputs.logits, teacher, inputs["attention_mask"], temperature)
            return (loss, outputs) if return_outputs else loss

    return DistillationTrainer


def distill(teacher: ModelBundle, student: ModelBundle, examples: Sequence[Example], validation: Sequence[Example],
            config: TrainConfig, temperature: float = TEMPERATURE, on_step=None, on_epoch=None,
            on_soft_labels: Callable[[int, int], None] | None = None) -> TrainResult:
    """Train ``student`` in place to give ``teacher``'s outputs on ``examples`` (only their texts are read: labelled
    or not), at the shorter of the two models' input lengths; ``validation`` (labelled) picks the best epoch
    as in ``train``, and Ctrl-C keeps the best epoch so far. ``config``'s unset numbers come from
    ``training_defaults`` for the student. ``on_soft_labels(done, total)`` hears the teacher's pass (windows).
    Raises ``BertannoError`` when there is nothing to distil on, ``temperature`` is not positive, or the
    vocabularies differ."""
    if not examples:
        raise BertannoError("nothing to distil on: the project has no items outside its evaluation split")
    check_temperature(temperature)
    check_same_vocabulary(teacher, student, student.base_model)
    max_length = min(teacher.max_length, student.max_length)
    student.max_length = max_length
    config, _ = config.for_model(student)
    windows = soft_labels(teacher, examples, max_length, config.device, on_soft_labels)
    keep_token_types = getattr(student.model.config, "type_vocab_size", 1) > 1
    collate = _collate(student.tokenizer.pad_token_id or 0, keep_token_types)
    trainer_class = _distillation_trainer(student.task, temperature)

    def fit(judge):
        stopped_early, seconds = run_trainer(student.model, windows, collate, config, judge, on_step, trainer_class)
        return stopped_early, 0, seconds

    return judged_training(student, validation, config, fit, on_epoch)
