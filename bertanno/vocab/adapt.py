"""Domain-adaptive masked-LM training: continue a model's pre-training objective on the domain's own
unlabelled text, so the embeddings of newly added terms are trained before any fine-tuning.

Masking is whole-term: an occurrence of a listed term is one unit, masked or kept as a whole, whether the
tokenizer holds it as one added token or as several pieces; every other token is a unit of its own.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from bertanno.core.bundle import load_tokenizer, refuse_remote_code
from bertanno.core.hub import resolve_model
from bertanno.errors import BertannoError
from bertanno.vocab.extend import added_terms, extend_model

ADAPTED_FILE = "bertanno-adapted.json"


@dataclass
class AdaptConfig:
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 5e-5
    max_length: int = 128
    mask_fraction: float = 0.15
    held_out: float = 0.05
    seed: int = 42
    device: str | None = None
    checkpoint_dir: Path | None = None
    """Keep a checkpoint here every ``checkpoint_every`` steps (weights, optimizer, schedule) with the held-out
    masked-LM loss at that step (``LOSSES_FILE``), and resume from the last complete one when the folder holds
    one from the same run (``RUN_FILE``: model, terms, texts and settings); the caller removes it when done."""
    checkpoint_every: int | None = None
    """Steps between checkpoints (default: a tenth of the run's steps, at least 1)."""


RUN_FILE = "bertanno-adapt-run.json"
"""In a checkpoint folder: what run its checkpoints belong to; another run starts afresh."""
LOSSES_FILE = "losses.jsonl"
"""In a checkpoint folder: one line per checkpoint, ``{"step", "loss", "term_loss"}`` on the held-out text."""
DONE_FILE = "bertanno-adapt-step.json"
"""Beside a checkpoint's own files, written last: the checkpoint is complete."""


def last_adapt_checkpoint(folder: Path) -> Path | None:
    """The latest complete checkpoint (``checkpoint-N`` with ``DONE_FILE``) in ``folder``, or ``None``."""
    complete = [path for path in Path(folder).glob("checkpoint-*")
                if path.name.split("-")[-1].isdigit() and (path / DONE_FILE).is_file()]
    return max(complete, key=lambda path: int(path.name.split("-")[-1]), default=None)


def checkpoint_losses(folder: Path) -> list[dict]:
    """The held-out losses logged at each checkpoint of a run (``LOSSES_FILE``), in step order."""
    path = Path(folder) / LOSSES_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class AdaptResult:
    directory: Path
    texts: int
    steps: int
    seconds: float
    loss_before: float
    loss_after: float
    term_loss_before: float | None
    term_loss_after: float | None
    added: list[str] = field(default_factory=list)
    resumed_from: int = 0
    """The step a resumed run started from (0: from the beginning)."""
    checkpoints: list[dict] = field(default_factory=list)
    """The held-out losses at each checkpoint (``LOSSES_FILE``'s lines)."""


def term_units(text: str, offsets: Sequence[tuple[int, int]], terms: set[str], longest: int) -> list[list[int]]:
    """Token positions grouped into masking units: each occurrence of a term (leftmost-longest) is one unit."""
    occurrences, position = [], 0
    while position < len(text) and longest:
        for size in range(min(longest, len(text) - position), 1, -1):
            if text[position:position + size] in terms:
                occurrences.append((position, position + size))
                position += size
                break
        else:
            position += 1
    units, taken = [], set()
    for start, end in occurrences:
        inside = [i for i, (s, e) in enumerate(offsets) if e > s and s >= start and e <= end]
        crossing = any(e > s and s < end and e > start and not (s >= start and e <= end) for s, e in offsets)
        if inside and not crossing:
            units.append(inside)
            taken.update(inside)
    units += [[i] for i, (s, e) in enumerate(offsets) if e > s and i not in taken]
    return units


def mask_units(example: dict, tokenizer, fraction: float, generator: random.Random) -> dict:
    """BERT's recipe over whole units: about ``fraction`` of the tokens chosen; of those 80% [MASK],
    10% a random token, 10% unchanged."""
    input_ids = list(example["input_ids"])
    labels = [-100] * len(input_ids)
    units = list(example["units"])
    generator.shuffle(units)
    budget = max(1, round(fraction * sum(len(u) for u in units)))
    chosen = 0
    for unit in units:
        if chosen >= budget:
            break
        roll = generator.random()
        for position in unit:
            labels[position] = input_ids[position]
            if roll < 0.8:
                input_ids[position] = tokenizer.mask_token_id
            elif roll < 0.9:
                input_ids[position] = generator.randrange(len(tokenizer))
        chosen += len(unit)
    return {"input_ids": input_ids, "labels": labels, "term_positions": example["term_positions"]}


def collate(batch: list[dict], pad_id: int):
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example["input_ids"])
        ids[row, :n] = torch.tensor(example["input_ids"])
        labels[row, :n] = torch.tensor(example["labels"])
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def encode_corpus(tokenizer, texts: Sequence[str], terms: list[str], max_length: int) -> list[dict]:
    term_set = set(terms)
    longest = max((len(t) for t in terms), default=0)
    added = set(tokenizer.get_added_vocab().values())
    encoded = []
    for text in texts:
        features = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
        offsets = [tuple(o) for o in features["offset_mapping"]]
        units = term_units(text, offsets, term_set, longest)
        if not units:
            continue
        term_positions = sorted(i for i, token in enumerate(features["input_ids"]) if token in added)
        encoded.append({"input_ids": features["input_ids"], "units": units, "term_positions": term_positions})
    return encoded


