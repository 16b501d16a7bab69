"""Masked-language-model pretraining of a BERT on unlabelled Chinese text (``bertanno pretrain``).

From scratch (the bert-base-chinese vocabulary and config family, shrunk to ``layers`` x ``hidden``) or
continued from a model (``from_model``). The corpus is streamed line by line and packed into full-length
sequences; masking is BERT's (15 % of the tokens, 80 % [MASK] / 10 % random / 10 % kept; Devlin et al.,
2019), over whole terms when term lists are given: the same ``term_units`` / ``mask_units`` code as
``vocab adapt``. The vocabulary projection runs on the masked positions only, which measured about 1.5x
faster on 2 CPU cores than projecting every position.

Runs are resumable: the Trainer's checkpoints (weights, optimizer, scheduler, RNG states, step) go to
``OUTPUT.checkpoints/`` every ``checkpoint_minutes`` and on Ctrl-C or SIGTERM; ``resume=True`` continues
from the newest one, skipping the batches already seen, so an interrupted run ends at the same step as an
uninterrupted one. The model is written to ``OUTPUT`` only when a run ends, into a temporary directory
renamed into place, so a half-written directory is never presented as a model.

With ``workers`` > 0 the packing and masking run in that many data-loader processes, each reading every
``workers``-th corpus line (what a GPU needs: one Python process packs ~130k tokens/s, a small model on a
GPU trains faster than that). The order of the data then depends on ``workers``: resume with the same number.
"""

from __future__ import annotations

import codecs
import json
import os
import platform
import random
import shutil
import signal
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from bertanno.core.bundle import load_tokenizer, refuse_remote_code, trained_length
from bertanno.core.hub import resolve_model
from bertanno.core.scratch import SKELETON_DIR
from bertanno.errors import BertannoError
from bertanno.vocab.adapt import collate, mask_units, term_units

RECORD_FILE = "bertanno-pretrain.json"
CARD_FILE = "README.md"
TEXT_SUFFIXES = (".txt", ".text", ".jsonl")
HELD_OUT_MODULUS = 200
"""One corpus line in this many (chosen by a CRC32 of the line) is held out for evaluation, never trained on."""
CHINESE_SHARE = 0.2


@dataclass
class PretrainConfig:
    layers: int = 4
    hidden: int = 256
    max_length: int = 128
    batch_size: int = 32
    learning_rate: float = 5e-4
    warmup_steps: int = 500
    weight_decay: float = 0.01
    steps: int = 20_000
    """Optimizer steps in all (the learning-rate schedule's length); a resumed run keeps the same total."""
    hours: float | None = None
    """Stop this invocation after so many hours (a checkpoint is saved; ``--resume`` continues)."""
    checkpoint_minutes: float = 10.0
    eval_steps: int = 500
    held_out_sequences: int = 128
    mask_fraction: float = 0.15
    seed: int = 13
    device: str | None = None
    workers: int | None = None
    """Data-loader processes; ``None``: up to 8 (one per spare core) on a GPU, 0 (the main process) on CPU."""


@dataclass
class PretrainResult:
    directory: Path
    steps: int
    total_steps: int
    finished: bool
    tokens_seen: int
    seconds: float
    evaluations: list[dict] = field(default_factory=list)


# -- the corpus ------------------------------------------------------------------------------------------------------

