"""A project's guidelines (issue 'a team's quality', part 1): versioned in the store, set / edited / shown / logged
from the CLI, read in the app on g (and in the plain screen), the one-line label descriptions in the legend and in
an llm version's prompt, a new version announced at the next item, and each decision's version recorded (and
exported with --provenance)."""

import asyncio
import json

import pytest
from click.testing import CliRunner
from conftest import screen_text
from sqlalchemy import select

from bertanno.app.line_screen import GUIDELINES, KEYS, Driver
from bertanno.app.review import ReviewSession
from bertanno.app.screen import AnnotationApp
from bertanno.app.screen.guidelines import GuidelinesScreen
from bertanno.app.session import AnnotationSession
from bertanno.cli import cli
from bertanno.core.guidelines import label_descriptions, project_guidelines, set_guidelines
from bertanno.core.import_export import import_file
from bertanno.errors import BertannoError
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation

TEXT = """# 门诊病历

## 标签

- disease: 疾病或综合征的名称，不含部位
- **symptom**：患者自述或查体所见
- `drug` — 药品通用名或商品名
* body - 身体部位
- other: 不是本项目的标签

正文里的 disease: 不是列表项，不算描述。
"""


def project(store, tmp_path, task="sentiment", labels=("negative", "positive"), texts=("好吃", "难吃", "一般")):
    with store.transaction() as session:
        create_project(session, "p", task, list(labels), "bert-base-chinese", overlap=1)
    data = tmp_path / "items.txt"
    data.write_text("\n".join(texts) + "\n", encoding="utf-8")
    import_file(store, "p", data)


def test_label_descriptions_are_the_list_items_that_start_with_a_label():
    found = label_descriptions(TEXT, ["disease", "symptom", "drug", "body", "lab"])
    assert found == {"disease": "疾病或综合征的名称，不含部位", "symptom": "患者自述或查体所见",
                     "drug": "药品通用名或商品名", "body": "身体部位"}
    assert label_descriptions("- disease: first\n- disease: second\n", ["disease"]) == {"disease": "first"}
    assert label_descriptions("no list at all", ["disease"]) == {}


def test_versions_are_kept_an_unchanged_text_is_no_new_version_and_bad_input_is_a_sentence(store, tmp_path):
    project(store, tmp_path)
    assert project_guidelines(store, "p") is None
    first, new = set_guidelines(store, "p", "- negative: 不满意\n", "lead")
    assert (first.version, new) == (1, True)
    same, new = set_guidelines(store, "p", "- negative: 不满意\r\n", "other")  # CRLF is the same text
    assert (same.version, new, same.author) == (1, False, "lead")
    second, _ = set_guidelines(store, "p", "- negative: 整体不满意\n", "lead")
    assert second.version == 2 and project_guidelines(store, "p").version == 2
    assert project_guidelines(store, "p", 1).text == "- negative: 不满意\n"
    with pytest.raises(BertannoError, match="versions 1 to 2"):
        project_guidelines(store, "p", 3)
    with pytest.raises(BertannoError, match="empty"):
        set_guidelines(store, "p", "  \n", "lead")
    with pytest.raises(BertannoError, match="no project"):
        set_guidelines(store, "nope", "x", "lead")


def test_the_cli_sets_shows_logs_and_edits_them(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "clinic", "--task", "ner", "--labels",
                               "disease,symptom,drug,body,lab"]).exit_code == 0
    empty = runner.invoke(cli, ["--db", db, "guidelines", "clinic"])
    assert empty.exit_code == 0 and "no guidelines yet" in empty.output
    (tmp_path / "g.md").write_text(TEXT, encoding="utf-8")
    saved = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "set", str(tmp_path / "g.md"), "--author", "li"])
    assert saved.exit_code == 0, saved.output
    assert "version 1" in saved.output and "labels described: 4 of 5 (not: lab)" in saved.output
    again = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "set", str(tmp_path / "g.md")])
    assert "unchanged: version 1" in again.output
    shown = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "show"], env={"COLUMNS": "100"})
    assert "version 1 by li" in shown.output and "疾病或综合征的名称" in shown.output
    assert "without a one-line description: lab" in shown.output
    raw = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "show", "--raw"])
    assert raw.output == TEXT + "\n"
    monkeypatch.setattr("click.edit", lambda text, **kwargs: text + "- lab: 检验项目\n")
    edited = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "edit", "--author", "wang"])
    assert edited.exit_code == 0 and "version 2" in edited.output and "4 of 5" not in edited.output
    monkeypatch.setattr("click.edit", lambda text, **kwargs: None)  # closed without saving
    assert "unchanged" in runner.invoke(cli, ["--db", db, "guidelines", "clinic", "edit"]).output
    log = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "log"]).output.splitlines()
    assert len(log) == 2 and " li " in log[0] and " wang " in log[1] and "5 of 5 labels described" in log[1]
    (tmp_path / "bad.md").write_bytes("病历".encode("gbk"))
    bad = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "set", str(tmp_path / "bad.md")])
    assert bad.exit_code == 2 and "not UTF-8" in bad.output
    missing = runner.invoke(cli, ["--db", db, "guidelines", "clinic", "show", "--version", "9"])
    assert missing.exit_code != 0 and "versions 1 to 2" in str(missing.exception)


