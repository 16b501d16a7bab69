"""A model bundle (model + tokenizer + task), loaded once per process, and model version directories.

Loading is safe by default: weights come from safetensors, a pickled ``pytorch_model.bin``
is read with ``weights_only=True``, and code shipped inside a model directory never runs
unless the user passes ``trust_remote_code``.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bertanno import files
from bertanno.core.hub import TOKENIZER_FILES, ModelSource, resolve_model
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.token_features import load_features, save_features
from bertanno.errors import BertannoError
from bertanno.plugins.task import Task

VERSION_FILE = "bertanno.json"
DEFAULT_FAMILY = "transformer"
"""The model family of a version whose record (or stored row) names none: the fine-tuned transformers."""
VERSION_FORMAT = 1
# Architectures whose position ids start after the padding index (RoBERTa style).
POSITION_OFFSET_TYPES = {"longformer", "roberta", "xlm-roberta", "camembert"}


@dataclass
class ModelBundle:
    model: object
    tokenizer: object
    task: Task
    max_length: int
    base_model: str
    added_terms: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    token_features: object = None
    """A token task's feature table (``core.token_features``, numpy ``[buckets, tags]``) when the version was trained
    with ``--lexicon-features``; its scores are added to the model's logits."""
    pretrained: bool = True
    """Whether the encoder's weights come from pretraining. False for weights that started random
    (``core.scratch``) and for every version trained from them: training defaults differ (``training_defaults``)."""


def record_pretrained(record: dict) -> bool:
    """A version record's ``pretrained`` (records older than the field: not from ``random:`` weights)."""
    return bool(record.get("pretrained", not str(record.get("base_model", "")).startswith("random:")))


def max_input_length(config, limit: int | None = None) -> int:
    """Tokens one input may hold, special tokens included."""
    positions = config.max_position_embeddings
    if config.model_type in POSITION_OFFSET_TYPES:
        positions -= 2
    return min(positions, limit) if limit else positions


def trained_length(tokenizer) -> int | None:
    """The input length the model was pretrained at, from its tokenizer's ``model_max_length`` (the Hugging Face
    field for it; ``bertanno pretrain`` writes its ``--max-length`` there), or ``None`` when the tokenizer leaves it
    unset (transformers' stand-in is a huge number). Positions past it were never trained, so inputs stop there."""
    length = getattr(tokenizer, "model_max_length", None)
    return int(length) if isinstance(length, int) and 0 < length < 1_000_000 else None


def head_class(task: Task):
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    return AutoModelForTokenClassification if task.head == "token" else AutoModelForSequenceClassification


def label_config(task: Task) -> dict:
    labels = task.model_labels
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
        **task.model_config(),
    }


def load_tokenizer(directory: Path, tokenizer_class: str = "bert"):
    """A WordPiece BERT tokenizer when the directory has ``vocab.txt`` (Lawformer included), else AutoTokenizer.
    Raises ``BertannoError`` naming the files it looked for when the folder holds none of them, and when the
    tokenizer cannot load or is not a Chinese one."""
    from transformers import AutoTokenizer, BertTokenizerFast

    directory = Path(directory)
    if directory.is_dir() and not any((directory / name).exists() for name in TOKENIZER_FILES):
        present = sorted(path.name for path in directory.iterdir())
        raise BertannoError(
            f"the model folder {directory} holds no tokenizer: none of {', '.join(TOKENIZER_FILES)} is there (it "
            f"holds {', '.join(present[:8]) or 'nothing'}{' …' if len(present) > 8 else ''}). Copy the tokenizer "
            "files (vocab.txt for a Chinese BERT) from where the model came from")
    has_vocab = (directory / "vocab.txt").exists()
    wordpiece = has_vocab and (tokenizer_class == "bert" or not (directory / "tokenizer.json").exists())
    try:
        if wordpiece:
            tokenizer = BertTokenizerFast.from_pretrained(str(directory))
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(directory), trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise BertannoError(f"cannot load a tokenizer from {directory}: {exc}") from None
    unknown = tokenizer.convert_tokens_to_ids(tokenizer.unk_token) if tokenizer.unk_token else None
    if unknown is not None and unknown in tokenizer("中文")["input_ids"]:
        raise BertannoError(f"the tokenizer in {directory} turns Chinese characters into {tokenizer.unk_token}; "
                            "it is not a Chinese BERT tokenizer")
    return tokenizer


