"""The ``bertanno`` command line: parses, calls core/store, renders. No model or SQL logic here.

The group and ``main`` live here; each command family is a module of this package that adds its
commands through the ``register_commands`` hook, exactly as a third-party plugin does (llm's way).
Nothing outside this package imports it.
"""

from __future__ import annotations

import importlib
import sys

import click
from rich.markup import escape

from bertanno import __version__
from bertanno.cli.common import INTERRUPTED, err_console, quiet_libraries
from bertanno.errors import BertannoError

# The built-in command families, in the order ``bertanno --help`` does not care about (click sorts).
COMMAND_MODULES = (
    "bertanno.cli.catalogue",
    "bertanno.cli.project",
    "bertanno.cli.annotate",
    "bertanno.cli.training",
    "bertanno.cli.predict",
    "bertanno.cli.vocab",
    "bertanno.cli.pretrain",
    "bertanno.cli.stats",
    "bertanno.cli.autopilot",
    "bertanno.cli.guidelines",
    "bertanno.cli.demo",
    "bertanno.cli.doctor",
)

@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bertanno")
@click.option("--db", envvar="BERTANNO_DB", metavar="URL", show_envvar=True,
              help="An SQLite file, or any SQLAlchemy database URL such as postgresql://host/db "
                   "(default: bertanno.db in this directory).")
@click.pass_context
def cli(ctx, db):
    """Annotate Chinese domain text with BERT-family models in the loop.

    \b
    Example, a typical flow:
      bertanno init reviews --task sentiment --labels negative,positive
      bertanno import reviews reviews.csv   items, and gold labels if any
      bertanno annotate reviews             accept or correct (? for keys)
      bertanno train reviews                fine-tune: a new model version
      bertanno retrain reviews              the same, unattended and gated
      bertanno export reviews -o reviews.jsonl
      bertanno vocab add reviews medical    teach the model domain terms
      bertanno pretrain my-bert --corpus DIR   pretrain a small Chinese BERT
      bertanno predict MODEL FILE           pre-annotate a file
      bertanno models                       domain models known and here
      bertanno plugins                      tasks, models, formats, origins
      bertanno demo                         end to end on bundled data

    Models are aliases (bert-base-chinese, medbert, lawformer), Hugging Face
    hub ids, or local directories. Nothing is downloaded when HF_HUB_OFFLINE=1.
    Everything is stored in one database: a SQLite file here by default,
    PostgreSQL for a team (--db, before the command).
    """
    quiet_libraries()
    ctx.obj = {"db": db}


def _register_commands(group: click.Group) -> None:
    """Register the built-in command modules in the one plugin manager (``get_plugins``) beside every other
    plugin, then call every plugin's ``register_commands``: the built-in commands come in exactly as a
    plugin's do, and ``bertanno plugins --all`` lists their modules."""
    from bertanno.core.plugins import get_plugins

    plugins = get_plugins()
    for name in COMMAND_MODULES:
        plugins.add_builtin(importlib.import_module(name), name)
    plugins.add_commands(group)


_register_commands(cli)


def main() -> None:
    """The console script: plugin commands added, then errors turned into one red line and an exit status."""
    try:
        status = cli.main(standalone_mode=False)  # a command's ctx.exit(N) comes back as N
        if isinstance(status, int) and status:
            sys.exit(status)
    except click.exceptions.Abort:
        err_console.print(f"interrupted: {INTERRUPTED['note']}", highlight=False)
        sys.exit(130)
    except click.ClickException as exc:
        if isinstance(exc, click.NoSuchOption) and exc.option_name == "--db":
            exc.message = exc.message.rstrip(".") + ": --db goes before the command, bertanno --db FILE_OR_URL COMMAND …"
        exc.show()
        sys.exit(exc.exit_code)
    except BertannoError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: {INTERRUPTED['note']}", highlight=False)
        sys.exit(130)

