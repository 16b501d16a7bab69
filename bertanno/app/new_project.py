"""Creating a project: its task and labels, its domain model, and optionally a zero-shot family that
serves as its first champion before any decision is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bertanno.app.training_runs import version_directory
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import open_project
from bertanno.core.serving import plan_zero_shot, write_zero_shot_version
from bertanno.errors import BertannoError
from bertanno.plugins.task import Task
from bertanno.store import Store
from bertanno.store.aggregation import METHODS as AGGREGATES
from bertanno.store.projects import create_project as store_project
from bertanno.store.projects import set_blind_share as store_blind_share
from bertanno.store.projects import set_gold_share as store_gold_share
from bertanno.store.projects import set_team as store_team
from bertanno.store.versions import add_version, make_champion, next_version_name
from bertanno.vocab.terms import load_term_list

GAZETTEER = "gazetteer"


def gazetteer_options(lists: list[str], plugins: Plugins) -> dict:
    """The typed terms of term lists (names or files), for the ``gazetteer`` family: ``{"lists": names,
    "terms": [[term, type], …]}`` in list order, a term's first list winning.

    Raises ``BertannoError`` for an empty list, a line that is not a term line (``parse_terms``) and a term
    without a type (``term<TAB>TYPE``).
    """
    names, terms, seen = [], [], set()
    for source in lists:
        term_list = load_term_list(source, plugins)
        if term_list.malformed:
            shown = "\n".join(f"  {term_list.source}:{line}: {why}" for line, why in term_list.malformed[:5])
            raise BertannoError(f"the term list {term_list.source} has {len(term_list.malformed)} line(s) that are "
                                f"not term lines:\n{shown}")
        if not term_list.terms:
            raise BertannoError(f"the term list {term_list.source} holds no terms")
        untyped = [term.text for term in term_list.terms if not term.category]
        if untyped:
            raise BertannoError(f"the term list {term_list.source} has {len(untyped)} term(s) without an entity type "
                                f"(e.g. {untyped[0]}); a gazetteer needs term<TAB>TYPE on every line")
        names.append(term_list.name)
        for term in term_list.terms:
            if term.text not in seen:
                seen.add(term.text)
                terms.append([term.text, term.category])
    return {"lists": names, "terms": terms}


@dataclass
class CreatedProject:
    name: str
    task: Task
    model: str
    champion: str | None = None
    """The zero-shot version serving from the start (``z001``), if any."""
    family: str | None = None
    label_map: dict[str, str] = field(default_factory=dict)
    cannot_produce: list[str] = field(default_factory=list)
    """Project labels the zero-shot family never proposes: a person adds them by hand."""
    ignored: list[str] = field(default_factory=list)
    """The family's labels (a gazetteer's term types) that map onto no project label: never proposed."""


def create_project(store: Store, name: str, task: Task, model: str, zero_shot: str | None = None,
                   label_map: dict[str, str] | None = None, models_dir: Path | None = None,
                   plugins: Plugins | None = None, gazetteer: list[str] | None = None,
                   blind_share: float = 0.0, overlap: int = 1, settle: str = "unanimous",
                   zero_shot_options: dict | None = None, gold_share: float = 0.0) -> CreatedProject:
    """Create project ``name`` for ``task`` on domain model ``model``.

    With ``zero_shot`` (a zero-shot model family such as ``snownlp`` or ``lac``), or ``gazetteer`` (term
    lists with entity types: names or files), the family becomes the
    project's first champion under its label map (family label -> project label): everything is
    checked before anything is written, and the project and its champion are written in one
    transaction. ``blind_share`` of the items are served as blind controls, without a pre-annotation
    (``AnnotationSession``), ``gold_share`` of the draws serve a gold item as a check; each item is judged by ``overlap`` different annotators, settled by the ``settle``
    rule (``store.annotations.settled``). ``zero_shot_options``: the options of a configured zero-shot family
    (the ``llm`` family's endpoint and model, ``llm_family.llm_options``). Raises ``BertannoError`` (unknown or
    uninstalled family, labels that do not fit, a project of that name, a blind share outside 0 to 0.5, an
    overlap outside 1 to 10) and writes nothing then.
    """
    plugins = plugins or get_plugins()
    check_settle_rule(task, settle)
    options = zero_shot_options
    if gazetteer:
        if zero_shot:
            raise BertannoError("one model serves a new project: give --zero-shot or --gazetteer, not both")
        zero_shot, options = GAZETTEER, gazetteer_options(gazetteer, plugins)
    plan = plan_zero_shot(task, zero_shot, label_map, plugins, options) if zero_shot else None
    created = CreatedProject(name, task, model)
    with store.transaction() as session:
        project = store_project(session, name, task.name, list(task.labels), model, config=dict(task.config),
                                blind_share=blind_share, overlap=overlap, settle=settle, gold_share=gold_share)
        if plan is None:
            return created
        version_name = next_version_name(session, project.id, plan.family.version_prefix)
        directory = write_zero_shot_version(version_directory(models_dir, project, version_name), task, plan,
                                            {"project": name, "project_uid": project.uid, "version": version_name})
        version = add_version(session, project.id, version_name, str(directory.resolve()),
                              plan.family.source_name(plan.options),
                              {"family": plan.family.name, "label_map": plan.label_map}, {})
        make_champion(session, version)
    created.champion, created.family = version_name, plan.family.name
    created.label_map, created.cannot_produce = plan.label_map, plan.cannot_produce
    created.ignored = [label for label in plan.family.source_labels(plan.options) if label not in plan.label_map]
    return created


def set_blind_share(store: Store, name: str, share: float) -> float:
    """Serve ``share`` (0 to ``store.projects.MAX_BLIND_SHARE``) of project ``name``'s items as blind controls from
    the next item on; returns the share before. The draw per item is fixed (``ProjectHandle.is_blind``), so a larger
    share keeps every item that was blind blind and adds more; decisions already made keep their record. Raises
    ``StoreError`` for an unknown project or a share out of range."""
    with store.transaction() as session:
        return store_blind_share(session, name, share)


def set_gold_share(store: Store, name: str, share: float) -> float:
    """Serve a gold item as a check in ``share`` (0 to 0.5) of project ``name``'s draws from sessions opened now on;
    returns the share before. Raises ``StoreError`` for an unknown project or a share out of range."""
    with store.transaction() as session:
        return store_gold_share(session, name, share)


def check_settle_rule(task: Task, settle: str | None) -> None:
    """Raise ``BertannoError`` for a rule that estimates each annotator's reliability (``dawid-skene``, ``mace``)
    on a task whose decisions are not one label (spans, relations: a whole span set is no class to model)."""
    if settle in AGGREGATES and task.example_kind not in ("text", "pair"):
        raise BertannoError(f"--settle {settle} weighs each annotator's label by their estimated reliability, for "
                            f"label and pair tasks; task {task.name!r} marks spans, so use unanimous or majority "
                            "(and a review for the rest)")


def set_team(store: Store, name: str, overlap: int | None = None, settle: str | None = None,
             plugins: Plugins | None = None) -> tuple[int, str]:
    """Judge each of project ``name``'s items by ``overlap`` different annotators and settle their decisions by
    ``settle`` (``unanimous``, ``majority``, or for label tasks ``dawid-skene`` or ``mace``) from the next item
    served on; ``None`` keeps a setting. Returns the overlap and rule before. Raises ``StoreError`` as
    ``store.projects.set_team`` does (values out of range, an overlap above the number of people who have worked
    on the project) and ``BertannoError`` for an aggregate rule on a span task (``check_settle_rule``)."""
    if settle is not None:
        check_settle_rule(open_project(store, name, plugins).task, settle)
    with store.transaction() as session:
        return store_team(session, name, overlap, settle)