def refuse_remote_code(directory: Path, trust_remote_code: bool) -> None:
    config = Path(directory) / "config.json"
    if trust_remote_code or not config.exists():
        return
    if "auto_map" in json.loads(config.read_text(encoding="utf-8")):
        raise BertannoError(
            f"the model in {directory} ships its own Python code (auto_map in config.json). bertanno does not run "
            "code from model directories; pass --trust-remote-code only if you trust whoever made it."
        )


def _load_weights(directory: Path, task: Task, trust_remote_code: bool, new_head: bool = False, **config_overrides):
    """The model in ``directory`` with ``task``'s head (``new_head``: a fresh one for a base model). A BERT whose
    checkpoint had no pooler (masked-LM pretraining only), or whose config records it, pools by the mean of its
    token vectors (``core.pooling``). Raises ``BertannoError`` for weights that are unsafe, damaged or missing."""
    import torch
    from safetensors import SafetensorError
    from transformers import AutoConfig

    from bertanno.core.pooling import pooler_missing, use_mean_pooling, wants_mean_pooling

    refuse_remote_code(directory, trust_remote_code)
    try:
        config = AutoConfig.from_pretrained(str(directory), trust_remote_code=trust_remote_code, **config_overrides)
        model, loading = head_class(task).from_pretrained(
            str(directory), config=config, weights_only=True, trust_remote_code=trust_remote_code,
            local_files_only=True, ignore_mismatched_sizes=new_head, output_loading_info=True,
            dtype=torch.float32,  # weights stored in fp16 (a shipped model) train and predict in fp32
        )
        if wants_mean_pooling(config) or (new_head and pooler_missing(loading["missing_keys"])):
            use_mean_pooling(model)  # a masked-LM-only checkpoint: no trained pooler, no trained [CLS]
        return model
    except pickle.UnpicklingError:
        raise BertannoError(
            f"cannot load the model weights in {directory}: its pickled checkpoint holds objects other than tensors, "
            "which could run code, so it was refused (weights_only loading). Ask for a safetensors file."
        ) from None
    except SafetensorError as exc:
        raise BertannoError(f"the model weights in {directory} are damaged or truncated ({exc}); train the version "
                            "again, or restore the folder from a copy") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise BertannoError(f"cannot load the model weights in {directory}: {exc}") from None


def load_base(
    name_or_path: str, task: Task, plugins: Plugins | None = None, trust_remote_code: bool = False
) -> ModelBundle:
    """A base model (alias, hub id or directory) with a fresh head for ``task``."""
    source: ModelSource = resolve_model(name_or_path, plugins)
    spec = source.spec
    model = _load_weights(source.weights_dir, task, trust_remote_code, new_head=True, **label_config(task))
    tokenizer = load_tokenizer(source.tokenizer_dir, spec.tokenizer_class if spec else "bert")
    own = trained_length(tokenizer) if source.tokenizer_dir == source.weights_dir else None  # not a borrowed one's
    limit = min(filter(None, (spec.max_length if spec else None, own)), default=None)
    pretrained = record_pretrained(read_version_record(source.weights_dir)) if is_version_dir(source.weights_dir) else True
    return ModelBundle(model, tokenizer, task, max_input_length(model.config, limit),
                       spec.hub_id if spec else str(name_or_path), pretrained=pretrained)


def library_versions() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers

    from bertanno import __version__

    return {"bertanno": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__}


