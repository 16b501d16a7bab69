"""Build the built-in term lists (bertanno/vocab/lists/{medical,legal}.txt) from training-split entity surfaces.

    python -m benchmarks.make_term_lists

medical: chineseblue_cmedqaner train.txt (the official training split), every entity type except ``time``;
legal: cail2021_xxcq, the training part of the seeded 80/20 split of benchmarks/datasets.py, entity types
NASI (stolen goods), NATS (tools) and NO (organisations). Names of people, amounts, dates and places are
not domain terms and are left out. Test splits are never read.

A surface becomes a term when it occurs at least MIN_COUNT times, has 2 to 12 characters, contains a
Chinese character and no whitespace or digit, and is not already one token of bert-base-chinese. Its category is
the entity type it carries most often, its frequency the number of times it was annotated.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.datasets import load
from bertanno.core.scratch import SKELETON_DIR
from bertanno.vocab.terms import Term, write_term_list

LISTS = Path(__file__).resolve().parent.parent / "bertanno" / "vocab" / "lists"
CJK = re.compile(r"[\u4e00-\u9fff]")
RECIPES = {
    "medical": ("chineseblue_cmedqaner", None, {"time"}, 2),
    "legal": ("cail2021_xxcq", {"NASI", "NATS", "NO"}, set(), 2),
}


def surfaces(examples, keep, drop) -> dict[str, Counter]:
    found: dict[str, Counter] = defaultdict(Counter)
    for example in examples:
        for start, end, label in example.payload or ():
            if (keep is None or label in keep) and label not in drop:
                found[example.text[start:end]][label] += 1
    return found


def build(name: str) -> list[Term]:
    from bertanno.core.bundle import load_tokenizer

    dataset_name, keep, drop, min_count = RECIPES[name]
    tokenizer = load_tokenizer(SKELETON_DIR)
    terms = []
    for surface, labels in surfaces(load(dataset_name).train, keep, drop).items():
        count = sum(labels.values())
        if (count >= min_count and 2 <= len(surface) <= 12 and CJK.search(surface) and not re.search(r"[\s\d]", surface)
                and len(tokenizer.tokenize(surface)) > 1):
            terms.append(Term(surface, labels.most_common(1)[0][0], count))
    return sorted(terms, key=lambda t: (-t.frequency, t.text))


def main() -> None:
    for name, (dataset_name, *_rest) in RECIPES.items():
        terms = build(name)
        header = (f"bertanno built-in term list {name!r}: {len(terms)} entity surfaces from the training split of "
                  f"{dataset_name}.\nMade by benchmarks/make_term_lists.py; see README.md here.\n"
                  "term<TAB>entity type<TAB>times annotated in the training split")
        write_term_list(terms, LISTS / f"{name}.txt", header)
        print(f"{name}: {len(terms)} terms -> {LISTS / f'{name}.txt'}")


if __name__ == "__main__":
    main()
