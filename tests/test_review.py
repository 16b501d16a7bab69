"""The review session (issue 'Teams', part 3): a reviewer walks the items a team decided differently, sees each
decision side by side with the model's, and settles each one (source ``review``), undo included; scripted with
--decisions, full screen through the annotation app, and bad input refused with a sentence."""

import asyncio

import pytest
from click.testing import CliRunner
from conftest import Terminal
from rich.console import Console
from sqlalchemy import select

from bertanno.app.line_screen import KEYS
from bertanno.app.review import ReviewSession
from bertanno.app.screen import AnnotationApp
from bertanno.app.views import render_decisions
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.plugins.task import Example, Span
from bertanno.store.annotations import current_annotations, disagreements, record_decision
from bertanno.store.items import project_item_ids
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation

NER_TEXT = "患者张三因头痛三天到北京协和医院就诊，" * 4


def team(store, tmp_path, decisions, task="sentiment", labels=("negative", "positive"), texts=None, overlap=2):
    """A project of ``overlap`` with one item per text; ``decisions``: ``{annotator: [payload per item]}``
    (``None``: that annotator did not decide the item; ``"reject"``: rejected it)."""
    texts = texts or [f"第{i}条评论" for i in range(len(next(iter(decisions.values()))))]
    with store.transaction() as session:
        project_id = create_project(session, "team", task, list(labels), "bert-base-chinese", overlap=overlap).id
    path = tmp_path / "items.txt"
    path.write_text("".join(text + "\n" for text in texts), encoding="utf-8")
    import_file(store, "team", path)
    with store.transaction() as session:
        item_ids = project_item_ids(session, project_id)
        for annotator, payloads in decisions.items():
            for item_id, payload in zip(item_ids, payloads):
                if payload is not None:
                    record_decision(session, project_id, item_id, annotator, f"s-{annotator}",
                                    "reject" if payload == "reject" else "correct",
                                    None if payload == "reject" else payload)
    return project_id, item_ids


def reviews(store):
    with store.transaction() as session:
        return [(a.item_id, a.decision, a.payload, a.annotator) for a in session.scalars(
            select(Annotation).where(Annotation.source == "review", Annotation.undone_at.is_(None))
            .order_by(Annotation.id))]


def review(db_url, *args, input=None):
    return CliRunner().invoke(cli, ["--db", db_url, "review", "team", *args], input=input)


def test_a_scripted_review_settles_each_disagreement(store, db_url, tmp_path):
    project_id, (first, second, agreed) = team(store, tmp_path, {
        "ann": ["positive", "negative", "positive"], "bob": ["negative", "positive", "positive"]})
    with store.transaction() as session:
        assert disagreements(session, project_id) == [first, second]
    result = review(db_url, "--reviewer", "chen", "--decisions", "-", input="a\n")
    assert result.exit_code != 0 and "no majority to accept" in str(result.exception)  # two that differ
    assert reviews(store) == []
    result = review(db_url, "--reviewer", "chen", "--decisions", "-", input="v 1\n2\n")
    assert result.exit_code == 0, result.output + str(result.exception)
    assert f"item {first}: v" in result.output and f"item {second}: 2" in result.output
    assert "1 proposals accepted, 1 decided otherwise" in result.output
    # no majority of two: v 1 settles with ann's version; 2 chooses the second label
    assert reviews(store) == [(first, "accept", "positive", "chen"), (second, "correct", "positive", "chen")]
    with store.transaction() as session:
        assert disagreements(session, project_id) == []
        settled = current_annotations(session, project_id)
        assert {i: (a.payload, a.source) for i, a in settled.items()} == {
            first: ("positive", "review"), second: ("positive", "review"), agreed: ("positive", "human")}
    assert "no disagreements to review" in str(review(db_url, "--decisions", "-", input="a\n").exception)


def test_undo_brings_the_item_back_as_the_reviewer_left_it(store, db_url, tmp_path):
    project_id, (first, second) = team(store, tmp_path, {"ann": ["positive", "negative"],
                                                          "bob": ["negative", "positive"]})
    result = review(db_url, "--decisions", "-", input="2\nu\n1\nx\n")
    assert result.exit_code == 0, result.output + str(result.exception)
    assert reviews(store)[0][:3] == (first, "correct", "negative")
    assert reviews(store)[1][:3] == (second, "reject", None)
    with store.transaction() as session:
        assert session.scalar(select(Annotation).where(Annotation.source == "review",
                                                       Annotation.undone_at.is_not(None))).payload == "positive"
        settled = current_annotations(session, project_id)
        assert set(settled) == {first}  # a reviewer's reject decides the item without a label
        assert disagreements(session, project_id) == []


