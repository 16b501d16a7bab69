"""WebAnno / INCEpTION TSV 3 (``#FORMAT=WebAnno TSV 3.x``): the named-entity layer, read and written.

The layout, from the WebAnno TSV 3 section of INCEpTION's user guide: a header (``#FORMAT=…``, then one
``#T_SP=LAYER|FEATURE…`` line per span layer, ``#T_CH=`` per chain layer, ``#T_RL=`` per relation layer, which
fixes the annotation columns, one per named feature, one for a layer without features), then the sentences,
each after a blank line: its text in ``#Text=`` lines (one per line of the sentence), then one line per token,
``SENTENCE-TOKEN<TAB>BEGIN-END<TAB>FORM<TAB>column…``, and per sub-token unit ``SENTENCE-TOKEN.N``. Offsets are
Java's: UTF-16 code units from the start of the document, end exclusive, so an astral character (an emoji,
𠀀) counts two. A column holds ``_`` (nothing), ``*`` (an annotation without a value), or values separated by
``|``; a value ending ``[N]`` belongs to annotation N, which may cover several tokens, one without ``[N]``
covers its token only. Reserved characters in values are escaped with a backslash (``\\ [ ] | _ -> ; * \\t
\\n``); ``#Text`` lines are escaped as INCEpTION's ``Escaping.escapeText`` does (TSV 3.2 on: ``\\t``,
``\\r``, a doubled backslash, a backslash before other control characters; 3.0 and 3.1: Java's escapes such as
``\\uXXXX``), and token forms are written as they are. A zero-length annotation (a position, INCEpTION's
``1-5.1 16-16`` unit) is left out and counted.

bertanno reads each sentence as one item: its text, and the entities of one span layer (by default
``de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity``, the label in its ``value`` feature; options
``layer=`` and ``feature=`` pick a custom layer), with offsets in characters of the sentence. Other layers are
counted and left out with a note; an entity without a value (INCEpTION's ``*``, a span whose feature nobody
filled in) is a row error unless ``unlabelled=LABEL`` gives such entities that label (counted in a note), and
one that crosses a sentence is a row error.
Written back: one sentence per item, one token per character that is not white space.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator, TextIO

from bertanno.plugins.specs import FileFormat, RowError, RowNote, empty_is_annotated
from bertanno.plugins.task import Example, Span

NAMED_ENTITY = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"
FORMAT_LINE = "#FORMAT=WebAnno TSV 3.3"
LAYER_HEADERS = ("#T_SP=", "#T_CH=", "#T_RL=")
TOKEN_ID = re.compile(r"^(\d+)-(\d+)(?:\.(\d+))?$")
OFFSETS = re.compile(r"^(\d+)-(\d+)$")
VALUE_ESCAPES = {"\\": "\\\\", "[": "\\[", "]": "\\]", "|": "\\|", "_": "\\_", "->": "\\->", ";": "\\;",
                 "\t": "\\t", "\n": "\\n", "*": "\\*"}
VALUE_UNESCAPES = {escaped[1:]: plain for plain, escaped in VALUE_ESCAPES.items()}


class BadSentence(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def escape_value(value: str) -> str:
    """A feature value as TSV 3 writes it: each reserved character (``VALUE_ESCAPES``) after a backslash."""
    return re.sub(r"->|[\\\[\]|_;\t\n*]", lambda match: VALUE_ESCAPES[match.group()], value)


def unescape_value(value: str) -> str:
    """The inverse of ``escape_value``; a backslash before anything else is kept as it is."""
    return re.sub(r"\\(->|[\\\[\]|_;tn*])", lambda match: VALUE_UNESCAPES[match.group(1)], value)


TEXT_ESCAPES = {**{chr(code): "\\" + chr(code) for code in range(32) if not 7 < code < 14},
                "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", "\b": "\\b", "\\": "\\\\"}
"""INCEpTION's ``Escaping.escapeText`` (TSV 3.2 and later): a backslash before a control character other than
8-13, the readable ``\\t \\n \\f \\r \\b`` for those, a doubled backslash. (Vertical tab, U+000B, stays
as it is: INCEpTION maps it to nothing.)"""
TEXT_UNESCAPES = {escaped: plain for plain, escaped in TEXT_ESCAPES.items()}
JAVA_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def escape_text(text: str) -> str:
    """A ``#Text`` line as INCEpTION writes it (``TEXT_ESCAPES``); a sentence's line breaks split it into
    several ``#Text`` lines before this."""
    return "".join(TEXT_ESCAPES.get(char, char) for char in text)


