"""What ``bertanno models`` reports: the known aliases, and a full load check of one model."""

from __future__ import annotations

from bertanno.core.bundle import load_base
from bertanno.core.hub import TOKENIZER_FILES, WEIGHT_FILES, cached_snapshot, has_any, resolve_model
from bertanno.core.plugins import Plugins, get_plugins


def list_models(plugins: Plugins | None = None) -> list[dict]:
    plugins = plugins or get_plugins()
    rows = []
    for name in plugins.models:
        spec = plugins.models.get(name)
        if spec.directory is not None:  # shipped inside a package
            weights = tokenizer = spec.directory if has_any(spec.directory, WEIGHT_FILES) else None
        else:
            weights = cached_snapshot(spec.hub_id, WEIGHT_FILES)
            tokenizer = cached_snapshot(spec.tokenizer_id, TOKENIZER_FILES) if spec.tokenizer_id else weights
        rows.append({
            "name": spec.name, "hub_id": spec.hub_id, "description": spec.description,
            "max_length": spec.max_length, "tokenizer_id": spec.tokenizer_id or spec.hub_id,
            "available": bool(weights and tokenizer), "weights_dir": str(weights) if weights else None,
        })
    return rows


def list_families(plugins: Plugins | None = None) -> list[dict]:
    """Every registered model family: what it serves, its labels, whether it can run here and how to install it."""
    plugins = plugins or get_plugins()
    rows = []
    for name in plugins.families:
        family = plugins.family(name)
        missing = family.missing()
        rows.append({"name": name, "description": family.description, "example_kinds": sorted(family.example_kinds),
                     "labels": list(family.labels), "zero_shot": family.zero_shot, "configured": family.configured,
                     "trainable": family.trainable, "ready": missing is None,
                     "install": family.install, "missing": missing, "origin": family.origin})
    return rows


def check_model(name_or_path: str, plugins: Plugins | None = None, trust_remote_code: bool = False) -> dict:
    """Resolve and load the model with a classification head; raises a readable error when it cannot."""
    plugins = plugins or get_plugins()
    source = resolve_model(name_or_path, plugins)
    bundle = load_base(name_or_path, plugins.task("sentiment"), plugins, trust_remote_code)
    config = bundle.model.config
    return {
        "model": name_or_path,
        "architecture": config.model_type,
        "layers": config.num_hidden_layers,
        "hidden": config.hidden_size,
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "max_length": bundle.max_length,
        "vocab_size": len(bundle.tokenizer),
        "weights_dir": str(source.weights_dir),
        "tokenizer_dir": str(source.tokenizer_dir),
    }
