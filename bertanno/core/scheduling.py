"""Running ``retrain`` on a schedule: cron and systemd units to copy, or an in-process loop."""

from __future__ import annotations

import re
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

from bertanno.errors import BertannoError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> int:
    """``90s``, ``30m``, ``1h``, ``2d`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text or "")
    if not match or int(match[1]) == 0:
        raise BertannoError(f"--every takes a duration such as 30m, 1h or 1d, got {text!r}")
    return int(match[1]) * UNITS[match[2]]


CRON_INTERVALS = ([minutes * 60 for minutes in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)]
                  + [hours * 3600 for hours in (1, 2, 3, 4, 6, 8, 12)] + [86400, 7 * 86400])
"""The intervals a crontab line repeats exactly: minutes and hours that divide the hour and the day, a day,
a week (``*/7`` in the hour field, say, runs at 0, 7, 14 and 21 h: a 3-hour gap at midnight)."""


def cron_interval(seconds: int) -> int:
    """The interval of ``CRON_INTERVALS`` nearest to ``seconds`` (by ratio), which the crontab line uses."""
    return min(CRON_INTERVALS, key=lambda interval: max(interval, seconds) / min(interval, seconds))


def cron_schedule(seconds: int) -> str:
    """The five crontab fields that run every ``cron_interval(seconds)`` seconds."""
    interval = cron_interval(seconds)
    if interval < 3600:
        return f"*/{interval // 60} * * * *"
    if interval < 86400:
        return f"0 */{interval // 3600} * * *"
    return "0 3 * * *" if interval == 86400 else "0 3 * * 0"


def describe_seconds(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cron_note(seconds: int) -> str | None:
    """A sentence when the crontab line cannot repeat every ``seconds`` exactly and rounds; ``None`` otherwise."""
    interval = cron_interval(seconds)
    if interval == seconds:
        return None
    return (f"cron cannot repeat every {describe_seconds(seconds)} exactly: the crontab line runs every "
            f"{describe_seconds(interval)}; the systemd timer keeps {describe_seconds(seconds)}")


def retrain_command(project: str, options: list[str]) -> str:
    """The ``bertanno retrain PROJECT OPTIONS…`` command line, shell-quoted; it never names the database (the
    scheduled job reads ``BERTANNO_DB`` from its environment file, so no password is on a command line)."""
    executable = Path(sys.executable).with_name("bertanno")
    parts = [str(executable), "retrain", project, *options]
    return " ".join(shlex.quote(part) for part in parts)


def cron_escaped(line: str) -> str:
    """A crontab command with ``%`` escaped (cron turns a bare ``%`` into a newline and cuts the command)."""
    return line.replace("%", "\\%")


def systemd_escaped(value: str) -> str:
    """A unit file setting's value with ``%`` doubled (systemd reads ``%x`` as a specifier)."""
    return value.replace("%", "%%")


def environment_file(project: str) -> Path:
    """Where ``schedule`` writes the scheduled job's environment (the database URL): ``$XDG_CONFIG_HOME`` (or
    ``~/.config``) ``/bertanno/retrain-PROJECT.env``."""
    import os

    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "bertanno" / f"retrain-{re.sub(r'[^A-Za-z0-9_-]', '-', project)}.env"


def environment_text(db: str) -> str:
    """The environment file's content: ``BERTANNO_DB='URL'``, in single quotes, which ``sh`` (the crontab line
    sources it) and systemd's ``EnvironmentFile=`` (which expands no ``%`` there) both read literally. Raises
    ``BertannoError`` for a URL with a quote or a line break, which no such file can hold (write ``'`` as
    ``%27`` in a URL)."""
    if "'" in db or "\n" in db or "\r" in db:
        raise BertannoError("the database URL holds a quote or a line break, which the scheduled job's "
                            "environment file cannot carry: write ' as %27 in the URL")
    return f"# bertanno retrain's database; readable by its owner only\nBERTANNO_DB='{db}'\n"


def write_environment(db: str, path: Path) -> Path:
    """Write the scheduled job's environment file (``environment_text``) at ``path``, readable by its owner only
    (mode 0600 from its first byte), whole or not at all, its folder created; returns the absolute path. Raises
    ``BertannoError`` when it cannot be written or the URL cannot be carried."""
    from bertanno import files

    path = path.absolute()
    text = environment_text(db)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise files.cannot_write(path, exc) from None
    files.write_text(path, text, mode=0o600)
    return path


def schedule_files(project: str, every: str, db: str | None, options: list[str], workdir: Path,
                   env_file: Path | None = None) -> dict[str, str]:
    """A crontab line and a systemd service and timer that run ``retrain`` every ``every``. With a database URL
    (``db``) the line and the units read it from ``env_file`` (whose content ``environment_text`` gives; the
    caller writes it with mode 0600) instead of naming it: a password never stands on a command line, in
    ``ps`` or in a unit file. ``%`` is escaped for cron and for systemd."""
    seconds = parse_every(every)
    command = retrain_command(project, options)
    unit = f"bertanno-retrain-{re.sub(r'[^A-Za-z0-9_-]', '-', project)}"
    log = workdir / f"retrain-{project}.log"
    source = (f"set -a && . {shlex.quote(str(env_file))} && set +a && " if db and env_file else "")
    environment = f"EnvironmentFile={systemd_escaped(str(env_file))}\n" if db and env_file else ""
    return {
        "crontab": cron_escaped(f"{cron_schedule(seconds)} cd {shlex.quote(str(workdir))} && {source}{command} "
                                f">> {shlex.quote(str(log))} 2>&1"),
        f"{unit}.service": (f"[Unit]\nDescription=bertanno retrain of project {systemd_escaped(project)}\n\n"
                            f"[Service]\nType=oneshot\nWorkingDirectory={systemd_escaped(str(workdir))}\n"
                            f"{environment}ExecStart={systemd_escaped(command)}\n"),
        f"{unit}.timer": (f"[Unit]\nDescription=Run {unit} every {every}\n\n[Timer]\nOnBootSec=5min\n"
                          f"OnUnitActiveSec={seconds}s\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"),
    }


def watch(every: str, job: Callable[[], None], sleep: Callable[[float], None] = time.sleep,
          rounds: int | None = None) -> None:
    """Run ``job`` now and then every ``every`` until interrupted (or ``rounds`` times)."""
    seconds = parse_every(every)
    done = 0
    while rounds is None or done < rounds:
        job()
        done += 1
        if rounds is None or done < rounds:
            sleep(seconds)