def unescape_text(text: str, minor: int = 3) -> str:
    """A ``#Text`` line as INCEpTION reads it: for TSV 3.2 and later the inverse of ``escape_text``, one left to
    right pass (a backslash before anything else stays); for 3.0 and 3.1 Java's string escapes
    (``StringEscapeUtils.unescapeJava``: ``\\t``, ``\\uXXXX``, octal ``\\0``-``\\377`` …)."""
    if minor >= 2:
        return re.sub(r"\\[\s\S]", lambda match: TEXT_UNESCAPES.get(match.group(), match.group()), text)

    def java(match: re.Match) -> str:
        body = match.group(1)
        if body[0] == "u":
            return chr(int(body.lstrip("u"), 16))
        if body[0] in "01234567":
            return chr(int(body, 8))
        return JAVA_ESCAPES[body]

    return re.sub(r"\\(u+[0-9a-fA-F]{4}|[0-3][0-7]{0,2}|[4-7][0-7]?|[btnfr\"'\\])", java, text)


def _split_unescaped(value: str, separator: str) -> list[str]:
    """``value`` split at each ``separator`` that is not escaped by a backslash."""
    parts, current, index = [], [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            current.append(value[index:index + 2])
            index += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _annotation_id(part: str) -> tuple[str, str | None]:
    """``PER[3]`` -> ``("PER", "3")``; ``PER`` -> ``("PER", None)``; an escaped ``\\[`` is no id."""
    match = re.search(r"\[(\d+(?:_\d+)?)\]$", part)
    if match is None:
        return part, None
    backslashes = len(part[:match.start()]) - len(part[:match.start()].rstrip("\\"))
    if backslashes % 2:
        return part, None
    return part[:match.start()], match.group(1)


def _utf16_units(char: str) -> int:
    """How many UTF-16 code units (Java's ``char``) a character takes: two above the BMP (emoji, 𠀀), else one."""
    return 2 if ord(char) > 0xFFFF else 1


@dataclass
class Sentence:
    line: int
    text_lines: list[str] = field(default_factory=list)
    units: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    """``(line, begin, end, form, cell)``: offsets in UTF-16 units of the document, the layer's raw cell."""
    duplicates: int = 0
    """Stacked annotations of one type on the same characters as another (``sentence_spans`` counts them)."""
    unlabelled: int = 0
    """Annotation parts without a value that ``--option unlabelled=LABEL`` labelled."""

    @property
    def text(self) -> str:
        return "\n".join(self.text_lines)


@dataclass
class Layout:
    column: int | None
    """Index among the annotation columns of the chosen layer's feature, ``None`` when the file lacks it."""
    width: int
    other_layers: list[str]


def parse_header(lines: list[str], layer: str, feature: str) -> Layout:
    """The annotation columns the header declares. A chosen layer without features (``#T_SP=webanno.custom.X``
    alone) is read from its one column, whose cells are ``*``: its entities have no value (``unlabelled=``
    labels them). Raises ``BadSentence`` for a layer line it cannot read or a chosen layer with features but
    not the chosen one."""
    width, column, others = 0, None, []
    for number, line in enumerate(lines, start=2):
        kind = line[:6]
        names = line[6:].split("|")
        if kind not in LAYER_HEADERS or not names[0]:
            raise BadSentence(number, f"not a WebAnno TSV 3 header line: {line[:60]!r}")
        features = names[1:] or [""]
        if kind == "#T_SP=" and names[0] == layer:
            if not any(names[1:]):  # ``#T_SP=X`` or ``#T_SP=X|``: a layer without features
                column = width
            elif feature not in features:
                raise BadSentence(number, f"the layer {layer} has no feature {feature!r} (it has: "
                                          f"{', '.join(features)}); pick one with --option feature=NAME")
            else:
                column = width + features.index(feature)
        else:
            others.append(names[0].rsplit(".", 1)[-1])
        width += len(features)
    return Layout(column, width, others)


def _units_to_spans(sentence: Sentence, start_units: int, unlabelled: str | None = None
                    ) -> list[tuple[str, int, int, str, int]]:
    """``(id or "", begin, end, label, line)`` per annotation part found in the sentence's cells, offsets in
    characters of the sentence text; an annotation without a value gets ``unlabelled`` (``BadSentence`` when
    that is None)."""
    text = sentence.text
    boundaries = {0: 0}  # UTF-16 offset within the sentence -> character offset
    units = 0
    for index, char in enumerate(text):
        units += _utf16_units(char)
        boundaries[units] = index + 1
    found = []
    for line, begin, end, form, cell in sentence.units:
        start, stop = boundaries.get(begin - start_units), boundaries.get(end - start_units)
        if start is None or stop is None or text[start:stop] != form:
            raise BadSentence(line, f"the token {form!r} at {begin}-{end} is not at that place in the sentence "
                                    f"text {text[:40]!r} (offsets count UTF-16 units from the document start)")
        if cell == "_":  # also every cell when the file lacks the layer (see _sentences)
            continue
        for part in _split_unescaped(cell, "|"):
            value, annotation = _annotation_id(part)
            if value in ("*", "") and start != stop:  # a zero-length one is left out whatever its value
                if unlabelled is None:
                    raise BadSentence(line, f"the token {form!r} has an entity without a value ({part!r}); "
                                            "--option unlabelled=LABEL gives such entities a label")
                sentence.unlabelled += 1
                found.append((annotation or "", start, stop, unlabelled, line))
                continue
            found.append((annotation or "", start, stop, unescape_value(value), line))
    return found


def sentence_spans(sentence: Sentence, unlabelled: str | None = None) -> tuple[list[Span], set[str], int]:
    """The sentence's entities, sorted, the ids of its multi-token annotations (to find one that crosses
    sentences), and how many zero-length annotations it holds (INCEpTION's ``1-5.1 16-16`` units: a position,
    not characters, which a bertanno span cannot be: left out and counted). An entity without a value is
    labelled ``unlabelled``. Raises ``BadSentence`` (an entity without a value when ``unlabelled`` is None)."""
    first_line, first_begin, _, first_form, _ = sentence.units[0]
    position = sentence.text.find(first_form)
    if position < 0:
        raise BadSentence(first_line, f"the token {first_form!r} is not in the sentence text "
                                      f"{sentence.text[:40]!r}")
    start_units = first_begin - sum(map(_utf16_units, sentence.text[:position]))
    spans, grouped, zero_length = [], defaultdict(list), 0
    for annotation, start, stop, label, line in _units_to_spans(sentence, start_units, unlabelled):
        if start == stop:
            zero_length += 1
            continue
        if annotation:
            grouped[annotation].append((start, stop, label, line))
        else:
            spans.append(Span(start, stop, label))
    for annotation, parts in grouped.items():
        labels = {label for _, _, label, _ in parts}
        if len(labels) > 1:
            raise BadSentence(parts[0][3], f"annotation [{annotation}] has several values: {sorted(labels)}")
        spans.append(Span(min(p[0] for p in parts), max(p[1] for p in parts), labels.pop()))
    unique = sorted(set(spans))
    sentence.duplicates = len(spans) - len(unique)  # stacked annotations of one type on the same characters
    return unique, set(grouped), zero_length


def _parse_token_line(line: str, number: int, width: int) -> tuple[int, int, str, list[str]]:
    fields = line.split("\t")
    if len(fields) == width + 4 and fields[-1] == "":  # the trailing tab that WebAnno 3.2 writes
        fields.pop()
    if len(fields) != width + 3 or not TOKEN_ID.match(fields[0]) or not OFFSETS.match(fields[1]):
        raise BadSentence(number, f"expected SENTENCE-TOKEN, BEGIN-END, the token and {width} annotation "
                                  f"column(s) separated by tabs, got {line[:60]!r}")
    begin, end = (int(value) for value in fields[1].split("-"))
    return begin, end, fields[2], fields[3:]  # INCEpTION writes a token's form as it is in the text


def read_webanno(stream: TextIO, options: dict) -> Iterator[Example | RowError | RowNote]:
    """One example per sentence, in file order; ``meta["line"]`` is the line of its first ``#Text``. Options:
    ``layer`` (default the NamedEntity layer), ``feature`` (default ``value``), ``empty``, ``unlabelled`` (the
    label of an entity without a value; without it such a sentence is a row error)."""
    layer, feature = options.get("layer", NAMED_ENTITY), options.get("feature", "value")
    unlabelled = options.get("unlabelled") or None
    try:
        annotated = empty_is_annotated(options)
    except ValueError as exc:
        yield RowError(0, str(exc))
        return
    lines = [line.rstrip("\r\n") for line in stream]
    if not lines or not lines[0].startswith("#FORMAT=WebAnno TSV 3"):
        found = lines[0][:40] if lines else "an empty file"
        yield RowError(1, f"not a WebAnno TSV 3 file: the first line must be '#FORMAT=WebAnno TSV 3.x' "
                          f"(INCEpTION's export 'WebAnno TSV v3.x'), got {found!r}")
        return
    version = re.match(r"#FORMAT=WebAnno TSV 3\.(\d+)", lines[0])
    minor = int(version.group(1)) if version else 3
    body = next((index for index, line in enumerate(lines[1:], start=1) if not line.startswith("#T_")), len(lines))
    try:
        layout = parse_header(lines[1:body], layer, feature)
    except BadSentence as exc:
        yield RowError(exc.line, str(exc))
        return
    sentences, broken = _sentences(lines, body, layout, minor)
    results: list[Example | RowError] = []
    where: dict[str, list[int]] = defaultdict(list)  # annotation id -> the sentences it appears in
    zero_lengths = duplicates = given = 0
    for index, sentence in enumerate(sentences):
        if index in broken:
            results.append(broken[index])
            continue
        try:
            spans, ids, zero_length = sentence_spans(sentence, unlabelled)
        except BadSentence as exc:
            results.append(RowError(exc.line, str(exc)))
            continue
        zero_lengths += zero_length
        duplicates += sentence.duplicates
        given += sentence.unlabelled
        for annotation in ids:
            where[annotation].append(index)
        results.append(Example(sentence.text, payload=spans if spans or annotated else None,
                               meta={"line": sentence.line}))
    for annotation, indices in where.items():
        for index in indices if len(indices) > 1 else ():
            lines_at = ", ".join(str(sentences[i].line) for i in indices)
            results[index] = RowError(sentences[index].line, f"annotation [{annotation}] crosses the sentences "
                                      f"at lines {lines_at}; bertanno's items are sentences, so an entity must "
                                      "lie within one")
    yield from results
    if duplicates:
        yield RowNote(0, f"{duplicates} stacked annotation(s) with the same characters and type as another kept "
                         "once (a bertanno span is one per characters and type)")
    if given:
        yield RowNote(0, f"{given} entity part(s) without a value labelled {unlabelled!r} (--option unlabelled)")
    if zero_lengths:
        yield RowNote(0, f"{zero_lengths} zero-length annotation(s) left out: they mark a position between "
                         "characters, and a bertanno span covers at least one character")
    if layout.other_layers:
        yield RowNote(0, f"left out (bertanno keeps the {layer.rsplit('.', 1)[-1]} layer only): layers "
                         + ", ".join(sorted(set(layout.other_layers))))


def _sentences(lines: list[str], body: int, layout: Layout, minor: int = 3
               ) -> tuple[list[Sentence], dict[int, RowError]]:
    """The sentences after the header, and a row error per sentence with a line that could not be read."""
    sentences: list[Sentence] = []
    broken: dict[int, RowError] = {}
    current: Sentence | None = None
    for number, line in enumerate(lines[body:], start=body + 1):
        if not line:
            current = None
            continue
        if line.startswith("#Text="):
            if current is None or current.units:
                current = Sentence(number)
                sentences.append(current)
            current.text_lines.append(unescape_text(line[len("#Text="):], minor))
            continue
        if line.startswith("#"):
            continue  # other sentence metadata (#Sentence.id=…)
        if current is None:
            broken.setdefault(len(sentences), RowError(number, "a token line before any #Text line"))
            sentences.append(Sentence(number, [""]))
            current = sentences[-1]
            continue
        try:
            begin, end, form, cells = _parse_token_line(line, number, layout.width)
        except BadSentence as exc:
            broken.setdefault(len(sentences) - 1, RowError(exc.line, str(exc)))
            continue
        cell = "_" if layout.column is None else cells[layout.column]
        current.units.append((number, begin, end, form, cell))
    for index, sentence in enumerate(sentences):
        if not sentence.units and index not in broken:
            broken[index] = RowError(sentence.line, "a sentence without token lines")
    return sentences, broken


def write_webanno(examples: Iterable[Example], stream: TextIO, options: dict) -> None:
    """A TSV 3.3 document: the header for the chosen layer (``NamedEntity|identifier|value`` by default), then
    each example as a sentence, one token per character that is not white space, texts joined by line breaks
    for the document offsets (UTF-16 units). A multi-character entity gets an id ``[N]``, counted from 1."""
    layer, feature = options.get("layer", NAMED_ENTITY), options.get("feature", "value")
    features = ["identifier", "value"] if layer == NAMED_ENTITY and feature == "value" else [feature]
    stream.write(f"{FORMAT_LINE}\n#T_SP={layer}|{'|'.join(features)}\n\n")
    offset, next_id = 0, 1
    for number, example in enumerate(examples, start=1):
        text = example.text
        stream.write("\n" + "".join(f"#Text={escape_text(line)}\n" for line in text.split("\n")))
        cells: dict[int, list[tuple[str, str]]] = defaultdict(list)  # character -> (label, id suffix) per entity
        for start, end, label in example.payload or ():
            suffix = ""
            if sum(not char.isspace() for char in text[start:end]) > 1:
                suffix, next_id = f"[{next_id}]", next_id + 1
            for index in range(start, end):
                cells[index].append((escape_value(label), suffix))
        token, position = 0, offset
        for index, char in enumerate(text):
            width = _utf16_units(char)
            if not char.isspace():
                token += 1
                entities = cells.get(index)
                columns = (["|".join("*" + suffix for _, suffix in entities),
                            "|".join(label + suffix for label, suffix in entities)] if entities else ["_", "_"])
                stream.write(f"{number}-{token}\t{position}-{position + width}\t{char}\t"
                             + "\t".join(columns[-len(features):]) + "\n")
            position += width
        offset = position + 1  # the line break between sentences


def webanno_cannot_carry(example: Example, kind: str) -> str | None:
    """A text of white space only (no token to hold it), an entity that starts or ends on white space (no token
    there: it would read back shorter), a label with a control character other than tab and line break, and an
    annotated text without entities (a sentence without entities reads as unannotated by default)."""
    text = example.text
    if not text or text.isspace():
        return "a text of white space only has no token to write"
    if not example.payload:
        return "a sentence without entities reads back as unannotated; use jsonl"
    for start, end, label in example.payload:
        if text[start].isspace() or text[end - 1].isspace():
            return (f"the {label} entity at {start}..{end} starts or ends with white space, which TSV's tokens "
                    "do not cover")
        if re.search(r"[\x00-\x08\x0b-\x1f]", label):
            return f"the label {label!r} holds a control character, which a TSV cell cannot carry"
    return None


FORMATS = (
    FileFormat(
        name="webanno-tsv",
        notes=('WebAnno / INCEpTION TSV 3 (`#FORMAT=WebAnno TSV 3.x`): one item per sentence (`#Text=`), entities of'
               ' the NamedEntity layer (`--option layer=webanno.custom.X --option feature=NAME` for a custom span '
               'layer); multi-token ids `[N]`, sub-token units, stacked entities and UTF-16 offsets (an emoji counts'
               ' two) are read; other layers are counted and left out with a note; an entity without a value '
               "(INCEpTION's `*`) is a bad row unless `--option unlabelled=LABEL` gives it a label; an entity that "
               'crosses sentences is a bad row; written with one token per character; recognised from its first line'),
        description="WebAnno / INCEpTION TSV 3: a sentence per item, entities of the NamedEntity layer "
                    "(or --option layer=, feature=)",
        kinds=frozenset({"spans"}),
        read=read_webanno,
        write=write_webanno,
        extensions=(".tsv",),
        sniff=lambda lines: bool(lines) and lines[0].startswith("#FORMAT=WebAnno TSV"),
        options=("layer", "feature", "empty", "unlabelled"),
        cannot_carry=webanno_cannot_carry,
        refuses="an entity that starts or ends on white space; an annotated item without entities",
    ),
)
