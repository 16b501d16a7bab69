"""Every decision records how it was made (issue 'prove the help', part 1): active time with idle pauses cut
out, keystrokes, the model version and family that was shown, and the edit relative to it."""

import pytest
from sqlalchemy import select

from bertanno.app.line_screen import run_scripted
from bertanno.app.session import AnnotationSession
from bertanno.core.import_export import import_file
from bertanno.errors import BertannoError
from bertanno.plugins.task import Prediction, Span
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation


class FixedModel:
    """A served model that proposes the same spans (or label) for every text."""

    def __init__(self, payload):
        self.payload = payload

    def predict(self, examples):
        fits = (lambda e: [s for s in self.payload if s.end <= len(e.text)]) if isinstance(self.payload, list) \
            else (lambda e: self.payload)
        return [Prediction(fits(e), 0.8) for e in examples], None


def project(store, tmp_path, task, labels, texts):
    with store.transaction() as session:
        create_project(session, "p", task, labels, "bert-base-chinese")
    data = tmp_path / "items.txt"
    data.write_text("\n".join(texts) + "\n", encoding="utf-8")
    import_file(store, "p", data)


def records(store):
    with store.transaction() as session:
        return [(a.decision, a.keystrokes, a.shown_version, a.shown_family, a.edit, a.active_ms)
                for a in session.scalars(select(Annotation).order_by(Annotation.id))]


def test_a_scripted_session_records_the_exact_edits_and_keystrokes(store, tmp_path):
    project(store, tmp_path, "ner", ["PER", "LOC", "ORG"], ["张三在北京大学工作，李四去了上海。", "王五", "赵六"])
    model = FixedModel([Span(0, 2, "PER"), Span(3, 5, "LOC"), Span(14, 16, "PER")])
    session = AnnotationSession(store, "p", "tester", predictor=model, model_version="v7", predict_ahead=False)
    # 北京 -> 北京大学 (boundary), 上海 PER -> LOC (type), 李四 added; then an accept, a reject
    commands = ["]2", "]2", "t 3 LOC", "+ 李四:PER"]
    run_scripted(session, ["c " + "; ".join(commands), "a", "x"], lambda line: None)
    session.close()
    [first, second, third] = records(store)
    assert first[:5] == ("correct", 1 + sum(len(c) + 1 for c in commands) + 1, "v7", None,
                         {"kind": "corrected", "added": 1, "boundary moved": 1, "type changed": 1})
    assert second[:5] == ("accept", 1, "v7", None, {"kind": "accepted"})
    assert third[:5] == ("reject", 1, "v7", None, {"kind": "rejected"})
    assert all(isinstance(row[5], int) and row[5] >= 0 for row in (first, second, third))
    from bertanno.core.project import open_project

    [(_, corrected), (_, accepted)] = open_project(store, "p").annotated(provenance=True)
    assert corrected.meta["provenance"]["edit"] == first[4] and accepted.meta["provenance"]["keystrokes"] == 1


def test_without_a_model_nothing_was_shown_and_skips_are_recorded(store, tmp_path):
    project(store, tmp_path, "sentiment", ["negative", "positive"], ["很好吃", "太慢"])
    session = AnnotationSession(store, "p", "tester", predict_ahead=False)
    run_scripted(session, ["2", "s"], lambda line: None)
    session.close()
    assert [row[:5] for row in records(store)] == [("correct", 1, None, None, {"kind": "labelled"}),
                                                   ("skip", 1, None, None, {"kind": "skipped"})]


def test_pauses_over_the_idle_limit_are_cut_out(store, tmp_path):
    project(store, tmp_path, "sentiment", ["negative", "positive"], ["很好吃"])
    session = AnnotationSession(store, "p", "tester", predict_ahead=False, idle_limit=60)
    current = session.next()
    shown = current.shown_at
    session.touch(at=shown + 2.0)      # 2 s reading
    session.touch(at=shown + 200.0)    # a 198 s break: cut out
    session.touch(at=shown + 201.5)    # 1.5 s more
    session.touch(at=shown + 150.0)    # a clock out of order: no negative time
    assert current.keystrokes == 4 and current.active == pytest.approx(3.5)
    session.decide("correct", "positive")
    session.close()
    assert records(store)[0][5] == 3500
    with pytest.raises(BertannoError, match="idle limit"):
        AnnotationSession(store, "p", "tester", idle_limit=0)


