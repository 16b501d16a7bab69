"""Every shared dataset parses through the built-in formats, with the counts its SOURCE.md states."""

import json
from collections import Counter

import pytest
from conftest import RAW, require

from bertanno.core.reading import BadRowsError, read_examples

CMED_TYPES = "body crowd department disease drug feature physiology symptom test time treatment".split()
CAIL_TYPES = "NHCS NHVI NCSM NCGV NCSP NASI NATS NT NS NO".split()


def read(plugins, path, task, labels, format_name=None, **options):
    return read_examples(require(RAW / path), plugins.task(task, labels=labels), format_name, options,
                         skip_bad=options.pop("skip_bad", False), plugins=plugins)


def label_counts(result):
    return Counter(example.payload for example in result.examples)


@pytest.mark.parametrize("split, negative, positive", [("train", 4801, 4799), ("dev", 607, 593), ("test", 592, 608)])
def test_chnsenticorp(plugins, split, negative, positive):
    result = read(plugins, f"chnsenticorp/chnsenticorp.zip/{split}.tsv", "sentiment", ["0", "1"])
    assert label_counts(result) == {"0": negative, "1": positive}
    assert all(example.text and "\t" not in example.text for example in result.examples)


def test_chnsenticorp_with_readable_labels(plugins):
    result = read(plugins, "chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", None,
                  label_map="0=negative,1=positive")
    assert label_counts(result) == {"negative": 592, "positive": 608}


def test_waimai(plugins):
    result = read(plugins, "waimai_10k/waimai_10k.csv", "sentiment", ["0", "1"], skip_bad=True)
    assert [(e.line, e.message) for e in result.errors] == [(4552, "text column 1: U+0008 is a control character, not text")]
    assert label_counts(result) == {"0": 7986, "1": 4000}
    assert result.examples[0].text == "很快，好吃，味道足，量大"


@pytest.mark.parametrize("split, sentences, per, loc, org, orphans", [
    ("train", 50658, 17615, 36517, 20571, 6),
    ("dev", 4631, 1973, 2877, 1331, 11),
])
@pytest.mark.slow
def test_msra(plugins, split, sentences, per, loc, org, orphans):
    result = read(plugins, f"msra_ner/peopledaily.zip/{split}.txt", "ner", ["PER", "LOC", "ORG"])
    assert len(result.examples) == sentences
    types = Counter(span.label for example in result.examples for span in example.payload)
    # SOURCE.md counts B- tags; an I- tag after O also opens an entity (conlleval's rule), `orphans` of them.
    assert sum(types.values()) == per + loc + org + orphans
    assert abs(types["PER"] - per) + abs(types["LOC"] - loc) + abs(types["ORG"] - org) == orphans


def test_msra_spans_match_the_tagged_characters(plugins):
    import zipfile

    with zipfile.ZipFile(require(RAW / "msra_ner/peopledaily.zip")) as archive:
        lines = archive.read("dev.txt").decode("utf-8").split("\n")[:3000]
    sentences, chars, tags = [], [], []
    for line in lines:
        if not line.strip():
            if chars:
                sentences.append(("".join(chars), tags))
            chars, tags = [], []
            continue
        char, tag = line.rsplit(" ", 1)
        chars.append(char)
        tags.append(tag)
    result = read(plugins, "msra_ner/peopledaily.zip/dev.txt", "ner", ["PER", "LOC", "ORG"])
    for (text, tags), example in zip(sentences, result.examples):
        assert example.text == text
        for start, end, label in example.payload:
            assert tags[start] in (f"B-{label}", f"I-{label}")
            assert all(tag == f"I-{label}" for tag in tags[start + 1:end])


@pytest.mark.parametrize("split, sentences, entities", [("train", 1673, 12490), ("dev", 175, 1024), ("test", 215, 1340)])
def test_cmedqaner_conll(plugins, split, sentences, entities):
    result = read(plugins, f"chineseblue_cmedqaner/{split}.txt", "ner", CMED_TYPES)
    assert len(result.examples) == sentences
    assert sum(len(example.payload) for example in result.examples) == entities


