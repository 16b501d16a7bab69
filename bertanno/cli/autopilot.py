"""``bertanno autopilot``: let the champion label what it is sure enough of, audited blind by people."""

from __future__ import annotations

import json

import click
from rich.markup import escape

from bertanno import hookimpl
from bertanno.cli.common import console, err_console, open_store, progress_bar


@click.command()
@click.argument("project")
@click.option("--target", type=click.FloatRange(0.5, 1, max_open=True), default=0.97, show_default=True,
              help="The accuracy the auto labels must reach, proven by a one-sided 95 % lower bound, not the "
                   "point estimate.")
@click.option("--max-share", type=click.FloatRange(0, 1, min_open=True), default=0.8, show_default=True,
              help="At most this share of the undecided items is labelled; the rest stays for people.")
@click.option("--audit", type=click.IntRange(min=1), metavar="N",
              help="Items of the run audited blind by people first (default: as many as the target needs to be "
                   "proven if the labels are as good as expected).")
@click.option("--seed", type=int, default=0, show_default=True, help="The audit sample's random seed.")
@click.option("--dry-run", is_flag=True, help="Say what it would label, label nothing.")
@click.option("--status", "show_status", is_flag=True, help="Show every run and its audit; start nothing.")
@click.option("--withdraw", is_flag=True, help="Withdraw the labels of the run being audited; its items go back "
                                               "to the queue.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def autopilot(ctx, project, target, max_share, audit, seed, dry_run, show_status, withdraw, as_json):
    """Let PROJECT's champion label the undecided items it is sure enough of.

    The champion's calibration (fitted on the evaluation split, refitted when
    the split has grown) says how often it is right at each confidence.
    Autopilot takes the most confident undecided items, as many as keep a
    one-sided 95 % lower bound of their expected accuracy at --target, and
    labels them as auto: a source of its own, never gold, never trained on,
    left out by export --only human. The rest stays in the queue.

    A random sample of the auto-labelled items (the audit) is served to
    people first, without the model's label, like blind controls. Their
    decisions measure the auto labels' real accuracy (Wilson 95 % interval);
    the labels are provisional until the sample is decided. When the
    interval falls below the target, every label of the run is withdrawn and
    its items return to the queue; otherwise the run passes. bertanno stats
    shows the share labelled, the audited accuracy and the hours saved.

    \b
    Examples:
      bertanno autopilot reviews --dry-run
      bertanno autopilot reviews --target 0.95 --max-share 0.5
      bertanno autopilot reviews --status
    """
    from bertanno.app.autopilot import (
        autopilot_runs,
        check_audit,
        plan_autopilot,
        start_autopilot,
        withdraw_autopilot,
    )

    store = open_store(ctx)
    if withdraw:
        state = withdraw_autopilot(store, project)
        _say(as_json, [state], f"withdrawn: {state.describe()}")
        return
    if show_status:
        check_audit(store, project)
        states = autopilot_runs(store, project)
        _say(as_json, states, "\n".join(s.describe() for s in states) or f"{project} has no autopilot run yet")
        return
    with progress_bar("predicting undecided items", unit="items") as advance:
        plan = plan_autopilot(store, project, target, max_share, audit, seed, progress=advance)
    fields = ("version", "target", "max_share", "calibration", "pool", "threshold", "estimate", "bound", "seed",
              "capped", "reason")
    shown = {name: getattr(plan, name) for name in fields}
    shown.update(labelled=len(plan.chosen), audit=len(plan.audit), dry_run=dry_run)
    if not as_json:
        console.print(f"calibration of {escape(plan.version)}: {escape(plan.calibration)}", highlight=False)
    if not plan.chosen or dry_run:
        if as_json:
            click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        else:
            console.print(escape(plan.describe()) + (" (dry run: nothing labelled)" if plan.chosen else ""),
                          highlight=False)
        return
    run = start_autopilot(store, plan)
    if as_json:
        click.echo(json.dumps({**shown, "run": run}, ensure_ascii=False, indent=2))
        return
    console.print(f"run {run}: {escape(plan.describe())}", highlight=False)
    err_console.print(f"the labels are provisional until people have decided the {len(plan.audit)} audit item(s): "
                      f"bertanno annotate {escape(project)} serves them first; bertanno autopilot "
                      f"{escape(project)} --status shows the audit", highlight=False)


def _say(as_json: bool, states: list, text: str) -> None:
    if as_json:
        click.echo(json.dumps([state.to_json() for state in states], ensure_ascii=False, indent=2))
    else:
        console.print(escape(text), highlight=False)


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    cli.add_command(autopilot)
