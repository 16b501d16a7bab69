"""The layouts of the public datasets bertanno's benchmarks read, parsed through the built-in formats: a few
rows of each layout, written here by hand (the datasets themselves are checked, with the counts their sources
state, by ``python -m benchmarks.dataset_counts``; tests read only what the repository holds).

Layouts: ChnSentiCorp (a TSV ``label<TAB>text_a`` inside a zip), waimai_10k (CSV ``label,review``, one row with
a control character), MSRA (character-per-line BIO inside a zip, an ``I-`` after ``O``), ChineseBLUE cMedQANER
(BIO with ``_``, and its JSON whose text is lowercased but mentions are not), CAIL2021 xxcq (JSON lines with
``context`` and ``entities`` as ``"start;end"`` strings), AFQMC (TSV ``text, text_b, label`` without a header;
its test split unlabelled), ChineseBLUE cMedQQ (TSV ``label, text, text_b``), CAIL2021 argument mining (CSV with
``sc``, five candidates and ``answer``)."""

import json
import zipfile
from collections import Counter

import pytest

from bertanno.core.reading import BadRowsError, read_examples
from bertanno.plugins.task import Span

CMED_TYPES = "body crowd department disease drug feature physiology symptom test time treatment".split()
CAIL_TYPES = "NHCS NHVI NCSM NCGV NCSP NASI NATS NT NS NO".split()

FILES = {
    "chnsenticorp/chnsenticorp.zip": {"test.tsv": "label\ttext_a\n1\t房间很干净，服务周到\n0\t早餐太差了，不会再来\n"
                                                  "1\t性价比高\n"},
    "waimai_10k/waimai_10k.csv": "label,review\n1,很快，好吃，味道足，量大\n0,送餐太慢了\n0,饭是凉的\x08汤洒了\n",
    "msra_ner/peopledaily.zip": {"dev.txt": "中 B-ORG\n共 I-ORG\n中 I-ORG\n央 I-ORG\n致 O\n电 O\n\n"
                                            "张 B-PER\n三 I-PER\n在 O\n京 I-LOC\n"},
    "chineseblue_cmedqaner/test.txt": "胸 B_symptom\n闷 I_symptom\n呼 B_symptom\n吸 I_symptom\n困 I_symptom\n"
                                      "难 I_symptom\n\n宝 B_crowd\n宝 I_crowd\n出 O\n水 B_disease\n痘 I_disease\n",
    "chineseblue_cmedqaner/test.json": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [
        {"mention_data": [{"mention": "胸闷", "type": "symptom", "offset": "0"},
                          {"mention": "CT", "type": "test", "offset": "4"}], "text": "胸闷要做ct吗"}]),
    "cail2021_xxcq/xxcq_mid.json": json.dumps({"id": "a1", "context": "公安机关将手机返还给被害人严某某、肖某某。",
                                              "entities": [{"label": "NHCS", "span": []},
                                                           {"label": "NHVI", "span": ["13;16", "17;20"]}]},
                                             ensure_ascii=False) + "\n",
    "afqmc/dev.txt": "双十一花呗提额在哪\t里可以提花呗额度\t0\n花呗能还借呗吗\t借呗可以用花呗还吗\t1\n",
    "afqmc/test.txt": "花呗逾期怎么办\t借呗逾期会怎样\n",
    "chineseblue_cmedqq/test.txt": "1\t一型糖尿病能治愈吗\t1型糖尿病能根治吗?\n0\t乙肝疫苗第三针是几号\t打完疫苗多久能喝酒\n",
    "cail2021_argmine/SMP-CAIL2021-train.csv": (
        "id,text_id,sc,A,B,C,D,E,answer\n0,0,被告人打伤我的右眼,我没有打他,是他先动手的,我只推了他一下,"
        "我愿意赔偿,我不认识他,3\n"),
}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """The fixture files under a folder laid out as the datasets are (zip archives built here)."""
    root = tmp_path_factory.mktemp("raw")
    for path, content in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            with zipfile.ZipFile(target, "w") as archive:
                for member, text in content.items():
                    archive.writestr(member, text.encode("utf-8"))
        else:
            target.write_text(content, encoding="utf-8")
    return root