def save_version(bundle: ModelBundle, directory: str | Path, metadata: dict | None = None) -> Path:
    """Write a self-contained version directory: safetensors weights, tokenizer, task, labels, metadata. It is
    written whole or not at all (``files.atomic_directory``: a fresh sibling folder renamed into place), so a
    kill leaves no half-written version under the name. Returns the directory; raises ``BertannoError`` when
    it cannot be written."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_directory(directory) as fresh:
        bundle.model.save_pretrained(str(fresh), safe_serialization=True)
        bundle.tokenizer.save_pretrained(str(fresh))
        save_features(bundle.token_features, fresh)
        write_version_record(fresh, bundle.task, {
            "model_labels": bundle.task.model_labels,
            "base_model": bundle.base_model,
            "max_length": bundle.max_length,
            "added_terms": list(bundle.added_terms),
            "pretrained": bundle.pretrained,
            "libraries": library_versions(),
            **(metadata or {}),
        })
    return directory


def write_version_record(directory: str | Path, task: Task, fields: dict) -> Path:
    """Write ``bertanno.json`` into ``directory`` (created if needed): the format, the task and its labels,
    the creation time and ``fields``. Returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    record = {"format": VERSION_FORMAT, **task.describe(),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **fields}
    files.write_text(directory / VERSION_FILE, json.dumps(record, ensure_ascii=False, indent=2))
    return directory


def update_version_record(directory: str | Path, changes: dict) -> dict:
    """Merge ``changes`` into the ``bertanno.json`` of a version directory (written to a temporary file and
    renamed over it, so a crash leaves the old record or the new one); returns the new record. Raises
    ``BertannoError`` as ``read_version_record`` does."""
    directory = Path(directory)
    record = {**read_version_record(directory), **changes}
    files.write_text(directory / VERSION_FILE, json.dumps(record, ensure_ascii=False, indent=2))
    return record


def is_version_dir(path: str | Path) -> bool:
    return (Path(path) / VERSION_FILE).is_file()


def read_version_record(directory: str | Path) -> dict:
    """The ``bertanno.json`` record of a version directory; ``BertannoError`` when it is missing or unreadable."""
    directory = Path(directory)
    try:
        record = json.loads((directory / VERSION_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BertannoError(f"{directory} is not a bertanno model version: {exc}") from None
    if record.get("format") != VERSION_FORMAT:
        raise BertannoError(f"{directory} was written in version format {record.get('format')}; "
                            f"this bertanno reads format {VERSION_FORMAT}")
    return record


def record_family_name(record: dict) -> str:
    """The family named by a version record (``bertanno.json``) or a version row's training snapshot."""
    return (record or {}).get("family", DEFAULT_FAMILY)


def version_task(record: dict, plugins: Plugins | None = None) -> Task:
    """The task a version record was made for, with its labels and config."""
    return (plugins or get_plugins()).task(record["task"], labels=record["labels"], **record.get("config", {}))


def load_version(directory: str | Path, plugins: Plugins | None = None, trust_remote_code: bool = False,
                 task: Task | None = None) -> ModelBundle:
    """Load a saved transformer version; needs no network. ``task`` (default: built from the record)
    must derive the model labels the version was saved with."""
    directory = Path(directory)
    record = read_version_record(directory)
    if record_family_name(record) != DEFAULT_FAMILY:
        raise BertannoError(f"{directory} holds a {record['family']} model, not a fine-tuned transformer")
    task = (task or version_task(record, plugins)).as_saved(record)
    if task.model_labels != record["model_labels"]:
        raise BertannoError(f"{directory}: the task {task.name!r} now derives other model labels than the saved ones")
    model = _load_weights(directory, task, trust_remote_code)
    tokenizer = load_tokenizer(directory)
    try:
        table = load_features(directory, model.config)
    except (OSError, ValueError) as exc:
        raise BertannoError(f"the lexicon feature table of {directory} is missing or damaged ({exc}); train the "
                            "version again, or restore the folder from a copy") from None
    return ModelBundle(model, tokenizer, task, int(record["max_length"]), record["base_model"],
                       list(record.get("added_terms", [])), record, table, record_pretrained(record))


def load_bundle(name_or_path: str, task: Task | None = None, plugins: Plugins | None = None,
                trust_remote_code: bool = False) -> ModelBundle:
    """A saved version directory as it is, or a base model with a fresh head for ``task``."""
    if is_version_dir(name_or_path):
        return load_version(name_or_path, plugins, trust_remote_code)
    if task is None:
        raise BertannoError(f"{name_or_path} is a base model, not a trained version: say which task it is for")
    return load_base(name_or_path, task, plugins, trust_remote_code)
