"""Files of the tools people leave, read as those tools write them, or refused by name (issue 'Every file from the
tools people leave', part 1 and 2): doccano's relation-extraction, intent-detection, JSON-array and renamed-column
layouts; Label Studio's controls bertanno does not read and texts that drifted; Prodigy's answers; and fields of
the wrong JSON type as row errors, never tracebacks. Every fixture is written here by hand from the tools'
documented layouts (in Chinese where the tools' own examples are English)."""

import json

import pytest

from bertanno.core.reading import BadRowsError, read_examples
from bertanno.plugins.task import Span

RECORD = "华为由任正非于1987年在深圳创立。"  # 华为 0-2 ORG, 任正非 3-6 PER, 1987年 7-12 DATE, 深圳 13-15 LOC
ENTITIES = [{"id": 1, "start_offset": 0, "end_offset": 2, "label": "ORG"},
            {"id": 2, "start_offset": 3, "end_offset": 6, "label": "PER"},
            {"id": 3, "start_offset": 7, "end_offset": 12, "label": "DATE"},
            {"id": 4, "start_offset": 13, "end_offset": 15, "label": "LOC"}]
RELATIONS = [{"id": 1, "from_id": 1, "to_id": 2, "type": "创始人"}, {"id": 2, "from_id": 1, "to_id": 3, "type": "成立于"}]
ALL_SPANS = [Span(0, 2, "ORG"), Span(3, 6, "PER"), Span(7, 12, "DATE"), Span(13, 15, "LOC")]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ner(plugins, labels=("ORG", "PER", "DATE", "LOC")):
    return plugins.task("ner", labels=list(labels))


@pytest.mark.parametrize("layout", ["one-line", "pretty-printed", "array"])
def test_doccano_relation_extraction_keeps_every_entity_and_counts_the_relations(tmp_path, plugins, layout):
    record = {"id": 7, "text": RECORD, "entities": ENTITIES, "relations": RELATIONS}
    text = {"one-line": json.dumps(record, ensure_ascii=False) + "\n",
            "pretty-printed": json.dumps(record, ensure_ascii=False, indent=4) + "\n",
            "array": json.dumps([record], ensure_ascii=False, indent=2)}[layout]
    path = write(tmp_path, "relations.jsonl" if layout != "array" else "relations.json", text)
    result = read_examples(path, ner(plugins), plugins=plugins)  # the format is recognised, not given
    [example] = result.examples
    assert example.payload == ALL_SPANS
    assert [note.message for note in result.notes] == [
        "2 relation(s) left out: this project has no relation layer (a relations project keeps them)"]