def test_cmedqaner_json_mentions_match_their_offsets(plugins):
    path = "chineseblue_cmedqaner/test.json"
    # Strict by default: the JSON lowercases the text but not the mentions, and that is reported.
    with pytest.raises(BadRowsError, match="in the text but the file says"):
        read(plugins, path, "ner", CMED_TYPES)
    result = read(plugins, path, "ner", CMED_TYPES, mention_case="ignore")
    raw = [json.loads(line) for line in (RAW / path).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(result.examples) == len(raw) == 215
    for record, example in zip(raw, result.examples):
        mentions = sorted((int(m["offset"]), m["mention"], m["type"]) for m in record["mention_data"])
        assert sorted(example.payload) == [(start, start + len(surface), kind) for start, surface, kind in mentions]
        for start, surface, _ in mentions:
            assert example.text[start:start + len(surface)].casefold() == surface.casefold()


def test_cmedqaner_json_reports_the_one_real_offset_error_in_train(plugins):
    result = read(plugins, "chineseblue_cmedqaner/train.json", "ner", CMED_TYPES, mention_case="ignore", skip_bad=True)
    assert [(e.line, "颞颌关节" in e.message) for e in result.errors] == [(367, True)]
    assert len(result.examples) == 1672


def test_cmedqaner_conll_spans_are_the_non_nested_json_spans(plugins):
    conll = read(plugins, "chineseblue_cmedqaner/dev.txt", "ner", CMED_TYPES).examples
    json_examples = read(plugins, "chineseblue_cmedqaner/dev.json", "ner", CMED_TYPES, mention_case="ignore").examples
    by_text = {example.text.casefold(): set(example.payload) for example in json_examples}
    compared = 0
    for example in conll:
        if example.text.casefold() in by_text:
            assert set(example.payload) <= by_text[example.text.casefold()]
            compared += 1
    assert compared > 150


def test_cail_xxcq(plugins):
    result = read(plugins, "cail2021_xxcq/xxcq_mid.json", "ner", CAIL_TYPES)
    assert len(result.examples) == 5247
    types = Counter(span.label for example in result.examples for span in example.payload)
    assert types == {"NHCS": 6463, "NHVI": 3108, "NCSM": 915, "NCGV": 2090, "NASI": 5781, "NT": 2765, "NS": 3517,
                     "NO": 806, "NATS": 735, "NCSP": 481}
    first = result.examples[0]
    assert first.text[22:25] == "严某某" and (22, 25, "NHVI") in first.payload


@pytest.mark.parametrize("split, negative, positive", [("train", 23761, 10573), ("dev", 2978, 1338)])
def test_afqmc(plugins, split, negative, positive):
    result = read(plugins, f"afqmc/{split}.txt", "pair", ["0", "1"], "tsv", columns="text,text_b,label")
    assert label_counts(result) == {"0": negative, "1": positive}
    assert all(example.text_b for example in result.examples)


def test_afqmc_test_split_is_unlabelled(plugins):
    result = read(plugins, "afqmc/test.txt", "pair", ["0", "1"], "tsv", columns="text,text_b,label")
    assert len(result.examples) == 3861 and label_counts(result) == {None: 3861}


@pytest.mark.parametrize("split, negative, positive", [("train", 8023, 8048), ("dev", 904, 889), ("test", 976, 959)])
def test_cmedqq(plugins, split, negative, positive):
    result = read(plugins, f"chineseblue_cmedqq/{split}.txt", "pair", ["0", "1"], "tsv", columns="label,text,text_b")
    assert label_counts(result) == {"0": negative, "1": positive}


def test_cail_argmine(plugins):
    result = read(plugins, "cail2021_argmine/SMP-CAIL2021-train.csv", "pair", ["0", "1"])  # format recognised
    assert len(result.examples) == 12245 and label_counts(result) == {"1": 2449, "0": 9796}
    answers = Counter(example.meta["id"][-1] for example in result.examples if example.payload == "1")
    assert answers == {"A": 492, "B": 531, "C": 449, "D": 470, "E": 507}
