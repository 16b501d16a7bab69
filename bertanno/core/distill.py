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


def parse_speedup(text: str | float) -> float:
    """``5x``, ``5×`` or ``5`` as 5.0: how many times faster than the teacher a student must be. Raises
    ``BertannoError`` for anything else, or a factor not above 1."""
    raw = str(text).strip().lower().rstrip("x×").strip()
    try:
        factor = float(raw)
    except ValueError:
        raise BertannoError(f"--faster takes how many times faster than the teacher, like 5x; got {text!r}") from None
    if not factor > 1:
        raise BertannoError(f"--faster must be more than 1x (a student no faster than its teacher); got {text!r}")
    return factor


def choose_student_layers(teacher: ModelBundle, examples: Sequence[Example], faster: float,
                          measure: Callable[[ModelBundle, Sequence[Example]], float] | None = None
                          ) -> tuple[int, dict[int, float]]:
    """The most layers a student of ``teacher`` (``student_from_layers``) may keep and still predict ``examples``
    ``faster`` times as fast, measured on this machine (items per second, ``core.optimize.timed_payloads``, or
    ``measure(bundle, examples)``); one layer when no student is fast enough. Returns the layers and every
    measured speed-up by layers (the teacher's rate is measured once, first). Raises ``BertannoError`` for a
    teacher without a list of encoder layers."""
    if measure is None:
        from bertanno.core.optimize import timed_payloads

        def measure(bundle, texts):
            return timed_payloads(bundle, texts)[1]

    total = len(getattr(getattr(teacher.model, "base_model", None), "encoder", None).layer)
    teacher_rate = measure(teacher, examples)
    speedups: dict[int, float] = {}
    for layers in range(total - 1, 0, -1):
        speedups[layers] = measure(student_from_layers(teacher, layers), examples) / teacher_rate
        if speedups[layers] >= faster:
            return layers, speedups
    return 1, speedups


