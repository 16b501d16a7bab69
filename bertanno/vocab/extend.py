"""Extending a model's tokenizer and embeddings with domain terms.

New embedding rows start as the mean of the rows of the pieces the term was split into before (for a
Chinese term, its characters), not at random: the model reads a new term roughly as it read the term's
characters, and fine-tuning refines it from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bertanno.core.bundle import ModelBundle
from bertanno.errors import BertannoError
from bertanno.plugins.task import without_added_terms


@dataclass
class Extension:
    added: list[str] = field(default_factory=list)
    single_token: list[str] = field(default_factory=list)
    """Terms the base vocabulary already holds as one token: nothing to add."""
    present: list[str] = field(default_factory=list)
    """Terms the tokenizer had already been extended with."""


def plan_extension(tokenizer, terms: list[str]) -> Extension:
    """Which of ``terms`` would become new tokens of ``tokenizer``, in order."""
    base = without_added_terms(tokenizer)
    existing = tokenizer.get_added_vocab()
    plan, seen = Extension(), set()
    for term in terms:
        if term in seen:
            continue
        seen.add(term)
        if term in existing:
            plan.present.append(term)
        elif len(base.tokenize(term)) <= 1:
            plan.single_token.append(term)
        else:
            plan.added.append(term)
    return plan


def extend_tokenizer(tokenizer, terms: list[str]) -> Extension:
    plan = plan_extension(tokenizer, terms)
    if plan.added and tokenizer.add_tokens(plan.added) != len(plan.added):
        raise BertannoError("the tokenizer refused some of the terms; were they added twice?")
    return plan


def extend_model(model, tokenizer, terms: list[str]) -> Extension:
    """Add ``terms`` to ``tokenizer`` and ``model`` in place; new rows = mean of the terms' pieces."""
    import torch

    plan = plan_extension(tokenizer, terms)
    if not plan.added:
        return plan
    base = without_added_terms(tokenizer)
    pieces = {term: base(term, add_special_tokens=False)["input_ids"] for term in plan.added}
    extend_tokenizer(tokenizer, plan.added)
    rows = max(model.get_input_embeddings().weight.shape[0], len(tokenizer))
    model.resize_token_embeddings(rows, mean_resizing=False)
    weight = model.get_input_embeddings().weight
    with torch.no_grad():
        for term in plan.added:
            weight[tokenizer.convert_tokens_to_ids(term)] = weight[pieces[term]].mean(dim=0)
    return plan


def added_terms(tokenizer) -> list[str]:
    """The terms a tokenizer was extended with, in id order."""
    special = set(tokenizer.all_special_tokens)
    added = tokenizer.get_added_vocab()
    return sorted((token for token in added if token not in special), key=added.get)


def extend_bundle(bundle: ModelBundle, terms: list[str]) -> Extension:
    plan = extend_model(bundle.model, bundle.tokenizer, terms)
    bundle.added_terms = added_terms(bundle.tokenizer)
    return plan


def apply_vocabulary(bundle: ModelBundle, terms: list[str]) -> Extension:
    """Bring a loaded bundle to a project's vocabulary; a model that holds terms beyond it cannot be shrunk."""
    wanted = set(terms)
    extra = [term for term in added_terms(bundle.tokenizer) if term not in wanted]
    if extra:
        raise BertannoError(f"the model starting this run holds {len(extra)} term(s) the project no longer uses "
                            f"(e.g. {extra[0]}); train from the base model instead (--from base)")
    return extend_bundle(bundle, terms)
