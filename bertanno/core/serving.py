"""Serving a model version whatever its family: load it, score it, and start a project on a zero-shot family.

Every version directory holds a ``bertanno.json`` record; its ``family`` (``transformer`` when absent)
names the registered model family that loads it. The rest of bertanno sees only ``ServedModel``:
``task`` and ``predict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bertanno.core.bundle import (
    DEFAULT_FAMILY,
    read_version_record,
    record_family_name,
    version_task,
    write_version_record,
)
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.errors import BertannoError
from bertanno.plugins.families import ModelFamily, ServedModel
from bertanno.plugins.task import Task

__all__ = ["DEFAULT_FAMILY", "load_served", "plan_zero_shot", "record_family", "write_zero_shot_version"]


def record_family(record: dict, plugins: Plugins | None = None) -> ModelFamily:
    """The family that loads a version record or a version row's snapshot (``transformer`` when it names none)."""
    return (plugins or get_plugins()).family(record_family_name(record))


def load_served(directory: str | Path, plugins: Plugins | None = None, task: Task | None = None,
                project_uid: str | None = None, precision: str | None = None) -> ServedModel:
    """Load any version directory through its family, ready to ``predict``; a transformer version with the
    optimised variant in use (``core.optimize``) unless ``precision`` says otherwise (``full``: as trained).

    With ``project_uid`` (loading a project's version), the version's record must name that project (records
    written before projects had ids name none and are accepted).

    Raises ``BertannoError`` when the directory is no version, belongs to another project, its family is
    unknown, or its family's dependencies are missing (the message names the install line).
    """
    plugins = plugins or get_plugins()
    record = read_version_record(directory)
    owner = record.get("project_uid")
    if project_uid is not None and owner is not None and owner != project_uid:
        raise BertannoError(f"{directory} holds a version of another project ({record.get('project', '?')} "
                            f"{owner[:8]}, not this one's {project_uid[:8]}): was the folder copied or shared "
                            "between databases? Train the project again, or point it at its own models folder")
    if precision is not None:
        record = {**record, "variant": precision}
    family = record_family(record, plugins)
    return family.load(Path(directory), record, task or version_task(record, plugins))


@dataclass
class ZeroShotPlan:
    """What serving a zero-shot family in a project means: the family, its complete label map, and the
    project's labels it never proposes."""

    family: ModelFamily
    label_map: dict[str, str]
    cannot_produce: list[str]
    options: dict = field(default_factory=dict)
    """What a configured family is created with (a gazetteer's lists and typed terms); kept in the version."""


def plan_zero_shot(task: Task, family_name: str, mapping: dict[str, str] | None = None,
                   plugins: Plugins | None = None, options: dict | None = None) -> ZeroShotPlan:
    """Check that ``family_name`` is a zero-shot family that is installed and fits ``task``, and complete
    its label map (with ``options`` for a configured family). Raises ``BertannoError`` with a sentence for
    each way it does not."""
    plugins = plugins or get_plugins()
    family = plugins.family(family_name)
    if not family.zero_shot:
        zero_shot = ", ".join(name for name in plugins.families if plugins.family(name).zero_shot) or "none"
        raise BertannoError(f"the {family_name} model family learns from the project's labels; it cannot serve "
                            f"before training (zero-shot families: {zero_shot})")
    family.require()
    label_map = family.label_map(task, mapping, options)
    return ZeroShotPlan(family, label_map, family.cannot_produce(task, label_map), dict(options or {}))


def write_zero_shot_version(directory: str | Path, task: Task, plan: ZeroShotPlan, metadata: dict | None = None) -> Path:
    """A version directory for a zero-shot family: only a record (the model is inside the family's package),
    with ``metadata`` (the project, its uid, the version name)."""
    return write_version_record(directory, task, {
        "family": plan.family.name, "label_map": plan.label_map, "options": plan.options,
        "base_model": plan.family.source_name(plan.options), **plan.family.describe(), **(metadata or {}),
    })
