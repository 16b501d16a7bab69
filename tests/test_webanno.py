"""WebAnno / INCEpTION TSV 3 (issue 'move in and move out', part 4): a file in the tool's own layout imports
with its entities (word and sub-token units, multi-token ids, stacked entities, UTF-16 offsets past an emoji),
other layers are left out with a note, escapes are undone, export and import again give the same file, and
what is malformed is a row error with its line."""

import pytest
from click.testing import CliRunner

from bertanno.cli import cli
from bertanno.core.import_export import export_project, import_file
from bertanno.core.reading import BadRowsError, read_examples
from bertanno.plugins.builtin.formats.webanno import escape_text, escape_value, unescape_text, unescape_value
from bertanno.plugins.task import Span
from bertanno.store.projects import create_project

NE = "#T_SP=de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity|identifier|value"
HEADER = ["#FORMAT=WebAnno TSV 3.3",
          "#T_SP=de.tudarmstadt.ukp.dkpro.core.api.lexmorph.type.pos.POS|PosValue|coarseValue", NE,
          "#T_RL=de.tudarmstadt.ukp.dkpro.core.api.syntax.type.dependency.Dependency|DependencyType|flavor|"
          "BT_de.tudarmstadt.ukp.dkpro.core.api.lexmorph.type.pos.POS", "", ""]


def row(*cells):
    return "\t".join(cells)


# Written by hand from the WebAnno TSV 3 section of INCEpTION's user guide: word tokens as a Chinese tokenizer
# makes them, POS and dependency columns, the trailing tab of version 3.2, offsets in UTF-16 units (the emoji
# counts two), a sub-token unit 2-5.1, a two-token entity [1] across a space, a stacked cell.
DOCUMENT = "\n".join(HEADER + [
    "#Text=张三住在上海",
    row("1-1", "0-2", "张三", "NR", "_", "*", "PER", "_", "_", "_", ""),
    row("1-2", "2-3", "住", "VV", "_", "_", "_", "nsubj", "_", "1-1", ""),
    row("1-3", "3-4", "在", "P", "_", "_", "_", "_", "_", "_", ""),
    row("1-4", "4-6", "上海", "NR", "_", "*", "LOC", "_", "_", "_", ""),
    "",
    "#Text=😀李 四在北京大学",
    row("2-1", "7-9", "😀", "_", "_", "_", "_", "_", "_", "_"),
    row("2-2", "9-10", "李", "_", "_", "*[1]", "PER[1]", "_", "_", "_"),
    row("2-3", "11-12", "四", "_", "_", "*[1]", "PER[1]", "_", "_", "_"),
    row("2-4", "12-13", "在", "_", "_", "_", "_", "_", "_", "_"),
    row("2-5", "13-17", "北京大学", "_", "_", "*|*", "ORG|机构\\_名", "_", "_", "_"),
    row("2-5.1", "13-15", "北京", "_", "_", "*", "LOC", "_", "_", "_"),
    "",
    "#Text=今天天气",
    "#Text=很好",
    row("3-1", "18-20", "今天", "_", "_", "_", "_", "_", "_", "_"),
    row("3-2", "20-22", "天气", "_", "_", "_", "_", "_", "_", "_"),
    row("3-3", "23-25", "很好", "_", "_", "_", "_", "_", "_", "_"),
]) + "\n"


