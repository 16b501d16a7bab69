"""The ``bertanno`` command line: parses, calls core/store, renders. No model or SQL logic here."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bertanno import __version__
from bertanno.errors import BertannoError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write KEY=VALUE", param_hint="--option")
        options[key.strip()] = value
    return options


def format_scores(metrics: dict) -> str:
    """Headline scores on one line; per-type scores (``f1/PER``) are left to --json."""
    return ", ".join(f"{name} {value:.4f}" for name, value in metrics.items() if "/" not in name)


def parse_labels(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; ``None`` (not given) -> ``None`` (the task's default labels)."""
    if text is None:
        return None
    labels = [label.strip() for label in text.split(",") if label.strip()]
    if not labels:
        raise click.BadParameter(f"{text!r} names no label; write them comma-separated, e.g. negative,positive",
                                 param_hint="--labels")
    return labels


class _progress:
    """A rich progress bar on stderr whose ``advance(done, total)`` fits the engine's callback."""

    def __init__(self, description: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.progress = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=err_console, transient=True)
        self.description = description

    def __enter__(self):
        self.progress.start()
        self.task_id = self.progress.add_task(self.description, total=None)

        def advance(done: int, total: int) -> None:
            self.progress.update(self.task_id, completed=done, total=total)

        return advance

    def __exit__(self, *exc):
        self.progress.stop()


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
      bertanno pretrain zh-mini --corpus DIR   pretrain a small Chinese BERT
      bertanno predict MODEL FILE           pre-annotate a file
      bertanno models                       domain models known and here
      bertanno plugins                      tasks, models, formats, origins
      bertanno demo                         end to end on bundled data

    Models are aliases (bert-base-chinese, medbert, lawformer), Hugging Face
    hub ids, or local directories. Nothing is downloaded when HF_HUB_OFFLINE=1.
    Everything is stored in one database: a SQLite file here by default,
    PostgreSQL for a team (--db, before the command).
    """
    _quiet_libraries()
    ctx.obj = {"db": db}


def _dash_is_stdout(ctx, param, value: Path | None) -> Path | None:
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


@cli.command()
@click.option("--check", "check", metavar="NAME_OR_PATH", help="Resolve and load one model, and say whether it can.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--trust-remote-code", is_flag=True, help="Allow code shipped inside the model directory to run.")
def models(check, as_json, trust_remote_code):
    """List the domain model aliases and whether their weights are on this machine.

    With --check, load the model (alias, hub id or directory) and report what it is.

    \b
    Examples:
      bertanno models
      bertanno models --check medbert
    """
    from bertanno.core import model_info

    if check:
        report = model_info.check_model(check, trust_remote_code=trust_remote_code)
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            console.print(f"[green]✓[/] {check} loads: {report['architecture']}, {report['layers']} layers x "
                          f"{report['hidden']}, {report['parameters'] / 1e6:.1f}M parameters, up to "
                          f"{report['max_length']} tokens\n  weights: {report['weights_dir']}\n"
                          f"  tokenizer: {report['tokenizer_dir']} ({report['vocab_size']} entries)")
        return
    rows = model_info.list_models()
    if as_json:
        click.echo(json.dumps({"aliases": rows, "families": model_info.list_families()}, ensure_ascii=False, indent=2))
        return
    table = Table(title="Domain model aliases")
    table.add_column("alias", no_wrap=True)
    table.add_column("hub id", overflow="fold", max_width=24)
    table.add_column("max tokens", max_width=7)
    table.add_column("available here", max_width=9)
    table.add_column("what it is", ratio=1, min_width=15)
    for row in rows:
        available = "[green]yes[/]" if row["available"] else "[yellow]no[/]"
        table.add_row(escape(row["name"]), escape(row["hub_id"]), str(row["max_length"]), available,
                      escape(row["description"]))
    console.print(table)
    console.print("Any hub id or local directory works too. Check one with: bertanno models --check NAME_OR_PATH")
    families = Table(title="Model families (what serves pre-annotations)")
    families.add_column("family", no_wrap=True)
    families.add_column("serves", max_width=10)
    families.add_column("labels", max_width=14)
    families.add_column("ready here", max_width=24)
    families.add_column("what it is", ratio=1, min_width=16)
    for row in model_info.list_families():
        ready = "[green]yes[/]" if row["ready"] else f"[yellow]no[/]: {escape(row['install'])}"
        labels = ", ".join(row["labels"]) or ("its term lists' types" if row["configured"] else "the project's")
        families.add_row(escape(row["name"]), ", ".join(row["example_kinds"]), escape(labels),
                         ready, escape(f"{row['description']}\n{row['origin']}"))
    console.print(families)
    console.print("A zero-shot family serves a new project from its first item: bertanno init P --zero-shot FAMILY")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json):
    """List loaded plugins: their hooks, versions, origins and what they register.

    BERTANNO_LOAD_PLUGINS=a,b loads only the named entry-point plugins ("" loads
    none).

    \b
    Example:
      BERTANNO_LOAD_PLUGINS=topics bertanno plugins --json
    """
    from bertanno.plugins.manager import get_plugins

    loaded = get_plugins()
    rows = [asdict(info) for info in loaded.info()]
    problems = [{"plugin": p.plugin, "problem": p.message} for p in loaded.problems]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": problems}, ensure_ascii=False, indent=2))
        return
    table = Table(title="Plugins")
    for column in ("plugin", "version", "hooks", "registers"):
        table.add_column(column)
    table.add_column("from", overflow="fold")
    for row in rows:
        registers = "\n".join(f"{kind}: {', '.join(names)}" for kind, names in row["registers"].items())
        name = row["name"].rpartition(".")[2] if row["builtin"] else row["distribution"] or row["name"]
        version = __version__ + " (built-in)" if row["builtin"] else row["version"] or "-"
        table.add_row(escape(name), escape(str(version)), "\n".join(row["hooks"]), escape(registers),
                      escape(row["source"]))
    console.print(table)
    for problem in problems:
        err_console.print(f"[red]plugin {escape(problem['plugin'])}:[/] {escape(problem['problem'])}")


def parse_label_map(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("PER=person,LOC=place", "ORG=hospital")`` -> ``{"PER": "person", "LOC": "place", "ORG": "hospital"}``."""
    mapping: dict[str, str] = {}
    for pair in (part.strip() for text in pairs for part in text.split(",")):
        if not pair:
            continue
        source, sep, target = (side.strip() for side in pair.partition("="))
        if not sep or not source or not target:
            raise click.BadParameter(f"{pair!r}: write FAMILY_LABEL=PROJECT_LABEL, e.g. PER=person", param_hint="--map")
        if source in mapping and mapping[source] != target:
            raise click.BadParameter(f"{source} is mapped twice ({mapping[source]}, {target})", param_hint="--map")
        mapping[source] = target
    return mapping