def _mean_loss(model, masked: list[dict], pad_id: int, batch_size: int, device) -> float | None:
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(masked), batch_size):
            batch = {k: v.to(device) for k, v in collate(masked[start:start + batch_size], pad_id).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["labels"], reduction="none",
                                                       ignore_index=-100)
            chosen = batch["labels"] != -100
            total += float(losses[chosen].sum())
            count += int(chosen.sum())
    return total / count if count else None


def held_out_losses(model, examples: list[dict], tokenizer, config: AdaptConfig, device) -> tuple[float, float | None]:
    """Masked-LM loss on held-out text with a fixed masking, and the loss of predicting every added-term
    token from its context (all of them masked, nothing else): how well the model knows the new terms."""
    generator = random.Random(config.seed + 1)
    pad_id = tokenizer.pad_token_id or 0
    overall = _mean_loss(model, [mask_units(e, tokenizer, config.mask_fraction, generator) for e in examples],
                         pad_id, config.batch_size, device)
    terms_masked = []
    for example in examples:
        if example["term_positions"]:
            ids, labels = list(example["input_ids"]), [-100] * len(example["input_ids"])
            for position in example["term_positions"]:
                labels[position], ids[position] = ids[position], tokenizer.mask_token_id
            terms_masked.append({"input_ids": ids, "labels": labels})
    return overall or 0.0, _mean_loss(model, terms_masked, pad_id, config.batch_size, device)


