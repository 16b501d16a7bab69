"""WebAnno / INCEpTION TSV 3 (``#FORMAT=WebAnno TSV 3.x``): the named-entity layer and a relation layer between
its annotations, read and written.

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

A ``relations`` project also reads the relation layer between those entities (``#T_RL=NAME|FEATURE…|BT_LAYER``:
the first such layer, or ``relation_layer=``), its type from the ``value`` feature (``relation_feature=``). A
relation is written on the first token of its target (its dependent): the feature's value, and in the ``BT_``
column its source (governor) as ``TOKEN`` or ``TOKEN[SOURCE_TARGET]``, the ids of the two annotations (0 for one
without an id); stacked relations are separated by ``|``. A relation without a type is a row error unless
``relation_unlabelled=TYPE`` gives it one; one whose source lies in another sentence is counted and left out
(bertanno's items are sentences). Written back as ``webanno.custom.Relation|value``.

Written back: one sentence per item, one token per character that is not white space.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator, TextIO

from bertanno.plugins.specs import FileFormat, RowError, RowNote, empty_is_annotated
from bertanno.plugins.task import Example, Relation, Span, SpanGraph

NAMED_ENTITY = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"
RELATION_LAYER = "webanno.custom.Relation"
"""The relation layer a relations project's export declares (``#T_RL=webanno.custom.Relation|value|BT_…``)."""
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
    tokens: list[str] = field(default_factory=list)
    """Each unit's token id (``1-3``, ``1-5.1``), in the order of ``units``."""
    links: list[tuple[int, str, str, str]] = field(default_factory=list)
    """``(line, token id, value cell, source cell)`` of each unit with a relation of the chosen relation layer."""
    ids: dict[str, Span] = field(default_factory=dict)
    """The sentence's multi-token (or stacked) annotations by their id (``sentence_spans`` fills it)."""
    single: dict[str, list[Span]] = field(default_factory=dict)
    """The annotations without an id, by the token they lie on (``sentence_spans`` fills it)."""

    @property
    def text(self) -> str:
        return "\n".join(self.text_lines)


@dataclass
class Layout:
    column: int | None
    """Index among the annotation columns of the chosen layer's feature, ``None`` when the file lacks it."""
    width: int
    other_layers: list[str]
    relation_value: int | None = None
    """Index of the chosen relation layer's type feature (``None``: the layer has none, or no relation layer)."""
    relation_source: int | None = None
    """Index of the chosen relation layer's ``BT_`` column (where each relation's source is), ``None``: none."""


def parse_header(lines: list[str], layer: str, feature: str, relations: bool = False,
                 relation_layer: str | None = None, relation_feature: str = "value") -> Layout:
    """The annotation columns the header declares. A chosen layer without features (``#T_SP=webanno.custom.X``
    alone) is read from its one column, whose cells are ``*``: its entities have no value (``unlabelled=``
    labels them). With ``relations``, the relation layer between the chosen layer's annotations
    (``#T_RL=NAME|FEATURE…|BT_LAYER``; ``relation_layer`` names it, by default the first) is read too, its type
    from ``relation_feature``. Raises ``BadSentence`` for a layer line it cannot read or a chosen layer with
    features but not the chosen one."""
    width, column, others = 0, None, []
    value = source = None
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
        elif (kind == "#T_RL=" and relations and source is None and names[-1] == f"BT_{layer}"
              and relation_layer in (None, names[0])):
            source = width + len(names) - 2
            if relation_feature in names[1:-1]:
                value = width + names[1:-1].index(relation_feature)
            elif len(names) > 2:
                raise BadSentence(number, f"the relation layer {names[0]} has no feature {relation_feature!r} (it "
                                          f"has: {', '.join(names[1:-1])}); pick one with --option "
                                          "relation_feature=NAME")
        else:
            others.append(names[0].rsplit(".", 1)[-1])
        width += len(features)
    return Layout(column, width, others, value, source)


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
    token_of = {unit[0]: token for unit, token in zip(sentence.units, sentence.tokens)}
    for annotation, start, stop, label, line in _units_to_spans(sentence, start_units, unlabelled):
        if start == stop:
            zero_length += 1
            continue
        if annotation:
            grouped[annotation].append((start, stop, label, line))
        else:
            spans.append(Span(start, stop, label))
            sentence.single.setdefault(token_of.get(line, ""), []).append(spans[-1])
    for annotation, parts in grouped.items():
        labels = {label for _, _, label, _ in parts}
        if len(labels) > 1:
            raise BadSentence(parts[0][3], f"annotation [{annotation}] has several values: {sorted(labels)}")
        spans.append(Span(min(p[0] for p in parts), max(p[1] for p in parts), labels.pop()))
        sentence.ids[annotation] = spans[-1]
    unique = sorted(set(spans))
    sentence.duplicates = len(spans) - len(unique)  # stacked annotations of one type on the same characters
    return unique, set(grouped), zero_length


