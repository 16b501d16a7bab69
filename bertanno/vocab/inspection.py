"""What a vocabulary extension changes: tokens of one text before and after, and over a project's items,
tokens per text, how often the terms occur, and which annotated entities an added term would swallow."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bertanno.core.plugins import Plugins
from bertanno.core.project import open_project
from bertanno.plugins.bio import spans_to_tags
from bertanno.plugins.task import Span
from bertanno.store import Store
from bertanno.store.projects import get_project
from bertanno.store.vocabularies import project_vocabulary
from bertanno.vocab.domain_vocabulary import base_tokenizer
from bertanno.vocab.extend import added_terms, extend_tokenizer


@dataclass(frozen=True)
class Piece:
    surface: str
    token_id: int
    added: bool


def pieces(tokenizer, text: str) -> list[Piece]:
    """Tokens of ``text`` as the characters they cover, with ids; ``added`` marks domain terms."""
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    added = set(tokenizer.get_added_vocab().values())
    return [Piece(text[start:end], token_id, token_id in added)
            for token_id, (start, end) in zip(encoding["input_ids"], encoding["offset_mapping"])]


def extended_tokenizer(store: Store, project_name: str, plugins: Plugins | None = None):
    """(the project's tokenizer as it comes, the same extended with the project's terms)."""
    with store.transaction() as session:
        project = get_project(session, project_name)
        vocabulary = project_vocabulary(session, project)
        terms, model = (list(vocabulary.terms) if vocabulary else []), project.model
    before, after = base_tokenizer(model, plugins), base_tokenizer(model, plugins)
    extend_tokenizer(after, terms)
    return before, after


@dataclass
class Conflict:
    text: str
    span: Span
    tokens: str
    """The tokens around the entity after the extension, separated by ``|``."""


@dataclass
class VocabularyStats:
    texts: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    term_occurrences: Counter = field(default_factory=Counter)
    terms: int = 0
    spans: int = 0
    conflicts: int = 0
    examples: list[Conflict] = field(default_factory=list)
    char_level: bool = False

    @property
    def per_text_before(self) -> float:
        return self.tokens_before / self.texts if self.texts else 0.0

    @property
    def per_text_after(self) -> float:
        return self.tokens_after / self.texts if self.texts else 0.0


def conflicts_in(text: str, spans: list[Span], before: list[tuple[int, int]],
                 after: list[tuple[int, int]], after_pieces: list[str]) -> list[Conflict]:
    """Spans expressible with the ``before`` tokens that the ``after`` tokens cannot express."""
    expressible = set(spans) - {problem.span for problem in spans_to_tags(spans, before)[1]}
    found = []
    for problem in spans_to_tags(spans, after)[1]:
        if problem.span in expressible:
            near = [p for (s, e), p in zip(after, after_pieces) if e > problem.span.start - 3 and s < problem.span.end + 3]
            found.append(Conflict(text, problem.span, "|".join(near)))
    return found


def project_stats(store: Store, project_name: str, char_level: bool | None = None, examples: int = 5,
                  plugins: Plugins | None = None) -> VocabularyStats:
    before, after = extended_tokenizer(store, project_name, plugins)
    project = open_project(store, project_name, plugins)
    task = project.task
    items = [(item_id, example.text, example.text_b) for item_id, example in project.items()]
    spans = {item_id: task.entity_spans(example) for item_id, example in project.annotated()}
    stats = VocabularyStats(char_level=bool(char_level if char_level is not None else getattr(task, "char_level", False)))
    model_tokenizer = before if stats.char_level else after
    added = {after.convert_tokens_to_ids(term): term for term in added_terms(after)}
    stats.terms = len(added)
    for item_id, text, text_b in items:
        for part in (text, text_b):
            if part is None:
                continue
            old = before(part, add_special_tokens=False, return_offsets_mapping=True)
            new = model_tokenizer(part, add_special_tokens=False, return_offsets_mapping=True)
            stats.texts += part is text
            stats.tokens_before += len(old["input_ids"])
            stats.tokens_after += len(new["input_ids"])
            stats.term_occurrences.update(added[i] for i in new["input_ids"] if i in added)
            if part is text and spans.get(item_id):
                stats.spans += len(spans[item_id])
                offsets = [tuple(o) for o in new["offset_mapping"]]
                found = conflicts_in(part, spans[item_id], [tuple(o) for o in old["offset_mapping"]], offsets,
                                     [part[s:e] for s, e in offsets])
                stats.conflicts += len(found)
                stats.examples += found[: max(0, examples - len(stats.examples))]
    return stats