@cli.command()
@click.argument("project")
@click.option("--task", "task_name", required=True, help="sentiment, ner, pair, or a plugin's task (bertanno plugins).")
@click.option("--labels", help="Comma-separated label set (entity types for ner). Default: the task's own.")
@click.option("--model", default="bert-base-chinese", show_default=True, help="Domain model: alias, hub id or directory.")
@click.option("--zero-shot", "zero_shot", metavar="FAMILY",
              help="A model family that pre-annotates from the first item, before any training: snownlp "
                   "(sentiment), lac (person, place, organisation, time), or a plugin's (bertanno models).")
@click.option("--gazetteer", "gazetteer", multiple=True, metavar="LIST",
              help="NER: pre-annotate the terms of typed term lists (term<TAB>TYPE; built-in medical, legal, or a "
                   "file) from the first item. Repeatable.")
@click.option("--map", "label_map", multiple=True, metavar="FAMILY_LABEL=LABEL,…",
              help="With --zero-shot or --gazetteer: which project label each of the family's labels (a list's "
                   "entity types) becomes (same-named labels map themselves). Repeatable.")
@click.pass_context
def init(ctx, project, task_name, labels, model, zero_shot, gazetteer, label_map):
    """Create PROJECT: one task, one label set, one domain model.

    With --zero-shot, a model that needs no training serves the first pre-annotations (version
    z001, the champion until the gate promotes a trained model); with --gazetteer,
    typed term lists do (version g001, longest-leftmost matches).

    \b
    Examples:
      bertanno init reviews --task sentiment --labels negative,positive
      bertanno init reviews --task sentiment --zero-shot snownlp
      bertanno init news --task ner --labels person,place \\
          --zero-shot lac --map PER=person,LOC=place
      bertanno init clinic --task ner --labels disease,drug --gazetteer medical
      bertanno init records --task ner --labels disease,drug --model medbert
    """
    from bertanno.core.hub import model_reference
    from bertanno.core.project_setup import create_project
    from bertanno.plugins.manager import get_plugins

    mapping = parse_label_map(label_map)
    if mapping and not (zero_shot or gazetteer):
        raise click.UsageError("--map maps a zero-shot family's labels; name the family with --zero-shot or "
                               "give --gazetteer")
    task = get_plugins().task(task_name, labels=parse_labels(labels))
    model = model_reference(model)
    from bertanno.store.database import missing_sqlite_file

    new_file = missing_sqlite_file(ctx.find_root().obj["db"])
    store = open_store(ctx, create=True)
    try:
        created = create_project(store, project, task, model, zero_shot, mapping, gazetteer=list(gazetteer))
    except BaseException:
        if new_file is not None:  # a database made for this project alone: leave nothing behind
            store.close()
            for leftover in (new_file, *(new_file.with_name(new_file.name + end) for end in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        raise
    console.print(f"created project [bold]{project}[/]: task {task.name}, labels {escape(', '.join(task.labels))}, "
                  f"model {escape(model)} (in {escape(store.url)})")
    if created.champion:
        mapped = ", ".join(source if source == target else f"{source}→{target}"
                           for source, target in created.label_map.items())
        console.print(f"{created.champion} ({created.family}) pre-annotates from the first item: {escape(mapped)}")
        if created.ignored:
            console.print(f"[yellow]not pre-annotated: {escape(', '.join(created.ignored))}[/] (no project label; "
                          f"map them with --map {escape(created.ignored[0])}=LABEL)")
        if created.cannot_produce:
            console.print(f"[yellow]{created.family} never proposes {escape(', '.join(created.cannot_produce))}[/]: "
                          "those labels are yours to add until a trained model takes over")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def projects(ctx, as_json):
    """List the projects in the database with their item and annotation counts.

    \b
    Example:
      bertanno --db team.db projects
    """
    from bertanno.store.projects import project_summaries

    store = open_store(ctx)
    with store.transaction() as session:
        rows = project_summaries(session)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Projects in {store.url}")
    for column in ("project", "task", "labels", "model", "items", "annotated"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["task"], escape(", ".join(row["labels"])), escape(row["model"]),
                      str(row["items"]), str(row["annotated"]))
    console.print(table)


@cli.command(name="import")
@click.argument("project")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "format_name", help="Input format (default: guessed from the file).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Format option, repeatable: columns=text,label  label_map=0=negative,1=positive  end=inclusive")
@click.option("--skip-bad", is_flag=True, help="Import the good rows and report the bad ones (default: import nothing).")
@click.option("--split", type=click.Choice(["eval"]),
              help="eval: a gold evaluation file; its items are never trained on.")
@click.pass_context
def import_(ctx, project, file, format_name, options, skip_bad, split):
    """Add the items of FILE to PROJECT; labels in the file become gold annotations.

    Re-importing adds nothing twice: items are matched on their normalised text. The import
    is all or nothing unless --skip-bad is given. With --split eval the file is a gold
    evaluation set: every row needs a label, and its items are never trained on (the gate
    scores every new version on them).

    \b
    Examples:
      bertanno import reviews waimai.csv --option label_map=0=negative,1=positive
      bertanno import reviews gold.jsonl --split eval
      bertanno import records train.txt --format conll
      bertanno import pairs dev.txt --option columns=text,text_b,label
    """
    from bertanno.core.transfer import import_file

    report = import_file(open_store(ctx), project, file, format_name, parse_options(options), skip_bad,
                         split=split)
    for error in report.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(file))}:{error.line}: {escape(error.message)}")
    console.print(f"{file}: {report.read} items read, {report.added} added, {report.duplicates} already there, "
                  f"{report.labelled} gold labels stored" + (f", {len(report.errors)} bad rows skipped" if report.errors else ""))
    if report.conflicts:
        err_console.print(f"[yellow]{report.conflicts} repeated text(s) carry a label other than the one kept[/] "
                          "(the first stays; review them with bertanno export --provenance)")
    if split:
        console.print(f"{report.evaluation} items in the evaluation split")
    if report.kept_in_training:
        err_console.print(f"[yellow]{report.kept_in_training} item(s) of the file are already in the training split[/] "
                          "(a version may have trained on them); they stay there")


