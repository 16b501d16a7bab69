"""Read a data file through a registered format and check every example against the task.

Paths may point inside a zip archive: ``data/chnsenticorp.zip/test.tsv``.
"""

from __future__ import annotations

import io
import zipfile
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TextIO

from bertanno.core.plugins import Plugins, get_plugins
from bertanno.errors import BertannoError
from bertanno.plugins.specs import ANNOTATOR_META, PREDICTION_META, FileFormat, RowError, RowNote
from bertanno.plugins.task import Example, Span, Task, check_text

SNIFF_LINES = 5
SHOWN_ERRORS = 10


@dataclass
class ReadResult:
    examples: list[Example]
    errors: list[RowError] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)
    """What the format left out without refusing a row (``RowNote``), for the reader to report."""


class BadRowsError(BertannoError):
    def __init__(self, path: str, errors: list[RowError]):
        shown = "\n".join(f"  {path}:{e.line}: {e.message}" for e in errors[:SHOWN_ERRORS])
        more = f"\n  … and {len(errors) - SHOWN_ERRORS} more" if len(errors) > SHOWN_ERRORS else ""
        super().__init__(f"{len(errors)} bad row(s) in {path}:\n{shown}{more}\n"
                         "Fix them, or skip them with --skip-bad.")
        self.errors = errors


def _split_archive(path: Path) -> tuple[Path, str | None]:
    for parent in path.parents:
        if parent.suffix.lower() == ".zip" and parent.is_file():
            return parent, path.relative_to(parent).as_posix()
    return path, None


@contextmanager
def open_text(path: str | Path) -> Iterator[TextIO]:
    """Open a UTF-8 text file (or UTF-16 with its byte-order mark), or a member of a zip archive given as
    ``archive.zip/member``. Raises ``BertannoError`` for a missing file or member, or text that is neither."""
    path = Path(path)
    archive, member = _split_archive(path)
    try:
        if member is None:
            with open(path, "rb") as probe:
                start = probe.read(2)
            # a UTF-16 file says so with its byte-order mark (Excel's "Unicode text", doccano's test files)
            encoding = "utf-16" if start in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
            with open(path, encoding=encoding, newline="") as stream:
                yield stream
        else:
            with zipfile.ZipFile(archive) as zipped, zipped.open(member) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise BertannoError(f"no such file: {path}") from None
    except KeyError:
        raise BertannoError(f"{archive} has no member {member!r}") from None
    except UnicodeDecodeError as exc:
        raise BertannoError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def guess_format(path: str | Path, kind: str, plugins: Plugins) -> FileFormat:
    """The registered format for ``path``'s extension that carries ``kind``; sniffed when several match."""
    suffix = Path(path).suffix.lower()
    formats = [entry.value for _, entry in plugins.formats.items()]
    if Path(path).is_dir():
        readers = [f for f in formats if f.directory and kind in f.kinds]
        if not readers:
            raise BertannoError(f"{path} is a directory, and no format for {kind} examples reads one; give a file")
        names = sorted(entry.name for entry in Path(path).iterdir())
        recognised = [f for f in readers if f.sniff is not None and f.sniff(names)]
        if len(recognised) == 1 or len(readers) == 1:
            return (recognised or readers)[0]
        raise BertannoError(f"cannot tell which directory format {path} is; pass --format (one of: "
                            f"{', '.join(sorted(f.name for f in readers))})")
    formats = [f for f in formats if not f.directory]
    candidates = [f for f in formats if suffix in f.extensions and kind in f.kinds]
    if len(candidates) > 1:
        with open_text(path) as stream:
            lines = [line.rstrip("\r\n") for line in _first_lines(stream)]
        # A format that recognises the lines wins, one that cannot tell comes next, one that says no drops out.
        verdicts = {f.name: None if f.sniff is None else f.sniff(lines) for f in candidates}
        candidates = [f for f in candidates if verdicts[f.name] is not False]
        candidates.sort(key=lambda f: (verdicts[f.name] is not True, f.name == "txt"))  # plain text: last resort
    if not candidates:
        usable = ", ".join(f.name for f in formats if kind in f.kinds)
        others = [f for f in formats if suffix in f.extensions]
        if others:
            names = " or ".join(sorted(f.name for f in others))
            kinds = ", ".join(sorted({k for f in others for k in f.kinds}))
            raise BertannoError(f"{path} looks like {names}, which carries {kinds} examples, but this task needs "
                                f"{kind} examples (formats for them: {usable}); is it the right file for this "
                                "project?")
        raise BertannoError(f"cannot tell the format of {path}; pass --format (one of: {usable})")
    return candidates[0]


