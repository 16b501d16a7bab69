"""The eight shared datasets as train / test splits, read through bertanno's own formats.

Datasets without an official split get a seeded one (80 / 20), documented here:
- waimai_10k: stratified by label, seed 13;
- cail2021_xxcq: by sentence, seed 13;
- cail2021_argmine: by argument (the five pairs of one row stay together), seed 13;
- afqmc: the official dev split is the test set (test labels are hidden);
- msra_ner: dev.txt is the MSRA test set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchmarks.common import RAW

CMED_TYPES = "body crowd department disease drug feature physiology symptom test time treatment".split()
CAIL_TYPES = "NHCS NHVI NCSM NCGV NCSP NASI NATS NT NS NO".split()
SEED = 13


@dataclass
class Dataset:
    name: str
    task: str
    labels: list[str]
    train: list
    test: list
    split: str
    reference: str


def _read(path, task, labels, format_name=None, **options):
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples

    # skip_bad: a raw file may hold a row bertanno refuses (waimai_10k line 4552 has a U+0008 control character)
    return read_examples(RAW / path, get_plugins().task(task, labels=labels), format_name, options,
                         skip_bad=True).examples


def _seeded_split(examples, key=lambda e: None, group=lambda e: id(e)):
    """80 / 20, stratified by ``key``, keeping examples of one ``group`` together."""
    generator = random.Random(SEED)
    strata: dict = {}
    for example in examples:
        strata.setdefault(key(example), {}).setdefault(group(example), []).append(example)
    train, test = [], []
    for stratum in sorted(strata, key=str):
        groups = list(strata[stratum].values())
        generator.shuffle(groups)
        cut = round(len(groups) * 0.8)
        train += [e for g in groups[:cut] for e in g]
        test += [e for g in groups[cut:] for e in g]
    return train, test


def load(name: str) -> Dataset:
    binary = ["0", "1"]
    if name == "chnsenticorp":
        return Dataset(name, "sentiment", binary, _read("chnsenticorp/chnsenticorp.zip/train.tsv", "sentiment", binary),
                       _read("chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", binary), "official",
                       "acc 95.0 (test)")
    if name == "waimai_10k":
        examples = _read("waimai_10k/waimai_10k.csv", "sentiment", binary)
        train, test = _seeded_split(examples, key=lambda e: e.payload)
        return Dataset(name, "sentiment", binary, train, test, "seeded 80/20 stratified", "-")
    if name == "msra_ner":
        labels = ["PER", "LOC", "ORG"]
        return Dataset(name, "ner", labels, _read("msra_ner/peopledaily.zip/train.txt", "ner", labels),
                       _read("msra_ner/peopledaily.zip/dev.txt", "ner", labels), "official train/test", "F1 94.95")
    if name == "chineseblue_cmedqaner":
        return Dataset(name, "ner", CMED_TYPES, _read("chineseblue_cmedqaner/train.txt", "ner", CMED_TYPES),
                       _read("chineseblue_cmedqaner/test.txt", "ner", CMED_TYPES), "official", "F1 86.3")
    if name == "cail2021_xxcq":
        train, test = _seeded_split(_read("cail2021_xxcq/xxcq_mid.json", "ner", CAIL_TYPES))
        return Dataset(name, "ner", CAIL_TYPES, train, test, "seeded 80/20", "-")
    if name == "afqmc":
        columns = {"columns": "text,text_b,label"}
        return Dataset(name, "pair", binary, _read("afqmc/train.txt", "pair", binary, "tsv", **columns),
                       _read("afqmc/dev.txt", "pair", binary, "tsv", **columns), "official dev as test",
                       "acc 74.16 (dev)")
    if name == "chineseblue_cmedqq":
        columns = {"columns": "label,text,text_b"}
        return Dataset(name, "pair", binary, _read("chineseblue_cmedqq/train.txt", "pair", binary, "tsv", **columns),
                       _read("chineseblue_cmedqq/test.txt", "pair", binary, "tsv", **columns), "official", "F1 86.5")
    if name == "cail2021_argmine":
        examples = _read("cail2021_argmine/SMP-CAIL2021-train.csv", "pair", binary)
        train, test = _seeded_split(examples, group=lambda e: e.meta["id"].rsplit("-", 1)[0])
        return Dataset(name, "pair", binary, train, test, "seeded 80/20 by argument", "-")
    raise SystemExit(f"unknown dataset {name!r}: one of {', '.join(NAMES)}")


NAMES = ("chnsenticorp", "waimai_10k", "msra_ner", "chineseblue_cmedqaner", "cail2021_xxcq", "afqmc",
         "chineseblue_cmedqq", "cail2021_argmine")