def read(plugins, raw, path, task, labels, format_name=None, **options):
    return read_examples(raw / path, plugins.task(task, labels=labels), format_name, options,
                         skip_bad=options.pop("skip_bad", False), plugins=plugins)


def label_counts(result):
    return Counter(example.payload for example in result.examples)


def test_chnsenticorp_tsv_inside_its_zip(plugins, raw):
    result = read(plugins, raw, "chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", ["0", "1"])
    assert label_counts(result) == {"0": 1, "1": 2} and result.examples[0].text == "房间很干净，服务周到"
    mapped = read(plugins, raw, "chnsenticorp/chnsenticorp.zip/test.tsv", "sentiment", None,
                  label_map="0=negative,1=positive")
    assert label_counts(mapped) == {"negative": 1, "positive": 2}


def test_waimai_csv_and_its_row_with_a_control_character(plugins, raw):
    result = read(plugins, raw, "waimai_10k/waimai_10k.csv", "sentiment", ["0", "1"], skip_bad=True)
    assert [(e.line, e.message) for e in result.errors] == [(4, "text column 5: U+0008 is a control character, not text")]
    assert label_counts(result) == {"1": 1, "0": 1} and result.examples[0].text == "很快，好吃，味道足，量大"


def test_msra_characters_inside_its_zip_with_an_i_tag_after_o(plugins, raw):
    result = read(plugins, raw, "msra_ner/peopledaily.zip/dev.txt", "ner", ["PER", "LOC", "ORG"])
    assert [(e.text, e.payload) for e in result.examples] == [
        ("中共中央致电", [Span(0, 4, "ORG")]), ("张三在京", [Span(0, 2, "PER"), Span(3, 4, "LOC")])]


def test_cmedqaner_bio_with_underscores(plugins, raw):
    [first, second] = read(plugins, raw, "chineseblue_cmedqaner/test.txt", "ner", CMED_TYPES).examples
    assert first.payload == [Span(0, 2, "symptom"), Span(2, 6, "symptom")]
    assert second.payload == [Span(0, 2, "crowd"), Span(3, 5, "disease")]


def test_cmedqaner_json_lowercased_text_is_reported_unless_told(plugins, raw):
    with pytest.raises(BadRowsError, match="in the text but the file says 'CT'"):
        read(plugins, raw, "chineseblue_cmedqaner/test.json", "ner", CMED_TYPES)
    [example] = read(plugins, raw, "chineseblue_cmedqaner/test.json", "ner", CMED_TYPES,
                     mention_case="ignore").examples
    assert example.text == "胸闷要做ct吗" and example.payload == [Span(0, 2, "symptom"), Span(4, 6, "test")]


def test_cail_xxcq_context_and_start_end_strings(plugins, raw):
    [example] = read(plugins, raw, "cail2021_xxcq/xxcq_mid.json", "ner", CAIL_TYPES).examples
    assert example.payload == [Span(13, 16, "NHVI"), Span(17, 20, "NHVI")]
    assert example.text[13:16] == "严某某" and example.meta["id"] == "a1"


def test_afqmc_tsv_without_a_header_and_its_unlabelled_test_split(plugins, raw):
    result = read(plugins, raw, "afqmc/dev.txt", "pair", ["0", "1"], "tsv", columns="text,text_b,label")
    assert label_counts(result) == {"0": 1, "1": 1} and all(example.text_b for example in result.examples)
    test = read(plugins, raw, "afqmc/test.txt", "pair", ["0", "1"], "tsv", columns="text,text_b,label")
    assert label_counts(test) == {None: 1}


def test_cmedqq_label_first(plugins, raw):
    result = read(plugins, raw, "chineseblue_cmedqq/test.txt", "pair", ["0", "1"], "tsv", columns="label,text,text_b")
    assert [(e.payload, e.text_b) for e in result.examples] == [("1", "1型糖尿病能根治吗?"), ("0", "打完疫苗多久能喝酒")]


def test_cail_argmine_is_recognised_and_gives_five_pairs_a_row(plugins, raw):
    result = read(plugins, raw, "cail2021_argmine/SMP-CAIL2021-train.csv", "pair", ["0", "1"])
    assert len(result.examples) == 5 and label_counts(result) == {"1": 1, "0": 4}
    assert [e.meta["id"][-1] for e in result.examples if e.payload == "1"] == ["C"]