def corpus_files(paths: Sequence[str | Path]) -> list[Path]:
    """The text files of ``paths`` (files, or directories searched recursively for .txt/.text/.jsonl),
    sorted. Raises ``BertannoError`` for a missing path, a directory without text files, or no paths."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
            if not found:
                raise BertannoError(f"{path} holds no text files ({', '.join(TEXT_SUFFIXES)})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise BertannoError(f"no such corpus file or directory: {path}")
    if not files:
        raise BertannoError("no corpus given: name text files or directories with --corpus")
    return files


def _chinese_share(text: str) -> float:
    letters = [c for c in text if not c.isspace()]
    return sum("\u4e00" <= c <= "\u9fff" for c in letters) / len(letters) if letters else 0.0


def check_corpus(files: Sequence[Path], chunk: int = 1 << 20) -> int:
    """Check that every file is UTF-8 and that the corpus is Chinese text; returns its size in bytes.

    Streams each file in ``chunk``-byte pieces (a large corpus is never held in memory). Raises
    ``BertannoError`` naming the file and byte offset of the first invalid byte, for an empty corpus,
    and for a corpus whose sample holds under 20 % Chinese characters.
    """
    total, sample = 0, []
    for path in files:
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        with open(path, "rb") as stream:
            while block := stream.read(chunk):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise BertannoError(f"{path} is not UTF-8 text ({exc.reason} at byte {offset + exc.start}); "
                                        "convert it first, e.g. iconv -f GB18030 -t UTF-8") from None
                if len(sample) < 64:
                    sample.append(text[:4000])
                offset += len(block)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise BertannoError(f"{path} is not UTF-8 text (it ends inside a character)") from None
        total += offset
    text = "".join(sample)
    if not text.strip():
        raise BertannoError("the corpus is empty: no text to pretrain on")
    if _chinese_share(text) < CHINESE_SHARE:
        raise BertannoError(f"the corpus is not Chinese text: {_chinese_share(text):.0%} of its characters are "
                            "Chinese (bertanno pretrains Chinese models)")
    return total


def held_out(line: str) -> bool:
    return zlib.crc32(line.encode("utf-8")) % HELD_OUT_MODULUS == 0


def _file_lines(path: Path) -> Iterator[tuple[str, int]]:
    """(text, bytes read) for every line of a file; a JSON-lines record gives its ``text`` field."""
    with open(path, encoding="utf-8-sig") as stream:
        for raw in stream:
            line = raw.strip()
            if line.startswith("{") and path.suffix.lower() == ".jsonl":
                try:
                    line = str(json.loads(line).get("text", "")).strip()
                except (json.JSONDecodeError, AttributeError):
                    pass
            yield line, len(raw.encode("utf-8"))


def corpus_lines(files: Sequence[Path], evaluation: bool, shard: tuple[int, int] = (0, 1)) -> Iterator[str]:
    """Non-empty lines of the corpus: the held-out ones (``evaluation``) or all the others; with
    ``shard=(k, n)`` only the k-th of every n of those lines (0 <= k < n), so n readers split the corpus.

    The files are interleaved in proportion to their sizes (the next line always comes from the file
    read least far, as a share of its bytes), so every stretch of training mixes all the sources instead
    of reading one domain for hours; the order is fixed, so a resumed run sees the same lines.
    """
    sizes = [max(1, path.stat().st_size) for path in files]
    readers = [_file_lines(path) for path in files]
    read = [0] * len(files)
    active = set(range(len(files)))
    kept = -1
    index_of_shard, shards = shard
    while active:
        index = min(active, key=lambda i: (read[i] / sizes[i], i))
        try:
            line, size = next(readers[index])
        except StopIteration:
            active.discard(index)
            continue
        read[index] += size
        if line and held_out(line) == evaluation:
            kept += 1
            if kept % shards == index_of_shard:
                yield line


class PackedSequences:
    """Token sequences of exactly ``max_length`` (``[CLS] … [SEP]``), packed from consecutive corpus lines,
    each with its masking units (whole terms, else single tokens). Iterating restarts the corpus as often as
    needed (``repeat``); the order is the corpus order, so a run and its resumption see the same data.
    Inside a data-loader worker it reads only that worker's share of the lines (``corpus_lines``' shard)."""

    def __init__(self, files: Sequence[Path], tokenizer, max_length: int, terms: Sequence[str] = (),
                 evaluation: bool = False, repeat: bool = True):
        self.files, self.tokenizer, self.max_length = list(files), tokenizer, max_length
        self.terms, self.longest = set(terms), max((len(t) for t in terms), default=0)
        self.evaluation, self.repeat = evaluation, repeat

    def __iter__(self) -> Iterator[dict]:
        body = self.max_length - 2
        ids: list[int] = []
        units: list[list[int]] = []
        shard = _worker_shard()
        while True:
            produced = False
            for line in corpus_lines(self.files, self.evaluation, shard):
                encoded = self.tokenizer(line, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
                offsets = [tuple(o) for o in encoded["offset_mapping"]]
                base = len(ids)
                ids += encoded["input_ids"]
                units += [[base + p for p in unit] for unit in term_units(line, offsets, self.terms, self.longest)]
                while len(ids) >= body:
                    produced = True
                    yield self._sequence(ids[:body], [u for u in units if u[0] < body])
                    ids = ids[body:]
                    units = [[p - body for p in u if p >= body] for u in units if u[-1] >= body]
            if not (self.repeat and produced):
                return

    def _sequence(self, body: list[int], units: list[list[int]]) -> dict:
        tokenizer = self.tokenizer
        inside = [[p + 1 for p in unit if p < len(body)] for unit in units]
        return {"input_ids": [tokenizer.cls_token_id, *body, tokenizer.sep_token_id],
                "units": [u for u in inside if u], "term_positions": []}


def _worker_shard() -> tuple[int, int]:
    """(this data-loader worker's index, the number of workers), or (0, 1) outside a worker."""
    import sys

    if "torch" not in sys.modules:
        return 0, 1
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return (info.id, info.num_workers) if info else (0, 1)


class WorkerMasking:
    """The data collator: BERT masking then padding, with a random generator per data-loader worker (seeded
    ``seed`` + the worker's index), so the workers do not repeat one another's masking pattern."""

    def __init__(self, tokenizer, fraction: float, seed: int, pad_id: int):
        self.tokenizer, self.fraction, self.seed, self.pad_id = tokenizer, fraction, seed, pad_id
        self.generators: dict[int, random.Random] = {}

    def __call__(self, batch: list[dict]) -> dict:
        worker = _worker_shard()[0]
        generator = self.generators.setdefault(worker, random.Random(self.seed + worker))
        return collate([mask_units(e, self.tokenizer, self.fraction, generator) for e in batch], self.pad_id)


def data_workers(config: PretrainConfig, device) -> int:
    """``config.workers``, or the default: on a GPU one per spare core up to 8, on CPU none (the main process
    packs far faster than a CPU trains)."""
    if config.workers is not None:
        if config.workers < 0:
            raise BertannoError(f"--workers {config.workers}: give 0 (the main process) or more")
        return config.workers
    return min(8, max(0, (os.cpu_count() or 1) - 1)) if device.type != "cpu" else 0


# -- the model -------------------------------------------------------------------------------------------------------

def new_model(layers: int, hidden: int, seed: int):
    """A randomly initialised ``BertForMaskedLM`` of the bert-base-chinese family: its vocabulary and
    position range, ``layers`` x ``hidden``, ``hidden // 64`` heads (at least 2), feed-forward 4 x hidden."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig.from_pretrained(str(SKELETON_DIR))
    config.num_hidden_layers, config.hidden_size = layers, hidden
    config.num_attention_heads = max(2, hidden // 64)
    config.intermediate_size = 4 * hidden
    if hidden % config.num_attention_heads:
        raise BertannoError(f"--hidden {hidden} must be a multiple of {config.num_attention_heads} (attention heads)")
    torch.manual_seed(seed)
    return BertForMaskedLM(config), load_tokenizer(SKELETON_DIR)


def existing_model(name: str, plugins=None):
    """A model (alias, hub id or directory) with its masked-LM head, to continue pretraining; in fp32 whatever
    the precision on disk (zh-mini is stored in fp16: training fp16 master weights diverges at once)."""
    import torch
    from transformers import AutoModelForMaskedLM

    source = resolve_model(name, plugins)
    refuse_remote_code(source.weights_dir, False)
    tokenizer = load_tokenizer(source.tokenizer_dir, source.spec.tokenizer_class if source.spec else "bert")
    try:
        model = AutoModelForMaskedLM.from_pretrained(str(source.weights_dir), weights_only=True,
                                                     local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, RuntimeError) as exc:
        raise BertannoError(f"cannot load {name} as a masked language model: {exc}") from None
    return model, tokenizer


def copy_positions(model, trained: int) -> int:
    """Set the position embeddings past the first ``trained`` (positions pretraining never reached) to copies of
    the trained ones, block after block: position p takes the vector of p mod ``trained``. Longformer's start for
    longer inputs (Beltagy et al. 2020, "Longformer", section 5: RoBERTa's 512 positions copied to 4,096, which
    kept the masked-LM loss near the short model's from the first step, where random positions did not). Returns
    how many rows were set: 0 when the model has no absolute position table or nothing lies past ``trained``."""
    import torch

    table = getattr(getattr(model.base_model, "embeddings", None), "position_embeddings", None)
    if table is None or not 0 < trained < table.num_embeddings:
        return 0
    with torch.no_grad():
        weight = table.weight
        for start in range(trained, weight.shape[0], trained):
            rows = min(trained, weight.shape[0] - start)
            weight[start:start + rows] = weight[:rows]
    return weight.shape[0] - trained


def check_terms(tokenizer, terms: Sequence[str]) -> None:
    """Terms must be written with characters the vocabulary knows, or whole-term masking masks [UNK]s."""
    unknown = tokenizer.unk_token_id
    bad = [t for t in terms if unknown in tokenizer(t, add_special_tokens=False)["input_ids"]]
    if bad:
        raise BertannoError(f"{len(bad)} term(s) use characters this model's vocabulary does not have "
                            f"(e.g. {', '.join(bad[:3])}); the term lists do not fit the model")


def masked_only_loss(model, batch: dict):
    """Masked-LM cross-entropy with the vocabulary projection applied to the masked positions only.

    ``batch``: ``input_ids``, ``attention_mask`` and ``labels`` (``-100`` where nothing is predicted), each
    ``[batch, length]``. Returns ``(loss, logits of the masked positions [masked, vocabulary], their labels)``.
    """
    import torch

    labels = batch["labels"]
    encoder = model.base_model
    hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    chosen = labels != -100
    logits = model.cls(hidden[chosen])
    targets = labels[chosen]
    loss = torch.nn.functional.cross_entropy(logits.float(), targets)
    return loss, logits, targets


def evaluate_held_out(model, batches: list[dict], device) -> dict:
    """Masked-LM loss and accuracy (share of masked tokens predicted exactly) on fixed held-out batches."""
    import torch

    was_training = model.training
    model.eval()
    loss_sum, right, count = 0.0, 0, 0
    with torch.inference_mode():
        for batch in batches:
            batch = {k: v.to(device) for k, v in batch.items()}
            loss, logits, targets = masked_only_loss(model, batch)
            loss_sum += float(loss) * len(targets)
            right += int((logits.argmax(-1) == targets).sum())
            count += len(targets)
    model.train(was_training)
    return {"loss": loss_sum / count if count else float("nan"), "accuracy": right / count if count else 0.0,
            "masked_tokens": count}


# -- the run ---------------------------------------------------------------------------------------------------------

def checkpoint_root(output: Path) -> Path:
    return output.parent / f"{output.name}.checkpoints"


CHECKPOINT_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
"""What a whole Trainer checkpoint holds besides the weights; one killed while it was written lacks some."""


def latest_checkpoint(output: Path) -> Path | None:
    """The newest whole checkpoint of the run writing ``output`` (``OUTPUT.checkpoints/checkpoint-STEP``), or
    ``None``. A checkpoint without all of ``CHECKPOINT_FILES`` (the process was killed while writing it) is passed
    over: the run resumes from the one before."""
    root = checkpoint_root(output)
    found = [p for p in root.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
             and all((p / name).exists() for name in CHECKPOINT_FILES)] if root.exists() else []
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def pretrain(output: str | Path, corpus: Sequence[str | Path], config: PretrainConfig = PretrainConfig(),
             from_model: str | None = None, terms: Sequence[str] = (), resume: bool = False,
             on_step: Callable[[int, int, dict], None] | None = None, plugins=None) -> PretrainResult:
    """Pretrain (or continue pretraining) a masked LM on ``corpus`` and write it to ``output``.

    ``on_step(step, total, info)`` is called after every optimizer step; ``info`` has ``loss`` and
    ``tokens_per_second`` (this invocation's), and after an evaluation ``held_out``. A ``from_model`` continued
    at a ``max_length`` past its tokenizer's (the length it was pretrained at) starts its untrained positions as
    copies of the trained ones (``copy_positions``). Raises
    ``BertannoError`` for bad corpora, terms that do not fit the model, an existing run without
    ``resume`` or ``resume`` without a run, and a full disk.
    """
    import torch
    from transformers import PrinterCallback, TrainerCallback, TrainingArguments

    output = Path(output)
    files = corpus_files(corpus)
    corpus_bytes = check_corpus(files)
    checkpoint = latest_checkpoint(output)
    if resume and checkpoint is None:
        raise BertannoError(f"nothing to resume: no checkpoint in {checkpoint_root(output)}")
    if not resume and checkpoint is not None:
        raise BertannoError(f"{checkpoint_root(output)} holds an earlier run (step {checkpoint.name.split('-')[-1]}); "
                            "continue it with --resume, or delete that directory to start over")
    if from_model:
        model, tokenizer = existing_model(from_model, plugins)
        trained = trained_length(tokenizer)
        if trained and trained < config.max_length:  # it stops at the length it was pretrained at
            copy_positions(model, trained)
    else:
        model, tokenizer = new_model(config.layers, config.hidden, config.seed)
    check_terms(tokenizer, terms)
    if config.max_length > model.config.max_position_embeddings:
        raise BertannoError(f"--max-length {config.max_length} exceeds the model's "
                            f"{model.config.max_position_embeddings} positions")
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    pad_id = tokenizer.pad_token_id or 0
    workers = data_workers(config, device)
    training = _stream(PackedSequences(files, tokenizer, config.max_length, terms))
    held_out_sequences = []
    for sequence in PackedSequences(files, tokenizer, config.max_length, terms, evaluation=True, repeat=False):
        held_out_sequences.append(sequence)
        if len(held_out_sequences) >= config.held_out_sequences:
            break
    if not held_out_sequences:
        raise BertannoError("the corpus is too small to hold out text for evaluation (it needs a few hundred lines)")
    fixed = random.Random(config.seed + 1)
    held_out_batches = [collate([mask_units(s, tokenizer, config.mask_fraction, fixed)
                                 for s in held_out_sequences[i:i + config.batch_size]], pad_id)
                        for i in range(0, len(held_out_sequences), config.batch_size)]
    tokens_per_step = config.batch_size * config.max_length
    evaluations: list[dict] = []
    started = time.perf_counter()
    stop = {"signal": None}

    class Steering(TrainerCallback):
        """Checkpoints every N minutes, evaluates, reports, and stops on a signal or at --hours."""

        def __init__(self):
            self.last_save = time.perf_counter()
            self.first_step = None

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            if self.first_step is None:
                self.first_step = (state.global_step - 1, started)
            done_here = state.global_step - self.first_step[0]
            info = {"loss": _last_loss(state), "tokens_per_second": done_here * tokens_per_step / (now - started)}
            if state.global_step % config.eval_steps == 0 or state.global_step == state.max_steps:
                scores = {"step": state.global_step, **evaluate_held_out(kwargs["model"], held_out_batches, device)}
                evaluations.append(scores)
                state.log_history.append({"held_out": scores})
                info["held_out"] = scores
            if now - self.last_save >= config.checkpoint_minutes * 60:
                control.should_save = True
            if stop["signal"] or (config.hours and now - started >= config.hours * 3600):
                control.should_save = True
                control.should_training_stop = True
            if control.should_save:
                self.last_save = now
            if on_step:
                on_step(state.global_step, state.max_steps, info)

    arguments = TrainingArguments(
        output_dir=str(checkpoint_root(output)), max_steps=config.steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, weight_decay=config.weight_decay, warmup_steps=config.warmup_steps,
        lr_scheduler_type="linear", save_strategy="no", save_total_limit=2, eval_strategy="no", report_to="none",
        disable_tqdm=True, seed=config.seed, use_cpu=device.type == "cpu", remove_unused_columns=False,
        dataloader_num_workers=workers, logging_steps=10, bf16=device.type == "cuda" and torch.cuda.is_bf16_supported(),
    )
    trainer = _masked_only_trainer()(
        model=model, args=arguments, train_dataset=training, callbacks=[Steering()], processing_class=tokenizer,
        data_collator=WorkerMasking(tokenizer, config.mask_fraction, config.seed, pad_id),
    )
    trainer.remove_callback(PrinterCallback)

    def on_signal(number, frame):
        stop["signal"] = number

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if resume else None)
    except OSError as exc:
        raise BertannoError(f"pretraining stopped: {exc} (is the disk full? the last checkpoint in "
                            f"{checkpoint_root(output)} is intact; free space and run again with --resume)") from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    step = trainer.state.global_step
    finished = step >= config.steps
    seconds = time.perf_counter() - started
    record = {
        "steps": step, "total_steps": config.steps, "finished": finished,
        "tokens_seen": step * tokens_per_step, "corpus": [str(p) for p in files], "corpus_bytes": corpus_bytes,
        "held_out": f"1 line in {HELD_OUT_MODULUS} (CRC32 of the line), {len(held_out_sequences)} sequences",
        "from_model": from_model, "terms": len(terms), "config": asdict(config),
        "parameters": sum(p.numel() for p in model.parameters()),
        "hardware": {"device": str(device), "threads": torch.get_num_threads(), "cpu": platform.processor()
                     or platform.machine(), "cpus": os.cpu_count(), "data_workers": workers,
                     "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None},
        "evaluations": _all_evaluations(output, evaluations),
    }
    record["seconds"] = _total_seconds(output, seconds)
    write_model(trainer.model, tokenizer, output, record)
    return PretrainResult(output, step, config.steps, finished, step * tokens_per_step, seconds, evaluations)


def _stream(sequences: PackedSequences):
    """``sequences`` as a torch ``IterableDataset`` (torch is imported only when a run starts)."""
    from torch.utils.data import IterableDataset

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(sequences)

    return Stream()


def _last_loss(state) -> float | None:
    for entry in reversed(state.log_history):
        if "loss" in entry:
            return float(entry["loss"])
    return None


def _previous_record(output: Path) -> dict:
    try:
        return json.loads((output / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _all_evaluations(output: Path, new: list[dict]) -> list[dict]:
    earlier = [e for e in _previous_record(output).get("evaluations", []) if not new or e["step"] < new[0]["step"]]
    return earlier + new


def _total_seconds(output: Path, seconds: float) -> float:
    return round(_previous_record(output).get("seconds", 0.0) + seconds, 1)


def write_model(model, tokenizer, output: Path, record: dict) -> None:
    """Write the model, tokenizer, record and model card to a temporary directory beside ``output``, then
    swap it into place: ``output`` is either the previous complete model or the new complete one."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.writing-", dir=output.parent))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.model_max_length = record["config"]["max_length"]  # positions past it were never trained
        tokenizer.save_pretrained(str(staging))
        (staging / RECORD_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        (staging / CARD_FILE).write_text(model_card(output.name, record), encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BertannoError(f"cannot write the model to {output}: {exc} (the checkpoints are intact; "
                            "free space and run again with --resume)") from None
    if output.exists():
        retired = output.parent / f".{output.name}.old-{os.getpid()}"
        output.rename(retired)
        staging.rename(output)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(output)


def model_card(name: str, record: dict) -> str:
    """The model card: what the model is, what it was trained on and how far, and how well it predicts."""
    config = record["config"]
    last = record["evaluations"][-1] if record["evaluations"] else None
    held_out = (f"held-out masked-LM loss {last['loss']:.3f}, accuracy {last['accuracy']:.3f} at step {last['step']}"
                if last else "not evaluated yet")
    rows = "\n".join(f"| {e['step']} | {e['loss']:.3f} | {e['accuracy']:.3f} |" for e in record["evaluations"])
    corpus = "\n".join(f"- `{Path(p).name}`" for p in record["corpus"])
    return f"""# {name}

A BERT masked language model pretrained by `bertanno pretrain`
({'continued from ' + record['from_model'] if record['from_model'] else 'from random weights'}):
{config['layers']} layers x {config['hidden']} hidden, {record['parameters'] / 1e6:.1f} M parameters,
the bert-base-chinese vocabulary, sequences of {config['max_length']} tokens.

- Steps: {record['steps']:,} of {record['total_steps']:,} ({'finished' if record['finished'] else 'unfinished: resume with --resume'})
- Tokens seen: {record['tokens_seen']:,} (batch {config['batch_size']} x {config['max_length']} packed tokens per step)
- Time: {record['seconds'] / 3600:.2f} h on {record['hardware'].get('gpu') or record['hardware']['device']} ({record['hardware']['cpus']} CPUs, {record['hardware']['threads']} threads, {record['hardware'].get('data_workers', 0)} data workers)
- Learning rate {config['learning_rate']} (linear decay, {config['warmup_steps']} warm-up steps), weight decay {config['weight_decay']}, seed {config['seed']}
- Masking: {config['mask_fraction']:.0%} of tokens, 80/10/10, whole terms for {record['terms']} listed terms
- Held out: {record['held_out']}; {held_out}

| step | held-out loss | held-out accuracy |
|---|---|---|
{rows}

## Corpus ({record['corpus_bytes'] / 1e6:.1f} MB)

{corpus}
"""


def _masked_only_trainer():
    from transformers import Trainer

    class MaskedOnlyTrainer(Trainer):
        """The Trainer with ``masked_only_loss``: the vocabulary projection on masked positions only."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss, logits, _ = masked_only_loss(model, inputs)
            return (loss, logits) if return_outputs else loss

    return MaskedOnlyTrainer
