"""A project's domain vocabulary: the ordered terms every model of the project is extended with.

Lists are added and removed by name; the project keeps the union in order (the order decides the new
tokens' ids), stored as a ``vocabularies`` row that model versions point to by hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bertanno.core.bundle import is_version_dir, load_tokenizer
from bertanno.core.hub import resolve_model
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import project_task
from bertanno.errors import BertannoError
from bertanno.plugins.task import without_added_terms
from bertanno.store import Store
from bertanno.store.projects import get_project
from bertanno.store.vocabularies import project_vocabulary, save_vocabulary
from bertanno.vocab.adapt import ADAPTED_FILE
from bertanno.vocab.extend import plan_extension
from bertanno.vocab.terms import TermList, vocabulary_hash


@dataclass
class ProjectVocabulary:
    project: str
    model: str
    terms: list[str] = field(default_factory=list)
    name: str = ""
    hash: str | None = None
    adapted_model: str | None = None
    char_level: bool = False


@dataclass
class ListChange:
    """What adding or removing one list did."""

    name: str
    source: str
    read: int
    changed: list[str] = field(default_factory=list)
    single_token: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    """Adding: terms the project had already. Removing: terms the project did not have."""
    duplicates: int = 0
    malformed: list[tuple[int, str]] = field(default_factory=list)


def base_tokenizer(model: str, plugins: Plugins | None = None):
    """The tokenizer of a project's model as it comes, without any added terms."""
    if is_version_dir(model):
        return without_added_terms(load_tokenizer(Path(model)))
    source = resolve_model(model, plugins)
    return without_added_terms(load_tokenizer(source.tokenizer_dir, source.spec.tokenizer_class if source.spec else "bert"))


def describe(store: Store, project_name: str) -> ProjectVocabulary:
    with store.transaction() as session:
        project = get_project(session, project_name)
        vocabulary = project_vocabulary(session, project)
        return ProjectVocabulary(
            project.name, project.model, list(vocabulary.terms) if vocabulary else [],
            vocabulary.name if vocabulary else "", vocabulary.hash if vocabulary else None, project.adapted_model,
            bool((project.config or {}).get("char_level", False)))


def adapted_terms(directory: str | Path) -> list[str]:
    record = Path(directory) / ADAPTED_FILE
    return json.loads(record.read_text(encoding="utf-8")).get("terms", []) if record.exists() else []


def _store_terms(session, project, terms: list[str], names: list[str]) -> str | None:
    """Point the project at ``terms``; returns a sentence when its adapted model no longer fits them."""
    if terms:
        project.vocabulary_id = save_vocabulary(session, "+".join(names), terms, vocabulary_hash(terms)).id
    else:
        project.vocabulary_id = None
    if project.adapted_model and not set(adapted_terms(project.adapted_model)) <= set(terms):
        dropped, project.adapted_model = project.adapted_model, None
        return (f"the domain-adapted model {dropped} holds terms the project no longer uses, so train --from "
                f"adapted has none to start from (run bertanno vocab adapt to adapt anew)")
    return None


def add_lists(store: Store, project_name: str, lists: list[TermList], char_level: bool | None = None,
              plugins: Plugins | None = None) -> tuple[list[ListChange], str | None]:
    """Add the lists' terms that the project's model does not already hold as one token, and set NER's
    ``char_level`` when given: one transaction, so a refusal (or a model that cannot load) writes nothing."""
    plugins = plugins or get_plugins()
    tokenizer = base_tokenizer(describe(store, project_name).model, plugins) if lists else None
    with store.transaction() as session:  # the write lock is taken after the slow part
        project = get_project(session, project_name)
        if char_level is not None:
            _set_char_level(project, char_level, plugins)
        if not lists:
            return [], None
        current = project_vocabulary(session, project)
        terms = list(current.terms) if current else []
        names = current.name.split("+") if current and current.name else []
        changes = []
        for term_list in lists:
            plan = plan_extension(tokenizer, term_list.texts)
            known = set(terms)
            change = ListChange(term_list.name, term_list.source, len(term_list.terms),
                                changed=[t for t in plan.added if t not in known],
                                single_token=plan.single_token, unchanged=[t for t in plan.added if t in known],
                                duplicates=len(term_list.duplicates), malformed=term_list.malformed)
            terms += change.changed
            if term_list.name not in names:
                names.append(term_list.name)
            changes.append(change)
        note = _store_terms(session, project, terms, names)
    return changes, note


def remove_lists(store: Store, project_name: str, lists: list[TermList] | None) -> tuple[list[ListChange], str | None]:
    """Remove the lists' terms (every term with ``None``); the next version trained has its old tokenization."""
    with store.transaction() as session:
        project = get_project(session, project_name)
        current = project_vocabulary(session, project)
        terms = list(current.terms) if current else []
        names = current.name.split("+") if current and current.name else []
        if lists is None:
            changes = [ListChange("all", "", len(terms), changed=terms)]
            terms, names = [], []
        else:
            changes = []
            for term_list in lists:
                drop = set(term_list.texts)
                changes.append(ListChange(term_list.name, term_list.source, len(term_list.terms),
                                          changed=[t for t in terms if t in drop],
                                          unchanged=[t for t in term_list.texts if t not in set(terms)]))
                terms = [t for t in terms if t not in drop]
                names = [n for n in names if n != term_list.name]
        note = _store_terms(session, project, terms, names)
    return changes, note


def _set_char_level(project, on: bool, plugins: Plugins) -> None:
    if project_task(project, plugins).head != "token":
        raise BertannoError(f"--char-level is for token tasks such as ner; {project.name!r} is a {project.task} "
                            "project, whose inputs are never split at entity boundaries")
    project.config = {**(project.config or {}), "char_level": on}


def set_adapted_model(store: Store, project_name: str, directory: str | None) -> None:
    with store.transaction() as session:
        get_project(session, project_name).adapted_model = directory