def hidden_layer_map(student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    """Which teacher hidden state each student hidden state learns (TinyBERT's uniform map, Jiao et al. 2020,
    "TinyBERT: Distilling BERT for Natural Language Understanding"): the embeddings to the embeddings, student
    layer ``m`` to teacher layer ``m · teacher_layers / student_layers``, so the top learns the top. Indices
    count the embeddings as 0, as ``output_hidden_states`` does."""
    return [(0, 0)] + [(m, round(m * teacher_layers / student_layers)) for m in range(1, student_layers + 1)]


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


def hidden_state_loss(student_states, teacher_states, attention_mask, layer_map):
    """The mean squared difference between mapped hidden states (``layer_map``: ``(student, teacher)`` indices),
    over the real tokens (``attention_mask``) and the hidden size, averaged over the pairs (TinyBERT's
    hidden-state loss)."""
    mask = attention_mask.unsqueeze(-1).to(student_states[0].dtype)
    width = student_states[0].shape[-1]
    total = sum((((student_states[s] - teacher_states[t]) ** 2) * mask).sum() for s, t in layer_map)
    return total / (mask.sum().clamp(min=1) * width * len(layer_map))


def _distillation_trainer(task, temperature: float, teacher_model=None, layer_map=None, hidden_weight: float = 1.0):
    from transformers import Trainer

    class DistillationTrainer(Trainer):
        """The Trainer with the task's soft-target loss against the teacher's logits carried in the batch; with
        ``teacher_model``, plus the hidden-state loss against its states (``hidden_state_loss``)."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            import torch

            teacher = inputs.pop("teacher_logits")
            outputs = model(**inputs, output_hidden_states=teacher_model is not None)
            loss = task.soft_target_loss(outputs.logits, teacher, inputs["attention_mask"], temperature)
            if teacher_model is not None and model.training:
                teacher_model.to(outputs.logits.device)
                with torch.no_grad():
                    states = teacher_model(**{k: v for k, v in inputs.items() if k != "labels"},
                                           output_hidden_states=True).hidden_states
                if states is None or outputs.hidden_states is None:
                    raise BertannoError(f"{type(model).__name__} gives no hidden states to learn: distil with "
                                        "--transfer none")
                loss = loss + hidden_weight * hidden_state_loss(outputs.hidden_states, states,
                                                                inputs["attention_mask"], layer_map)
            return (loss, outputs) if return_outputs else loss

    return DistillationTrainer


TRANSFERS = ("hidden", "none")
"""How much of the teacher a student learns besides its outputs: ``hidden`` its hidden states too (TinyBERT's
intermediate-layer distillation, where the two widths match), ``none`` its outputs only."""


def transfer_plan(teacher: ModelBundle, student: ModelBundle, transfer: str) -> list[tuple[int, int]] | None:
    """The layer map of ``hidden_layer_map`` when ``transfer`` is ``hidden`` and the hidden sizes match, else
    ``None`` (outputs only). Raises ``BertannoError`` for an unknown transfer."""
    if transfer not in TRANSFERS:
        raise BertannoError(f"--transfer must be one of {', '.join(TRANSFERS)}, got {transfer!r}")
    if transfer == "none" or teacher.model.config.hidden_size != student.model.config.hidden_size:
        return None
    return hidden_layer_map(student.model.config.num_hidden_layers, teacher.model.config.num_hidden_layers)


def distill(teacher: ModelBundle, student: ModelBundle, examples: Sequence[Example], validation: Sequence[Example],
            config: TrainConfig, temperature: float = TEMPERATURE, on_step=None, on_epoch=None,
            on_soft_labels: Callable[[int, int], None] | None = None, transfer: str = "hidden") -> TrainResult:
    """Train ``student`` in place to give ``teacher``'s outputs on ``examples`` (only their texts are read: labelled
    or not), at the shorter of the two models' input lengths; ``validation`` (labelled) picks the best epoch
    as in ``train``, and Ctrl-C keeps the best epoch so far. ``config``'s unset numbers come from
    ``training_defaults`` for the student, its epochs from ``token_task_epochs`` or ``sentence_task_epochs`` for
    ``examples``, as ``train`` plans them (a NER student of 1,671 texts given 4 epochs lost 13.7 points of entity
    F1 to its teacher in ``benchmarks.optimize_gate``). ``on_soft_labels(done, total)`` hears the teacher's pass (windows).
    ``transfer``: ``hidden`` also trains each student layer towards a teacher layer's hidden states where the
    widths match (``transfer_plan``; the teacher runs beside the student in each step), ``none`` the outputs only.
    Raises ``BertannoError`` when there is nothing to distil on, ``temperature`` is not positive, the
    vocabularies differ, or the transfer is unknown."""
    if not examples:
        raise BertannoError("nothing to distil on: the project has no items outside its evaluation split")
    check_temperature(temperature)
    check_same_vocabulary(teacher, student, student.base_model)
    max_length = min(teacher.max_length, student.max_length)
    student.max_length = max_length
    config, _ = config.for_model(student, len(examples))  # as many passes as its data needs
    windows = soft_labels(teacher, examples, max_length, config.device, on_soft_labels)
    keep_token_types = getattr(student.model.config, "type_vocab_size", 1) > 1
    collate = _collate(student.tokenizer.pad_token_id or 0, keep_token_types)
    layer_map = transfer_plan(teacher, student, transfer)
    teacher_model = None
    if layer_map is not None:
        teacher_model = copy.deepcopy(teacher.model).eval()
        teacher_model.requires_grad_(False)
    trainer_class = _distillation_trainer(student.task, temperature, teacher_model, layer_map)

    def fit(judge):
        stopped_early, seconds = run_trainer(student.model, windows, collate, config, judge, on_step, trainer_class)
        return stopped_early, 0, seconds

    return judged_training(student, validation, config, fit, on_epoch)