def test_a_spot_check_sample_adds_agreed_items(store, db_url, tmp_path):
    project_id, items = team(store, tmp_path, {"ann": ["positive", "negative", "positive", "negative"],
                                               "bob": ["negative", "negative", "positive", "negative"]})
    session = ReviewSession(store, "team", "chen", sample=2, seed=3)
    assert session.total == 3 and len(session.spot_checks) == 2 and session.spot_checks <= set(items[1:])
    shown = []
    while (current := session.next()) is not None:
        shown.append(current.item_id)
        note, _ = session.item_note()
        assert ("spot check" in note) == (current.item_id in session.spot_checks)
        if session.choices():  # the disagreement: no majority of two, so a version is chosen
            session.choose(1)
        session.decide("accept")
    assert sorted(shown) == sorted([items[0], *session.spot_checks])
    assert ReviewSession(store, "team", sample=10).total == 1  # reviewed items are not drawn again


def test_bad_input_is_a_sentence_and_writes_nothing(store, db_url, tmp_path):
    team(store, tmp_path, {"ann": ["positive"], "bob": ["negative"]})
    result = review(db_url, "--annotators", "ann,zoe", "--decisions", "-", input="a\n")
    assert result.exit_code != 0 and "nobody named 'zoe'" in str(result.exception)
    assert "its annotators: ann, bob" in str(result.exception)
    result = review(db_url, "--decisions", "-", input="c neutral\n")
    assert result.exit_code != 0 and "'neutral' is not a label" in str(result.exception)
    result = review(db_url, "--decisions", "-", input="7\n")
    assert result.exit_code != 0 and "unknown key '7'" in str(result.exception)
    assert reviews(store) == []
    result = CliRunner().invoke(cli, ["--db", db_url, "review", "team"], input="")
    assert result.exit_code != 0 and "no terminal to review in" in str(result.exception)


def test_a_single_annotator_project_says_how_to_get_a_second_opinion(store, db_url, tmp_path):
    team(store, tmp_path, {"ann": ["positive"]}, overlap=1)
    result = review(db_url, "--decisions", "-", input="a\n")
    assert "no disagreements to review" in str(result.exception) and "--overlap 2" in str(result.exception)


def test_a_proposal_holds_only_what_a_strict_majority_of_three_or_more_gave(plugins):
    task = plugins.task("ner", ["SYM", "LOC", "PER"])
    a, b, c = Span(2, 4, "PER"), Span(5, 7, "SYM"), Span(10, 16, "LOC")
    assert task.proposal([[a, b], [a, c], [a, b, c]]) == [a, b, c]  # each span by two of three
    assert task.proposal([[a, b], [a, b]]) == [a, b]  # everyone the same
    assert task.proposal([[a, b], [c]]) is None  # two that differ: no majority, never their intersection
    assert task.proposal([[a, b, c], [a, b]]) is None
    assert task.proposal([[a, b]], 2) is None  # one gave spans, one rejected: a reject is not a vote for none
    assert task.proposal([[a], [a]], 3) == [a]  # two of three gave it, the third rejected
    assert task.proposal([[a], [b], [c]]) is None  # contested: no majority for or against
    assert task.proposal([[], [], [a]]) == []  # a majority marked nothing
    assert task.proposal([[a], [b], []]) is None  # "nothing" by one of three is no majority
    assert task.proposal([[], []]) == []
    labels = plugins.task("sentiment", ["negative", "positive"])
    assert labels.proposal(["positive", "negative", "negative"]) == "negative"
    assert labels.proposal(["positive", "negative"]) is None  # two that differ: the reviewer chooses
    assert labels.proposal(["positive"], 2) is None  # the other rejected
    assert labels.proposal(["positive", "positive"], 3) == "positive"  # 2 of 3 gave it, the third rejected
    assert labels.proposal(["positive", "negative"], 3) is None  # 1 of 3 each