def test_doccano_intent_detection_in_an_entity_and_in_a_classification_project(tmp_path, plugins):
    rows = [{"text": "查询从北京到上海的航班", "entities": [[3, 5, "城市"], [6, 8, "城市"]], "cats": ["航班"]},
            {"text": "上海有哪些机场", "entities": [[0, 2, "城市"]], "cats": ["机场"]},
            {"text": "你好", "cats": ["闲聊"]},
            {"entities": [[0, 1, "城市"]], "cats": ["航班"]}]
    path = write(tmp_path, "intent.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    entities = read_examples(path, plugins.task("ner", labels=["城市"]), skip_bad=True, plugins=plugins)
    assert [e.payload for e in entities.examples] == [[Span(3, 5, "城市"), Span(6, 8, "城市")], [Span(0, 2, "城市")],
                                                      None]
    assert [e.line for e in entities.errors] == [4] and "no text" in entities.errors[0].message
    assert [n.message for n in entities.notes] == ["3 categor(ies) (cats) left out: this is an entity project"]
    classes = read_examples(path, plugins.task("sentiment", labels=["航班", "机场", "闲聊"]), "doccano",
                            skip_bad=True, plugins=plugins)
    assert [e.payload for e in classes.examples] == ["航班", "机场", "闲聊"]
    assert [n.message for n in classes.notes] == ["3 entity span(s) left out: this is a classification project"]


def test_doccano_json_array_export_is_doccano_not_label_studio(tmp_path, plugins):
    rows = [{"id": 1, "text": "服务太差了", "label": ["负面"]}, {"id": 2, "text": "菜很好吃", "label": ["正面"]}]
    path = write(tmp_path, "export.json", json.dumps(rows, ensure_ascii=False, indent=4))
    task = plugins.task("sentiment", labels=["负面", "正面"])
    for given in (None, "doccano"):
        assert [e.payload for e in read_examples(path, task, given, plugins=plugins).examples] == ["负面", "正面"]


def test_doccano_renamed_columns_are_read_and_said(tmp_path, plugins):
    rows = [{"column_data": "张三在北京", "column_label": [[0, 2, "PER"], [3, 5, "LOC"]]}]
    path = write(tmp_path, "renamed.jsonl", json.dumps(rows[0], ensure_ascii=False) + "\n")
    result = read_examples(path, plugins.task("ner", labels=["PER", "LOC"]), plugins=plugins)
    assert result.examples[0].payload == [Span(0, 2, "PER"), Span(3, 5, "LOC")]
    assert "read 'column_data' as the text and 'column_label' as the label" in result.notes[0].message
    chosen = read_examples(path, plugins.task("ner", labels=["PER", "LOC"]), "doccano",
                           {"text": "column_data", "label": "column_label"}, plugins=plugins)
    assert chosen.examples[0].payload == result.examples[0].payload and not chosen.notes


def test_prodigy_answers_are_honoured(tmp_path, plugins):
    rows = [{"text": "太难吃了", "label": "positive", "answer": "reject", "_input_hash": 1, "_task_hash": 2},
            {"text": "很好吃", "label": "positive", "answer": "accept"},
            {"text": "一般般", "label": "positive", "answer": "ignore"},
            {"text": "还会再来", "options": [{"id": "positive", "text": "正面"}, {"id": "negative", "text": "负面"}],
             "accept": ["positive"], "answer": "accept"},
            {"text": "张三在北京", "spans": [{"start": 0, "end": 2, "label": "PER", "token_start": 0, "token_end": 1}],
             "answer": "reject"}]
    path = write(tmp_path, "prodigy.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:4]))
    result = read_examples(path, plugins.task("sentiment", labels=["negative", "positive"]), plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [
        ("太难吃了", None), ("很好吃", "positive"), ("一般般", None), ("还会再来", "positive")]
    assert [n.message.split(" came")[0] for n in result.notes] == [
        "1 example(s) the annotator rejected in Prodigy (answer reject)",
        "1 example(s) the annotator ignored in Prodigy (answer ignore)"]
    spans = write(tmp_path, "spans.jsonl", json.dumps(rows[4], ensure_ascii=False) + "\n")
    assert read_examples(spans, plugins.task("ner", labels=["PER"]), plugins=plugins).examples[0].payload is None


@pytest.mark.parametrize("row, message", [
    ({"text": "头痛", "spans": 5}, "'spans' must be a list"),
    ({"text": "头痛", "labels": 3}, "'labels' must be a list"),
    ({"text": "头痛", "meta": ["x"]}, "'meta' must be an object"),
    ({"text": "头痛", "label": {"a": 1}}, "'label' must be a label name"),
    ({"text": "头痛", "spans": [[0, 1]]}, "a span must be"),
    ({"text": "头痛", "entities": [{"start_offset": 0}]}, "--format doccano"),
    ({"text": "头痛", "answer": "maybe"}, "accept, reject or ignore"),
])
def test_fields_of_the_wrong_json_type_are_row_errors(tmp_path, plugins, row, message):
    path = write(tmp_path, "bad.jsonl", json.dumps(row, ensure_ascii=False) + "\n")
    task = plugins.task("ner", labels=["SYM"]) if "spans" in row or "entities" in row else plugins.task("sentiment")
    with pytest.raises(BadRowsError, match=message):
        read_examples(path, task, "jsonl", plugins=plugins)


def label_studio(tmp_path, tasks):
    return write(tmp_path, "ls.json", json.dumps(tasks, ensure_ascii=False))


def test_label_studio_controls_bertanno_does_not_read_are_left_out_and_counted(tmp_path, plugins):
    tasks = [{"id": 1, "data": {"text": "胸片见阴影", "image": "x.png"}, "annotations": [{"result": [
        {"type": "rectanglelabels", "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["阴影"]}}]}]},
        {"id": 2, "data": {"text": "服务很好"}, "annotations": [{"result": [
            {"type": "choices", "value": {"choices": ["positive"]}},
            {"type": "textarea", "value": {"text": ["备注"]}}, {"type": "rating", "value": {"rating": 4}}]}]}]
    result = read_examples(label_studio(tmp_path, tasks), plugins.task("sentiment", labels=["negative", "positive"]),
                           plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [("胸片见阴影", None), ("服务很好", "positive")]
    assert sorted(n.message.split(" left out")[0] for n in result.notes) == [
        "1 result(s) of type rating", "1 result(s) of type rectanglelabels", "1 result(s) of type textarea"]


def test_label_studio_spans_follow_their_text_when_the_text_drifted(tmp_path, plugins):
    # the task text lost a double space after annotating (label-studio#3078): offsets point one character late
    tasks = [{"id": 1, "data": {"text": "患者 张三 头痛"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 7, "end": 9, "text": "头痛", "labels": ["SYM"]}},
        {"type": "labels", "value": {"start": 3, "end": 5, "text": "张三", "labels": ["PER"]}}]}]}]
    result = read_examples(label_studio(tmp_path, tasks), plugins.task("ner", labels=["SYM", "PER"]), plugins=plugins)
    assert result.examples[0].payload == [Span(3, 5, "PER"), Span(6, 8, "SYM")]
    assert result.notes[0].message.startswith("1 span(s) re-anchored to their surface text")
    tasks[0]["annotations"][0]["result"][0]["value"]["text"] = "发热"  # nowhere in the text: refused by name
    with pytest.raises(BadRowsError, match="'发热'; it does not occur in the text at all"):
        read_examples(label_studio(tmp_path, tasks), plugins.task("ner", labels=["SYM", "PER"]), plugins=plugins)


@pytest.mark.parametrize("task, message", [
    ({"data": {"text": "x"}, "annotations": 5}, "'annotations' must be a list"),
    ({"data": {"text": "x"}, "annotations": {"result": []}}, "'annotations' must be a list"),
    ({"data": {"text": "x"}, "predictions": "v1"}, "'predictions' must be a list"),
])
def test_label_studio_fields_of_the_wrong_type_are_row_errors(tmp_path, plugins, task, message):
    with pytest.raises(BadRowsError, match=message):
        read_examples(label_studio(tmp_path, [task]), plugins.task("sentiment"), plugins=plugins)


def test_conll_of_label_studios_converter_and_of_conll_2003_keeps_only_tokens_and_tags(tmp_path, plugins):
    converter = ("-DOCSTART- -X- O\n张 -X- _ B-PER\n三 -X- _ I-PER\n在 -X- _ O\n北 -X- _ B-LOC\n京 -X- _ I-LOC\n\n"
                 "-DOCSTART- -X- O\n头 -X- _ B-SYM\n痛 -X- _ I-SYM\n")
    result = read_examples(write(tmp_path, "converter.conll", converter),
                           plugins.task("ner", labels=["PER", "LOC", "SYM"]), plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [
        ("张三在北京", [Span(0, 2, "PER"), Span(3, 5, "LOC")]), ("头痛", [Span(0, 2, "SYM")])]
    assert [n.message.split(":")[0].split(" (")[0] for n in result.notes] == [
        "2 document marker(s)", "7 token line(s) have columns between the token and the tag"]
    words = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n2 CD I-NP O\n国 NN O O\n"
    [example] = read_examples(write(tmp_path, "words.conll", words), plugins.task("ner", labels=["ORG", "MISC"]),
                              "conll", plugins=plugins).examples
    assert example.text == "EU rejects German call 2国"
    assert example.payload == [Span(0, 2, "ORG"), Span(11, 17, "MISC")]


@pytest.mark.parametrize("scheme, lines", [
    ("IOB1", "张 I-PER\n三 I-PER\n李 B-PER\n四 I-PER\n在 O\n京 I-LOC\n"),
    ("IOB2", "张 B-PER\n三 I-PER\n李 B-PER\n四 I-PER\n在 O\n京 B-LOC\n"),
    ("BIOES", "张 B-PER\n三 E-PER\n李 B-PER\n四 E-PER\n在 O\n京 S-LOC\n"),
    ("BMES", "张 B_PER\n三 E_PER\n李 B_PER\n四 E_PER\n在 O\n京 S_LOC\n"),
])
def test_conll_tag_schemes_are_read_without_an_option(tmp_path, plugins, scheme, lines):
    [example] = read_examples(write(tmp_path, f"{scheme}.conll", lines), plugins.task("ner", labels=["PER", "LOC"]),
                              plugins=plugins).examples
    assert example.payload == [Span(0, 2, "PER"), Span(2, 4, "PER"), Span(5, 6, "LOC")]


def test_a_brat_annotation_file_that_is_not_utf8_is_a_row_error(tmp_path, plugins):
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "a.txt").write_text("张三头痛", encoding="utf-8")
    (folder / "a.ann").write_bytes("T1\tPER 0 2\t张三\n".encode("gb18030"))
    with pytest.raises(BadRowsError, match="a.ann is not UTF-8"):
        read_examples(folder, plugins.task("ner", labels=["PER"]), plugins=plugins)


@pytest.mark.parametrize("meta, message", [
    ({"prediction": {"model": "v1\u0000x", "confidence": 0.5}}, "the prediction's model name"),
    ({"annotator": "li\u0000"}, "the annotator's name"),
])
def test_a_nul_in_a_name_that_becomes_a_column_is_a_row_error(store, tmp_path, meta, message):
    from bertanno.core.import_export import import_file
    from bertanno.store.projects import create_project

    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese")
    path = write(tmp_path, "x.jsonl", json.dumps({"text": "很好", "label": "positive", "meta": meta}) + "\n")
    with pytest.raises(BadRowsError, match=message):
        import_file(store, "p", path)


SPAN_LAYER = "#FORMAT=WebAnno TSV 3.3\n#T_SP=webanno.custom.Span|value\n\n\n"


def test_webanno_tab_in_a_sentence_and_zero_length_annotations_as_inception_writes_them(tmp_path, plugins):
    # a tab between two tokens, escaped \t in #Text (INCEpTION's Escaping.escapeText), and a zero-length
    # annotation (a sub-token unit 1-3.1 at 4-4): the sentence is read, the position left out and counted
    tsv = (SPAN_LAYER + "#Text=头痛\\t发热\n1-1\t0-2\t头痛\tSYM\t\n1-2\t3-5\t发热\tSYM\t\n1-2.1\t5-5\t\tSYM\t\n")
    result = read_examples(write(tmp_path, "tab.tsv", tsv), plugins.task("ner", labels=["SYM"]), "webanno-tsv",
                           {"layer": "webanno.custom.Span"}, plugins=plugins)
    [example] = result.examples
    assert example.text == "头痛\t发热" and example.payload == [Span(0, 2, "SYM"), Span(3, 5, "SYM")]
    assert result.notes[0].message.startswith("1 zero-length annotation(s) left out")
    # a zero-length annotation without a value (testZeroLengthSpansWithoutFeatureValues) is left out the same way
    tsv = SPAN_LAYER + "#Text=头痛\n1-1\t0-2\t头痛\tSYM\t\n1-1.1\t2-2\t\t*\t\n"
    result = read_examples(write(tmp_path, "bare.tsv", tsv), plugins.task("ner", labels=["SYM"]), "webanno-tsv",
                           {"layer": "webanno.custom.Span"}, plugins=plugins)
    assert [e.payload for e in result.examples] == [[Span(0, 2, "SYM")]]
    assert result.notes[0].message.startswith("1 zero-length annotation(s) left out")


def test_webanno_writes_text_as_inception_reads_it(tmp_path, plugins, store):
    from bertanno.core.import_export import export_project, import_file
    from bertanno.store.projects import create_project

    with store.transaction() as session:
        create_project(session, "p", "ner", ["SYM"], "bert-base-chinese")
    import_file(store, "p", write(tmp_path, "x.jsonl", json.dumps({"text": "头痛\t发热\\x", "spans": [[0, 2, "SYM"]]},
                                                                  ensure_ascii=False) + "\n"))
    written = export_project(store, "p", "webanno-tsv", None).text
    assert "#Text=头痛\\t发热\\\\x\n" in written  # \t and a doubled backslash, never \u0009


def test_the_import_summary_accounts_for_the_whole_file_in_json(tmp_path):
    from click.testing import CliRunner

    from bertanno.cli import cli

    db = f"sqlite:///{tmp_path / 'x.db'}"
    runner = CliRunner()
    runner.invoke(cli, ["--db", db, "init", "re", "--task", "ner", "--labels", "ORG,PER,DATE,LOC"])
    rows = [{"text": RECORD, "entities": ENTITIES, "relations": RELATIONS},
            {"text": "任正非在深圳", "entities": [[0, 3, "PER"]]}, {"text": "任正非在深圳", "entities": [[4, 6, "LOC"]]}]
    path = write(tmp_path, "re.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    result = runner.invoke(cli, ["--db", db, "import", "re", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["added"], summary["gold_labels"], summary["unsettled"]) == (3, 2, 1, 1)
    assert summary["left_out"] == [
        "2 relation(s) left out: this project has no relation layer (a relations project keeps them)"]


def test_doccanos_fasttext_export_is_read_as_labels_and_text(tmp_path, plugins):
    path = write(tmp_path, "export.txt", "__label__正面 很好吃\n__label__负面 __label__正面 一般\n没有标签的一行\n__label__负面\n")
    result = read_examples(path, plugins.task("sentiment", labels=["负面", "正面"]), skip_bad=True, plugins=plugins)
    assert [(e.text, e.payload) for e in result.examples] == [("很好吃", "正面"), ("没有标签的一行", None)]
    assert [e.line for e in result.errors] == [2, 4]  # two labels for a single-label task; a label without text


def test_a_utf16_file_with_its_byte_order_mark_is_read(tmp_path, plugins):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,label\r\n很好吃,positive\r\n".encode("utf-16"))
    [example] = read_examples(path, plugins.task("sentiment"), plugins=plugins).examples
    assert (example.text, example.payload) == ("很好吃", "positive")


def test_a_span_given_twice_is_kept_once_and_said(tmp_path, plugins):
    path = write(tmp_path, "twice.jsonl", json.dumps({"text": "张三头痛", "label": [[0, 2, "PER"], [0, 2, "PER"]]},
                                                      ensure_ascii=False) + "\n")
    result = read_examples(path, plugins.task("ner", labels=["PER"]), plugins=plugins)
    assert result.examples[0].payload == [Span(0, 2, "PER")]
    assert result.notes[0].message == "1 span(s) given twice (same characters, same type) kept once"


def test_doccanos_image_records_are_refused_by_name_not_read_as_text(tmp_path, plugins):
    path = write(tmp_path, "images.jsonl", '{"filename": "cat.jpg", "label": ["猫"]}\n')
    with pytest.raises(BadRowsError, match="names a file \\(filename\\).*bertanno annotates text"):
        read_examples(path, plugins.task("sentiment", labels=["猫", "狗"]), "doccano", plugins=plugins)


def test_label_studio_json_min_for_spans_and_for_a_choice(tmp_path, plugins):
    spans = [{"id": 3, "text": "张三在北京", "label": [{"start": 0, "end": 2, "text": "张三", "labels": ["PER"]},
                                                  {"start": 3, "end": 5, "text": "北京", "labels": ["LOC"]}],
              "annotator": 1, "annotation_id": 7, "created_at": "2026-01-01T00:00:00Z", "lead_time": 4.2}]
    result = read_examples(label_studio(tmp_path, spans), plugins.task("ner", labels=["PER", "LOC"]), plugins=plugins)
    [example] = result.examples
    assert example.payload == [Span(0, 2, "PER"), Span(3, 5, "LOC")] and example.meta["annotator"] == "1"
    assert result.notes[0].message.startswith("1 task(s) in Label Studio's JSON-MIN layout")
    choice = [{"id": 4, "text": "服务很好", "sentiment": "positive", "annotator": 2, "annotation_id": 8, "lead_time": 1.0}]
    [example] = read_examples(label_studio(tmp_path, choice), plugins.task("sentiment"), plugins=plugins).examples
    assert (example.text, example.payload) == ("服务很好", "positive")