SOURCE_REF = re.compile(r"^(?P<token>\d+-\d+(?:\.\d+)?)(?:\[(?P<source>\d+)_(?P<target>\d+)\])?$")


def sentence_relations(sentence: Sentence, sentence_of: dict[str, int], index: int,
                       unlabelled: str | None = None) -> tuple[list[Relation], int]:
    """The relations written in the sentence's relation cells (``Layout.relation_value``/``relation_source``):
    each on its target's token, its source as ``TOKEN`` or ``TOKEN[SOURCE_TARGET]`` (annotation ids, 0 for an
    annotation without one), stacked ones separated by ``|``. ``sentence_of``: the token id -> sentence index of
    the document (a relation whose source lies in another sentence is across items: counted, left out). Returns
    the relations and how many were across sentences. Raises ``BadSentence`` for a relation without a type (unless
    ``unlabelled`` gives one), a source that does not parse, or an end that is no annotation of the layer."""
    relations, across = [], 0
    for line, token, values, sources in sentence.links:
        types, refs = _split_unescaped(values, "|"), _split_unescaped(sources, "|")
        if len(types) != len(refs):
            raise BadSentence(line, f"{len(types)} relation type(s) ({values!r}) but {len(refs)} source(s) "
                                    f"({sources!r})")
        for value, ref in zip(types, refs):
            match = SOURCE_REF.match(ref)
            if match is None:
                raise BadSentence(line, f"the relation source {ref!r} is not TOKEN or TOKEN[SOURCE_TARGET]")
            if sentence_of.get(match["token"], index) != index:
                across += 1
                continue
            ends = []
            for at, annotation in ((match["token"], match["source"]), (token, match["target"])):
                if annotation not in (None, "0"):
                    end = sentence.ids.get(annotation)
                else:
                    found = sentence.single.get(at, [])
                    end = found[0] if len(found) == 1 else None
                if end is None:
                    raise BadSentence(line, f"the relation {unescape_value(value)!r} from {ref!r} has an end at "
                                            f"token {at} that is no single annotation of the entity layer")
                ends.append(end)
            label = unescape_value(value)
            if label in ("*", ""):
                if unlabelled is None:
                    raise BadSentence(line, f"a relation without a type from {ref!r} to token {token}; --option "
                                            "relation_unlabelled=TYPE gives such relations a type")
                label = unlabelled
            relations.append(Relation(ends[0], ends[1], label))
    return relations, across


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
    keep_relations = options.get("kind") == "relations"
    relation_unlabelled = options.get("relation_unlabelled") or None
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
        layout = parse_header(lines[1:body], layer, feature, keep_relations, options.get("relation_layer") or None,
                              options.get("relation_feature") or "value")
    except BadSentence as exc:
        yield RowError(exc.line, str(exc))
        return
    sentences, broken = _sentences(lines, body, layout, minor)
    results: list[Example | RowError] = []
    where: dict[str, list[int]] = defaultdict(list)  # annotation id -> the sentences it appears in
    zero_lengths = duplicates = given = across = 0
    sentence_of = {token: index for index, sentence in enumerate(sentences) for token in sentence.tokens}
    for index, sentence in enumerate(sentences):
        if index in broken:
            results.append(broken[index])
            continue
        try:
            spans, ids, zero_length = sentence_spans(sentence, unlabelled)
            links, crossing = sentence_relations(sentence, sentence_of, index, relation_unlabelled)
        except BadSentence as exc:
            results.append(RowError(exc.line, str(exc)))
            continue
        across += crossing
        zero_lengths += zero_length
        duplicates += sentence.duplicates
        given += sentence.unlabelled
        for annotation in ids:
            where[annotation].append(index)
        payload = spans if spans or annotated else None
        if keep_relations and payload is not None:
            payload = SpanGraph(tuple(spans), tuple(sorted(set(links))))
        results.append(Example(sentence.text, payload=payload, meta={"line": sentence.line}))
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
    if across:
        yield RowNote(0, f"{across} relation(s) between annotations of different sentences left out: bertanno's "
                         "items are sentences, and a relation lies within one")
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
        current.tokens.append(line.split("\t", 1)[0])
        if layout.relation_source is not None and cells[layout.relation_source] != "_":
            value = "*" if layout.relation_value is None else cells[layout.relation_value]
            current.links.append((number, current.tokens[-1], value, cells[layout.relation_source]))
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
    with_relations = options.get("kind") == "relations"
    relation_header = f"#T_RL={RELATION_LAYER}|value|BT_{layer}\n" if with_relations else ""
    stream.write(f"{FORMAT_LINE}\n#T_SP={layer}|{'|'.join(features)}\n{relation_header}\n")
    offset, next_id = 0, 1
    for number, example in enumerate(examples, start=1):
        text = example.text
        graph = example.payload if isinstance(example.payload, SpanGraph) else SpanGraph(
            tuple(Span(*s) for s in example.payload or ()), ())
        stream.write("\n" + "".join(f"#Text={escape_text(line)}\n" for line in text.split("\n")))
        tokens = {index: n for n, index in enumerate((i for i, c in enumerate(text) if not c.isspace()), start=1)}
        cells: dict[int, list[tuple[str, str]]] = defaultdict(list)  # character -> (label, id suffix) per entity
        ids: dict[tuple, str] = {}
        for span in graph.spans:
            start, end, label = span
            suffix = ""
            if sum(not char.isspace() for char in text[start:end]) > 1:
                suffix, next_id = f"[{next_id}]", next_id + 1
            ids[tuple(span)] = suffix[1:-1] or "0"
            for index in range(start, end):
                cells[index].append((escape_value(label), suffix))
        links: dict[int, list[tuple[str, str]]] = defaultdict(list)  # the tail's first character -> (type, source)
        for head, tail, label in graph.relations:
            source, target = ids[tuple(head)], ids[tuple(tail)]
            brackets = f"[{source}_{target}]" if (source, target) != ("0", "0") else ""
            links[tail[0]].append((escape_value(label), f"{number}-{tokens[head[0]]}{brackets}"))
        token, position = 0, offset
        for index, char in enumerate(text):
            width = _utf16_units(char)
            if not char.isspace():
                token += 1
                entities = cells.get(index)
                columns = (["|".join("*" + suffix for _, suffix in entities),
                            "|".join(label + suffix for label, suffix in entities)] if entities else ["_", "_"])
                columns = columns[-len(features):]
                if with_relations:
                    related = links.get(index)
                    columns += (["|".join(t for t, _ in related), "|".join(r for _, r in related)] if related
                                else ["_", "_"])
                stream.write(f"{number}-{token}\t{position}-{position + width}\t{char}\t" + "\t".join(columns) + "\n")
            position += width
        offset = position + 1  # the line break between sentences


