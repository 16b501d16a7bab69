"""bertanno: annotate Chinese domain text with BERT-family models in the loop."""

from pathlib import Path

from bertanno.errors import BertannoError
from bertanno.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Files shipped inside the package: the bert-base-chinese config and vocabulary, shipped models, samples."""
BERT_BASE_CHINESE_DIR = DATA_DIR / "bert-base-chinese"
"""bert-base-chinese's config and WordPiece vocabulary (no weights): random models and word pieces start here."""

__all__ = ["BertannoError", "hookimpl", "__version__", "DATA_DIR", "BERT_BASE_CHINESE_DIR"]