def test_the_tasks_count_their_own_edits(plugins):
    ner = plugins.task("ner", labels=["PER", "LOC"])
    shown = [Span(0, 2, "PER"), Span(3, 5, "LOC"), Span(7, 9, "LOC")]
    final = [Span(0, 2, "LOC"), Span(3, 6, "PER"), Span(10, 12, "PER")]
    assert ner.edit_summary(shown, final) == {"added": 1, "removed": 1, "boundary moved": 1, "type changed": 2}
    assert ner.edit_summary(shown, shown) == {} and ner.edit_summary([], [Span(0, 1, "PER")]) == {"added": 1}
    sentiment = plugins.task("sentiment", labels=["negative", "positive"])
    assert sentiment.edit_summary("negative", "positive") == {"label changed": 1}
    assert sentiment.edit_summary("negative", "negative") == {}
    assert sentiment.edit_summary(["a", "b"], ["b", "c", "d"]) == {"added": 2, "removed": 1}  # a label list


def test_the_idle_limit_is_an_annotate_option(tmp_path):
    from click.testing import CliRunner

    from bertanno.cli import cli

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    (tmp_path / "items.txt").write_text("很好吃\n太慢\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment"]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, "import", "p", str(tmp_path / "items.txt")]).exit_code == 0
    bad = runner.invoke(cli, ["--db", db, "annotate", "p", "--decisions", "-", "--idle-limit", "0"], input="2\n")
    assert bad.exit_code == 2 and "--idle-limit" in bad.output and "Traceback" not in bad.output
    good = runner.invoke(cli, ["--db", db, "annotate", "p", "--decisions", "-", "--idle-limit", "30"], input="2\n")
    assert good.exit_code == 0, good.output
    assert "--idle-limit" in runner.invoke(cli, ["annotate", "--help"]).output


def test_blind_controls_are_predicted_recorded_and_never_shown(store, tmp_path):
    from bertanno.core.project import open_project

    with store.transaction() as session:
        create_project(session, "b", "sentiment", ["negative", "positive"], "bert-base-chinese", blind_share=0.5)
    data = tmp_path / "items.txt"
    data.write_text("".join(f"第{n}条评论很好\n" for n in range(40)), encoding="utf-8")
    import_file(store, "b", data)
    handle = open_project(store, "b")
    expected = {item_id for item_id, _ in handle.items() if handle.is_blind(item_id)}
    assert 0 < len(expected) < 40 and handle.is_blind(min(expected)) == open_project(store, "b").is_blind(min(expected))
    session = AnnotationSession(store, "b", "tester", predictor=FixedModel("positive"), model_version="v1",
                                predict_ahead=False)
    blind = set()
    while session.next() is not None:
        current = session.current
        if current.blind:
            blind.add(current.item_id)
            assert current.prediction is None and current.prediction_id is not None  # computed, not shown
            with pytest.raises(BertannoError, match="no pre-annotation to accept"):
                session.decide("accept")
            session.decide("correct", "negative")
        else:
            assert current.prediction.payload == "positive"
            session.decide("accept")
    session.close()
    assert blind == expected
    with store.transaction() as db:
        rows = db.scalars(select(Annotation).where(Annotation.blind.is_(True))).all()
    assert {a.item_id for a in rows} == expected
    assert all(a.shown_version is None and a.edit == {"kind": "labelled"} and a.prediction_id for a in rows)