def webanno_cannot_carry(example: Example, kind: str) -> str | None:
    """A text of white space only (no token to hold it), an entity that starts or ends on white space (no token
    there: it would read back shorter), a label with a control character other than tab and line break, and an
    annotated text without entities (a sentence without entities reads as unannotated by default)."""
    text = example.text
    if not text or text.isspace():
        return "a text of white space only has no token to write"
    spans = example.payload.spans if isinstance(example.payload, SpanGraph) else example.payload
    if not spans:
        return "a sentence without entities reads back as unannotated; use jsonl"
    for head, tail, label in example.payload.relations if isinstance(example.payload, SpanGraph) else ():
        if re.search(r"[\x00-\x08\x0b-\x1f]", label):
            return f"the relation type {label!r} holds a control character, which a TSV cell cannot carry"
    for start, end, label in spans:
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
               'crosses sentences is a bad row; a relations project reads the relation layer between those entities '
               '(`#T_RL=…|BT_LAYER`: its `value` feature the type, each relation on its target\'s token with its '
               'source `TOKEN[SOURCE_TARGET]`; `--option relation_layer=`, `relation_feature=`, a relation without '
               'a type a bad row unless `--option relation_unlabelled=TYPE`; one across sentences counted and left '
               'out) and writes it as `webanno.custom.Relation`; written with one token per character; recognised '
               'from its first line'),
        description="WebAnno / INCEpTION TSV 3: a sentence per item, entities of the NamedEntity layer "
                    "(or --option layer=, feature=)",
        kinds=frozenset({"spans", "relations"}),
        read=read_webanno,
        write=write_webanno,
        extensions=(".tsv",),
        sniff=lambda lines: bool(lines) and lines[0].startswith("#FORMAT=WebAnno TSV"),
        options=("layer", "feature", "empty", "unlabelled", "relation_layer", "relation_feature",
                 "relation_unlabelled"),
        cannot_carry=webanno_cannot_carry,
        refuses="an entity that starts or ends on white space; an annotated item without entities",
    ),
)
