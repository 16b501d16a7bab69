"""Built-in model families ``gazetteer``: entity spans from typed term lists, before any model exists; and
``lexicon``: the surfaces the project's annotators marked, learnt with their types (and refitted live).

A version holds its terms and their entity types (``term<TAB>TYPE`` lines of the lists it was made
from, e.g. the built-in ``medical`` list). Matching is longest-leftmost over an Aho-Corasick automaton
(pyahocorasick's ``iter_long``): scanning left to right, at each position the longest term that starts
there wins, and matches never overlap, so the result is deterministic whatever the list order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from bertanno.errors import BertannoError
from bertanno.plugins.families import ModelFamily, predict_each
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Span, Task


def automaton(terms: Sequence[tuple[str, str]]):
    """An Aho-Corasick automaton over ``(term, type)`` pairs; the first type given for a term wins."""
    import ahocorasick

    machine = ahocorasick.Automaton()
    for term, label in terms:
        if term and term not in machine:
            machine.add_word(term, (len(term), label))
    machine.make_automaton()
    return machine


def match_spans(machine, text: str, label_map: dict[str, str]) -> list[Span]:
    """Longest-leftmost, non-overlapping term matches in ``text`` whose type ``label_map`` maps, as spans
    (code-point offsets, end exclusive: ``text[start:end]`` is the term)."""
    if not len(machine) or not text:
        return []
    spans = []
    for end, (length, label) in machine.iter_long(text):
        if label in label_map:
            spans.append(Span(end + 1 - length, end + 1, label_map[label]))
    return spans


class GazetteerEntities:
    def __init__(self, task: Task, label_map: dict[str, str], terms: Sequence[tuple[str, str]]):
        self.task, self.label_map, self._machine = task, label_map, automaton(terms)

    def predict(self, examples: Sequence[Example], progress=None):
        return predict_each(examples, lambda example, stats: Prediction(
            match_spans(self._machine, example.text, self.label_map), 1.0), progress)


class GazetteerFamily(ModelFamily):
    name = "gazetteer"
    description = "Typed term lists (term<TAB>TYPE) matched longest-leftmost: entity spans before any training"
    example_kinds = frozenset({"spans"})
    zero_shot = True
    configured = True
    partial_map = True
    merge_labels = True
    version_prefix = "g"
    confidence_note = "term-list matches, no confidence"
    modules = ("ahocorasick",)
    install = "pip install pyahocorasick"
    origin = "the project's own term lists (the built-in medical and legal lists come from training splits)"

    def source_labels(self, options: dict | None = None) -> tuple[str, ...]:
        return tuple(dict.fromkeys(label for _, label in (options or {}).get("terms", ())))

    def source_name(self, options: dict | None = None) -> str:
        return "gazetteer:" + ",".join((options or {}).get("lists", ()))

    def load(self, directory: Path, record: dict, task: Task) -> GazetteerEntities:
        self.require()
        return GazetteerEntities(task, record["label_map"], [tuple(t) for t in record["options"]["terms"]])


# -- lexicon: the surfaces the team decided, learnt ------------------------------------------------------------------

LEXICON_FILE = "lexicon.json"
MIN_PRECISION = 0.5
"""A surface is learnt when at least this share of its occurrences in the training texts is marked, as its
most frequent type (one occurrence marked of three: left out, as 在 or 中 would be)."""


def learn_lexicon(examples: Sequence[Example]) -> list[tuple[str, str, float]]:
    """``[(surface, type, precision), ...]`` from labelled NER ``examples`` (payloads of ``(start, end, type)``
    spans): every surface of two characters or more marked at least once, with its most frequent type, kept
    when its precision — how many of its occurrences in all training texts are marked with that type, over all
    its occurrences (``str.count``: non-overlapping) — is at least ``MIN_PRECISION``. Ordered by surface."""
    from collections import Counter, defaultdict

    types: dict[str, Counter] = defaultdict(Counter)
    for example in examples:
        for start, end, label, *_ in example.payload or ():
            surface = example.text[start:end]
            if len(surface) >= 2 and surface.strip() == surface:
                types[surface][label] += 1
    learnt = []
    for surface, counts in sorted(types.items()):
        label, marked = counts.most_common(1)[0]
        occurrences = sum(example.text.count(surface) for example in examples)
        precision = marked / max(occurrences, marked)
        if precision >= MIN_PRECISION:
            learnt.append((surface, label, round(precision, 4)))
    return learnt


class LexiconEntities:
    """Longest-leftmost matches of the learnt surfaces; a prediction's confidence is the lowest precision of
    the surfaces it matched (how often such a surface was an entity in training), 0.5 with nothing matched."""

    def __init__(self, task: Task, terms: Sequence[tuple[str, str, float]]):
        self.task = task
        self._machine = automaton([(surface, label) for surface, label, _ in terms])
        self._precision = {surface: precision for surface, _, precision in terms}
        self._labels = {label: label for label in task.labels}

    def predict(self, examples: Sequence[Example], progress=None):
        def one(example: Example, stats) -> Prediction:
            spans = match_spans(self._machine, example.text, self._labels)
            sure = [self._precision[example.text[s.start:s.end]] for s in spans]
            return Prediction(spans, min(sure) if sure else 0.5)

        return predict_each(examples, one, progress)


class LexiconFamily(ModelFamily):
    name = "lexicon"
    description = ("The surfaces the team marked, learnt with their types and matched in new items: the same "
                   "term labelled everywhere, refitted live (NER)")
    example_kinds = frozenset({"spans"})
    version_prefix = "x"
    trainable = True
    live = True
    modules = ("ahocorasick",)
    install = "pip install pyahocorasick"
    origin = "learnt here from the project's decided entities"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path) -> dict:
        import json

        usable = [e for e in examples if e.text]
        terms = learn_lexicon(usable)
        if not terms:
            raise BertannoError("the lexicon needs at least one marked entity of two characters or more")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / LEXICON_FILE).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        return {"examples": len(usable), "terms": len(terms)}

    def load(self, directory: Path, record: dict, task: Task) -> LexiconEntities:
        import json

        self.require()
        path = Path(directory) / LEXICON_FILE
        if not path.is_file():
            raise BertannoError(f"cannot load the lexicon in {directory}: {LEXICON_FILE} is missing")
        return LexiconEntities(task, [tuple(t) for t in json.loads(path.read_text(encoding="utf-8"))])


@hookimpl
def register_model_families(register):
    register(GazetteerFamily())
    register(LexiconFamily())
