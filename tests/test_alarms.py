"""The rubber-stamp alarm (issue 'a team's quality', part 6): per annotator, the median time before accepting and the
acceptance of shown pre-annotations against agreement with hidden ones (blind controls); stats and the report flag
a rubber-stamper and leave a careful annotator alone; the annotation screen says, gently, when accepts get fast."""

import asyncio
import importlib.util
import json
import random

from click.testing import CliRunner
from conftest import screen_text

from bertanno.app.line_screen import KEYS, Driver
from bertanno.app.screen import AnnotationApp
from bertanno.app.session import PACE_WINDOW, AnnotationSession
from bertanno.cli import cli
from bertanno.core.import_export import import_file
from bertanno.core.stats import annotator_alarms, project_stats
from bertanno.plugins.task import Prediction
from bertanno.store.projects import create_project


class Guess:
    """A model that proposes ``positive`` for a text with 好 and ``negative`` otherwise: right on the items whose
    gold follows that rule, wrong on the others."""

    def predict(self, examples):
        return [Prediction("positive" if "好" in e.text else "negative", 0.8) for e in examples], None


def record(person, kind, seconds=2.0, blind=False, payload="positive", predicted="positive"):
    decision = {"accepted": "accept", "corrected": "correct", "labelled": "correct"}[kind]
    return {"annotator": person, "decision": decision, "payload": payload, "predicted": predicted,
            "active_ms": int(seconds * 1000), "blind": blind, "edit": {"kind": kind}, "shown_version": None}


def test_a_rubber_stamper_is_flagged_and_a_careful_annotator_is_not():
    rng = random.Random(1)
    records = []
    for n in range(40):  # the stamper accepts every shown item in 0.2 s, but agrees with 55 % of hidden ones
        records.append(record("stamp", "accepted", 0.2))
        agree = rng.random() < 0.55
        records.append(record("stamp", "labelled", 3.0, blind=True, payload="positive" if agree else "negative"))
    for n in range(40):  # the careful one accepts 80 % in 2.5 s and agrees with 80 % of hidden ones
        records.append(record("care", "accepted" if n % 5 else "corrected", 2.5,
                              payload="positive" if n % 5 else "negative"))
        records.append(record("care", "labelled", 3.0, blind=True, payload="positive" if n % 5 else "negative"))
    records += [record("new", "accepted", 0.1) for _ in range(3)]  # too few to judge
    rows = {row["annotator"]: row for row in annotator_alarms(records)}
    assert rows["stamp"]["flags"] == ["fast", "anchored"]
    assert rows["stamp"]["median_accept_seconds"] == 0.2 and rows["stamp"]["acceptance_shown"] == 1.0
    assert "agrees with" in rows["stamp"]["reasons"][1]
    assert rows["care"]["flags"] == [] and rows["care"]["acceptance_shown"] == 0.8
    assert rows["new"]["flags"] == []
    assert {r["annotator"]: r["flags"] for r in annotator_alarms(records, fast_accept=0.1)}["stamp"] == ["anchored"]


def project(store, tmp_path, texts, blind_share=0.0):
    with store.transaction() as session:
        create_project(session, "p", "sentiment", ["negative", "positive"], "bert-base-chinese",
                       blind_share=blind_share)
    (tmp_path / "items.txt").write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
    import_file(store, "p", tmp_path / "items.txt")


