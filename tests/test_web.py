"""``bertanno annotate PROJECT --web`` (issue 45, part 6): the same Textual app served to a browser on localhost
by textual-serve. A real server process is started; the page is fetched and opened in headless Chromium; a
browser tab's websocket draws the screen and takes a key, whose decision lands in the database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from test_not_text import said

from bertanno.cli import cli
from bertanno.store import Store
from bertanno.store.schema import Annotation


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    db = f"sqlite:///{tmp_path / 'web.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment"]).exit_code == 0
    (tmp_path / "items.txt").write_text("送餐太慢了\n", encoding="utf-8")
    assert runner.invoke(cli, ["--db", db, "import", "p", str(tmp_path / "items.txt")]).exit_code == 0
    port = free_port()
    env = {**os.environ, "BERTANNO_LOAD_PLUGINS": "", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "bertanno", "--db", db, "annotate", "p", "--web", "--port",
                               str(port), "--annotator", "web", "--live-every", "0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.2)
    try:
        yield port, db, server
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_annotation_screen_is_served_on_localhost_and_a_browser_tab_annotates(served, tmp_path):
    import urllib.request

    import aiohttp

    port, db, server = served
    page = urllib.request.urlopen(f"http://localhost:{port}/", timeout=30).read().decode("utf-8")
    assert "bertanno · p" in page                                   # the page of this project's screen

    async def tab() -> bytes:
        seen = b""
        async with aiohttp.ClientSession() as client:
            async with client.ws_connect(f"http://localhost:{port}/ws?width=80&height=24") as socket_:
                sent = False
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    try:
                        message = await socket_.receive(timeout=5)
                    except asyncio.TimeoutError:
                        continue
                    if message.type == aiohttp.WSMsgType.BINARY:
                        seen += message.data
                    elif message.type != aiohttp.WSMsgType.TEXT:
                        break
                    if not sent and "送餐太慢了" in shown(seen):          # the item's view is on screen
                        await socket_.send_str(json.dumps(["focus"]))        # as the page does when shown
                        await socket_.send_str(json.dumps(["stdin", "2"]))  # the key of "positive"
                        sent = True
                    if sent and "1/1 done" in shown(seen):                  # decided, the tab still open:
                        committed.extend(decided_elsewhere(db))              # another process sees it now
                        break
        for _ in range(100):  # this process's own reader: once the tab's session has ended
            if decided(db):
                break
            await asyncio.sleep(0.3)
        return seen

    committed: list = []

    screen = shown(asyncio.run(tab()))
    assert "item 1/1" in screen and "送餐太慢了" in screen and "negative" in screen  # the screen, as drawn
    assert committed == [["web", "correct", "positive"]]  # committed before the screen said so, not at the end
    assert decided(db) == [("web", "correct", "positive")]
    # and in a real browser: the page loads and draws (a screenshot a person can look at)
    from test_teams import chromium

    shot = tmp_path / "web.png"
    browser = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}",
                            "--virtual-time-budget=8000", "--window-size=1000,700", f"--screenshot={shot}",
                            f"http://localhost:{port}/"], capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 5_000, browser.stderr[-2000:]


def shown(output: bytes) -> str:
    """The text a terminal shows for ``output``: its escape sequences (cursor moves, colours) taken out."""
    return re.sub(rb"\x1b\[[0-9;?$<>]*[a-zA-Z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)", b"", output).decode("utf-8", "replace")


def decided_elsewhere(db: str) -> list[list[str]]:
    """The human decisions as a fresh process reads them (Python's sqlite3, no pooled connection): what a team
    mate's session or ``bertanno stats`` would see. In this process a reader can see an older state of the
    file: it holds connections of its own from the CLI calls that made the project."""
    path = db.removeprefix("sqlite:///")
    script = ("import json, sqlite3, sys; con = sqlite3.connect(sys.argv[1]); print(json.dumps(con.execute("
              "\"select annotator, decision, payload from annotations where source = 'human'\").fetchall()))")
    out = subprocess.run([sys.executable, "-c", script, path], capture_output=True, text=True, timeout=60)
    return [[annotator, decision, json.loads(payload)] for annotator, decision, payload in json.loads(out.stdout)]


def decided(db: str) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    store = Store.open(db)
    try:
        with store.transaction() as session:
            return [(a.annotator, a.decision, a.payload) for a in session.scalars(
                select(Annotation).where(Annotation.source == "human"))]
    finally:
        store.close()


def test_web_refuses_the_line_screen_an_unknown_project_and_a_port_in_use_in_a_sentence(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "init", "p", "--task", "sentiment"]).exit_code == 0
    result = runner.invoke(cli, ["--db", db, "annotate", "p", "--web", "--plain"])
    assert result.exit_code == 2 and "--web serves the full screen" in result.output
    result = runner.invoke(cli, ["--db", db, "annotate", "nosuch", "--web"])
    assert result.exit_code == 1 and "no project named 'nosuch'" in said(result)
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(cli, ["--db", db, "annotate", "p", "--web", "--port", str(port)])
    assert result.exit_code == 1 and f"cannot serve on localhost:{port}" in said(result)