def _first_lines(stream: TextIO) -> list[str]:
    lines = []
    for line in stream:
        if line.strip():
            lines.append(line)
        if len(lines) == SNIFF_LINES:
            break
    return lines


def parse_label_map(text: str) -> dict[str, str]:
    """``0=negative,1=positive`` -> {"0": "negative", "1": "positive"}."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        source, sep, target = item.partition("=")
        if not sep:
            raise BertannoError(f"label_map items look like 0=negative, got {item!r}")
        mapping[source.strip()] = target.strip()
    return mapping


def _relabel(example: Example, mapping: dict[str, str]) -> None:
    payload = example.payload
    if isinstance(payload, str):
        example.payload = mapping.get(payload, payload)
    elif isinstance(payload, list):
        example.payload = [
            Span(p.start, p.end, mapping.get(p.label, p.label)) if isinstance(p, Span) else mapping.get(p, p)
            for p in payload
        ]


def _check_names(meta: dict) -> None:
    """The names a row gives that become database columns (its annotator, the model of its prediction) hold
    only text: a NUL or another control character is a row error here, not a database error (PostgreSQL
    refuses NUL in text) at the end of the import. Raises ``ValueError``."""
    annotator = meta.get(ANNOTATOR_META)
    if annotator is not None:
        check_text(str(annotator), "the annotator's name")
    prediction = meta.get(PREDICTION_META)
    if isinstance(prediction, dict) and prediction.get("model") is not None:
        check_text(str(prediction["model"]), "the prediction's model name")


PROGRESS_EVERY = 5000
"""How many rows ``read_examples`` reads between two calls of its ``progress``."""


def read_examples(
    path: str | Path,
    task: Task,
    format_name: str | None = None,
    options: dict | None = None,
    skip_bad: bool = False,
    plugins: Plugins | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadResult:
    """Every example of ``path`` valid for ``task``; bad rows raise ``BadRowsError`` unless ``skip_bad``.
    ``progress(rows)`` hears how many rows were read so far, every ``PROGRESS_EVERY`` rows.

    A bad row is one the format cannot read, one whose text is blank or holds a character that is not text (a
    control character other than tab and line breaks, a lone surrogate: ``check_text``), or one
    ``task.validate`` refuses. Raises ``BertannoError`` for an ``options`` key the format does not know."""
    plugins = plugins or get_plugins()
    options = dict(options or {})
    file_format = plugins.formats.get(format_name) if format_name else guess_format(path, task.example_kind, plugins)
    if task.example_kind not in file_format.kinds:
        raise BertannoError(
            f"format {file_format.name!r} carries {', '.join(sorted(file_format.kinds))} examples, "
            f"but task {task.name!r} needs {task.example_kind!r} examples"
        )
    if file_format.options is not None:
        unknown = sorted(set(options) - set(file_format.options) - {"label_map"})
        if unknown:
            known = ", ".join(["label_map", *file_format.options])
            raise BertannoError(f"format {file_format.name!r} has no option {', '.join(unknown)}; its options: {known}")
    mapping = parse_label_map(options.pop("label_map", ""))
    result = ReadResult(examples=[])
    if file_format.directory != Path(path).is_dir():
        raise BertannoError(f"format {file_format.name!r} reads a directory, and {path} is not one" if
                            file_format.directory else f"{path} is a directory; format {file_format.name!r} reads a file")
    with nullcontext(Path(path)) if file_format.directory else open_text(path) as source:
        for count, row in enumerate(file_format.read(source, {**options, "kind": task.example_kind}), start=1):
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
            if isinstance(row, RowError):
                result.errors.append(row)
                continue
            if isinstance(row, RowNote):
                result.notes.append(row)
                continue
            _relabel(row, mapping)
            try:
                for field_name in ("text", "text_b"):
                    value = getattr(row, field_name)
                    if value is not None:
                        check_text(value, field_name)
                        if not value.strip():
                            raise ValueError(f"{field_name} is empty or only whitespace")
                _check_names(row.meta)
                task.validate(row)
            except ValueError as exc:
                result.errors.append(RowError(row.meta.get("line", 0), str(exc)))
                continue
            result.examples.append(row)
    if result.errors and not skip_bad:
        raise BadRowsError(str(path), result.errors)
    return result
