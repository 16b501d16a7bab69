"""brat standoff: a folder of ``NAME.txt`` documents, each with its annotations in ``NAME.ann``.

Each document is one item; its text is the ``.txt`` file exactly (UTF-8, line ends kept), and its entities
are the ``.ann`` file's text-bound lines, ``T1<TAB>TYPE START END<TAB>SURFACE``, offsets in characters, end
exclusive (brat's standoff documentation). A discontinuous entity (``START END;START END``) makes its
document a row error. A ``relations`` project reads relations (``R1<TAB>TYPE Arg1:T1 Arg2:T2``: from the first
argument to the second) and events (``E1<TAB>TYPE:T3 ROLE:T1 ROLE2:T2``: a relation named by the role, its
numbering dropped, from the trigger ``T3`` to each argument; an argument that is an event stands for its
trigger), and writes its relations as ``R`` lines; another project counts them and leaves them out. Attributes,
normalisations and notes (``A``/``M``, ``N``, ``#`` lines) are counted and left out with a note. A document without an ``.ann`` file is
unlabelled; an empty one too unless ``empty=no-entities`` (brat creates empty ``.ann`` files for documents
nobody has annotated).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from bertanno.plugins.specs import FileFormat, RowError, RowNote, empty_is_annotated
from bertanno.plugins.task import Example, Relation, Span, SpanGraph

TEXT_BOUND = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")
RELATION_LINE = re.compile(r"^(R\d+)\t(\S+) (\S+):([TE]\d+) (\S+):([TE]\d+)\s*$")
EVENT_LINE = re.compile(r"^(E\d+)\t(\S+):(T\d+)((?: \S+:[TE]\d+)*)\s*$")
OTHER_KINDS = {"R": "relations", "E": "events", "A": "attributes", "M": "attributes", "N": "normalisations",
               "#": "notes", "*": "equivalences"}
NAME_META = "brat_document"


class BadDocument(ValueError):
    pass


def _read_text(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as stream:  # offsets count \r\n as two characters
        return stream.read()


def parse_annotations(text: str, lines: Iterable[str], name: str,
                      with_relations: bool = False) -> tuple[list[Span], list[Relation], Counter]:
    """The entities of one ``.ann`` file, sorted, its relations (``with_relations``: ``R`` and ``E`` lines, module
    docstring; else none, and they are counted as left out) and a count of the line kinds left out. Raises
    ``BadDocument`` for a discontinuous entity, offsets outside the text, a surface that differs from
    ``text[start:end]``, a relation or event argument that names no entity, or a line brat does not define."""
    spans, skipped, by_id, links = [], Counter(), {}, []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if line[0] in ("R", "E") and with_relations:
            links.append((number, line))
            continue
        if line[0] in OTHER_KINDS:
            skipped[OTHER_KINDS[line[0]]] += 1
            continue
        match = TEXT_BOUND.match(line)
        if match is None:
            raise BadDocument(f"{name}.ann line {number}: not a brat annotation line: {line[:60]!r}")
        identifier, label, offsets, surface = match.groups()
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
        by_id[identifier] = spans[-1]
    triggers = {}
    for number, line in links:
        event = EVENT_LINE.match(line)
        if event is not None:
            if event.group(3) not in by_id:
                raise BadDocument(f"{name}.ann line {number}: the event's trigger {event.group(3)} is no entity")
            triggers[event.group(1)] = (number, by_id[event.group(3)], event.group(4).split())
        elif RELATION_LINE.match(line) is None:
            raise BadDocument(f"{name}.ann line {number}: not a brat relation or event line: {line[:60]!r}")

    def end_of(reference: str, number: int) -> Span:
        if reference in by_id:
            return by_id[reference]
        if reference in triggers:
            return triggers[reference][1]
        raise BadDocument(f"{name}.ann line {number}: {reference} names no entity or event of the document")

    relations = []
    for number, line in links:
        relation = RELATION_LINE.match(line)
        if relation is not None:
            relations.append(Relation(end_of(relation.group(4), number), end_of(relation.group(6), number),
                                      relation.group(2)))
    for identifier, (number, trigger, arguments) in triggers.items():
        for argument in arguments:
            role, _, reference = argument.partition(":")
            relations.append(Relation(trigger, end_of(reference, number), re.sub(r"\d+$", "", role) or role))
    return sorted(set(spans)), relations, skipped


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
            spans, relations, skipped = parse_annotations(text, _read_text(annotations).split("\n"), name,
                                                          with_relations=options.get("kind") == "relations")
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
        if options.get("kind") == "relations" and payload is not None:
            payload = SpanGraph(tuple(spans), tuple(relations))
        yield Example(text, payload=payload, meta=meta)
    if skipped_total:
        counted = ", ".join(f"{count} {kind}" for kind, count in sorted(skipped_total.items()))
        kept = "entities and relations" if options.get("kind") == "relations" else "entities"
        yield RowNote(0, f"left out (bertanno keeps {kept} only): {counted}")


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
        payload = example.payload
        spans = sorted(payload.spans) if isinstance(payload, SpanGraph) else list(payload or [])
        lines = [f"T{index}\t{label} {start} {end}\t{example.text[start:end]}\n"
                 for index, (start, end, label) in enumerate(spans, start=1)]
        if isinstance(payload, SpanGraph):
            number_of = {tuple(span): index for index, span in enumerate(spans, start=1)}
            lines += [f"R{index}\t{r.label} Arg1:T{number_of[tuple(r.head)]} Arg2:T{number_of[tuple(r.tail)]}\n"
                      for index, r in enumerate(payload.relations, start=1)]
        (directory / f"{name}.ann").write_text("".join(lines), encoding="utf-8", newline="")


def brat_cannot_carry(example: Example, kind: str) -> str | None:
    """An entity whose surface holds a line break (it would break its ``.ann`` line), a type with spaces or
    tabs, a name that is no plain file name, and an annotated text without entities (an empty ``.ann`` reads
    as unannotated by default)."""
    payload = example.payload
    if isinstance(payload, SpanGraph):
        for relation in payload.relations:
            if not re.fullmatch(r"\S+", relation.label) or ":" in relation.label:
                return f"the relation type {relation.label!r} holds a space or a colon, which a .ann line cannot carry"
        payload = list(payload.spans)
    if not payload:
        return "an empty .ann file reads back as an unannotated document; use jsonl"
    for start, end, label in payload:
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
               'document; a discontinuous entity makes its document a bad row; a relations project reads `R` and '
               '`E` lines (an event as relations from its trigger, one per role) and writes `R` lines, another '
               'counts them and leaves them out; attributes and notes are counted and left out with a note; '
               'recognised as a folder'),
        description="brat standoff: a folder of NAME.txt documents and NAME.ann entities (T lines)",
        kinds=frozenset({"spans", "relations"}),
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
