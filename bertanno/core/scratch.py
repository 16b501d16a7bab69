"""Randomly initialised models built from a real config and vocabulary (no weights needed).

Tests, benchmarks and the demo use these: the architecture, tokenizer and every code
path are the real ones; only the predictions are meaningless until trained.
"""

from __future__ import annotations

from pathlib import Path

from bertanno import BERT_BASE_CHINESE_DIR
from bertanno.core.bundle import ModelBundle, head_class, label_config, load_tokenizer, max_input_length
from bertanno.plugins.task import Task

SKELETON_DIR = BERT_BASE_CHINESE_DIR


def build_random_bundle(
    source_dir: str | Path = SKELETON_DIR,
    task: Task | None = None,
    layers: int | None = None,
    hidden: int | None = None,
    heads: int | None = None,
    attention_window: int | None = None,
    max_length: int | None = None,
    seed: int = 0,
) -> ModelBundle:
    """A model of the architecture in ``source_dir`` (config.json + vocab.txt), optionally shrunk.

    ``None`` keeps the real size: ``build_random_bundle(dir, task)`` costs exactly what the real model costs.
    """
    import torch
    from transformers import AutoConfig

    source_dir = Path(source_dir)
    config = AutoConfig.from_pretrained(str(source_dir), **label_config(task))
    if layers is not None:
        config.num_hidden_layers = layers
    if hidden is not None:
        config.hidden_size = hidden
        config.intermediate_size = 4 * hidden
        config.num_attention_heads = heads or max(1, hidden // 64)
    if config.model_type == "longformer":
        window = attention_window or config.attention_window[0]
        config.attention_window = [window] * config.num_hidden_layers
    torch.manual_seed(seed)
    model = head_class(task).from_config(config)
    model.eval()
    tokenizer = load_tokenizer(source_dir)
    return ModelBundle(model, tokenizer, task, max_input_length(config, max_length), f"random:{source_dir.name}",
                       pretrained=False)
