"""The annotation screen in a web browser: the same Textual app, served on localhost by textual-serve, one
session per browser tab (``bertanno annotate PROJECT --web``).

Each tab that opens the page starts ``bertanno annotate PROJECT …`` as a process of its own, driven through
Textual's web driver; the page draws its screen with xterm.js. The server listens on localhost only: nothing
else on the network reaches it, and a person elsewhere reaches it through an SSH tunnel (``ssh -L
8000:localhost:8000 host``), which also encrypts it. The database URL goes to the sessions in the environment
(``BERTANNO_DB``), never on a command line, where ``ps`` would show its password.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys

from bertanno.errors import BertannoError

HOST = "localhost"


def annotate_command(project: str, options: list[str]) -> str:
    """The shell command each browser tab runs: this Python's ``bertanno annotate PROJECT`` with ``options``
    (``--annotator``, ``--order`` …, never ``--db``: the URL is in the environment)."""
    return shlex.join([sys.executable, "-m", "bertanno", "annotate", project, *options])


def serve_annotation(project: str, options: list[str], port: int, db_url: str | None) -> None:
    """Serve the annotation screen of ``project`` on ``http://localhost:PORT`` until Ctrl-C. Raises
    ``BertannoError`` when textual-serve is not installed (``pip install 'bertanno[web]'``) or the port is taken."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise BertannoError("--web needs textual-serve: pip install 'bertanno[web]'") from None
    with socket.socket() as probe:  # a port in use is a sentence here, not aiohttp's traceback later
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise BertannoError(f"cannot serve on localhost:{port} ({exc.strerror}); choose another with --port")
    if db_url:
        os.environ["BERTANNO_DB"] = db_url  # inherited by each tab's session, not shown on a command line
    Server(annotate_command(project, options), host=HOST, port=port, title=f"bertanno · {project}").serve()


def serving_under_a_browser() -> bool:
    """Whether this process is a session a browser tab started (textual-serve runs it with Textual's web
    driver, on pipes instead of a terminal)."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")