@cli.command()
@click.argument("project")
@click.option("--format", "format_name", default="jsonl", show_default=True,
              help="jsonl (lossless), conll (character BIO), csv, tsv, txt (texts only), hf (a datasets "
                   "directory), or a plugin's format: see bertanno plugins.")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=_dash_is_stdout,
              help="File (directory for hf); default or -: standard output.")
@click.option("--only", type=click.Choice(["all", "human", "corrected", "accepted"]), default="all", show_default=True,
              help="all: gold imports and human decisions; human: people only; corrected / accepted: those decisions.")
@click.option("--provenance", is_flag=True, help="Add who decided what, when, and from which file (jsonl: in meta).")
@click.pass_context
def export(ctx, project, format_name, output, only, provenance):
    """Write PROJECT's annotations: the standing label of every annotated item.

    Every format reads back what it writes. An item a format cannot carry (a line
    break in a CoNLL text, a tab in a TSV text, nested spans in CoNLL) is left out
    and named with the reason; jsonl carries everything.

    \b
    Example:
      bertanno export reviews --format csv -o reviews.csv
    """
    from bertanno.core.transfer import export_project

    report = export_project(open_store(ctx), project, format_name, output, only, provenance)
    if report.text is not None:
        click.echo(report.text, nl=False)
    err_console.print(f"{report.written} annotated items exported" + (f" to {output}" if output else ""),
                      highlight=False)
    if report.refused:
        err_console.print(f"[yellow]{len(report.refused)} item(s) not written: {format_name} cannot carry them[/] "
                          "(jsonl carries everything):", highlight=False)
        for item_id, why in report.refused[:SHOWN_REFUSALS]:
            err_console.print(f"  item {item_id}: {escape(why)}", highlight=False)
        if len(report.refused) > SHOWN_REFUSALS:
            err_console.print(f"  … and {len(report.refused) - SHOWN_REFUSALS} more", highlight=False)
    if report.labels_not_written:
        err_console.print(f"[yellow]{format_name} carries texts only: {report.labels_not_written} label(s) not "
                          "written[/]", highlight=False)