@pytest.mark.parametrize("width", [80, 120])
def test_ner_decisions_stand_on_one_ruler_with_differences_reversed(plugins, width):
    task = plugins.task("ner", ["SYM", "LOC", "PER"])
    example = Example(NER_TEXT)
    ann = [Span(2, 4, "PER"), Span(5, 7, "SYM")]
    bob = [Span(2, 4, "PER"), Span(10, 16, "LOC")]
    console = Console(width=width, record=True, color_system="truecolor")
    console.print(render_decisions(task, example, [("ann", ann), ("bob", bob), ("model v001 80%", ann)]))
    lines = console.export_text(clear=False).splitlines()
    rows = [line for line in lines if "│" in line]
    assert all(len(line) <= width for line in lines)  # cell widths: each line fits the screen
    assert [line.split("│")[0].strip() for line in rows[:3]] == ["ann", "bob", "model v001 80%"]
    for start in range(0, len(rows), 3):  # the three decisions show the same characters, one above the other
        assert len({line.split("│", 1)[1] for line in rows[start:start + 3]}) == 1
    shown = rows[0].split("│ ", 1)[1]  # the differences are all in the first line; the rest folds into one
    assert len(rows) == 3 and NER_TEXT.startswith(shown)
    assert f"… {len(shown)}-{len(NER_TEXT)}: the same in every decision" in "\n".join(lines)
    assert lines.index("头痛 [5-7]:SYM  only ann, model v001 80%") < lines.index(rows[0])  # differences first
    assert "头痛 [5-7]:SYM  only ann, model v001 80%" in lines and "北京协和医院 [10-16]:LOC  only bob" in lines
    styled = console.export_html(inline_styles=True)
    assert "text-decoration: underline" in styled  # the agreed span
    assert styled.count("头痛") >= 1 and "北京协和医院" in styled


def ner_team(store, tmp_path):
    return team(store, tmp_path, {"ann": [[[2, 4, "PER"], [5, 7, "SYM"]]], "bob": [[[2, 4, "PER"], [10, 16, "LOC"]]]},
                task="ner", labels=("SYM", "LOC", "PER"), texts=[NER_TEXT])


def test_a_scripted_ner_review_gives_its_own_spans(store, db_url, tmp_path):
    project_id, [item] = ner_team(store, tmp_path)
    result = review(db_url, "--decisions", "-", input="c + 张三:PER; + 头痛:SYM; + 北京协和医院:LOC\n")
    assert result.exit_code == 0, result.output + str(result.exception)
    assert reviews(store)[0][:3] == (item, "correct", [[2, 4, "PER"], [5, 7, "SYM"], [10, 16, "LOC"]])


def screen_text(app) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


def drive(session, keys, size):
    app, seen = AnnotationApp(session, KEYS), []

    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            seen.append(screen_text(app))
            for key in keys:
                await pilot.press(key)
                await pilot.pause()
                seen.append(screen_text(app))
            await pilot.press("q")
            await pilot.pause()

    asyncio.run(go())
    session.close()
    return seen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_full_screen_review_shows_the_decisions_and_takes_the_annotate_keys(store, tmp_path, size):
    _, (first, second) = team(store, tmp_path, {"ann": ["positive", "negative"], "bob": ["negative", "positive"]})
    seen = drive(ReviewSession(store, "team", "chen"), ["1", "u", "enter", "1", "enter", "v", "2", "enter"], size)
    assert "no majority among the 2 annotators" in seen[0]
    assert "ann" in seen[0] and "bob" in seen[0] and "≠" in seen[0] and "v choose" in seen[0]
    assert "undone" in seen[2]
    assert "No majority: settle with which version?" in seen[3]  # Enter asks instead of settling
    assert "1  ann's version" in seen[3] and "2  bob's version" in seen[3]
    assert "chosen: ann's version" in seen[4]
    assert "all done" in seen[-1]
    assert [r[:3] for r in reviews(store)] == [(first, "accept", "positive"), (second, "accept", "positive")]


def test_the_full_screen_ner_review_edits_from_the_proposal(store, tmp_path):
    _, [item] = ner_team(store, tmp_path)
    seen = drive(ReviewSession(store, "team", "chen"), ["enter", "3", "enter"], (120, 40))
    assert "only bob" in seen[0] and "only ann" in seen[0]
    assert seen[0].count("患者张三因头痛三天") >= 3  # each decision's line, and the editable text
    assert "no version is proposed; v chooses one" in seen[0] and "(no entities)" not in seen[0]
    assert "3  the union of every version  张三:PER, 头痛:SYM, 北京协和医院:LOC" in seen[1]
    assert reviews(store) == [(item, "accept", [[2, 4, "PER"], [5, 7, "SYM"], [10, 16, "LOC"]], "chen")]