def test_each_decision_records_the_version_shown_and_a_new_one_is_announced_at_the_next_item(store, tmp_path):
    project(store, tmp_path)
    before = AnnotationSession(store, "p", "ann", predict_ahead=False)
    before.next()
    before.decide("correct", "positive")  # no guidelines yet
    set_guidelines(store, "p", "- negative: 不满意\n", "lead")
    assert before.next() is not None and before.guidelines_news() == 1  # announced with this item
    late = AnnotationSession(store, "p", "bob", predict_ahead=False)
    assert late.guidelines_news() is None  # a session that starts with version 1 has nothing to announce
    late.close()
    set_guidelines(store, "p", "- negative: 整体不满意\n", "lead")  # while item 2 is on screen: it keeps version 1
    before.decide("correct", "negative")
    before.next()
    assert before.guidelines_news() == 2
    before.decide("correct", "negative")
    before.close()
    with store.transaction() as session:
        versions = [a.guidelines_version for a in session.scalars(select(Annotation).order_by(Annotation.id))]
    assert versions == [None, 1, 2]
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    assert runner.invoke(cli, ["--db", store.url, "export", "p", "--provenance", "-o", str(out)]).exit_code == 0
    exported = [json.loads(line)["meta"]["provenance"].get("guidelines_version") for line in out.read_text().splitlines()]
    assert exported == [None, 1, 2]


def test_a_review_records_the_version_in_force(store, tmp_path):
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese", overlap=2)
    (tmp_path / "items.txt").write_text("一般\n", encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")
    for who, label in (("ann", "positive"), ("bob", "negative")):
        session = AnnotationSession(store, "p", who, predict_ahead=False)
        session.next()
        session.decide("correct", label)
        session.close()
    set_guidelines(store, "p", "- negative: 不满意\n", "lead")
    review = ReviewSession(store, "p", "lead")
    review.next()
    review.decide("correct", "negative")
    with store.transaction() as session:
        settled = session.scalar(select(Annotation).where(Annotation.source == "review"))
    assert settled.guidelines_version == 1



@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_g_opens_the_guidelines_and_the_legend_describes_each_label(store, tmp_path, size):
    project(store, tmp_path)
    set_guidelines(store, "p", "# 评论情感\n\n- negative: 整体不满意，哪怕夹杂个别优点\n- positive: 整体满意\n\n"
                   + "## 边界\n\n有错别字不影响判断。\n" * 30, "lead")
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    app = AnnotationApp(session, KEYS)
    seen = []

    async def drive():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            seen.append(screen_text(app))
            await pilot.press("g")
            await pilot.pause()
            seen.append((isinstance(app.screen, GuidelinesScreen), screen_text(app)))
            await pilot.press("pagedown")
            await pilot.press("x")  # closes the guidelines; rejects nothing
            await pilot.pause()
            seen.append((isinstance(app.screen, GuidelinesScreen), screen_text(app)))
            await pilot.press("q")

    asyncio.run(drive())
    session.close()
    legend, (opened, panel), (still_open, after) = seen
    assert "[1] negative  整体不满意，哪怕夹杂个别优点" in legend and "[2] positive  整体满意" in legend
    assert "g guidelines" in legend
    assert opened and "Guidelines, version 1 by lead" in panel and "评论情感" in panel
    assert not still_open and "好吃" in after
    with store.transaction() as db:
        assert db.scalar(select(Annotation)) is None


def test_the_plain_screen_shows_the_guidelines_on_g(store, tmp_path):
    project(store, tmp_path)
    set_guidelines(store, "p", "- negative: 不满意\n", "lead")
    session = AnnotationSession(store, "p", "ann", predict_ahead=False)
    session.next()
    driver = Driver(session, read_line=lambda prompt: "", show=lambda *a, **k: None)
    assert driver.key("g") == GUIDELINES
    session.close()


def test_a_new_llm_version_puts_the_label_descriptions_in_its_prompt(tmp_path, monkeypatch):
    from llm_server import Rules, serve

    rules = Rules()
    server, url = serve(rules)
    try:
        monkeypatch.setenv("BERTANNO_MODELS", str(tmp_path / "models"))
        db = f"sqlite:///{tmp_path / 'db.sqlite'}"
        runner = CliRunner()
        assert runner.invoke(cli, ["--db", db, "init", "r", "--task", "sentiment", "--zero-shot", "llm",
                                   "--llm-model", "m", "--llm-url", url]).exit_code == 0
        rows = [{"text": f"第{n}家{'好' if n % 2 else '差'}", "label": "positive" if n % 2 else "negative"}
                for n in range(20)]
        (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                             encoding="utf-8")
        assert runner.invoke(cli, ["--db", db, "import", "r", str(tmp_path / "gold.jsonl")]).exit_code == 0
        (tmp_path / "g.md").write_text("- negative: 整体不满意\n- positive: 整体满意\n", encoding="utf-8")
        assert runner.invoke(cli, ["--db", db, "guidelines", "r", "set", str(tmp_path / "g.md")]).exit_code == 0
        rules.requests.clear()
        trained = runner.invoke(cli, ["--db", db, "train", "r", "--family", "llm"])
        assert trained.exit_code == 0, trained.output
        systems = {r["body"]["messages"][0]["content"] for r in rules.requests}
        new = [s for s in systems if "各标签的含义" in s]
        assert new and all("- negative：整体不满意" in s and "- positive：整体满意" in s for s in new)
        assert any("各标签的含义" not in s for s in systems)  # m001, rescored as it was made: no descriptions
    finally:
        server.shutdown()