SHOWN_REFUSALS = 10


def training_options(function):
    """The options train and retrain share."""
    options = [
        click.option("--mode", type=click.Choice(["full", "frozen", "lora"]), default="full", show_default=True,
                     help="full fine-tuning; frozen encoder with a trained head (features cached); LoRA adapters."),
        click.option("--epochs", default=3, show_default=True, help="Most epochs; stops early when validation stalls."),
        click.option("--batch-size", default=16, show_default=True, help="Examples per training step."),
        click.option("--lr", "learning_rate", type=float, help="Learning rate (default: 2e-5 full, 2e-4 frozen / LoRA)."),
        click.option("--patience", default=2, show_default=True, help="Epochs without improvement before stopping."),
        click.option("--seed", default=42, show_default=True,
                     help="New layers, shuffling and the validation split (the evaluation split is fixed per project)."),
        click.option("--device", help="cpu, cuda … (default: a GPU when there is one)."),
        click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), envvar="BERTANNO_MODELS",
                     show_envvar=True, help="Where versions are saved (default: ./bertanno-models)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def gate_options(function):
    """The promotion gate's options, shared by train and retrain."""
    from bertanno.core.gate import MIN_ITEMS

    function = click.option("--min-eval", default=MIN_ITEMS, show_default=True,
                            help="Evaluation items the gate needs before it may refuse a new version.")(function)
    return click.option("--tolerance", default=0.0, show_default=True,
                        help="Promote unless the new version is confidently worse than the champion by more than "
                             "this (headline metric, 95 % paired-bootstrap interval).")(function)


def _train_config(mode, epochs, batch_size, learning_rate, patience, seed, device, models_dir):
    from bertanno.core.training import TrainConfig

    cache = (models_dir or Path("bertanno-models")) / ".feature-cache"
    return TrainConfig(mode=mode, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                       patience=patience, seed=seed, device=device, cache_dir=cache)


class _training_progress(_progress):
    """A progress bar with loss and time left, and a line per epoch."""

    def __enter__(self):
        self.progress.start()
        self.task_id = self.progress.add_task(self.description, total=None)

        def on_step(step, total, loss):
            loss_text = f" loss {loss:.4f}" if loss is not None else ""
            self.progress.update(self.task_id, completed=step, total=total, description=self.description + loss_text)

        def on_epoch(record):
            scores = format_scores({k: v for k, v in record.items() if k not in ("epoch", "loss")})
            self.progress.console.print(f"epoch {record['epoch']}: loss {record['loss'] or 0:.4f}; validation {scores}")

        return on_step, on_epoch


def _report_outcome(outcome) -> None:
    console.print(outcome.message)
    if outcome.metrics:
        console.print(f"evaluation split: {format_scores(outcome.metrics)}")
    if outcome.champion_metrics and outcome.decision != "skipped":
        console.print(f"previous champion: {format_scores(outcome.champion_metrics)}")
    if outcome.gate is not None:
        console.print(f"gate: {outcome.gate.describe()}")
    if outcome.result and outcome.result.unexpressible:
        err_console.print(f"[yellow]{outcome.result.unexpressible} annotated span(s) could not be expressed as "
                          "BIO tags with this tokenizer and were left out of training[/]")


