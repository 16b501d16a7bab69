"""``bertanno optimize``: measure optimised variants of a project's transformer version on its evaluation split,
and put the fastest one that passes the accuracy gate in use (``core.optimize``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bertanno.core.bundle import load_version, read_version_record, record_family_name, update_version_record
from bertanno.core.optimize import (
    FULL,
    VARIANTS,
    GateFigures,
    check_variant,
    discard_variant,
    gate_variant,
    reference_run,
)
from bertanno.core.plugins import Plugins, get_plugins
from bertanno.core.project import project_task, training_data
from bertanno.errors import BertannoError
from bertanno.store import Store
from bertanno.store.projects import get_project
from bertanno.store.versions import version_or_champion


@dataclass
class OptimizeOutcome:
    version: str
    figures: list[GateFigures] = field(default_factory=list)
    in_use: str = FULL
    """The variant the version serves with now (``full``: as trained)."""
    before: str = FULL
    skipped: dict[str, str] = field(default_factory=dict)
    """Variants left out of an ``auto`` run, with why (a missing library, a family ONNX cannot export)."""

    def to_json(self) -> dict:
        """The version, the variant in use before and now, each variant's gate figures, and what was skipped."""
        return {"version": self.version, "in_use": self.in_use, "before": self.before,
                "variants": [f.as_record() for f in self.figures], "skipped": self.skipped}


def optimize(store: Store, project_name: str, version_name: str | None = None, variants: tuple[str, ...] = ("int8",),
             plugins: Plugins | None = None) -> OptimizeOutcome:
    """Gate each of ``variants`` against the full-precision version (default: the champion) on the project's
    evaluation split (``core.optimize.gate_variant``), record every variant's figures in the version's record,
    and put in use the fastest variant that passes and beats full precision (one variant named alone: in use if it
    passes, whatever its speed; none passing: nothing switched, and a variant in use that fails goes back to full).
    ``variants=("full",)`` puts full precision back. Raises ``BertannoError`` for an unknown version or
    variant, a version that is not a fine-tuned transformer, or too small an evaluation split."""
    plugins = plugins or get_plugins()
    for variant in variants:
        check_variant(variant)
    with store.transaction() as session:
        project = get_project(session, project_name)
        task = project_task(project, plugins)
        version = version_or_champion(session, project.id, version_name, project_name)
        name, directory = version.name, version.directory
        evaluation = training_data(session, project.id, task)[1]
    record = read_version_record(directory)
    if record_family_name(record) != "transformer":
        raise BertannoError(f"{name} is a {record_family_name(record)} model: optimised variants are for "
                            "fine-tuned transformer versions (a fast family is fast already)")
    outcome = OptimizeOutcome(name, before=record.get("variant", FULL))
    if variants == (FULL,):
        update_version_record(directory, {"variant": FULL})
        return outcome
    bundle = load_version(directory, plugins, task=task)
    reference = reference_run(bundle, evaluation)  # the model as trained: once, for every variant
    for variant in (v for v in variants if v != FULL):
        try:
            outcome.figures.append(gate_variant(bundle, variant, evaluation, Path(directory), reference))
        except BertannoError as exc:  # a variant this machine or this model family cannot have
            if len(variants) == 1:
                raise
            outcome.skipped[variant] = str(exc)
    passing = [f for f in outcome.figures if f.accepted
               and (len(variants) == 1 or f.variant_items_per_second > f.full_items_per_second)]
    best = max(passing, key=lambda f: f.variant_items_per_second, default=None)
    refused = {f.variant for f in outcome.figures if not f.accepted}
    for variant in refused:
        discard_variant(variant, Path(directory))
    outcome.in_use = best.variant if best else FULL if outcome.before in refused else outcome.before
    optimized = {**record.get("optimized", {}), **{f.variant: f.as_record() for f in outcome.figures}}
    update_version_record(directory, {"optimized": optimized, "variant": outcome.in_use})
    return outcome


__all__ = ["VARIANTS", "OptimizeOutcome", "optimize"]
