"""bertanno: annotate Chinese domain text with BERT-family models in the loop.

Plugin authors need this one import, as llm's do (``import llm``): the hook marker and every class a task, a
model family, a file format, a model alias or a term list is written with::

    from bertanno import hookimpl, Task, ClassificationTask, Example, Span, Prediction, Encoded, encode_texts
    from bertanno import ModelFamily, ModelSpec, FileFormat, RowError, RowNote, VocabularySpec, ViewSpec
    from bertanno import BertannoError
"""

from pathlib import Path

from bertanno.errors import BertannoError
from bertanno.plugins.classification import ClassificationTask
from bertanno.plugins.families import ModelFamily
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.specs import FileFormat, ModelSpec, RowError, RowNote, ViewSpec, VocabularySpec
from bertanno.plugins.task import Encoded, Example, Prediction, Span, Task, encode_texts

__version__ = "0.1.0"

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Files shipped inside the package: the bert-base-chinese config and vocabulary, shipped models, samples."""
BERT_BASE_CHINESE_DIR = DATA_DIR / "bert-base-chinese"
"""bert-base-chinese's config and WordPiece vocabulary (no weights): random models and word pieces start here."""

__all__ = ["hookimpl", "Task", "ClassificationTask", "Example", "Span", "Prediction", "Encoded", "encode_texts",
           "ModelFamily", "ModelSpec", "FileFormat", "RowError", "RowNote", "VocabularySpec", "ViewSpec",
           "BertannoError",
           "__version__", "DATA_DIR", "BERT_BASE_CHINESE_DIR"]
PLUGIN_API = __all__[:16]
"""What a plugin author imports from ``bertanno`` (the README's plugin example uses only these)."""
