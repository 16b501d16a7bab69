"""Built-in model family ``gazetteer``: entity spans from typed term lists, before any model exists.

A version holds its terms and their entity types (``term<TAB>TYPE`` lines of the lists it was made
from, e.g. the built-in ``medical`` list). Matching is longest-leftmost over an Aho-Corasick automaton
(pyahocorasick's ``iter_long``): scanning left to right, at each position the longest term that starts
there wins, and matches never overlap, so the result is deterministic whatever the list order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

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


@hookimpl
def register_model_families(register):
    register(GazetteerFamily())
