"""The real program in a pseudo-terminal, on the line-by-line screen (--plain): keys in, decisions in the
database, Ctrl-C and resume. The full screen is tested in test_annotation_app.py."""

import json
import os
import sys

import pexpect
import pytest
from sqlalchemy import select

from bertanno.core.bundle import save_version
from bertanno.core.import_export import import_file
from bertanno.store import Store
from bertanno.store.projects import create_project
from bertanno.store.schema import Annotation

TIMEOUT = 120  # seconds: a loaded 2-core machine can spend one SQLite busy wait (30 s) on a Ctrl-C


def spawn(db, *args):
    env = dict(os.environ, COLUMNS="110", LINES="40", TERM="xterm")
    return pexpect.spawn(sys.executable, ["-m", "bertanno", "--db", db, "annotate", "--plain", *args], env=env,
                         encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 110))


def shown(child) -> int:
    """Wait for the next screen and return the id of the item on it."""
    child.expect(r"item (\d+)")
    item = int(child.match.group(1))
    child.expect("Enter accept")
    return item


def setup(tmp_path, task, labels, lines, model=None):
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = Store.open(db)
    with store.transaction() as session:
        create_project(session, "p", task, labels, "bert-base-chinese")
    data = tmp_path / "items.jsonl"
    data.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    import_file(store, "p", data)
    return db, store


def standing(store):
    with store.transaction() as session:
        return [(a.item_id, a.decision, a.payload, a.undone_at is not None)
                for a in session.scalars(select(Annotation).where(Annotation.source == "human").order_by(Annotation.id))]


@pytest.mark.slow
def test_sentiment_keys_undo_ctrl_c_and_resume(tmp_path, make_bundle):
    texts = ["很好吃", "送餐太慢", "一般般", "还会再来", "包装破了"]
    db, store = setup(tmp_path, "sentiment", ["negative", "positive"], [{"text": t} for t in texts])
    model = save_version(make_bundle(task="sentiment", labels=["negative", "positive"]), tmp_path / "tiny")
    child = spawn(db, "p", "--annotator", "tester", "--model", str(model))
    assert shown(child) == 1
    child.send("\r")                      # accept
    assert shown(child) == 2
    child.send("2")                       # label 2 = positive
    assert shown(child) == 3
    child.send("x")                       # reject
    assert shown(child) == 4
    child.send("s")                       # skip
    assert shown(child) == 5
    child.send("u")                       # undo the skip: item 4 comes back
    assert shown(child) == 4
    child.sendcontrol("c")                # quit in the middle
    child.expect("saved: ")
    child.expect(pexpect.EOF)
    child.close()
    recorded = standing(store)
    assert [(i, d, undone) for i, d, _, undone in recorded] == [
        (1, "accept", False), (2, recorded[1][1], False), (3, "reject", False), (4, "skip", True)]
    assert recorded[1][2] == "positive" and recorded[1][1] in ("accept", "correct")

    child = spawn(db, "p", "--annotator", "tester", "--model", str(model))
    assert shown(child) == 4              # resumes at the first undecided item
    child.send("c")
    child.expect("label")
    child.sendline("negative")
    assert shown(child) == 5
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert standing(store)[4:] == [(4, standing(store)[4][1], "negative", False)]
    assert len(standing(store)) == 5


@pytest.mark.slow
def test_ner_span_editing_on_chinese_text(tmp_path):
    db, store = setup(tmp_path, "ner", ["PER", "LOC"], [{"text": "张三在北京工作"}, {"text": "李四去了上海"}])
    child = spawn(db, "p", "--annotator", "tester")
    assert shown(child) == 1
    child.send("c")
    child.expect("span> ")
    child.sendline("+ 张三:PER")
    child.expect("span> ")
    child.sendline("+ 3-5:LOC")
    child.expect("张三\\[0-2\\]:PER")      # the editor shows the result before saving
    child.expect("span> ")
    child.sendline("")                    # save
    assert shown(child) == 2
    child.send("c")
    child.expect("span> ")
    child.sendline("+ 上海:LOC")
    child.expect("span> ")
    child.sendline("]1")                  # widen to the right: out of the text, refused
    child.expect("outside the text")
    child.expect("span> ")
    child.sendline("!")                   # cancel the correction
    child.expect("correction cancelled")
    child.send("s")
    assert shown(child) == 2              # a skipped item comes back once, after the others
    child.send("s")                       # skipped again: aside for this session
    child.expect("every item is decided")
    child.expect(pexpect.EOF)
    child.close()
    assert standing(store) == [(1, "correct", [[0, 2, "PER"], [3, 5, "LOC"]], False), (2, "skip", None, False),
                               (2, "skip", None, False)]


@pytest.mark.slow
def test_pairs_show_both_texts(tmp_path, make_bundle):
    db, store = setup(tmp_path, "pair", ["no_match", "match"],
                      [{"text": "花呗怎么还款", "text_b": "花呗如何还钱"}, {"text": "借呗额度", "text_b": "今天天气"}])
    model = save_version(make_bundle(task="pair", labels=["no_match", "match"]), tmp_path / "tiny")
    child = spawn(db, "p", "--annotator", "tester", "--model", str(model))
    assert shown(child) == 1
    assert "花呗怎么还款" in child.before and "花呗如何还钱" in child.before  # one above the other
    child.send("?")                       # the keys, styled, not their markup
    child.expect(r"Span editor \(NER\)")
    assert "[bold]" not in child.before and "Keys" in child.before
    child.send("a")
    assert shown(child) == 2
    child.send("1")
    child.expect("every item is decided")
    child.expect(pexpect.EOF)
    child.close()
    assert [(i, p) for i, _, p, _ in standing(store)][1] == (2, "no_match")


@pytest.mark.slow
def test_no_terminal_and_no_decisions_is_a_sentence(tmp_path):
    import subprocess

    db, _ = setup(tmp_path, "sentiment", ["negative", "positive"], [{"text": "好"}])
    result = subprocess.run([sys.executable, "-m", "bertanno", "--db", db, "annotate", "p"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 1 and "--decisions" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "bertanno", "--db", db, "annotate", "p", "--decisions", "-"],
                            input="c positive\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "1 corrected" in result.stdout
    help_text = subprocess.run([sys.executable, "-m", "bertanno", "annotate", "--help"], capture_output=True,
                               text=True, timeout=120).stdout
    assert "Enter / a  accept" in help_text and "u  undo" in help_text


@pytest.mark.slow
def test_sessions_with_predict_ahead_running_exit_cleanly(tmp_path, make_bundle):
    """201 items, predict-ahead busy in the background, then quit: the thread is joined, exit status 0."""
    import subprocess

    db, _ = setup(tmp_path, "sentiment", ["negative", "positive"], [{"text": f"第{n}条评论还行"} for n in range(201)])
    model = save_version(make_bundle(task="sentiment", labels=["negative", "positive"]), tmp_path / "tiny")
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "bertanno", "--db", db, "annotate", "p", "--model", str(model),
                                 "--decisions", "-"], input="a\nq\n", capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "terminate called" not in result.stderr and "Traceback" not in result.stderr