def test_the_blind_share_is_checked(store, tmp_path):
    from click.testing import CliRunner

    from bertanno.cli import cli
    from bertanno.store.database import StoreError

    with store.transaction() as session, pytest.raises(StoreError, match="from 0 to 0.5"):
        create_project(session, "x", "sentiment", ["a", "b"], "bert-base-chinese", blind_share=0.7)
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()
    refused = runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment", "--blind-share", "0.7"])
    assert refused.exit_code == 2 and "--blind-share" in refused.output
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment", "--blind-share", "0.1"]).exit_code == 0
    from bertanno.core.project import open_project
    from bertanno.store import Store

    opened = Store.open(db)
    assert open_project(opened, "p").blind_share == pytest.approx(0.1)
    opened.close()
    assert "--blind-share" in runner.invoke(cli, ["init", "--help"]).output


def test_a_decisions_file_can_give_each_items_time(store, tmp_path):
    project(store, tmp_path, "sentiment", ["negative", "positive"], ["很好吃", "太慢", "一般"])
    session = AnnotationSession(store, "p", "tester", predict_ahead=False)
    run_scripted(session, ["@4.5 2", "@0 1", "s"], lambda line: None)
    session.close()
    [first, second, third] = records(store)
    assert (first[5], second[5]) == (4500, 0)
    assert third[5] < 4500  # no time given: the time the script took


@pytest.mark.parametrize("line, message", [("@soon 2", "not a number of seconds"), ("@-3 2", "from 0 up"),
                                           ("@nan 2", "from 0 up"), ("@3", "no keys after it")])
def test_a_bad_time_in_a_decisions_file_names_its_line(store, tmp_path, line, message):
    project(store, tmp_path, "sentiment", ["negative", "positive"], ["很好吃", "太慢"])
    session = AnnotationSession(store, "p", "tester", predict_ahead=False)
    with pytest.raises(BertannoError, match=f"decisions line 2: .*{message}"):
        run_scripted(session, ["2", line], lambda line: None)
    session.close()
    assert len(records(store)) == 1  # the decision before it is kept


def test_the_blind_share_changes_after_init_and_only_adds_blind_items(store, tmp_path):
    from bertanno.app.new_project import set_blind_share
    from bertanno.core.project import open_project
    from bertanno.store.database import StoreError

    project(store, tmp_path, "sentiment", ["negative", "positive"], [f"第{n}条" for n in range(60)])
    assert set_blind_share(store, "p", 0.1) == 0.0
    few = open_project(store, "p")
    blind_few = {item_id for item_id, _ in few.items() if few.is_blind(item_id)}
    assert set_blind_share(store, "p", 0.4) == pytest.approx(0.1)
    more = open_project(store, "p")
    blind_more = {item_id for item_id, _ in more.items() if more.is_blind(item_id)}
    assert more.blind_share == pytest.approx(0.4) and blind_few < blind_more
    with pytest.raises(StoreError, match="from 0 to 0.5"):
        set_blind_share(store, "p", 0.6)
    with pytest.raises(StoreError, match="no project named 'q'"):
        set_blind_share(store, "q", 0.1)
    assert open_project(store, "p").blind_share == pytest.approx(0.4)


def test_configure_shows_and_changes_the_blind_share(tmp_path):
    from click.testing import CliRunner

    from bertanno.cli import cli

    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment"]).exit_code == 0
    assert "blind share 0, gold share 0, overlap 1 (unanimous)\n" in runner.invoke(cli, ["--db", db, "configure", "p"]).output
    changed = runner.invoke(cli, ["--db", db, "configure", "p", "--blind-share", "0.05"])
    assert changed.exit_code == 0 and "0 → 0.05" in changed.output and "blind share 0.05" in changed.output
    refused = runner.invoke(cli, ["--db", db, "configure", "p", "--blind-share", "0.9"])
    assert refused.exit_code == 2 and "0.9 is not in the range" in refused.output
    unknown = runner.invoke(cli, ["--db", db, "configure", "nope"])
    assert "no project named 'nope'" in str(unknown.exception)
    assert "--blind-share" in runner.invoke(cli, ["configure", "--help"]).output
