import io
import zipfile

import pytest

from bertanno.core.reading import BadRowsError, guess_format, read_examples
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Span


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_bad_rows_are_reported_with_file_and_line_and_reject_the_file(tmp_path, plugins):
    path = write(tmp_path, "reviews.csv", "label,review\npositive,很好\nhappy,还行\npositive\n,没有标签\n")
    task = plugins.task("sentiment")
    with pytest.raises(BadRowsError) as caught:
        read_examples(path, task, plugins=plugins)
    message = str(caught.value)
    assert f"{path}:3: label 'happy' is not in the label set" in message
    assert f"{path}:4: 1 fields, expected 2" in message
    assert "--skip-bad" in message
    result = read_examples(path, task, skip_bad=True, plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [("很好", "positive"), ("没有标签", None)]
    assert [e.line for e in result.errors] == [3, 4]


def test_quoted_csv_fields_keep_commas_and_line_breaks(tmp_path, plugins):
    path = write(tmp_path, "x.csv", 'text,label\n"好，很好, really",positive\n"两行\n文字",negative\n坏,negative\n')
    result = read_examples(path, plugins.task("sentiment"), plugins=plugins)
    assert [e.text for e in result.examples] == ["好，很好, really", "两行\n文字", "坏"]
    assert result.examples[2].meta["line"] == 5


def test_a_header_without_a_text_column_says_how_to_name_it(tmp_path, plugins):
    path = write(tmp_path, "x.csv", "stars,comment\n5,好\n")
    with pytest.raises(BadRowsError, match="text=COLUMN"):
        read_examples(path, plugins.task("sentiment"), plugins=plugins)
    result = read_examples(path, plugins.task("sentiment", labels=["1", "5"]), options={"text": "comment", "label": "stars"},
                           plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [("好", "5")]


def test_tsv_with_named_columns_and_a_label_map(tmp_path, plugins):
    path = write(tmp_path, "pairs.tsv", "1\t感冒吃什么药\t感冒用什么药\n0\t高血压\t低血糖\n")
    result = read_examples(path, plugins.task("pair"), "tsv",
                           {"columns": "label,text,text_b", "label_map": "0=no_match,1=match"}, plugins=plugins)
    assert [(e.text, e.text_b, e.payload) for e in result.examples] == [
        ("感冒吃什么药", "感冒用什么药", "match"), ("高血压", "低血糖", "no_match")]


def test_conll_in_bmes_with_a_bad_tag_reports_the_line(tmp_path, plugins):
    path = write(tmp_path, "x.bio", "张 B-PER\n三 E-PER\n在 O\n\n北 B-LOC\n京 X-LOC\n\n上 S-LOC\n")
    task = plugins.task("ner")
    result = read_examples(path, task, skip_bad=True, plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [("张三在", [Span(0, 2, "PER")]), ("上", [Span(0, 1, "LOC")])]
    assert [(e.line, "X-LOC" in e.message) for e in result.errors] == [(6, True)]


def test_conll_keeps_whitespace_characters_as_text(tmp_path, plugins):
    path = write(tmp_path, "x.conll", "A B-ORG\n\u3000 O\n  O\nB B-ORG\n")
    [example] = read_examples(path, plugins.task("ner"), plugins=plugins).examples
    assert example.text == "A\u3000 B" and example.payload == [Span(0, 1, "ORG"), Span(3, 4, "ORG")]


def test_json_spans_inclusive_ends_and_mismatches(tmp_path, plugins):
    task = plugins.task("ner")
    path = write(tmp_path, "x.jsonl", '{"text": "张三在北京", "spans": [[0, 1, "PER"], {"start": 3, "end": 4, "label": "LOC", "text": "北京"}]}\n')
    [example] = read_examples(path, task, options={"end": "inclusive"}, plugins=plugins).examples
    assert example.payload == [Span(0, 2, "PER"), Span(3, 5, "LOC")]
    bad = write(tmp_path, "bad.jsonl", '{"text": "张三在北京", "spans": [{"start": 3, "end": 5, "label": "LOC", "text": "上海"}]}\nnot json\n{"text": "x", "spans": [[0, 9, "PER"]]}\n')
    with pytest.raises(BadRowsError) as caught:
        read_examples(bad, task, plugins=plugins)
    lines = {e.line: e.message for e in caught.value.errors}
    assert "'北京' in the text but the file says '上海'" in lines[1]
    assert "not valid JSON" in lines[2] and "outside the text" in lines[3]


@pytest.mark.parametrize("task_name, examples", [
    ("sentiment", [Example("好吃", payload="positive", meta={"id": "a1"}), Example("未标注")]),
    ("pair", [Example("花呗", text_b="借呗", payload="match")]),
    ("ner", [Example("张三在北京", payload=[Span(0, 2, "PER"), Span(3, 5, "LOC")]), Example("无实体", payload=[]),
             Example("未标注")]),
])
def test_jsonl_export_is_lossless(tmp_path, plugins, task_name, examples):
    task = plugins.task(task_name)
    jsonl = plugins.formats.get("jsonl")
    stream = io.StringIO()
    jsonl.write(examples, stream, {"kind": task.example_kind})
    path = write(tmp_path, "out.jsonl", stream.getvalue())
    back = read_examples(path, task, plugins=plugins).examples
    assert [(e.text, e.text_b, e.payload, {k: v for k, v in e.meta.items() if k != "line"}) for e in back] == [
        (e.text, e.text_b, e.payload, e.meta) for e in examples]


def test_conll_and_csv_exports_read_back(tmp_path, plugins):
    ner = plugins.task("ner")
    examples = [Example("张三 在北京", payload=[Span(0, 2, "PER"), Span(4, 6, "LOC")])]
    stream = io.StringIO()
    plugins.formats.get("conll").write(examples, stream, {})
    back = read_examples(write(tmp_path, "x.conll", stream.getvalue()), ner, plugins=plugins).examples
    assert [(e.text, e.payload) for e in back] == [(e.text, e.payload) for e in examples]

    pair = plugins.task("pair")
    pairs = [Example("a,b", text_b='"引号"', payload="match")]
    stream = io.StringIO()
    plugins.formats.get("csv").write(pairs, stream, {})
    back = read_examples(write(tmp_path, "x.csv", stream.getvalue()), pair, plugins=plugins).examples
    assert [(e.text, e.text_b, e.payload) for e in back] == [("a,b", '"引号"', "match")]


def test_conll_cannot_carry_nested_spans_line_breaks_or_spaced_labels(plugins):
    conll = plugins.formats.get("conll")
    assert "overlaps" in conll.cannot_carry(Example("高血压病", payload=[Span(0, 4, "D"), Span(0, 3, "D")]), "spans")
    assert "line break" in conll.cannot_carry(Example("第一行\r\n张三", payload=[Span(5, 7, "PER")]), "spans")
    assert "whitespace" in conll.cannot_carry(Example("张三", payload=[Span(0, 2, "a person")]), "spans")
    assert conll.cannot_carry(Example("张 三\u3000", payload=[Span(0, 3, "PER")]), "spans") is None


def test_files_inside_a_zip_archive(tmp_path, plugins):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("test.tsv", "label\ttext_a\npositive\t好\n")
    [example] = read_examples(archive / "test.tsv", plugins.task("sentiment"), plugins=plugins).examples
    assert example.payload == "positive"
    with pytest.raises(BertannoError, match="no member 'other.tsv'"):
        read_examples(archive / "other.tsv", plugins.task("sentiment"), plugins=plugins)


def test_txt_files_are_told_apart_by_their_content(tmp_path, plugins):
    conll = write(tmp_path, "a.txt", "张 B-PER\n三 I-PER\n")
    tabbed = write(tmp_path, "b.txt", "好\t1\n坏\t0\n")
    plain = write(tmp_path, "c.txt", "今天天气不错\n我 爱 北京\n")
    assert guess_format(conll, "spans", plugins).name == "conll"
    assert guess_format(plain, "spans", plugins).name == "txt"
    assert guess_format(tabbed, "text", plugins).name == "tsv"
    assert guess_format(plain, "text", plugins).name == "txt"


def test_clear_errors_for_unreadable_input(tmp_path, plugins):
    task = plugins.task("sentiment")
    with pytest.raises(BertannoError, match="no such file"):
        read_examples(tmp_path / "missing.csv", task, plugins=plugins)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\n".encode() + "好".encode("gbk") + b",positive\n")
    with pytest.raises(BertannoError, match="not UTF-8"):
        read_examples(latin, task, plugins=plugins)
    with pytest.raises(BertannoError, match="cannot tell the format"):
        read_examples(write(tmp_path, "x.xlsx", "?"), task, plugins=plugins)
    with pytest.raises(BertannoError, match="needs 'spans' examples"):
        read_examples(write(tmp_path, "x.csv", "text,label\n好,1\n"), plugins.task("ner"), "csv", plugins=plugins)
    with pytest.raises(BertannoError, match="unknown format 'xml'"):
        read_examples(write(tmp_path, "y.csv", "text\n好\n"), task, "xml", plugins=plugins)


def test_unknown_options_and_blank_texts_are_refused(tmp_path, plugins):
    path = write(tmp_path, "a.tsv", "好\tpositive\n")
    with pytest.raises(BertannoError, match="format 'tsv' has no option colums; its options: label_map, text, "):
        read_examples(path, plugins.task("sentiment"), options={"colums": "text,label"}, plugins=plugins)
    blank = write(tmp_path, "b.jsonl", '{"text": " \\u3000 ", "label": "positive"}\n{"text": "好", "text_b": "\\t"}\n')
    result = read_examples(blank, plugins.task("pair", labels=["negative", "positive"]), skip_bad=True, plugins=plugins)
    assert [e.message for e in result.errors] == ["text is empty or only whitespace",
                                                 "text_b is empty or only whitespace"]


@pytest.mark.parametrize("spans, message", [
    ('[[0, 1.5, "PER"]]', "whole numbers"), ('[["0", 1, "PER"]]', "whole numbers"), ('[[0, true, "PER"]]', "whole numbers"),
    ('[[0, 1, "PER"], [0, 1, "PER"]]', "given twice"), ('[[0, 1, 7]]', "needs a label"),
])
def test_span_offsets_are_whole_numbers_and_spans_unique(tmp_path, plugins, spans, message):
    path = write(tmp_path, "s.jsonl", f'{{"text": "张三", "spans": {spans}}}\n')
    result = read_examples(path, plugins.task("ner"), skip_bad=True, plugins=plugins)
    assert len(result.errors) == 1 and message in result.errors[0].message


def test_a_project_may_refuse_overlapping_spans(tmp_path, plugins):
    path = write(tmp_path, "s.jsonl", '{"text": "高血压病", "spans": [[0, 4, "D"], [0, 3, "D"]]}\n')
    assert read_examples(path, plugins.task("ner", labels=["D"]), plugins=plugins).examples[0].payload == \
        [Span(0, 4, "D"), Span(0, 3, "D")]
    result = read_examples(path, plugins.task("ner", labels=["D"], nested="false"), skip_bad=True, plugins=plugins)
    assert "overlap" in result.errors[0].message
