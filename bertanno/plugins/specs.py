"""Plain descriptions that plugins register: model aliases, vocabularies, file formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from bertanno.plugins.task import Example


@dataclass(frozen=True)
class ModelSpec:
    """A domain model alias: where its weights and tokenizer live and how to load them."""

    name: str
    hub_id: str
    description: str
    tokenizer_id: str | None = None
    """Where the tokenizer lives when not beside the weights (Lawformer uses hfl/chinese-roberta-wwm-ext)."""
    max_length: int = 512
    """Maximum tokens per input, special tokens included."""
    tokenizer_class: str = "bert"
    """``bert``: a WordPiece BertTokenizerFast whatever the architecture; ``auto``: AutoTokenizer."""
    architecture: str = "bert"
    notes: str = ""
    directory: Path | None = None
    """A model shipped inside a package: the directory holding its weights and tokenizer (``hub_id`` then only
    names it). Nothing is downloaded; ``bertanno models`` lists it as available offline."""


@dataclass(frozen=True)
class VocabularySpec:
    """A named domain term list: a UTF-8 file, one term per line."""

    name: str
    path: Path
    description: str = ""


PREDICTION_META = "prediction"
"""The meta key of a row that holds a model's prediction, ``{"model": NAME, "confidence": 0..1}``: import stores
it as the item's pre-annotation, never as gold (``bertanno predict`` writes such rows)."""
ANNOTATOR_META = "annotator"
"""The meta key naming who made a row's label (Label Studio's ``completed_by``): import records it as the gold
label's annotator."""


def empty_is_annotated(options: dict) -> bool:
    """The ``empty`` option of the standoff and span formats (doccano, brat, WebAnno TSV): whether an item that
    carries no entity is an annotated item without entities (``empty=no-entities``) or, the default
    (``empty=unlabelled``), an item nobody annotated, which is what those tools write for untouched texts.
    Raises ``ValueError`` (a sentence) for any other value."""
    empty = options.get("empty", "unlabelled")
    if empty not in ("unlabelled", "no-entities"):
        raise ValueError(f"option empty must be unlabelled or no-entities, got {empty!r}")
    return empty == "no-entities"


@dataclass(frozen=True)
class RowError:
    """A row of an input file that could not be turned into an example."""

    line: int
    message: str


@dataclass(frozen=True)
class RowNote:
    """Something a reader left out of a row without refusing it (brat's relation lines, say): reported, not
    an error."""

    line: int
    message: str


Reader = Callable[[TextIO, dict], Iterator["Example | RowError"]]
Writer = Callable[[Iterable[Example], TextIO, dict], None]
Carrier = Callable[[Example, str], "str | None"]


@dataclass(frozen=True)
class FileFormat:
    """An importer and, optionally, an exporter for one kind of file.

    ``kinds`` names the example kinds the format carries: ``text`` (one text and a
    label), ``pair`` (two texts and a label), ``spans`` (a text and entity spans).
    Readers yield one item per row: an ``Example`` (its ``meta["line"]`` set) or a
    ``RowError``. Readers and writers get the ``--option`` values and ``kind``, the task's example kind.
    """

    name: str
    description: str
    kinds: frozenset[str]
    read: Reader
    write: Writer | None = None
    extensions: tuple[str, ...] = field(default=())
    sniff: Callable[[list[str]], bool] | None = None
    """Given the first non-blank lines, whether they look like this format (breaks ties between formats
    that share an extension, such as ``.txt``). A directory format is given the names of the directory's
    files instead."""
    options: tuple[str, ...] | None = None
    """The ``--option`` keys the reader understands (``label_map`` is understood by every format); any other
    key is refused with a sentence naming these. ``None``: the format does not say, nothing is checked."""
    cannot_carry: Carrier | None = None
    """Given an example and its kind, why ``write`` cannot write it so that ``read`` reads it back the same
    (a sentence), or ``None`` when it can. The export leaves such items out and names each with the reason;
    the writer may assume it is only given examples this accepts. ``None``: the format carries everything."""
    carries_labels: bool = True
    """``False`` for a format of bare texts (``txt``): an export says that the labels were not written."""
    refuses: str = ""
    """What ``cannot_carry`` refuses, in a few words, for ``bertanno formats`` (empty: nothing)."""
    keeps_meta: bool = False
    """Whether an item's meta (ids, provenance, a model's prediction) is written and read back; rows that carry
    a prediction (``meta.prediction``) come in as pre-annotations."""
    directory: bool = False
    """``True`` for a format stored as a directory (``hf``, a saved Hugging Face dataset): ``read(path, options)``
    and ``write(examples, path, options)`` get the directory's ``Path`` instead of a text stream."""
    notes: str = ""
    """A longer account than ``description`` (Markdown): what is read and how, what is left out or refused and
    which options change that; the README's format table and ``formats --json`` show it."""
    exported: Callable[[list[str]], bool] | None = None
    """A directory format: given the names of every file in a non-empty folder (relative, ``/``-separated),
    whether it is an earlier export of this format, which an export to that folder replaces whole; any other
    non-empty folder is refused, never mixed with or overwritten. ``None``: only an empty folder is used."""


BUILTIN_VIEWS = ("labels", "pair", "spans", "relations")
"""The item views the annotation app brings (``bertanno.app.views``): a task names one as ``Task.view``."""


@dataclass(frozen=True)
class ViewSpec:
    """An item view of the annotation screens, which a task names (``Task.view``, as a Prodigy recipe names its
    ``view_id``): how one item is drawn and corrected. The plugins layer only holds the spec; the app draws it.

    ``render(task, example, prediction)`` gives a rich renderable of the item and its pre-annotation (the line
    screen shows it; the full screen's label keys widget draws it). ``widget``: a callable
    ``(task, example, prediction, restored)`` that returns the Textual widget of the full screen; ``None``
    reuses the built-in one, the label keys (or, with ``edits_spans``, the span editor). ``decisions(task,
    example, decisions)``: a rich renderable of several ``(who, payload)`` decisions side by side for a review;
    ``None``: one line per decision. ``edits_spans``: corrected span by span (the payload is a list of
    ``Span``), not by typing a label."""

    name: str
    description: str
    render: Callable[..., Any]
    widget: Callable[..., Any] | None = None
    decisions: Callable[..., Any] | None = None
    edits_spans: bool = False
