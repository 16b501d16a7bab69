"""``bertanno doctor``: is the database ready for a team?"""

from __future__ import annotations

import json

import click
from rich.table import Table
from rich.text import Text

from bertanno import hookimpl
from bertanno.cli.common import console


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--round-trips", default=20, show_default=True, type=click.IntRange(min=1, max=10_000), metavar="N",
              help="How many SELECT 1 round trips the latency figure is measured over.")
@click.pass_context
def doctor(ctx, as_json, round_trips):
    """Check the database (--db or BERTANNO_DB) without changing it.

    \b
    It reports, each with a verdict (ok, warn, FAIL):
      url         the URL (password hidden), its dialect and driver
      connection  whether the server answers, and how fast
      server      SQLite or PostgreSQL version (PostgreSQL 12 or newer)
      latency     median and slowest SELECT 1 round trip; over 20 ms an
                  annotator feels each key press
      schema      the migration revision against this bertanno's newest
      pool        PostgreSQL: the connection pool in force (BERTANNO_DB_POOL_SIZE,
                  BERTANNO_DB_MAX_OVERFLOW, BERTANNO_DB_POOL_TIMEOUT,
                  BERTANNO_DB_POOL_RECYCLE, BERTANNO_DB_CONNECT_TIMEOUT)
      writable    SQLite: whether the file and its folder take writes (a
                  read-only file opens for reading only: writes are refused)
      journal, disk  SQLite: WAL mode, the file's size and the room left

    The exit status is 1 when a check fails. A server that does not answer
    fails within BERTANNO_DB_CONNECT_TIMEOUT seconds (default 10).

    \b
    Example:
      bertanno --db postgresql+psycopg://bertanno@db.internal/annotations doctor
    """
    from bertanno.store.health import check_database

    checks = check_database(ctx.find_root().obj["db"], round_trips)
    if as_json:
        click.echo(json.dumps([check.as_json() for check in checks], ensure_ascii=False, indent=2))
    else:
        table = Table(box=None, show_header=False, padding=(0, 1))
        for check in checks:
            verdict = {True: Text("ok", style="green"), None: Text("warn", style="yellow"),
                       False: Text("FAIL", style="bold red")}[check.ok]
            table.add_row(verdict, Text(check.name, style="bold"), Text(check.detail))
        console.print(table)
    if any(check.ok is False for check in checks):
        ctx.exit(1)


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    cli.add_command(doctor)
