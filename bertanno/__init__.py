"""bertanno: annotate Chinese domain text with BERT-family models in the loop."""

from bertanno.errors import BertannoError
from bertanno.plugins.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["BertannoError", "hookimpl", "__version__"]