@cli.command()
@click.argument("project")
@training_options
@click.option("--from", "start", type=click.Choice(["base", "champion"]), default="base", show_default=True,
              help="Start from the project's base model or from its current champion.")
@click.option("--no-promote", is_flag=True, help="Keep the new version as a candidate whatever its score.")
@click.option("--family", default="transformer", show_default=True,
              help="What to train: the project's transformer, or a fast family that trains in seconds: linear "
                   "(sentences, pairs), crf (NER). The training options above apply to the transformer.")
@gate_options
@click.pass_context
def train(ctx, project, start, no_promote, family, tolerance, min_eval, **options):
    """Fine-tune PROJECT's model on its annotations and save a new version.

    Trains on gold imports and human decisions (corrected labels; rejected pre-annotations are
    left out), never on the evaluation split: about 10 % of the labelled items of each label,
    chosen once per item (seeded) and growing with the project, plus any gold file imported with
    --split eval. The new version and the champion (whatever its family) are scored on that split;
    the new one becomes the champion unless a paired bootstrap says it is confidently worse (95 %
    interval of the difference below -TOLERANCE). Below --min-eval evaluation items the split is
    too small for the test: the point estimates decide against a trained champion, and a
    zero-shot champion keeps serving. Ctrl-C stops cleanly and keeps the best
    epoch so far.
    """
    from bertanno.core.project_training import train_project

    config = _train_config(**options)
    with _training_progress(f"training {project}") as (on_step, on_epoch):
        outcome = train_project(open_store(ctx), project, config, start=start, promote=not no_promote,
                                models_dir=options["models_dir"], on_step=on_step, on_epoch=on_epoch,
                                tolerance=tolerance, min_eval=min_eval, family=family)
    _report_outcome(outcome)


@cli.command()
@click.argument("project")
@training_options
@click.option("--min-new", default=50, show_default=True, help="Train only when this many new decisions exist.")
@gate_options
@click.option("--watch", is_flag=True, help="Keep running: check again every --every.")
@click.option("--every", default="1h", show_default=True, help="With --watch: 30m, 1h, 1d …")
@click.pass_context
def retrain(ctx, project, min_new, tolerance, min_eval, watch, every, **options):
    """The unattended loop: retrain PROJECT when enough new corrections exist, promote unless the
    new model is confidently worse on the evaluation split (the gate of bertanno train --help).

    Does nothing (exit 0, one line saying why) below --min-new new decisions; never runs twice at
    once (a lock in the database; a killed run's lock is recovered); records every run. Safe to
    run from cron every few minutes: see bertanno schedule.
    """
    from bertanno.core.project_training import retrain_project
    from bertanno.core.scheduling import parse_every, watch as watch_loop

    config = _train_config(**options)
    store = open_store(ctx)
    parse_every(every)

    def once():
        with _training_progress(f"retraining {project}") as (on_step, on_epoch):
            outcome = retrain_project(store, project, config, min_new, tolerance, options["models_dir"],
                                      on_step=on_step, on_epoch=on_epoch, min_eval=min_eval)
        _report_outcome(outcome)

    if watch:
        console.print(f"checking {project} every {every}; Ctrl-C stops")
        watch_loop(every, once)
    else:
        once()


@cli.command()
@click.argument("project")
@click.option("--every", default="1h", show_default=True,
              help="How often: 30m, 1h, 1d … (cron rounds what it cannot repeat exactly, and says so).")
@click.option("--min-new", default=50, show_default=True,
              help="Each run trains only when this many new decisions exist since the champion.")
@click.pass_context
def schedule(ctx, project, every, min_new):
    """Print a crontab line and systemd units that run retrain for PROJECT every
    --every.

    \b
    Example:
      bertanno schedule reviews --every 6h --min-new 100
    """
    from bertanno.core.scheduling import cron_note, parse_every, schedule_files
    from bertanno.store.projects import get_project

    with open_store(ctx).transaction() as session:
        get_project(session, project)  # refused with a sentence when there is no such project

    files = schedule_files(project, every, ctx.find_root().obj["db"], ["--min-new", str(min_new)], Path.cwd())
    note = cron_note(parse_every(every))
    if note:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print("[bold]crontab -e[/], then add:")
    click.echo(files.pop("crontab"))
    for name, content in files.items():
        console.print(f"\n[bold]~/.config/systemd/user/{name}[/]")
        click.echo(content, nl=False)
    unit = next(iter(files)).removesuffix(".service")
    console.print(f"\nthen: systemctl --user daemon-reload && systemctl --user enable --now {unit}.timer")