def adapt(model_name: str, terms: list[str], texts: Sequence[str], output: str | Path,
          config: AdaptConfig = AdaptConfig(), on_step: Callable[[int, int], None] | None = None,
          plugins=None) -> AdaptResult:
    """Extend ``model_name`` with ``terms``, train it as a masked LM on ``texts``, save it to ``output`` (with
    ``ADAPTED_FILE``: the run and its held-out losses before, at each checkpoint and after). With
    ``config.checkpoint_dir`` a killed or interrupted run resumes from its last checkpoint when called again with
    the same model, terms, texts and settings. Raises ``BertannoError`` for too little text, a model that is no
    masked LM, and on Ctrl-C (saying whether a checkpoint is kept)."""
    import torch
    from transformers import (
        AutoModelForMaskedLM,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    texts = [t for t in texts if t and t.strip()]
    if len(texts) < 2:
        raise BertannoError("domain adaptation needs unlabelled text: the corpus has fewer than 2 texts")
    source = resolve_model(model_name, plugins)
    refuse_remote_code(source.weights_dir, False)
    tokenizer = load_tokenizer(source.tokenizer_dir, source.spec.tokenizer_class if source.spec else "bert")
    try:
        # float32 whatever the weights are stored in: zh-mini ships in float16, and masked-LM training in float16
        # on the CPU diverged (held-out loss 5.0 -> 586 in 6 steps, measured by benchmarks.adapt)
        model = AutoModelForMaskedLM.from_pretrained(str(source.weights_dir), weights_only=True, local_files_only=True,
                                                     dtype=torch.float32)
    except (OSError, ValueError, RuntimeError) as exc:
        raise BertannoError(f"cannot load {model_name} as a masked language model: {exc}") from None
    plan = extend_model(model, tokenizer, terms)
    random.Random(config.seed).shuffle(texts)
    cut = max(2, round(len(texts) * config.held_out))
    held_out = encode_corpus(tokenizer, texts[:cut], terms, config.max_length)
    training = encode_corpus(tokenizer, texts[cut:], terms, config.max_length)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(device)
    loss_before, term_before = held_out_losses(model, held_out, tokenizer, config, device)

    generator = random.Random(config.seed)
    pad_id = tokenizer.pad_token_id or 0
    steps_total = math.ceil(len(training) / config.batch_size) * config.epochs

    run = {"model": model_name, "terms": sorted(terms), "texts": len(training), "held_out": len(held_out),
           "first": texts[cut][:50] if len(texts) > cut else "", "epochs": config.epochs,
           "batch_size": config.batch_size, "learning_rate": config.learning_rate, "max_length": config.max_length,
           "seed": config.seed}
    folder = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    resume = None
    if folder is not None:
        run_file = folder / RUN_FILE
        if run_file.is_file() and json.loads(run_file.read_text(encoding="utf-8")) == run:
            resume = last_adapt_checkpoint(folder)
        else:  # another run's checkpoints, or none: start afresh
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
            run_file.write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    every = config.checkpoint_every or max(1, steps_total // 10)

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if on_step:
                on_step(state.global_step, steps_total)

        def on_save(self, args, state, control, **kwargs):
            loss, term_loss = held_out_losses(model, held_out, tokenizer, config, device)
            model.train()
            with (folder / LOSSES_FILE).open("a", encoding="utf-8") as log:
                log.write(json.dumps({"step": state.global_step, "loss": loss, "term_loss": term_loss}) + "\n")
            (folder / f"checkpoint-{state.global_step}" / DONE_FILE).write_text(
                json.dumps({"step": state.global_step}), encoding="utf-8")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bertanno-adapt-") as scratch:
        arguments = TrainingArguments(
            output_dir=str(folder or scratch), num_train_epochs=config.epochs,
            per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, weight_decay=0.01, warmup_steps=0.06,
            save_strategy="steps" if folder else "no", save_steps=every, save_total_limit=2,
            eval_strategy="no", report_to="none", disable_tqdm=True, seed=config.seed,
            use_cpu=device.type == "cpu", remove_unused_columns=False, dataloader_num_workers=0,
            logging_steps=max(1, steps_total // 10),
        )
        trainer = Trainer(
            model=model, args=arguments, train_dataset=training, callbacks=[Progress()],
            data_collator=lambda batch: collate([mask_units(e, tokenizer, config.mask_fraction, generator)
                                                 for e in batch], pad_id),
        )
        trainer.remove_callback(PrinterCallback)
        try:
            trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        except KeyboardInterrupt:
            kept = last_adapt_checkpoint(folder) if folder else None
            raise BertannoError("domain adaptation interrupted; " + (
                f"its checkpoint at step {kept.name.split('-')[-1]} is kept: run the same command again to resume "
                "from there" if kept else "nothing was saved and the project is unchanged")) from None
    seconds = time.perf_counter() - started
    loss_after, term_after = held_out_losses(model, held_out, tokenizer, config, device)

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output), safe_serialization=True)
    tokenizer.save_pretrained(str(output))
    result = AdaptResult(output, len(training), steps_total, seconds, loss_before, loss_after, term_before,
                         term_after, plan.added, int(resume.name.split("-")[-1]) if resume else 0,
                         checkpoint_losses(folder) if folder else [])
    record = {"base_model": model_name, "terms": added_terms(tokenizer), "texts": len(training),
              "held_out": len(held_out), "epochs": config.epochs, "seed": config.seed, "steps": steps_total,
              "loss_before": loss_before, "loss_after": loss_after, "term_loss_before": term_before,
              "term_loss_after": term_after,
              "checkpoints": result.checkpoints}
    (output / ADAPTED_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    return result
