"""``bertanno demo``: the main job end to end on bundled data."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bertanno import hookimpl
from bertanno.cli.annotate import run_session
from bertanno.cli.common import console, entry_point, format_scores, training_progress


@click.command()
@click.option("--dir", "directory", default="bertanno-demo", show_default=True, type=click.Path(path_type=Path),
              help="Where the demo writes its database, models and export.")
@click.option("--scripted/--interactive", default=None,
              help="A short scripted session instead of the real one (default: scripted when there is no terminal).")
@click.option("--items", default=12, show_default=True, help="Reviews the scripted session decides.")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Training epochs (default: 2 for bert-base-chinese, else the model's rule: 4 for zh-mini).")
def demo(directory, scripted, items, epochs):
    """The main job end to end on bundled ChnSentiCorp reviews, offline.

    \b
    1. a project in a SQLite file (DIR/bertanno.db): 1,200 labelled reviews
       and 200 new ones; with bertanno[snownlp] installed, SnowNLP
       pre-annotates them before any training
    2. a model trained on the labelled ones: bert-base-chinese if its weights
       are on this machine, else zh-mini, the small Chinese encoder shipped
       with bertanno (4 x 256, pretrained by bertanno pretrain)
    3. the new reviews pre-annotated by the champion (the trained model,
       unless the gate finds it confidently worse than SnowNLP on the
       evaluation split), most uncertain first
    4. the annotation session: the real one in a terminal; without one (or
       --scripted) a short session that accepts right pre-annotations and
       corrects wrong ones
    5. the decisions exported as JSONL
    It takes about 100 CPU-seconds with zh-mini (a minute on 2 free
    cores), and its seeds are fixed: two runs print the same. Safe to run
    again: nothing is imported twice and the trained model is kept.

    \b
    Example:
      bertanno demo --dir /tmp/bertanno-demo --scripted
    """
    from bertanno.app import demo as job
    from bertanno.app.session import default_annotator

    with training_progress("training the demo model") as (on_step, on_epoch):
        setup = job.prepare(directory, epochs, on_step, on_epoch)
    train_file, new_file = setup.imported
    console.print(f"project {job.PROJECT} in {setup.database}: {train_file.added} labelled reviews and "
                  f"{new_file.added} new ones added ({train_file.duplicates + new_file.duplicates} already there)")
    if setup.first_version:
        console.print(f"before any training, {setup.first_version} ({job.ZERO_SHOT}, a zero-shot model inside its "
                      f"package) pre-annotated {setup.first_served} reviews")
    console.print(f"model: {escape(setup.model)} ({escape(setup.reason)})", highlight=False, soft_wrap=False)
    if setup.outcome is not None:
        outcome = setup.outcome
        if setup.first_version:
            console.print(job.verdict_in_words(outcome, setup.first_version), highlight=False)
        else:
            console.print(f"{outcome.message}; evaluation split: {format_scores(outcome.metrics)}")
    else:
        console.print(f"champion {setup.champion} kept from an earlier run")
    if scripted is None:
        scripted = not (sys.stdin.isatty() and sys.stdout.isatty())
    if not scripted:
        console.print("opening the annotation session (? for keys, q to quit)")
        run_session(job.open_session(setup, default_annotator()))
    else:
        rows = job.scripted_session(setup, items)
        table = Table(title=f"Scripted session: {len(rows)} decisions stored, most uncertain first")
        table.add_column("review", no_wrap=True, overflow="ellipsis", max_width=30)
        for column in ("model said", "sure", "decision", "stored"):
            table.add_column(column, no_wrap=True, min_width=len("negative"))
        for row in rows:
            confidence = f"{row['confidence']:.0%}" if row["confidence"] is not None else "-"
            table.add_row(escape(row["text"]), escape(row["predicted"] or "-"), confidence, row["decision"],
                          escape(str(row["label"])))
        console.print(table)
        accepted = sum(row["decision"] == "accept" for row in rows)
        console.print(f"{accepted} pre-annotations accepted, {len(rows) - accepted} corrected")
    path = job.export(setup, directory)
    setup.store.close()
    console.print(f"human decisions exported to {path}")
    go_on = shlex.join([*entry_point(), "--db", str(setup.database.resolve()), "annotate", job.PROJECT,
                        "--order", "uncertain"])
    console.print(f"go on: {escape(go_on)}", highlight=False, soft_wrap=True)



@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (demo,):
        cli.add_command(command)