@cli.command()
@click.argument("project")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def versions(ctx, project, as_json):
    """List PROJECT's model versions with their scores on the evaluation split
    and status.

    \b
    Example:
      bertanno versions reviews --json
    """
    from bertanno.core.bundle import record_family_name
    from bertanno.store.projects import get_project
    from bertanno.store.versions import list_versions

    store = open_store(ctx)
    with store.transaction() as session:
        rows = [{"name": v.name, "status": v.status, "metrics": v.metrics, "created": v.created_at.isoformat(),
                 "directory": v.directory, "trained_on": len(v.training_snapshot.get("annotation_ids", [])),
                 "family": record_family_name(v.training_snapshot), "mode": v.training_snapshot.get("mode")}
                for v in list_versions(session, get_project(session, project).id)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print(f"project {project} has no model versions yet; train one: bertanno train {project}")
        return
    table = Table(title=f"Model versions of {project}")
    for column in ("version", "family", "status", "scores (evaluation split)", "trained on", "mode", "created"):
        table.add_column(column)
    for row in rows:
        scores = format_scores(row["metrics"]) or "not scored yet"
        style = "bold green" if row["status"] == "champion" else None
        table.add_row(row["name"], row["family"], row["status"], scores, str(row["trained_on"]), row["mode"] or "-",
                      row["created"][:16], style=style)
    console.print(table)


@cli.command()
@click.argument("project")
@click.argument("version")
@click.pass_context
def promote(ctx, project, version):
    """Make VERSION the champion of PROJECT by hand, and re-predict undecided
    items with it.

    \b
    Example:
      bertanno promote reviews v002
    """
    from bertanno.core.project_training import promote as promote_version

    console.print(promote_version(open_store(ctx), project, version))


@cli.command()
@click.argument("project")
@click.pass_context
def rollback(ctx, project):
    """Give the champion role back to the version that held it before.

    \b
    Example:
      bertanno rollback reviews
    """
    from bertanno.core.project_training import rollback as rollback_version

    console.print(rollback_version(open_store(ctx), project))


@cli.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--file", type=click.Path(dir_okay=False, path_type=Path), help="A labelled file instead of the evaluation split.")
@click.option("--format", "format_name", help="Format of --file (default: guessed).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Format option, repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def evaluate(ctx, project, version, file, format_name, options, as_json):
    """Score VERSION (default: the champion) on the evaluation split or on --file.

    \b
    Examples:
      bertanno evaluate reviews
      bertanno evaluate reviews v002 --file test.tsv --json
    """
    from bertanno.core.project_training import evaluate as evaluate_version

    scores = evaluate_version(open_store(ctx), project, version, file, format_name, parse_options(options))
    if as_json:
        click.echo(json.dumps(scores, indent=2))
    else:
        for name, value in scores.items():
            console.print(f"{name:>16}  {value:.4f}")


@cli.command()
@click.argument("project")
@click.option("--annotator", help="Your name in the records (default: your user name).")
@click.option("--order", type=click.Choice(["sequential", "uncertain", "random"]), default="sequential",
              show_default=True, help="uncertain: the items the model is least sure of first.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="A saved version to pre-annotate with (default: the project's champion, if any).")
@click.option("--no-predict-ahead", is_flag=True, help="Predict each item when it is shown, not ahead in batches.")
@click.option("--live-every", default=20, show_default=True, metavar="N",
              help="Refit the fast live model every N decisions (0: never). Not with --model.")
@click.option("--decisions", type=click.File("r", encoding="utf-8"),
              help="No terminal: read one key sequence per item from this file (- for stdin).")
@click.option("--keys", "keymap", envvar="BERTANNO_KEYS", show_envvar=True, metavar="ACTION=KEY …",
              help='Change the keymap, e.g. "accept=y reject=n skip=k" (actions: accept reject skip undo correct quit help).')
@click.pass_context
def annotate(ctx, project, annotator, order, model_dir, no_predict_ahead, decisions, keymap, live_every):
    """Accept or correct the model's pre-annotations of PROJECT, one item at a time.

    \b
    Keys:
      Enter / a  accept        1-9  choose that label    c  correct (NER: spans)
      x          reject        s    skip                 u  undo, step by step
      q, Ctrl-C, Ctrl-D  quit  ?    all keys and the span editor's commands
    \b
    Every decision is committed before the next item is shown; quitting at any
    moment loses nothing, and the next run resumes at the first undecided item.
    Two annotators on one project never get the same item. With --decisions,
    each line is what you would type for one item: a, x, s, u, q, 2,
    "c positive", or for NER "c + 北京:LOC; - 1".

    While you annotate, a fast model (linear for sentences and pairs, crf for
    NER) is refitted in the background every --live-every decisions and gated
    like any version; when it becomes the champion it pre-annotates the next
    items. The header says which model serves and its score.

    \b
    Example:
      bertanno annotate reviews --order uncertain --annotator li
    """
    from bertanno.core.session import AnnotationSession, session_predictor
    from bertanno.core.terminal import parse_keymap

    keys = parse_keymap(keymap)
    store = open_store(ctx)
    if decisions is None and not sys.stdin.isatty():
        raise BertannoError("no terminal to annotate in: give --decisions FILE (one key sequence per item, - for stdin)")
    with err_console.status(f"loading {escape(model_dir) if model_dir else 'the champion of ' + project} "
                            "(a transformer takes some seconds) …"):
        predictor, version = session_predictor(store, project, model_dir)
    session = AnnotationSession(store, project, annotator, order, predictor, version, not no_predict_ahead,
                                live_every=None if model_dir else live_every)
    if predictor is None:
        later = (f"a {session.live.family.name} model takes over after {live_every} decisions" if session.live
                 else f"then bertanno train {project}")
        err_console.print(f"project {project} has no model yet: annotate by hand; {later}")
    _run_session(session, decisions, keys)


def _run_session(session, decisions=None, keys=None) -> None:
    """The terminal session (or the scripted one with ``decisions``); says what was saved, however it ends."""
    from bertanno.core.terminal import run_interactive, run_scripted

    try:
        if decisions is not None:
            run_scripted(session, decisions, lambda line: console.print(line, highlight=False), keys)
        else:
            run_interactive(session, console, click.getchar, keys)
    except (KeyboardInterrupt, EOFError):
        pass
    finally:
        session.close()
    counts = session.counts
    console.print(f"\nsaved: {counts['accept']} accepted, {counts['correct']} corrected, {counts['reject']} rejected, "
                  f"{counts['skip']} skipped (annotator {session.annotator})")


@cli.command()
@click.argument("model")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--task", "task_name", help="Task of a base model (a saved version knows its own).")
@click.option("--labels", help="Comma-separated label set for a base model, e.g. negative,positive.")
@click.option("--format", "format_name", help="Input format (default: guessed from the file).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Format option, repeatable: columns=text,label  label_map=0=negative,1=positive  end=inclusive")
@click.option("--skip-bad", is_flag=True, help="Skip rows that cannot be read instead of stopping.")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=_dash_is_stdout,
              help="Write JSONL here (default or -: standard output).")
@click.option("--device", help="cpu, cuda, cuda:1 … (default: a GPU when there is one).")
@click.option("--token-budget", default=8192, show_default=True, help="Padded tokens per batch.")
@click.option("--trust-remote-code", is_flag=True, help="Allow code shipped inside the model directory to run.")
def predict(model, file, task_name, labels, format_name, options, skip_bad, output, device, token_budget,
            trust_remote_code):
    """Pre-annotate FILE with MODEL and write one JSON line per item.

    MODEL is a saved version directory, or a base model (alias, hub id, directory) with --task.

    \b
    Example:
      bertanno predict runs/v3 reviews.txt -o predictions.jsonl
    """
    from bertanno.core.bundle import is_version_dir, load_bundle
    from bertanno.core.engine import Predictor
    from bertanno.core.reading import read_examples
    from bertanno.core.transfer import check_output
    from bertanno.plugins.manager import get_plugins

    if output is not None:
        check_output(output)
    plugins = get_plugins()
    task = None
    if not is_version_dir(model):
        if not task_name:
            raise BertannoError(f"{model} is a base model: say which task with --task ({', '.join(plugins.tasks)})")
        task = plugins.task(task_name, labels=parse_labels(labels))
    bundle = load_bundle(model, task, plugins, trust_remote_code)
    result = read_examples(file, bundle.task, format_name, parse_options(options), skip_bad, plugins)
    for error in result.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(file))}:{error.line}: {escape(error.message)}")
    predictor = Predictor(bundle, device=device, token_budget=token_budget)
    with _progress("predicting") as advance:
        predictions, stats = predictor.predict(result.examples, progress=advance)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for example, prediction in zip(result.examples, predictions):
            record = {"text": example.text, "prediction": bundle.task.payload_to_json(prediction.payload),
                      "confidence": round(prediction.confidence, 4)}
            if example.text_b is not None:
                record["text_b"] = example.text_b
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
    _report_stats(stats, bundle.max_length)


def _report_stats(stats, max_length: int) -> None:
    err_console.print(f"{stats.examples} items, {stats.tokens} tokens in {stats.batches} batches, "
                      f"{stats.examples_per_second:.1f} items/s")
    if stats.truncated:
        err_console.print(f"[yellow]{stats.truncated} item(s) were longer than {max_length} tokens and were "
                          "truncated[/]; a long-input model (lawformer) avoids this")


@cli.command()
@click.option("--dir", "directory", default="bertanno-demo", show_default=True, type=click.Path(path_type=Path),
              help="Where the demo writes its database, models and export.")
@click.option("--scripted/--interactive", default=None,
              help="A short scripted session instead of the real one (default: scripted when there is no terminal).")
@click.option("--items", default=12, show_default=True, help="Reviews the scripted session decides.")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Training epochs (default: 4 for the small model, 2 for bert-base-chinese).")
def demo(directory, scripted, items, epochs):
    """The main job end to end on bundled ChnSentiCorp reviews, offline.

    \b
    1. a project in a SQLite file (DIR/bertanno.db): 1,200 labelled reviews
       and 200 new ones; with bertanno[snownlp] installed, SnowNLP
       pre-annotates them before any training
    2. a model trained on the labelled ones: bert-base-chinese if its weights
       are on this machine, else a small Chinese BERT (2 x 128) from random
       weights
    3. the new reviews pre-annotated by the champion (the trained model,
       unless the gate finds it confidently worse than SnowNLP on the
       evaluation split), most uncertain first
    4. the annotation session: the real one in a terminal; without one (or
       --scripted) a short session that accepts right pre-annotations and
       corrects wrong ones
    5. the decisions exported as JSONL
    It takes about two minutes on 2 CPU cores with the small model. Safe to
    run again: nothing is imported twice and the trained model is kept.

    \b
    Example:
      bertanno demo --dir /tmp/bertanno-demo --scripted
    """
    from bertanno.core import demo as job
    from bertanno.core.session import default_annotator

    with _training_progress("training the demo model") as (on_step, on_epoch):
        setup = job.prepare(directory, epochs, on_step, on_epoch)
    train_file, new_file = setup.imported
    console.print(f"project {job.PROJECT} in {setup.database}: {train_file.added} labelled reviews and "
                  f"{new_file.added} new ones added ({train_file.duplicates + new_file.duplicates} already there)")
    kind = ("bert-base-chinese (pretrained, found on this machine)" if setup.pretrained else
            "a small Chinese BERT, 2 layers x 128, trained here from random weights (no pretrained weights found)")
    if setup.first_version:
        console.print(f"before any training, {setup.first_version} ({job.ZERO_SHOT}, a zero-shot model inside its "
                      f"package) pre-annotated {setup.first_served} reviews")
    console.print(f"model: {kind}")
    if setup.outcome is not None:
        outcome = setup.outcome
        if setup.first_version:
            verdict = "takes over from" if outcome.decision == "promoted" else "does not take over from"
            console.print(f"{outcome.version} ({format_scores(outcome.metrics)}) {verdict} {setup.first_version} "
                          f"({job.ZERO_SHOT}: {format_scores(outcome.champion_metrics)}) on the same evaluation split: "
                          f"{setup.champion} serves the session")
            if outcome.gate is not None:
                console.print(f"gate: {outcome.gate.describe()}", highlight=False)
        else:
            console.print(f"{outcome.message}; evaluation split: {format_scores(outcome.metrics)}")
    else:
        console.print(f"champion {setup.champion} kept from an earlier run")
    if scripted is None:
        scripted = not (sys.stdin.isatty() and sys.stdout.isatty())
    if not scripted:
        console.print("opening the annotation session (? for keys, q to quit)")
        _run_session(job.open_session(setup, default_annotator()))
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
    go_on = shlex.join([*entry_point(), "--db", str(setup.database.resolve()), "annotate", job.PROJECT])
    console.print(f"go on: {escape(go_on)}", highlight=False, soft_wrap=True)


def entry_point() -> list[str]:
    """How this bertanno was started, as a command that works from any directory: the installed script's
    absolute path, or ``PYTHON -m bertanno``."""
    script = Path(sys.argv[0])
    if script.name == "bertanno" and script.exists():
        return [str(script.absolute())]
    return [sys.executable, "-m", "bertanno"]


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # bertanno shows its own progress
    except ImportError:
        pass


from bertanno.vocab.commands import pretrain, vocab  # noqa: E402 (it uses the helpers above)

cli.add_command(vocab)
cli.add_command(pretrain)


def _add_plugin_commands() -> None:
    from bertanno.plugins.manager import get_plugins

    get_plugins().add_commands(cli)


def main() -> None:
    try:
        _add_plugin_commands()
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("interrupted")
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
        err_console.print("interrupted")
        sys.exit(130)
