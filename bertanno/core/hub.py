"""Find a model's files: a local directory, the Hugging Face cache, or the hub when it answers.

Never hangs: the hub is probed with a short timeout before anything is downloaded,
and when nothing works the error names the model, every place looked, and the remedies.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bertanno.core.plugins import Plugins, get_plugins
from bertanno.errors import BertannoError
from bertanno.plugins.specs import ModelSpec

PROBE_TIMEOUT_SECONDS = 3.0
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
DOWNLOAD_PATTERNS = ["*.json", "vocab.txt", "*.model", "merges.txt", "*.safetensors", "pytorch_model*.bin"]


class ModelUnavailableError(BertannoError):
    exit_code = 3


@dataclass(frozen=True)
class ModelSource:
    """Local directories holding a model's weights and its tokenizer."""

    name: str
    spec: ModelSpec | None
    weights_dir: Path
    tokenizer_dir: Path


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_cache() -> str:
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def has_any(directory: Path, names: tuple[str, ...]) -> bool:
    return any((directory / name).exists() for name in names)


def cached_snapshot(repo_id: str, needed: tuple[str, ...]) -> Path | None:
    """The cached snapshot of ``repo_id`` if it holds one of ``needed``; never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = Path(snapshot_download(repo_id, local_files_only=True, cache_dir=hub_cache()))
    except (LocalEntryNotFoundError, FileNotFoundError, ValueError, OSError):
        return None
    return path if has_any(path, needed) else None


def probe_hub(endpoint: str, repo_id: str) -> str | None:
    """``None`` if the hub answers within the timeout, else why not."""
    request = urllib.request.Request(f"{endpoint}/api/models/{repo_id}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS):
            return None
    except urllib.error.HTTPError:
        return None  # it answered: a 401 or 404 is the hub's to explain
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"unreachable ({reason})"


def _remedies(spec: ModelSpec) -> str:
    return (
        "To provide it:\n"
        f"  - on a machine with access, download it (hf download {spec.hub_id} --local-dir DIR),\n"
        "    copy DIR to this machine and give that directory instead of the name\n"
        "  - or point at a mirror: export HF_ENDPOINT=https://your-mirror\n"
        f"  - or fill the cache directory ({hub_cache()}, set by HF_HOME / HF_HUB_CACHE) with its snapshot"
    )


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or os.sep in name and name.count("/") != 1


def local_model_directory(name_or_path: str) -> Path | None:
    """The directory ``name_or_path`` names, if it is one; a path that is not a model directory is refused
    with a sentence, and ``None`` means an alias or hub id."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not has_any(path, WEIGHT_FILES):
            raise ModelUnavailableError(f"{path} holds no model weights (looked for {', '.join(WEIGHT_FILES)})")
        return path
    if _looks_like_path(name_or_path):
        raise ModelUnavailableError(f"no model directory at {path}")
    return None


def model_reference(name_or_path: str) -> str:
    """What a project records as its model: an alias or hub id as given, a local directory as an absolute
    path (so the project works from any directory), checked now rather than at the first training."""
    directory = local_model_directory(name_or_path)
    return str(directory.resolve()) if directory else name_or_path


def resolve_model(name_or_path: str, plugins: Plugins | None = None, download: bool = True) -> ModelSource:
    """Turn an alias, a hub id or a local directory into local directories, or explain why not."""
    directory = local_model_directory(name_or_path)
    if directory:
        return ModelSource(name_or_path, None, directory, directory)
    plugins = plugins or get_plugins()
    if name_or_path in plugins.models:
        spec = plugins.models.get(name_or_path)
    else:
        spec = ModelSpec(name=name_or_path, hub_id=name_or_path, description="a Hugging Face hub model")
    if spec.directory is not None:  # shipped inside a package
        if not has_any(spec.directory, WEIGHT_FILES):
            raise ModelUnavailableError(f"model {spec.name!r} should be shipped in {spec.directory}, which holds no "
                                        "weights: reinstall the package that registers it")
        return ModelSource(name_or_path, spec, spec.directory, spec.directory)
    needs = {spec.hub_id: WEIGHT_FILES}
    if spec.tokenizer_id:
        needs[spec.tokenizer_id] = TOKENIZER_FILES
    found = {repo: cached_snapshot(repo, files) for repo, files in needs.items()}
    missing = [repo for repo, where in found.items() if where is None]
    if missing:
        found.update(_download(spec, missing, download))
    weights = found[spec.hub_id]
    return ModelSource(name_or_path, spec, weights, found.get(spec.tokenizer_id, weights) if spec.tokenizer_id else weights)


def _download(spec: ModelSpec, repos: list[str], allowed: bool) -> dict[str, Path]:
    looked = [
        f"  - a local directory named {spec.name!r}: none",
        f"  - the Hugging Face cache {hub_cache()}: no snapshot of {', '.join(repos)} with weights",
    ]
    endpoint = hub_endpoint()
    if offline_mode():
        reason = "not tried: HF_HUB_OFFLINE is set"
    elif not allowed:
        reason = "not tried: downloads are off"
    else:
        reason = probe_hub(endpoint, repos[0])
    if reason is None:
        from huggingface_hub import snapshot_download

        try:
            return {
                repo: Path(snapshot_download(repo, allow_patterns=DOWNLOAD_PATTERNS, cache_dir=hub_cache(), etag_timeout=10))
                for repo in repos
            }
        except Exception as exc:  # the hub answered the probe but not the download
            reason = f"download failed ({type(exc).__name__}: {exc})"
    looked.append(f"  - the hub at {endpoint}: {reason}")
    hub = f" (hub id {spec.hub_id})" if spec.hub_id != spec.name else ""
    raise ModelUnavailableError(
        f"model {spec.name!r}{hub} is not available on this machine.\nLooked in:\n" + "\n".join(looked) + "\n" + _remedies(spec)
    )


PREFERRED_MODEL = "bert-base-chinese"
OFFLINE_MODEL = "zh-mini"


def default_model(plugins: Plugins | None = None) -> tuple[str, str]:
    """The base model a project gets when none is named, and why: ``bert-base-chinese`` when its weights are on
    this machine (the hub cache or a local directory; nothing is downloaded to decide), else ``zh-mini``, the
    4 x 256 encoder shipped inside bertanno, so that a machine without the hub still starts from a pretrained
    model. Returns ``(name, reason)``, the reason a sentence for the user."""
    try:
        resolve_model(PREFERRED_MODEL, plugins, download=False)
        return PREFERRED_MODEL, f"{PREFERRED_MODEL}'s weights are on this machine"
    except BertannoError:
        return OFFLINE_MODEL, (f"{PREFERRED_MODEL}'s weights are not on this machine, so the project starts from "
                               f"{OFFLINE_MODEL}, the small Chinese encoder shipped with bertanno (4 layers x 256, "
                               f"pretrained by bertanno pretrain); --model {PREFERRED_MODEL} fetches the larger "
                               "one when the hub is reachable")
