"""What every command shares: the consoles, opening the store, progress bars, option parsers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from bertanno.errors import BertannoError
from bertanno.plugins.task import EVALUATION_ITEMS, headline_scores

# emoji=False: a text, label, comment or filter that holds ":abc:" is shown as written, never as an emoji
console = Console(soft_wrap=True, emoji=False)
err_console = Console(stderr=True, soft_wrap=True, emoji=False)

SHOWN_REFUSALS = 10


def parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("columns=text,label", "end=inclusive")`` -> ``{"columns": "text,label", "end": "inclusive"}``; a pair
    without ``=`` is a ``click.BadParameter``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write KEY=VALUE", param_hint="--option")
        options[key.strip()] = value
    return options


def format_scores(metrics: dict) -> str:
    """Headline scores on one line, and on how many evaluation items when the scores say (``accuracy 0.9100,
    macro_f1 0.9050 on 118 items``); per-type scores (``f1/PER``) are left to --json."""
    line = ", ".join(f"{name} {value:.4f}" for name, value in headline_scores(metrics).items())
    items = (metrics or {}).get(EVALUATION_ITEMS)
    return f"{line} on {items} items" if line and items is not None else line


INTERRUPTED = {"note": "what was stored before is kept; the step in progress was not stored"}
"""What Ctrl-C leaves, as ``main`` says it: a command that knows better sets it with ``when_interrupted``."""


def when_interrupted(note: str) -> None:
    """Say ``note`` (what is kept and what is not) if Ctrl-C stops this command."""
    INTERRUPTED["note"] = note


SHORT_METRICS = {"accuracy": "acc", "macro_f1": "macro F1", "f1": "F1", "precision": "P", "recall": "R"}


def short_scores(metrics: dict) -> str:
    """``acc 0.912 · macro F1 0.908 · n 118``: headline scores abbreviated to three decimals for narrow tables (80
    columns), with the number of evaluation items when the scores say; per-type scores are left to --json."""
    parts = [f"{SHORT_METRICS.get(name, name)} {value:.3f}" for name, value in headline_scores(metrics).items()
             if isinstance(value, (int, float))]
    items = (metrics or {}).get(EVALUATION_ITEMS)
    return " · ".join(parts + ([f"n {items}"] if parts and items is not None else []))


def parse_labels(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; ``None`` (not given) -> ``None`` (the task's default labels)."""
    if text is None:
        return None
    labels = [label.strip() for label in text.split(",") if label.strip()]
    if not labels:
        raise click.BadParameter(f"{text!r} names no label; write them comma-separated, e.g. negative,positive",
                                 param_hint="--labels")
    return labels


class progress_bar:
    """A rich progress bar on stderr whose ``advance(done, total)`` fits the engine's callback; with ``unit``, the
    rate too (``12.5 items/s``, rich's own estimate over the last half minute)."""

    def __init__(self, description: str, unit: str | None = None):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        rate = [TextColumn("{task.fields[rate]}")] if unit else []
        self.progress = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                 *rate, TimeRemainingColumn(), console=err_console, transient=True)
        self.description, self.unit = description, unit

    def __enter__(self):
        if err_console.is_terminal:  # a log or a pipe gets no bar (rich would leave an empty line in it)
            self.progress.start()
        self.task_id = self.progress.add_task(self.description, total=None, rate="")

        def advance(done: int, total: int) -> None:
            self.progress.update(self.task_id, completed=done, total=total)
            if self.unit:
                speed = self.progress.tasks[0].speed
                self.progress.update(self.task_id, rate=f"{speed:.1f} {self.unit}/s" if speed else "")

        return advance

    def __exit__(self, *exc):
        if self.progress.live.is_started:
            self.progress.stop()


class training_progress(progress_bar):
    """A progress bar with loss and time left, and a line per epoch."""

    def __enter__(self):
        if err_console.is_terminal:  # a log or a pipe gets the epoch lines, no bar
            self.progress.start()
        self.task_id = self.progress.add_task(self.description, total=None)

        def on_step(step, total, loss):
            loss_text = f" loss {loss:.4f}" if loss is not None else ""
            self.progress.update(self.task_id, completed=step, total=total, description=self.description + loss_text)

        def on_epoch(record):
            scores = format_scores({k: v for k, v in record.items() if k not in ("epoch", "loss")})
            self.progress.console.print(f"epoch {record['epoch']}: loss {record['loss'] or 0:.4f}"
                                        + (f"; validation {scores}" if scores else ""))

        return on_step, on_epoch


def dash_is_stdout(ctx, param, value: Path | None) -> Path | None:
    """``-o -`` means standard output, as ``None`` (no file) does."""
    return None if value is not None and str(value) == "-" else value


def open_store(ctx: click.Context, create: bool = False):
    """The database of ``--db`` (or ``BERTANNO_DB``, or bertanno.db here). Only ``create`` (init) makes a new
    SQLite file: any other command given a file that does not exist says so instead of leaving an empty one."""
    from bertanno.store import Store
    from bertanno.store.database import missing_sqlite_file

    url = ctx.find_root().obj["db"]
    missing = missing_sqlite_file(url)
    if missing is not None and not create:
        given = "given with --db or BERTANNO_DB" if url else "the default, in this directory"
        raise BertannoError(f"no database at {missing.resolve()} ({given}); create a project there first with "
                            "bertanno init, or point --db at the database that has your projects")
    store = Store.open(url)
    if store.backup:
        err_console.print(f"upgraded the database schema; the old database was copied to {store.backup}")
    return store


def entry_point() -> list[str]:
    """How this bertanno was started, as a command that works from any directory: the installed script's
    absolute path, or ``PYTHON -m bertanno``."""
    script = Path(sys.argv[0])
    if script.name == "bertanno" and script.exists():
        return [str(script.absolute())]
    return [sys.executable, "-m", "bertanno"]


def quiet_libraries() -> None:
    """transformers' warnings and progress bars off (bertanno shows its own), tokenizers' threads quiet."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # bertanno shows its own progress
    except ImportError:
        pass



def precision_option(function):
    """``--precision optimized|full``: whether a version serves with its optimised variant (``bertanno optimize``)
    or as trained; the callback gives ``None`` (the version's choice) or ``"full"``."""
    return click.option("--precision", type=click.Choice(["optimized", "full"]), default="optimized",
                        show_default=True, callback=lambda ctx, param, value: None if value == "optimized" else value,
                        help="optimized: the variant bertanno optimize put in use, if any; full: as trained.")(function)


def where_option(function):
    """``--where FILTER``: the items a command takes (``core.filters``), the same syntax for annotate, review,
    export and stats."""
    return click.option("--where", metavar="FILTER",
                        help="Only the items that meet FILTER: words of the text (or text:/REGEX/), label:L, "
                             "model:L, confidence:<0.6, annotator:NAME, is:agreed|disagreed|flagged|commented|"
                             "blind|gold|decided|undecided, split:eval; all must hold, -TERM negates.")(function)
