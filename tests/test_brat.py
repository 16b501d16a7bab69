"""brat standoff (issue 'move in and move out', part 3): a folder of .txt and .ann pairs in brat's own layout
imports as expected, export and import again give the same files, and what is malformed is a row error."""

import pytest

from bertanno.core.import_export import export_project, import_file
from bertanno.core.reading import BadRowsError, read_examples
from bertanno.plugins.task import Span
from bertanno.store.projects import create_project


def brat_folder(root, documents):
    """``{"001": ("text", "ann" or None)}`` -> a folder of NAME.txt (and NAME.ann) files, bytes as given."""
    root.mkdir()
    for name, (text, annotations) in documents.items():
        (root / f"{name}.txt").write_bytes(text.encode("utf-8"))
        if annotations is not None:
            (root / f"{name}.ann").write_bytes(annotations.encode("utf-8"))
    return root


# Written by hand from brat's standoff documentation.
DOCUMENTS = {
    "001": ("张三住在上海", "T1\tPER 0 2\t张三\nT2\tLOC 4 6\t上海\nR1\tLives Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T1\t人名\n"),
    "002": ("李四\r\n去了北京", "T1\tLOC 6 8\t北京\n"),  # offsets count the \r\n as two characters
    "003": ("今天天气很好", None),  # no .ann: not annotated
    "004": ("王五在医院", ""),  # an empty .ann, as brat creates for every document
    "005": ("赵六\u2028在杭州", "T1\tLOC 0 3\t赵六\u2028\n"),  # U+2028 is text in a .ann line, not a line end
}


def test_a_brat_folder_imports_with_its_entities_and_a_note_on_what_was_left_out(tmp_path, plugins):
    task = plugins.task("ner", labels=["PER", "LOC"])
    folder = brat_folder(tmp_path / "corpus", DOCUMENTS)
    result = read_examples(folder, task, plugins=plugins)  # a folder of .txt/.ann: brat, without --format
    assert [e.text for e in result.examples] == ["张三住在上海", "李四\r\n去了北京", "今天天气很好", "王五在医院",
                                                 "赵六\u2028在杭州"]
    assert [e.payload for e in result.examples] == [[Span(0, 2, "PER"), Span(4, 6, "LOC")], [Span(6, 8, "LOC")],
                                                    None, None, [Span(0, 3, "LOC")]]
    assert result.examples[1].meta["brat_document"] == "002"
    assert [note.message for note in result.notes] == ["left out (bertanno keeps entities only): 1 notes, "
                                                       "1 relations"]
    annotated = read_examples(folder, task, "brat", {"empty": "no-entities"}, plugins=plugins).examples
    assert annotated[3].payload == [] and annotated[2].payload is None


@pytest.mark.parametrize("annotations, message", [
    ("T1\tLOC 0 1;2 3\t张住\n", "discontinuous"),
    ("T1\tPER 0 9\t张三\n", "outside the text"),
    ("T1\tPER 0 2\t李四\n", "'张三' in 001.txt but the annotation says '李四'"),
    ("T1 PER 0 2 张三\n", "not a brat annotation line"),
    ("T1\tORG 0 2\t张三\n", "ORG"),
])
def test_malformed_documents_are_row_errors_naming_file_and_line(tmp_path, plugins, annotations, message):
    task = plugins.task("ner", labels=["PER", "LOC"])
    folder = brat_folder(tmp_path / "bad", {"001": ("张三住在上海", annotations)})
    with pytest.raises(BadRowsError) as raised:
        read_examples(folder, task, "brat", plugins=plugins)
    assert message in str(raised.value)


def test_export_import_export_through_brat_is_identical(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "a", "ner", ["PER", "LOC"], "bert-base-chinese")
        create_project(session, "b", "ner", ["PER", "LOC"], "bert-base-chinese")
    report = import_file(store, "a", brat_folder(tmp_path / "corpus", DOCUMENTS))
    assert (report.added, report.labelled) == (5, 3) and report.notes
    first = export_project(store, "a", "brat", tmp_path / "first")
    assert first.written == 3
    assert (tmp_path / "first" / "002.txt").read_bytes() == "李四\r\n去了北京".encode("utf-8")
    assert (tmp_path / "first" / "001.ann").read_text(encoding="utf-8") == "T1\tPER 0 2\t张三\nT2\tLOC 4 6\t上海\n"
    import_file(store, "b", tmp_path / "first")
    export_project(store, "b", "brat", tmp_path / "second")
    files = lambda folder: {p.name: p.read_bytes() for p in sorted(folder.iterdir())}  # noqa: E731
    assert files(tmp_path / "second") == files(tmp_path / "first")


def test_an_empty_document_is_named_not_numbered(tmp_path, plugins):
    # issue 46, part 6: import e . named the bad row ".:1"
    folder = brat_folder(tmp_path / "docs", {"a": ("张三住在上海", None), "notes": ("  \n", None)})
    with pytest.raises(BadRowsError) as raised:
        read_examples(folder, plugins.task("ner", labels=["PER"]), "brat", plugins=plugins)
    assert "notes.txt (document 2 of the folder) holds no text" in str(raised.value)