def test_stats_and_the_report_flag_a_rubber_stamper_from_real_sessions(store, tmp_path):
    texts = [f"第{n}家{'好' if n % 2 else '差'}{'但是' if n % 3 == 0 else ''}" for n in range(160)]
    project(store, tmp_path, texts, blind_share=0.5)
    gold = {t: ("negative" if "但是" in t else "positive" if "好" in t else "negative") for t in texts}
    for person in ("stamp", "care"):
        session = AnnotationSession(store, "p", person, predictor=Guess(), model_version="v001", predict_ahead=False)
        for _ in range(80):
            current = session.next()
            if current is None:
                break
            truth = gold[current.example.text]
            if current.prediction is None:  # a blind control: their own label
                session.give_time(3.0)
                session.decide("correct", truth if person == "care" or random.Random(current.item_id).random() < 0.5
                               else "positive")
            elif person == "stamp":
                session.give_time(0.2)
                session.decide("accept")
            else:
                session.give_time(2.5)
                session.decide("accept" if current.prediction.payload == truth else "correct",
                               None if current.prediction.payload == truth else truth)
        session.close()
    alarms = {row["annotator"]: row for row in project_stats(store, "p")["alarms"]}
    assert "fast" in alarms["stamp"]["flags"] and alarms["care"]["flags"] == []
    shown = CliRunner().invoke(cli, ["--db", store.url, "stats", "p"], env={"COLUMNS": "160"})
    assert shown.exit_code == 0 and "rubber-stamp check" in shown.output and "accepts in a median 0.20 s" in shown.output
    relaxed = json.loads(CliRunner().invoke(cli, ["--db", store.url, "stats", "p", "--fast-accept", "0.1",
                                                  "--json"]).output)
    assert "fast" not in {r["annotator"]: r for r in relaxed["alarms"]}["stamp"]["flags"]
    out = tmp_path / "report"
    if importlib.util.find_spec("matplotlib") is not None:  # the report's figures need the optional extra
        report = CliRunner().invoke(cli, ["--db", store.url, "report", "p", "-o", str(out)])
        assert report.exit_code == 0, report.output
        page = (out / "report.html").read_text(encoding="utf-8")
        assert "Rubber-stamp check" in page and "flagged: stamp: accepts in a median 0.20 s" in page


def test_the_session_says_gently_when_accepts_get_fast_and_not_again_at_once(store, tmp_path):
    project(store, tmp_path, [f"第{n}家好" for n in range(4 * PACE_WINDOW + 2)])
    session = AnnotationSession(store, "p", "ann", predictor=Guess(), model_version="v001", predict_ahead=False)
    said = []
    for _ in range(3 * PACE_WINDOW):
        session.next()
        session.give_time(0.3 if len(said) < 2 * PACE_WINDOW else 2.0)
        session.decide("accept")
        said.append(session.pace_notice())
    notices = [n for n, word in enumerate(said, start=1) if word]
    assert notices == [PACE_WINDOW, 2 * PACE_WINDOW]  # once a window; slower accepts: nothing more
    assert "took 0.3 s each" in said[PACE_WINDOW - 1]
    session.close()
    quiet = AnnotationSession(store, "p", "bob", predictor=Guess(), model_version="v001", predict_ahead=False,
                              fast_accept=0)
    for _ in range(PACE_WINDOW):
        quiet.next()
        quiet.decide("accept")
    assert quiet.pace_notice() is None
    quiet.close()


def test_the_full_screen_and_the_plain_one_show_the_word(store, tmp_path):
    project(store, tmp_path, [f"第{n}家好" for n in range(2 * PACE_WINDOW + 3)])
    session = AnnotationSession(store, "p", "ann", predictor=Guess(), model_version="v001", predict_ahead=False)
    app = AnnotationApp(session, KEYS)
    seen = []

    async def drive():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for _ in range(PACE_WINDOW):
                await pilot.press("a")
                await pilot.pause()
            seen.append(screen_text(app))
            await pilot.press("q")

    asyncio.run(drive())
    session.close()
    assert f"your last {PACE_WINDOW} accepts took" in seen[0]
    plain = AnnotationSession(store, "p", "bob", predictor=Guess(), model_version="v001", predict_ahead=False)
    driver = Driver(plain, read_line=lambda prompt: "", show=lambda *a, **k: None)
    words = []
    for _ in range(PACE_WINDOW):
        plain.next()
        driver.notice = None
        assert driver.key("a") is None
        words.append(driver.notice)
    assert words[-1] and "accepts took" in words[-1] and not any(words[:-1])
    plain.close()
