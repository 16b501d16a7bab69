"""brat standoff: a folder of ``NAME.txt`` documents, each with its annotations in ``NAME.ann``.

Each document is one item; its text is the ``.txt`` file exactly (UTF-8, line ends kept), and its entities
are the ``.ann`` file's text-bound lines, ``T1<TAB>TYPE START END<TAB>SURFACE``, offsets in characters, end
exclusive (brat's standoff documentation). A discontinuous entity (``START END;START END``) makes its
document a row error; relations, events, attributes, normalisations and notes (``R``, ``E``, ``A``/``M``,
``N``, ``#`` lines) are counted and left out with a note. A document without an ``.ann`` file is
unlabelled; an empty one too unless ``empty=no-entities`` (brat creates empty ``.ann`` files for documents
nobody has annotated).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from bertanno.plugins.specs import FileFormat, RowError, RowNote, empty_is_annotated
from bertanno.plugins.task import Example, Span

TEXT_BOUND = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")
OTHER_KINDS = {"R": "relations", "E": "events", "A": "attributes", "M": "attributes", "N": "normalisations",
               "#": "notes", "*": "equivalences"}
NAME_META = "brat_document"


class BadDocument(ValueError):
    pass


def _read_text(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as stream:  # offsets count \r\n as two characters
        return stream.read()


def parse_annotations(text: str, lines: Iterable[str], name: str) -> tuple[list[Span], Counter]:
    """The entities of one ``.ann`` file, sorted, and a count of the line kinds left out. Raises
    ``BadDocument`` for a discontinuous entity, offsets outside the text, a surface that differs from
    ``text[start:end]``, or a line brat does not define."""
    spans, skipped = [], Counter()
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if line[0] in OTHER_KINDS:
            skipped[OTHER_KINDS[line[0]]] += 1
            continue
        match = TEXT_BOUND.match(line)
        if match is None:
            raise BadDocument(f"{name}.ann line {number}: not a brat annotation line: {line[:60]!r}")
        _, label, offsets, surface = match.groups()
        if ";" in offsets:
            raise BadDocument(f"{name}.ann line {number}: the {label} entity is discontinuous ({offsets}); "
                              "bertanno's spans are continuous, split or join it in brat first")
        start, end = (int(value) for value in offsets.split())
        if not (0 <= start < end <= len(text)):
            raise BadDocument(f"{name}.ann line {number}: {label} {start}..{end} is outside the text of "
                              f"length {len(text)}")
        if text[start:end] != surface:
            raise BadDocument(f"{name}.ann line {number}: {start}..{end} is {text[start:end]!r} in {name}.txt "
                              f"but the annotation says {surface!r}")
        spans.append(Span(start, end, label))
    return sorted(set(spans)), skipped


def read_brat(directory: Path, options: dict) -> Iterator[Example | RowError | RowNote]:
    """One example per ``.txt`` file, in name order; ``meta["line"]`` is the document's position from 1 and
    ``meta["brat_document"]`` its name."""
    try:
        annotated = empty_is_annotated(options)
    except ValueError as exc:
        yield RowError(0, str(exc))
        return
    documents = sorted(directory.glob("*.txt"))
    if not documents:
        yield RowError(0, f"no .txt documents in {directory}: a brat folder holds NAME.txt and NAME.ann pairs")
        return
    skipped_total: Counter = Counter()
    for number, document in enumerate(documents, start=1):
        name = document.stem
        try:
            text = _read_text(document)
        except UnicodeDecodeError as exc:
            yield RowError(number, f"{name}.txt is not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        if not text.strip():
            yield RowError(number, f"{document.name} (document {number} of the folder) holds no text, or only "
                                   "white space")
            continue
        meta = {"line": number, NAME_META: name}
        annotations = document.with_suffix(".ann")
        if not annotations.is_file():
            yield Example(text, payload=None, meta=meta)
            continue
        try:
            # lines end at \n only: str.splitlines would also split a surface at U+2028, U+0085 …
            spans, skipped = parse_annotations(text, _read_text(annotations).split("\n"), name)
        except BadDocument as exc:
            yield RowError(number, str(exc))
            continue
        except UnicodeDecodeError as exc:
            yield RowError(number, f"{name}.ann is not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        except OSError as exc:
            yield RowError(number, f"{name}.ann cannot be read: {exc.strerror or exc}")
            continue
        skipped_total += skipped
        payload = spans if spans or annotated else None
        yield Example(text, payload=payload, meta=meta)
    if skipped_total:
        counted = ", ".join(f"{count} {kind}" for kind, count in sorted(skipped_total.items()))
        yield RowNote(0, f"left out (bertanno keeps entities only): {counted}")


def write_brat(examples: Iterable[Example], directory: Path, options: dict) -> None:
    """``NAME.txt`` and ``NAME.ann`` per example: the name its meta brought (``brat_document``) or
    ``item-00001``…; ``T`` lines numbered from 1 in text order."""
    directory.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for number, example in enumerate(examples, start=1):
        name = str(example.meta.get(NAME_META) or f"item-{number:05d}")
        while name in used:
            name += "-2"
        used.add(name)
        (directory / f"{name}.txt").write_text(example.text, encoding="utf-8", newline="")
        lines = [f"T{index}\t{label} {start} {end}\t{example.text[start:end]}\n"
                 for index, (start, end, label) in enumerate(example.payload or [], start=1)]
        (directory / f"{name}.ann").write_text("".join(lines), encoding="utf-8", newline="")


def brat_cannot_carry(example: Example, kind: str) -> str | None:
    """An entity whose surface holds a line break (it would break its ``.ann`` line), a type with spaces or
    tabs, a name that is no plain file name, and an annotated text without entities (an empty ``.ann`` reads
    as unannotated by default)."""
    if not example.payload:
        return "an empty .ann file reads back as an unannotated document; use jsonl"
    for start, end, label in example.payload:
        if any(mark in example.text[start:end] for mark in "\r\n"):
            return f"the {label} entity at {start}..{end} spans a line break, which a .ann line cannot hold"
        if not re.fullmatch(r"\S+", label):
            return f"the entity type {label!r} holds a space, which brat's .ann lines cannot carry"
    name = example.meta.get(NAME_META)
    if name is not None and (not re.fullmatch(r"[^/\\\x00]+", str(name)) or str(name) in (".", "..")):
        return f"the document name {name!r} is no plain file name"
    return None


FORMATS = (
    FileFormat(
        name="brat",
        notes=('brat standoff: a folder of `NAME.txt` documents and `NAME.ann` entities (`T` lines), one item per '
               'document; a discontinuous entity makes its document a bad row; relations, events, attributes and '
               'notes are counted and left out with a note; recognised as a folder'),
        description="brat standoff: a folder of NAME.txt documents and NAME.ann entities (T lines)",
        kinds=frozenset({"spans"}),
        read=read_brat,
        write=write_brat,
        sniff=lambda names: any(name.endswith((".ann", ".txt")) for name in names),
        options=("empty",),
        cannot_carry=brat_cannot_carry,
        refuses="an entity across a line break; a type with a space; an annotated item without entities",
        directory=True,
        exported=lambda names: all(name.endswith((".txt", ".ann", ".conf")) and "/" not in name for name in names),
    ),
)
