"""Every shared dataset parses through bertanno's formats with the counts its SOURCE.md states (the checks the
test suite ran against ``../shared`` before tests stopped reading it; the tests now read small fixtures of the
same layouts).

    python -m benchmarks.dataset_counts        # one line per check, exit 1 if any fails
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections import Counter

from benchmarks.common import RAW

CMED_TYPES = "body crowd department disease drug feature physiology symptom test time treatment".split()
CAIL_TYPES = "NHCS NHVI NCSM NCGV NCSP NASI NATS NT NS NO".split()


def read(path, task, labels, format_name=None, skip_bad=False, **options):
    from bertanno.core.plugins import Plugins
    from bertanno.core.reading import read_examples

    plugins = Plugins(load_entrypoints=False)
    return read_examples(RAW / path, plugins.task(task, labels=labels), format_name, options, skip_bad=skip_bad,
                         plugins=plugins)


def label_counts(result):
    return Counter(example.payload for example in result.examples)


def chnsenticorp():
    for split, negative, positive in [("train", 4801, 4799), ("dev", 607, 593), ("test", 592, 608)]:
        result = read(f"chnsenticorp/chnsenticorp.zip/{split}.tsv", "sentiment", ["0", "1"])
        assert label_counts(result) == {"0": negative, "1": positive}, split
    result = read("chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", None, label_map="0=negative,1=positive")
    assert label_counts(result) == {"negative": 592, "positive": 608}


def waimai():
    result = read("waimai_10k/waimai_10k.csv", "sentiment", ["0", "1"], skip_bad=True)
    assert [(e.line, e.message) for e in result.errors] == [(4552, "text column 1: U+0008 is a control character, "
                                                                   "not text")]
    assert label_counts(result) == {"0": 7986, "1": 4000}


def msra():
    for split, sentences, per, loc, org, orphans in [("train", 50658, 17615, 36517, 20571, 6),
                                                     ("dev", 4631, 1973, 2877, 1331, 11)]:
        result = read(f"msra_ner/peopledaily.zip/{split}.txt", "ner", ["PER", "LOC", "ORG"])
        assert len(result.examples) == sentences, split
        types = Counter(span.label for example in result.examples for span in example.payload)
        # SOURCE.md counts B- tags; an I- tag after O also opens an entity (conlleval's rule)
        assert sum(types.values()) == per + loc + org + orphans, split
    with zipfile.ZipFile(RAW / "msra_ner/peopledaily.zip") as archive:
        lines = archive.read("dev.txt").decode("utf-8").split("\n")[:3000]
    texts, chars = [], []
    for line in lines:
        if not line.strip():
            if chars:
                texts.append("".join(chars))
            chars = []
            continue
        chars.append(line.rsplit(" ", 1)[0])
    result = read("msra_ner/peopledaily.zip/dev.txt", "ner", ["PER", "LOC", "ORG"])
    assert [e.text for e in result.examples[:len(texts)]] == texts


def cmedqaner():
    for split, sentences, entities in [("train", 1673, 12490), ("dev", 175, 1024), ("test", 215, 1340)]:
        result = read(f"chineseblue_cmedqaner/{split}.txt", "ner", CMED_TYPES)
        assert len(result.examples) == sentences and sum(len(e.payload) for e in result.examples) == entities, split
    result = read("chineseblue_cmedqaner/test.json", "ner", CMED_TYPES, mention_case="ignore")
    raw = [json.loads(line) for line in (RAW / "chineseblue_cmedqaner/test.json").read_text(encoding="utf-8")
           .splitlines() if line.strip()]
    assert len(result.examples) == len(raw) == 215
    result = read("chineseblue_cmedqaner/train.json", "ner", CMED_TYPES, skip_bad=True, mention_case="ignore")
    assert [(e.line, "颞颌关节" in e.message) for e in result.errors] == [(367, True)]


def cail_xxcq():
    result = read("cail2021_xxcq/xxcq_mid.json", "ner", CAIL_TYPES)
    assert len(result.examples) == 5247
    types = Counter(span.label for example in result.examples for span in example.payload)
    assert types == {"NHCS": 6463, "NHVI": 3108, "NCSM": 915, "NCGV": 2090, "NASI": 5781, "NT": 2765, "NS": 3517,
                     "NO": 806, "NATS": 735, "NCSP": 481}


def afqmc():
    for split, negative, positive in [("train", 23761, 10573), ("dev", 2978, 1338)]:
        result = read(f"afqmc/{split}.txt", "pair", ["0", "1"], "tsv", columns="text,text_b,label")
        assert label_counts(result) == {"0": negative, "1": positive}, split
    result = read("afqmc/test.txt", "pair", ["0", "1"], "tsv", columns="text,text_b,label")
    assert label_counts(result) == {None: 3861}


def cmedqq():
    for split, negative, positive in [("train", 8023, 8048), ("dev", 904, 889), ("test", 976, 959)]:
        result = read(f"chineseblue_cmedqq/{split}.txt", "pair", ["0", "1"], "tsv", columns="label,text,text_b")
        assert label_counts(result) == {"0": negative, "1": positive}, split


def cail_argmine():
    result = read("cail2021_argmine/SMP-CAIL2021-train.csv", "pair", ["0", "1"])
    assert len(result.examples) == 12245 and label_counts(result) == {"1": 2449, "0": 9796}


CHECKS = [chnsenticorp, waimai, msra, cmedqaner, cail_xxcq, afqmc, cmedqq, cail_argmine]


def main() -> int:
    if not RAW.exists():
        print(f"no shared datasets at {RAW} (set BERTANNO_SHARED)")
        return 1
    failed = 0
    for check in CHECKS:
        try:
            check()
            print(f"ok    {check.__name__}")
        except AssertionError as exc:
            failed += 1
            print(f"FAIL  {check.__name__}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
