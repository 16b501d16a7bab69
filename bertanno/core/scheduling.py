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


def cron_schedule(seconds: int) -> str:
    minutes = max(1, seconds // 60)
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    if hours < 24:
        return f"0 */{hours} * * *"
    return "0 3 * * *"


def retrain_command(project: str, db: str | None, options: list[str]) -> str:
    executable = Path(sys.executable).with_name("bertanno")
    parts = [str(executable)] + (["--db", db] if db else []) + ["retrain", project, *options]
    return " ".join(shlex.quote(part) for part in parts)


def schedule_files(project: str, every: str, db: str | None, options: list[str], workdir: Path) -> dict[str, str]:
    """A crontab line and a systemd service and timer that run ``retrain`` every ``every``."""
    seconds = parse_every(every)
    command = retrain_command(project, db, options)
    unit = f"bertanno-retrain-{re.sub(r'[^A-Za-z0-9_-]', '-', project)}"
    log = workdir / f"retrain-{project}.log"
    return {
        "crontab": f"{cron_schedule(seconds)} cd {shlex.quote(str(workdir))} && {command} >> {shlex.quote(str(log))} 2>&1",
        f"{unit}.service": (f"[Unit]\nDescription=bertanno retrain of project {project}\n\n[Service]\nType=oneshot\n"
                            f"WorkingDirectory={workdir}\nExecStart={command}\n"),
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