def write(tmp_path, text, name="doc.tsv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_webanno_file_imports_with_its_entities_and_a_note_on_the_other_layers(tmp_path, plugins):
    task = plugins.task("ner", labels=["PER", "LOC", "ORG", "机构_名"])
    result = read_examples(write(tmp_path, DOCUMENT), task, plugins=plugins)  # sniffed: no --format
    assert [e.text for e in result.examples] == ["张三住在上海", "😀李 四在北京大学", "今天天气\n很好"]
    assert [e.payload for e in result.examples] == [
        [Span(0, 2, "PER"), Span(4, 6, "LOC")],
        [Span(1, 4, "PER"), Span(5, 7, "LOC"), Span(5, 9, "ORG"), Span(5, 9, "机构_名")],
        None]
    assert [e.meta["line"] for e in result.examples] == [7, 13, 21]
    assert [n.message for n in result.notes] == ["left out (bertanno keeps the NamedEntity layer only): layers "
                                                 "Dependency, POS"]
    annotated = read_examples(write(tmp_path, DOCUMENT), task, "webanno-tsv", {"empty": "no-entities"},
                              plugins=plugins).examples
    assert annotated[2].payload == []


def test_a_custom_span_layer_is_read_with_the_layer_and_feature_options(tmp_path, plugins):
    text = "\n".join(["#FORMAT=WebAnno TSV 3.2", "#T_SP=webanno.custom.Symptom|kind|severity", "", "",
                      "#Text=头痛三天", row("1-1", "0-2", "头痛", "症状", "重", ""),
                      row("1-2", "2-4", "三天", "_", "_", "")])
    task = plugins.task("ner", labels=["症状"])
    [example] = read_examples(write(tmp_path, text), task, "webanno-tsv",
                              {"layer": "webanno.custom.Symptom", "feature": "kind"}, plugins=plugins).examples
    assert example.payload == [Span(0, 2, "症状")]
    with pytest.raises(BadRowsError, match="has no feature 'value'"):
        read_examples(write(tmp_path, text), task, "webanno-tsv", {"layer": "webanno.custom.Symptom"},
                      plugins=plugins)


def test_entities_without_a_value_take_the_label_the_unlabelled_option_gives(tmp_path, plugins):
    # INCEpTION writes ``*`` for an annotation whose feature nobody filled in: one single-token, one multi-token
    text = "\n".join(HEADER + ["#Text=张三住上海", row("1-1", "0-2", "张三", "_", "_", "*", "*", "_", "_", "_"),
                              row("1-2", "2-3", "住", "_", "_", "_", "_", "_", "_", "_"),
                              row("1-3", "3-4", "上", "_", "_", "*[2]", "*[2]", "_", "_", "_"),
                              row("1-4", "4-5", "海", "_", "_", "*[2]", "*[2]", "_", "_", "_")])
    task = plugins.task("ner", labels=["ENTITY", "PER"])
    with pytest.raises(BadRowsError, match="--option unlabelled=LABEL"):
        read_examples(write(tmp_path, text), task, "webanno-tsv", plugins=plugins)
    result = read_examples(write(tmp_path, text), task, "webanno-tsv", {"unlabelled": "ENTITY"}, plugins=plugins)
    assert [e.payload for e in result.examples] == [[Span(0, 2, "ENTITY"), Span(3, 5, "ENTITY")]]
    assert any("3 entity part(s) without a value labelled 'ENTITY'" in n.message for n in result.notes)
    with pytest.raises(BadRowsError, match="NOPE"):  # the given label must be one of the project's
        read_examples(write(tmp_path, text), task, "webanno-tsv", {"unlabelled": "NOPE"}, plugins=plugins)
    # a custom layer without features (INCEpTION's SimpleSpan): one column of ``*`` per annotation
    bare = "\n".join(["#FORMAT=WebAnno TSV 3.3", "#T_SP=webanno.custom.SimpleSpan", "", "",
                      "#Text=头痛三天", row("1-1", "0-2", "头痛", "*"), row("1-2", "2-4", "三天", "_")])
    with pytest.raises(BadRowsError, match="without a value"):
        read_examples(write(tmp_path, bare), task, "webanno-tsv", {"layer": "webanno.custom.SimpleSpan"},
                      plugins=plugins)
    [example] = read_examples(write(tmp_path, bare), task, "webanno-tsv", {
        "layer": "webanno.custom.SimpleSpan", "unlabelled": "ENTITY"}, plugins=plugins).examples
    assert example.payload == [Span(0, 2, "ENTITY")]


@pytest.mark.parametrize("text, expected", [
    ("a|b_c[1]\\d->e;f*g\th\ni", "a\\|b\\_c\\[1\\]\\\\d\\->e\\;f\\*g\\th\\ni"),
])
def test_values_are_escaped_as_webanno_does_and_read_back(text, expected):
    assert escape_value(text) == expected and unescape_value(expected) == text
    # #Text as INCEpTION's Escaping.escapeText writes it (TSV 3.2 on) and reads it back, and 3.1's Java escapes
    assert escape_text("a\\b\tc\x01\rd") == "a\\\\b\\tc\\\x01\\rd"
    assert unescape_text("a\\\\b\\tc\\\x01\\rd") == "a\\b\tc\x01\rd"
    assert unescape_text("a\\u0009b") == "a\\u0009b"  # 3.3 keeps what it does not define, as INCEpTION does
    assert unescape_text("a\\u0009b\\\\c\\101", minor=1) == "a\tb\\cA"


BAD = [
    (["#FORMAT=WebAnno TSV 2", "#Text=张三"], "not a WebAnno TSV 3 file"),
    (HEADER + ["#Text=张三住", row("1-1", "0-2", "张三", "_", "_", "*", "PER", "_", "_", "_"),
               row("1-2", "3-4", "住", "_", "_", "_", "_", "_", "_", "_")], "doc.tsv:9: the token '住' at 3-4"),
    (HEADER + ["#Text=张三住", row("1-1", "0-2", "张三", "_", "_", "*", "*", "_", "_", "_")], "without a value"),
    (HEADER + ["#Text=张三住", row("1-1", "0-2", "张三", "_", "*", "PER")], "annotation column(s)"),
    (HEADER + ["#Text=张三", row("1-1", "0-2", "张三", "_", "_", "*", "ORG", "_", "_", "_")], "ORG"),
    (HEADER + ["#Text=张", row("1-1", "0-1", "张", "_", "_", "*[1]", "PER[1]", "_", "_", "_"), "",
               "#Text=三", row("2-1", "2-3", "三", "_", "_", "*[1]", "PER[1]", "_", "_", "_")],
     "annotation [1] crosses the sentences at lines 7, 10"),
]


@pytest.mark.parametrize("lines, message", BAD, ids=[m for _, m in BAD])
def test_malformed_files_are_row_errors_naming_file_and_line(tmp_path, plugins, lines, message):
    task = plugins.task("ner", labels=["PER", "LOC"])
    with pytest.raises(BadRowsError) as raised:
        read_examples(write(tmp_path, "\n".join(lines) + "\n"), task, "webanno-tsv", plugins=plugins)
    assert message in str(raised.value)


def test_export_import_export_through_webanno_is_identical(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "a", "ner", ["PER", "LOC", "ORG", "机构_名"], "bert-base-chinese")
        create_project(session, "b", "ner", ["PER", "LOC", "ORG", "机构_名"], "bert-base-chinese")
    report = import_file(store, "a", write(tmp_path, DOCUMENT))
    assert (report.added, report.labelled) == (3, 2) and report.notes
    first = export_project(store, "a", "webanno-tsv", tmp_path / "first.tsv")
    assert first.written == 2
    exported = (tmp_path / "first.tsv").read_text(encoding="utf-8")
    assert exported.startswith("#FORMAT=WebAnno TSV 3.3\n" + NE + "\n\n\n#Text=张三住在上海\n1-1\t0-1\t张\t*[1]\tPER[1]\n")
    assert "2-1\t7-9\t😀\t_\t_\n2-2\t9-10\t李\t*[3]\tPER[3]\n2-3\t11-12\t四\t*[3]\tPER[3]\n" in exported
    import_file(store, "b", tmp_path / "first.tsv")
    export_project(store, "b", "webanno-tsv", tmp_path / "second.tsv")
    assert (tmp_path / "second.tsv").read_bytes() == (tmp_path / "first.tsv").read_bytes()


def test_the_cli_imports_an_inception_export_without_format(tmp_path):
    db = str(tmp_path / "w.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "w", "--task", "ner", "--labels", "PER,LOC,ORG,机构_名"]
                         ).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "import", "w", str(write(tmp_path, DOCUMENT))])
    assert result.exit_code == 0, result.output
    assert "3" in result.output and "Dependency, POS" in result.output
    exported = runner.invoke(cli, ["--db", db, "export", "w", "-o", str(tmp_path / "back.tsv")])  # by extension
    assert exported.exit_code == 0 and "2 annotated items exported" in exported.output
    assert (tmp_path / "back.tsv").read_text(encoding="utf-8").startswith("#FORMAT=WebAnno TSV 3.3\n")
