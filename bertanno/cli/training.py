"""Model versions: ``train``, ``retrain``, ``schedule``, ``versions``, ``promote``, ``rollback``, ``evaluate``,
``optimize``, ``distill``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from bertanno import hookimpl
from bertanno.cli.common import (
    console,
    err_console,
    format_scores,
    open_store,
    parse_options,
    short_scores,
    training_progress,
)
from bertanno.plugins.task import EVALUATION_ITEMS


def family_option(function):
    """``--family``: which trainable family train, retrain and schedule train."""
    return click.option("--family", default="transformer", show_default=True,
                        help="What to train: the project's transformer, or a fast family that trains in seconds: "
                             "linear (sentences, pairs), crf or lexicon (NER), a plugin's (bertanno models); "
                             "ensemble: the transformer with crf or linear, stacked on out-of-fold predictions; or "
                             "llm: the project's LLM shown the most similar decisions as examples (few-shot). The "
                             "training options apply to the transformer.")(function)


def training_options(function):
    """The options train and retrain share."""
    options = [
        click.option("--mode", type=click.Choice(["full", "frozen", "lora"]), default="full", show_default=True,
                     help="full fine-tuning; frozen encoder with a trained head (features cached); LoRA adapters."),
        click.option("--head", type=click.Choice(["softmax", "crf"]),
                     help="NER's output layer: crf (a CRF over the tags, trained by its likelihood; span confidence "
                          "from its marginals; the default, measured better) or softmax (each token's tag on its "
                          "own, then constrained decoding)."),
        click.option("--lexicon-features/--no-lexicon-features", "lexicon_features", default=None,
                     help="NER: add per-character features beside the encoder (character bigrams, jieba's words, "
                          "matches of the project's terms), learnt as scores added to each token's tag scores. "
                          "Default: on for NER with --mode full (measured better)."),
        click.option("--layer-decay", type=float, default=1.0, show_default=True,
                     help="Layer-wise learning-rate decay: each encoder layer learns at this factor of the one "
                          "above it (the head at --lr); 1 for none."),
        click.option("--epochs", type=int,
                     help="Most epochs; stops early when validation stalls (default: by the model; bertanno "
                          "train --help)."),
        click.option("--batch-size", type=int, help="Examples per step (default: by the model)."),
        click.option("--lr", "learning_rate", type=float,
                     help="Learning rate (default: by the model; bertanno train --help)."),
        click.option("--patience", default=2, show_default=True, help="Epochs without improvement before stopping."),
        click.option("--seed", default=42, show_default=True,
                     help="New layers, shuffling and the validation split (the evaluation split is fixed per project)."),
        click.option("--device", help="cpu, cuda … (default: a GPU when there is one)."),
        click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
                     help="Data-parallel training processes (torch's launcher, as accelerate launch uses): one per "
                          "GPU, or N shares of the CPU cores (gloo). The batch is split between them."),
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


def _train_config(mode, epochs, batch_size, learning_rate, patience, seed, device, models_dir, processes=1,
                  head=None, layer_decay=1.0, lexicon_features=None):
    from bertanno.core.training import TrainConfig

    cache = (models_dir or Path("bertanno-models")) / ".feature-cache"
    return TrainConfig(mode=mode, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                       patience=patience, seed=seed, device=device, cache_dir=cache, processes=processes,
                       head=head, layer_decay=layer_decay, lexicon_features=lexicon_features)


INTERRUPTED_EXIT = 130
"""The exit status after Ctrl-C (128 + SIGINT, as a shell reports it), also when what was trained is saved."""


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


@click.command()
@click.argument("project")
@training_options
@click.option("--from", "start", type=click.Choice(["base", "adapted", "champion"]), default="base",
              show_default=True, help="Start from the project's base model, from its domain-adapted model "
              "(bertanno vocab adapt; measured on public sets it did not help, so only when asked) or from its "
              "current champion.")
@click.option("--no-promote", is_flag=True, help="Keep the new version as a candidate whatever its score.")
@click.option("--with-auto", is_flag=True,
              help="Train on the labels of autopilot runs whose audit passed too (never evaluated on them).")
@family_option
@gate_options
@click.pass_context
def train(ctx, project, start, no_promote, with_auto, family, tolerance, min_eval, **options):
    """Fine-tune PROJECT's model on its annotations and save a new version.

    Trains on gold imports and human decisions (corrected labels; rejected pre-annotations are
    left out), never on the evaluation split: about 10 % of the labelled items of each label,
    chosen once per item (seeded) and growing with the project, plus any gold file imported with
    --split eval. The new version and the champion (whatever its family) are scored on that split;
    the new one becomes the champion unless a paired bootstrap says it is confidently worse (95 %
    interval of the difference below -TOLERANCE). Below --min-eval evaluation items the split is
    too small for the test: the point estimates decide against a trained champion, and a
    zero-shot champion keeps serving. Autopilot's labels are left out unless
    --with-auto (then those of runs whose audit passed join the training side
    only). Ctrl-C stops cleanly, keeps the best
    epoch so far (a candidate, not promoted) and exits with status 130.

    \b
    Defaults by the model (printed before training; --lr, --epochs,
    --batch-size override them):
      pretrained, hidden >= 768   lr 2e-5, 3 epochs, batch 16 (BERT paper)
      pretrained, narrower        lr 2e-4, 4 epochs, batch 32 (zh-mini)
      random weights              lr 1e-3, 4 epochs, batch 32
    LoRA and --mode frozen take lr 2e-4 on pretrained weights. A small set
    gets more epochs: a NER task reaches at least 500 steps (at most 30
    epochs), a sentence or pair task at least 120 (at most 16).

    \b
    Example:
      bertanno train reviews --family linear
    """
    from bertanno.app.training_runs import train_project

    config = _train_config(**options)
    with training_progress(f"training {project}") as (on_step, on_epoch):
        outcome = train_project(open_store(ctx), project, config, start=start, promote=not no_promote,
                                models_dir=options["models_dir"], on_step=on_step, on_epoch=on_epoch,
                                tolerance=tolerance, min_eval=min_eval, family=family, on_plan=err_console.print,
                                with_auto=with_auto)
    _report_outcome(outcome)
    if outcome.decision == "interrupted":
        ctx.exit(INTERRUPTED_EXIT)  # Ctrl-C: the best epoch so far is saved and reported, and the exit says so


@click.command()
@click.argument("project")
@training_options
@click.option("--min-new", default=50, show_default=True, help="Train only when this many new decisions exist.")
@gate_options
@click.option("--watch", is_flag=True, help="Keep running: check again every --every.")
@click.option("--every", default="1h", show_default=True, help="With --watch: 30m, 1h, 1d …")
@click.option("--optimize", "optimize_after", is_flag=True,
              help="After a promotion, run bertanno optimize on the new champion (the fastest variant that passes "
                   "its accuracy gate is put in use).")
@family_option
@click.pass_context
def retrain(ctx, project, min_new, tolerance, min_eval, watch, every, optimize_after, family, **options):
    """The unattended loop: retrain PROJECT when enough new corrections exist, promote unless the
    new model is confidently worse on the evaluation split (the gate of bertanno train --help).

    Does nothing (exit 0, one line saying why) below --min-new new decisions; never runs twice at
    once (a lock in the database; a killed run's lock is recovered); records every run. Safe to
    run from cron every few minutes: see bertanno schedule.

    \b
    Examples:
      bertanno retrain clinic --min-new 100
      bertanno retrain clinic --family crf --min-new 20   (young NER project)
    """
    from bertanno.app.training_runs import retrain_project
    from bertanno.core.scheduling import parse_every
    from bertanno.core.scheduling import watch as watch_loop

    config = _train_config(**options)
    store = open_store(ctx)
    parse_every(every)

    def once():
        with training_progress(f"retraining {project}") as (on_step, on_epoch):
            outcome = retrain_project(store, project, config, min_new, tolerance, options["models_dir"],
                                      on_step=on_step, on_epoch=on_epoch, min_eval=min_eval,
                                      on_plan=err_console.print, family=family)
        _report_outcome(outcome)
        if outcome.decision == "interrupted":
            ctx.exit(INTERRUPTED_EXIT)  # saved and reported; a watch loop stops here too
        if optimize_after and outcome.decision == "promoted":
            _optimize_promoted(store, project, outcome.version)

    if watch:
        console.print(f"checking {project} every {every}; Ctrl-C stops")
        watch_loop(every, once)
    else:
        once()


def _optimize_promoted(store, project: str, version: str) -> None:
    """``retrain --optimize``: the new champion through ``bertanno optimize --variant auto``; a version that
    cannot be optimised (another family, too small an evaluation split) is a note, not a failed run."""
    from bertanno.app.optimizing import VARIANTS
    from bertanno.app.optimizing import optimize as optimize_version
    from bertanno.errors import BertannoError

    try:
        outcome = optimize_version(store, project, version, tuple(VARIANTS))
    except BertannoError as exc:
        err_console.print(f"[yellow]not optimised[/]: {escape(str(exc))}", highlight=False)
        return
    chosen = next((f for f in outcome.figures if f.variant == outcome.in_use), None)
    console.print(f"optimised: {version} serves {outcome.in_use}" +
                  (f" ({chosen.reason}; {chosen.full_items_per_second:.1f} → {chosen.variant_items_per_second:.1f} "
                   "items/s)" if chosen else ": no variant passed the gate and beat full precision"), highlight=False)


@click.command()
@click.argument("project")
@click.option("--every", default="1h", show_default=True,
              help="How often: 30m, 1h, 1d … (cron rounds what it cannot repeat exactly, and says so).")
@click.option("--min-new", default=50, show_default=True,
              help="Each run trains only when this many new decisions exist since the champion.")
@click.option("--env-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Where to write the job's database URL (default: ~/.config/bertanno/retrain-PROJECT.env).")
@family_option
@click.pass_context
def schedule(ctx, project, every, min_new, env_file, family):
    """Print a crontab line and systemd units that run retrain for PROJECT every
    --every.

    The database (--db or BERTANNO_DB) is written to an environment file
    readable by you only (mode 0600), which the crontab line sources and the
    service reads (EnvironmentFile=): a password never stands on a command
    line, in ps or in a unit file. Without --db the job uses bertanno.db in
    this directory; a PostgreSQL password may also come from PGPASSFILE.

    \b
    Example:
      bertanno schedule reviews --every 6h --min-new 100
      bertanno schedule clinic --every 30m --min-new 20 --family crf
      bertanno --db postgresql+psycopg://li:PW@db/team schedule reviews
    """
    from bertanno.app.training_runs import check_family_trains
    from bertanno.core.plugins import get_plugins
    from bertanno.core.project import open_project
    from bertanno.core.scheduling import cron_note, environment_file, parse_every, schedule_files, write_environment
    from bertanno.store.database import shown_url

    plugins = get_plugins()
    handle = open_project(open_store(ctx), project, plugins)  # no such project: a sentence
    check_family_trains(family, handle.task, plugins)  # now, not in the first run of the job
    db = ctx.find_root().obj["db"]
    env_file = write_environment(db, env_file or environment_file(project)) if db else None
    options = ["--min-new", str(min_new)] + (["--family", family] if family != "transformer" else [])
    files = schedule_files(project, every, db, options, Path.cwd(), env_file)
    note = cron_note(parse_every(every))
    if note:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    if env_file is not None:
        err_console.print(f"the database {escape(shown_url(db))} is in {escape(str(env_file))} (mode 0600), "
                          "which the job reads", highlight=False)
    console.print("[bold]crontab -e[/], then add:")
    click.echo(files.pop("crontab"))
    for name, content in files.items():
        console.print(f"\n[bold]~/.config/systemd/user/{name}[/]")
        click.echo(content, nl=False)
    unit = next(iter(files)).removesuffix(".service")
    console.print(f"\nthen: systemctl --user daemon-reload && systemctl --user enable --now {unit}.timer")


def serving_variant(directory: str) -> str | None:
    """What a version predicts with when it is not itself as trained: ``int8``, ``onnx-int8``, or ``student
    s001`` (its record's ``variant``, ``bertanno optimize`` / ``distill``); ``None`` otherwise, or when its folder
    cannot be read."""
    from bertanno.core.bundle import read_version_record
    from bertanno.errors import BertannoError

    try:
        record = read_version_record(directory)
    except BertannoError:
        return None
    variant = record.get("variant")
    if not variant or variant == "full":
        return None
    student = (record.get("student") or {}).get("version") if variant == "student" else None
    return f"student {student}" if student else variant


@click.command()
@click.argument("project")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def versions(ctx, project, as_json):
    """List PROJECT's model versions with their scores on the evaluation split
    and status.

    A distilled student says which version it was distilled from; a version
    that predicts through a faster variant (bertanno optimize: int8, ONNX, or
    a distilled student that passed) says which one serves for it. The
    champion's calibration follows: how far its confidence is from the share
    of its proposals that are right (expected calibration error, before and
    after the map fitted on the evaluation split; NER also span by span).

    \b
    Example:
      bertanno versions reviews --json
    """
    from bertanno.core.bundle import record_family_name
    from bertanno.core.calibration import Calibration
    from bertanno.store.projects import get_project
    from bertanno.store.versions import list_versions

    store = open_store(ctx)
    with store.transaction() as session:
        rows = [{"name": v.name, "status": v.status, "metrics": v.metrics, "created": v.created_at.isoformat(),
                 "directory": v.directory,  # a student learns from texts (snapshot "texts"), the others from decisions
                 "trained_on": v.training_snapshot.get("texts", len(v.training_snapshot.get("annotation_ids", []))),
                 "family": record_family_name(v.training_snapshot), "mode": v.training_snapshot.get("mode"),
                 "serves_with": serving_variant(v.directory),
                 "calibration": {level: {k: data[k] for k in ("method", "level", "units", "ece_raw", "ece",
                                                                "evaluation_items")}
                                 for level, data in (v.calibration or {}).items()}}
                for v in list_versions(session, get_project(session, project).id)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print(f"project {project} has no model versions yet; train one: bertanno train {project}")
        return
    table = Table(title=f"Model versions of {project} (scores on the evaluation split)", box=box.SIMPLE_HEAD,
                  padding=(0, 1), pad_edge=False, collapse_padding=True, title_justify="left")
    table.add_column("version", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("scores", no_wrap=True)
    table.add_column("on", justify="right", no_wrap=True)
    table.add_column("trained", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for row in rows:
        metrics = dict(row["metrics"] or {})
        evaluated = metrics.pop(EVALUATION_ITEMS, None)
        scores = short_scores(metrics) or "not scored yet"
        style = "bold green" if row["status"] == "champion" else None
        family = row["family"] + (f"/{row['mode']}" if row["mode"] else "")
        serves = f" (serves with {row['serves_with']})" if row["serves_with"] else ""
        table.add_row(f"{row['name']} {family}{serves}", row["status"], scores, "–" if evaluated is None else str(evaluated),
                      str(row["trained_on"]), f"{row['created'][5:10]} {row['created'][11:16]}", style=style)
    console.print(table)
    console.print("on: evaluation items scored; trained: decisions (a student: texts) trained on; all: --json")
    for row in rows:
        if row["status"] == "champion":
            for level, data in row["calibration"].items():
                console.print(f"calibration of {escape(row['name'])} ({level}s): "
                              f"{Calibration.from_json(data).describe()}", highlight=False)


@click.command()
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
    from bertanno.app.training_runs import promote as promote_version

    console.print(promote_version(open_store(ctx), project, version))


@click.command()
@click.argument("project")
@click.pass_context
def rollback(ctx, project):
    """Give the champion role back to the version that held it before.

    \b
    Example:
      bertanno rollback reviews
    """
    from bertanno.app.training_runs import rollback as rollback_version

    console.print(rollback_version(open_store(ctx), project))


@click.command()
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
    from bertanno.app.training_runs import evaluate as evaluate_version

    scores = evaluate_version(open_store(ctx), project, version, file, format_name, parse_options(options))
    if as_json:
        click.echo(json.dumps(scores, indent=2))
    else:
        for name, value in scores.items():
            if name == EVALUATION_ITEMS:
                console.print(f"{'evaluated on':>16}  {value} items")
            else:
                console.print(f"{name:>16}  {value:.4f}")


@click.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--variant", type=click.Choice(["auto", "int8", "onnx-int8", "full"]), default="auto",
              show_default=True,
              help="auto: measure every variant and keep the fastest that passes; int8: PyTorch dynamic int8 "
                   "quantisation; onnx-int8: ONNX Runtime with int8 weights (pip install 'bertanno[onnx]'); "
                   "full: serve as trained again.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def optimize(ctx, project, version, variant, as_json):
    """Make VERSION (default: the champion) predict faster on this machine,
    without changing what it predicts.

    Each variant is measured on the project's evaluation split against the
    full-precision model: it must give the same label (NER: the same entity
    spans) on at least 99 % and lose at most 0.5 points of the headline
    metric, else it is refused with its figures and nothing changes. With
    auto, the fastest variant that passes and beats full precision is put in
    use; a variant named alone is put in use when it passes. From then on
    predict, predict-project and the annotation session use it (--precision
    full on those commands forces the original).

    \b
    Examples:
      bertanno optimize reviews
      bertanno optimize reviews v003 --variant int8
      bertanno optimize reviews --variant full     serve as trained again
    """
    from bertanno.app.optimizing import VARIANTS
    from bertanno.app.optimizing import optimize as optimize_version

    variants = tuple(VARIANTS) if variant == "auto" else (variant,)
    outcome = optimize_version(open_store(ctx), project, version, variants)
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2))
        return
    if outcome.figures:
        first = outcome.figures[0]
        table = Table(title=f"{outcome.version} on {first.items} evaluation items", title_justify="left")
        for column in ("variant", "agrees", first.headline, "items/s", "verdict"):
            table.add_column(column, overflow="fold")
        for f in outcome.figures:
            table.add_row(f.variant, f"{f.agreement:.1%}", f"{f.full_score:.4f} → {f.variant_score:.4f}",
                          f"{f.full_items_per_second:.1f} → {f.variant_items_per_second:.1f}",
                          ("[green]passes[/]" if f.accepted else "[red]refused[/]: " + f.reason))
        console.print(table)
    for variant_name, why in outcome.skipped.items():
        console.print(f"[yellow]{variant_name} not tried[/]: {escape(why)}", highlight=False)
    passed = [f.variant for f in outcome.figures if f.accepted]
    if outcome.in_use != outcome.before:
        console.print(f"{outcome.version} now serves {outcome.in_use} (was {outcome.before})")
    elif outcome.in_use in passed:
        console.print(f"{outcome.version} keeps serving {outcome.in_use}: it passes the gate again")
    else:
        why = ("" if not outcome.figures else f": {', '.join(passed)} passed but did not beat it" if passed
               else ": nothing passed the gate")
        console.print(f"{outcome.version} serves {outcome.in_use} as before{why}")


@click.command()
@click.argument("project")
@click.option("--student", metavar="LAYERS|MODEL",
              help="A number of the teacher's own layers to keep (the lowest: 3 of 12 runs about 4x faster), or a "
                   "model with the teacher's vocabulary (zh-mini, a folder).")
@click.option("--faster", metavar="FACTOR",
              help="Instead of --student: the most teacher layers whose student predicts FACTOR times as fast "
                   "(5x), measured on this machine on the evaluation items.")
@click.option("--transfer", type=click.Choice(["hidden", "none"]), default="hidden", show_default=True,
              help="hidden: the student also learns the teacher's hidden states, layer to layer, where the widths "
                   "match (TinyBERT); none: its outputs only.")
@click.option("--teacher", "teacher_version", metavar="VERSION",
              help="The fine-tuned transformer version to learn from (default: the champion).")
@click.option("--temperature", default=2.0, show_default=True,
              help="How far the teacher's outputs are softened (DistilBERT's 2).")
@click.option("--epochs", type=int, help="Most epochs; stops early when validation stalls (default: by the student).")
@click.option("--batch-size", type=int, help="Texts per step (default: by the student).")
@click.option("--lr", "learning_rate", type=float, help="Learning rate (default: by the student; bertanno train --help).")
@click.option("--seed", default=42, show_default=True, help="Shuffling and the validation split.")
@click.option("--device", help="cpu, cuda … (default: a GPU when there is one).")
@click.option("--no-use", is_flag=True, help="Keep the student as a version only, even when it passes the gate.")
@click.option("--no-optimize", is_flag=True,
              help="Leave a student that passes as trained (default: optimize --variant auto runs on it).")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), envvar="BERTANNO_MODELS",
              show_envvar=True, help="Where versions are saved (default: ./bertanno-models).")
@gate_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def distill(ctx, project, student, faster, transfer, teacher_version, temperature, epochs, batch_size, learning_rate,
            seed, device, no_use, no_optimize, models_dir, tolerance, min_eval, as_json):
    """Train a small, fast student that predicts as PROJECT's champion (or
    --teacher) does, and let it pre-annotate in its place when it passes.

    The teacher labels every item outside the evaluation split, annotated
    or not: the student learns its soft labels (Hinton et al. 2015), so the
    unannotated items teach it too. It is saved as version s001, s002, …
    and judged on the evaluation split's gold like any candidate: when the
    promotion gate (paired bootstrap, --tolerance) does not find it
    confidently worse than the teacher, predict, predict-project and annotate
    use it for the teacher; its agreement with the teacher is reported, not
    required. A student that passes is then optimised (optimize --variant
    auto: int8 or ONNX when it keeps the student's own answers), so the
    teacher is served by the fastest gated model. --precision full on those
    commands, or optimize --variant full, go back to the teacher.

    --faster 5x chooses the student's size: the most of the teacher's layers
    whose student predicts the evaluation items five times as fast here.
    Students of the teacher's own layers also learn its hidden states, layer
    to layer (--transfer hidden, TinyBERT's intermediate distillation).

    \b
    Examples:
      bertanno distill reviews --student 3
      bertanno distill reviews --faster 5x
      bertanno distill records --student zh-mini --epochs 6
    """
    from bertanno.app.distilling import distill_project
    from bertanno.core.distill import parse_speedup
    from bertanno.core.training import TrainConfig

    if (student is None) == (faster is None):
        raise click.UsageError("give --student LAYERS|MODEL or --faster FACTOR (one of them)")

    config = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, device=device)
    with training_progress(f"distilling {project}") as (on_step, on_epoch):
        outcome = distill_project(open_store(ctx), project, student, teacher_version, config, temperature,
                                  not no_use, models_dir, on_step=on_step, on_epoch=on_epoch,
                                  on_soft_labels=lambda done, total: on_step(done, total, None),
                                  on_plan=err_console.print, tolerance=tolerance, min_eval=min_eval,
                                  optimize_student=not no_optimize,
                                  faster=None if faster is None else parse_speedup(faster), transfer=transfer)
    f = outcome.figures
    if as_json:
        click.echo(json.dumps({"version": outcome.version, "teacher": outcome.teacher, "student": outcome.student,
                               "texts": outcome.texts, "unlabelled": outcome.unlabelled, "metrics": outcome.metrics,
                               "gate": f.as_record(), "in_use": outcome.in_use,
                               "interrupted": outcome.interrupted, "optimized": optimized_record(outcome.optimized),
                               "speedups": outcome.speedups},
                              indent=2, ensure_ascii=False))
        if outcome.interrupted:
            ctx.exit(INTERRUPTED_EXIT)
        return
    console.print(f"{outcome.version} distilled from {outcome.teacher} ({escape(outcome.student)}) on "
                  f"{outcome.texts} texts, {outcome.unlabelled} unlabelled"
                  + (" [yellow](interrupted: the best epoch so far)[/]" if outcome.interrupted else ""))
    console.print(f"evaluation split: {format_scores(outcome.metrics)}")
    verdict = "[green]passes[/]" if f.accepted else f"[red]refused[/]: {escape(f.reason)}"
    console.print(f"against {outcome.teacher} on {f.items} items: agrees on {f.agreement:.1%}, {f.headline} "
                  f"{f.full_score:.4f} → {f.variant_score:.4f}, {f.full_items_per_second:.1f} → "
                  f"{f.variant_items_per_second:.1f} items/s; {verdict}", highlight=False)
    if outcome.in_use:
        console.print(f"{outcome.teacher} now pre-annotates with {outcome.version}")
        optimized = outcome.optimized
        if isinstance(optimized, str):
            err_console.print(f"[yellow]{outcome.version} not optimised[/]: {escape(optimized)}", highlight=False)
        elif optimized is not None:
            console.print(f"{outcome.version} serves {optimized.in_use} (optimize --variant auto: "
                          + ", ".join(f"{f.variant} {'passes' if f.accepted else 'refused'}" for f in optimized.figures)
                          + ")", highlight=False)
    else:
        console.print(f"{outcome.teacher} keeps serving as before" + (" (--no-use)" if no_use and f.accepted else ""))
    if outcome.interrupted:
        ctx.exit(INTERRUPTED_EXIT)


def optimized_record(optimized) -> dict | str | None:
    """``distill --json``'s ``optimized``: what optimize made of the student (``OptimizeOutcome.to_json``), the
    sentence saying why it was not optimised, or ``None``."""
    return optimized if optimized is None or isinstance(optimized, str) else optimized.to_json()


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (train, retrain, schedule, versions, promote, rollback, evaluate, optimize, distill):
        cli.add_command(command)