@pytest.mark.slow
def test_the_console_script_reviews_in_a_real_terminal(tmp_path):
    from bertanno.store import Store

    db = f"sqlite:///{tmp_path / 'pty.db'}"
    store = Store.open(db)
    team(store, tmp_path, {"ann": ["positive"], "bob": ["negative"]})
    store.close()
    terminal = Terminal(["--db", db, "review", "team", "--reviewer", "pty"])
    assert terminal.wait_for(lambda lines: all(part in "".join(lines) for part in (
        "review by pty", "no majority", "x unusable", "ann", "bob"))), "\n".join(terminal.lines())
    terminal.send("1")
    assert terminal.wait_for(lambda lines: "all done" in "".join(lines), timeout=30)
    terminal.send("\x03")
    assert terminal.wait_for(lambda lines: any("reviewed: 0 proposals accepted, 1 decided otherwise" in line
                                               for line in lines), timeout=60), "\n".join(terminal.seen[-30:])
    terminal.child.expect(__import__("pexpect").EOF, timeout=60)


def test_a_difference_late_in_a_long_text_is_shown_and_the_agreeing_start_folded(plugins):
    task = plugins.task("ner", ["SYM", "LOC", "PER"])
    end = len(NER_TEXT)
    console = Console(width=80, record=True)
    console.print(render_decisions(task, Example(NER_TEXT), [("ann", [Span(2, 4, "PER"), Span(end - 2, end, "SYM")]),
                                                          ("bob", [Span(2, 4, "PER")])]))
    lines = console.export_text().splitlines()
    rows = [line.split("│ ", 1)[1] for line in lines if "│" in line]
    assert lines[0] == f"{NER_TEXT[end - 2:]} [{end - 2}-{end}]:SYM  only ann"
    assert len(rows) == 2 and NER_TEXT.endswith(rows[0]) and rows[0] == rows[1]
    assert f"… 0-{end - len(rows[0])}: the same in every decision" in "\n".join(lines)


@pytest.mark.slow
def test_the_console_script_reviews_ner_spans_in_a_real_terminal(tmp_path):
    from bertanno.store import Store

    db = f"sqlite:///{tmp_path / 'pty.db'}"
    store = Store.open(db)
    ner_team(store, tmp_path)
    store.close()
    terminal = Terminal(["--db", db, "review", "team", "--reviewer", "pty"])
    assert terminal.wait_for(lambda lines: all(part in "".join(lines) for part in (
        "only ann", "only bob", "the same in every decision", "no majority"))), "\n".join(terminal.lines())
    rows = [line for line in terminal.lines() if "│" in line]
    assert [row.split("│")[0].strip() for row in rows] == ["ann", "bob"]
    assert rows[0].split("│")[1] == rows[1].split("│")[1]  # the same characters, one above the other
    terminal.send("\r")  # two versions that differ: Enter asks which one settles the item
    assert terminal.wait_for(lambda lines: "No majority: settle with which version?" in "".join(lines),
                             timeout=30), "\n".join(terminal.lines())
    terminal.send("1")
    assert terminal.wait_for(lambda lines: "chosen: ann's version" in "".join(lines), timeout=30), \
        "\n".join(terminal.lines())
    terminal.send("\r")
    assert terminal.wait_for(lambda lines: "all done" in "".join(lines), timeout=30), "\n".join(terminal.lines())
    terminal.send("q")
    assert terminal.wait_for(lambda lines: any("reviewed: 1 proposals accepted" in line for line in lines), timeout=60)
    terminal.child.expect(__import__("pexpect").EOF, timeout=60)
    store = Store.open(db)
    assert reviews(store) == [(1, "accept", [[2, 4, "PER"], [5, 7, "SYM"]], "pty")]
    store.close()


RECORD = "患者有2型糖尿病，口服二甲双胍治疗。"
DIABETES, METFORMIN = [3, 8, "disease"], [11, 15, "drug"]


def clinical_team(store, tmp_path, decisions):
    return team(store, tmp_path, decisions, task="ner", labels=("disease", "symptom", "drug"), texts=[RECORD])


def test_a_correction_and_a_reject_never_settle_as_no_entities(store, db_url, tmp_path):
    """The issue's first case: ann corrected the record to two entities, bob rejected it. The review proposes
    nothing (a reject is not a vote for "no entities"), draws bob as rejecting, and Enter settles nothing."""
    _, [item] = clinical_team(store, tmp_path, {"ann": [[DIABETES, METFORMIN]], "bob": ["reject"]})
    session = ReviewSession(store, "team", "chen")
    current = session.next()
    assert current.prediction is None and [what for what, _ in session.choices()] == ["ann's version"]
    console = Console(width=80, record=True)
    console.print(session.context())
    assert "bob rejected the item: unusable" in console.export_text()
    session.close()
    result = review(db_url, "--decisions", "-", input="a\n")
    assert result.exit_code != 0 and "no majority to accept" in str(result.exception)
    assert reviews(store) == []
    seen = drive(ReviewSession(store, "team", "chen"), ["enter", "escape", "enter"], (80, 24))
    assert "No majority" in seen[1] and reviews(store) == []  # Esc closes the choice, Enter asks again
    assert "No majority" in seen[3]
    result = review(db_url, "--decisions", "-", input="v 1\n")
    assert result.exit_code == 0, result.output + str(result.exception)
    assert [r[:3] for r in reviews(store)] == [(item, "accept", [DIABETES, METFORMIN])]


def test_three_diseases_and_two_of_them_are_not_settled_as_their_intersection(store, db_url, tmp_path):
    """The issue's second case: ann marked three diseases, bob accepted two of them. No proposal; the union and
    each version are offered; the edit records which was chosen."""
    three = [[0, 2, "disease"], DIABETES, [11, 15, "disease"]]
    _, [item] = clinical_team(store, tmp_path, {"ann": [three], "bob": [[DIABETES, [11, 15, "disease"]]]})
    session = ReviewSession(store, "team", "chen")
    session.next()
    assert session.current.prediction is None
    assert [what for what, _ in session.choices()] == ["ann's version", "bob's version", "the union of every version"]
    session.choose(1)
    session.decide("accept")
    session.close()
    with store.transaction() as db:
        stored = db.scalar(select(Annotation).where(Annotation.source == "review"))
        assert stored.payload == three and stored.edit["chosen"] == "ann's version"


def test_every_annotator_rejecting_is_agreed_on_as_unusable(store, tmp_path):
    _, [first, _] = team(store, tmp_path, {"ann": ["reject", "positive"], "bob": ["reject", "negative"],
                                           "eve": ["positive", "negative"]}, overlap=3)
    session = ReviewSession(store, "team", "chen", sample=0)
    shown = session.next()
    assert shown.item_id == first and session.rejected_by_all is False and shown.prediction is None
    assert session.choices() == [("eve's version", "positive")]  # 2 rejects, 1 label: no majority for a label


def test_the_help_and_the_footer_use_the_same_words_for_x(store, tmp_path):
    team(store, tmp_path, {"ann": ["positive"], "bob": ["negative"]})
    seen = drive(ReviewSession(store, "team", "chen"), ["question_mark"], (120, 40))
    assert "x unusable" in seen[0]
    assert "unusable: decided, no label" in seen[1] and "reject the pre-annotation" not in seen[1]
    assert "no majority: choose an annotator's version" in seen[1]


def test_majority_settling_outside_review_never_settles_with_what_nobody_gave(store, tmp_path):
    from bertanno.store.annotations import settled

    _, items = team(store, tmp_path, {"ann": ["positive", "positive", "reject"],
                                      "bob": ["negative", "positive", "reject"],
                                      "eve": ["reject", "negative", "positive"]}, overlap=3)
    with store.transaction() as session:
        from bertanno.store.annotations import standing_by_item
        by_item = standing_by_item(session, items and session.scalar(select(Annotation.project_id)))
        rules = {item: settled(by_item[item], 3, "majority") for item in items}
    assert rules[items[0]] is None  # positive, negative, reject: no strict majority
    assert rules[items[1]].payload == "positive"  # 2 of 3
    assert rules[items[2]].decision == "reject"  # 2 of 3 marked it unusable: decided, no label
    for item, chosen in rules.items():
        if chosen is not None:
            assert chosen.annotator in {"ann", "bob", "eve"}  # always one person's own decision


def test_enter_on_an_item_every_annotator_rejected_agrees_it_is_unusable(store, tmp_path):
    _, [item] = clinical_team(store, tmp_path, {"ann": ["reject"], "bob": ["reject"]})
    seen = drive(ReviewSession(store, "team", "chen", sample=1), ["enter"], (80, 24))
    assert "every annotator marked it unusable" in seen[0]
    assert [r[:3] for r in reviews(store)] == [(item, "reject", None)]  # unusable, never "no entities"
