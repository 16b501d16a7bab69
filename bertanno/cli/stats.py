"""``bertanno stats``, ``agreement`` and ``report``: whether the model in the loop helps, how far the team agrees, and
the project's progress on a page."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from bertanno import hookimpl
from bertanno.cli.common import console, open_store, where_option


def _number(value, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def _percent(share: float | None) -> str:
    return _number(None if share is None else share * 100, 0, " %")


@click.command()
@click.argument("project")
@click.option("--by", type=click.Choice(["version", "annotator", "label", "day"]), default="version",
              show_default=True, help="What the table groups the decisions by.")
@click.option("--fast-accept", type=click.FloatRange(min=0), default=0.5, show_default=True, metavar="SECONDS",
              help="Flag an annotator whose median accept takes less than this (0: never).")
@where_option
@click.option("--forecast", is_flag=True,
              help="Fit the learning curve of the champion's family to the gate's history and say what more "
                   "decisions buy, and how many items autopilot could take today.")
@click.option("--target", type=click.FloatRange(0, 1), metavar="SCORE",
              help="With --forecast: the score (the task's headline metric) to forecast the decisions and "
                   "person-hours for.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def stats(ctx, project, by, fast_accept, where, forecast, target, as_json):
    """Whether PROJECT's model helps: acceptance, edits, time per item, blind controls.

    From every standing decision a person made: how many pre-annotations were
    accepted unchanged or corrected (and what the corrections changed) per
    model version, seconds and keystrokes per item, items per hour, the model's
    labels people change most, and, with blind control items (init
    --blind-share), the time saved per item with a 95 % bootstrap interval and
    how often people agree with the model when it is shown against when it is
    hidden. A comparison from fewer than 20 items a side says so. The
    rubber-stamp check flags an annotator whose median accept is faster than
    --fast-accept, or who accepts shown pre-annotations markedly more often
    than they agree with hidden ones on blind controls. With gold checks
    (init/configure --gold-share), each annotator's agreement with gold, with
    a 95 % interval and week by week; the champion's calibration (its
    confidence against how often it is right, on the evaluation split); and
    what autopilot labelled, its audited accuracy and the hours it saved.
    --forecast fits the learning curve of the champion's family to the gate's
    history and says what more decisions buy (--target: how many a score
    needs, with its 95 % interval and the person-hours).

    \b
    Examples:
      bertanno stats reviews
      bertanno stats reviews --by annotator
      bertanno stats clinic --where "model:DIS confidence:<0.6"
      bertanno stats reviews --forecast --target 0.92
      bertanno stats reviews --json
    """
    from bertanno.core.stats import counts_line, project_stats

    if target is not None and not forecast:
        raise click.UsageError("--target is the score a forecast aims at: add --forecast")
    figures = project_stats(open_store(ctx), project, by, fast_accept=fast_accept, where=where, forecast=forecast,
                            target=target)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
        return
    if figures["note"]:
        console.print(f"{project}: {figures['note']}")
        model_lines(figures)
        return
    overall, seconds = figures["overall"], figures["seconds_per_item"]
    rate = overall["acceptance_rate"]
    console.print(f"[bold]{escape(project)}[/] · {escape(figures['task'])} · {figures['decisions']} decisions · acceptance "
                  f"{_percent(rate)}")
    console.print(f"seconds per item: {_number(seconds['with_pre_annotation'])} with a pre-annotation "
                  f"({seconds['items_with']} items), {_number(seconds['without_pre_annotation'])} without "
                  f"({seconds['items_without']})")
    table = Table(title=f"by {by}", box=box.SIMPLE_HEAD, padding=(0, 1))
    for column in (by, "decisions", "accepted", "s/item", "keys/item", "items/h"):
        table.add_column(column, justify="left" if column in (by, "decisions") else "right")
    edits = []
    for key, group in sorted(figures["groups"].items()):
        counts = f"{group['decisions']}: {counts_line(group)}"
        rate = group["acceptance_rate"]
        table.add_row(escape(key), counts, _percent(rate),
                      _number(group["median_seconds"]), _number(group["keystrokes_per_item"]),
                      _number(group["items_per_hour"], 0))
        if group["edits"]:
            edits.append(f"{key}: " + ", ".join(f"{name} {count}" for name, count in group["edits"].items()))
    console.print(table)
    console.print("✓ accepted  ✎ corrected  ✗ rejected  ↷ skipped  + labelled with nothing shown")
    for line in edits:
        console.print(f"edits of {escape(line)}")
    if figures["corrected_most"]:
        console.print("corrected most (model → person): " + escape(", ".join(
            f"{row['model']} → {row['person']} {row['count']}" for row in figures["corrected_most"])))
    gold_lines(figures["gold"])
    alarm_lines(figures["alarms"])
    for version, spent in sorted(figures["llm_versions"].items()):
        console.print(escape(llm_line(version, spent, (figures["groups"].get(version) or {}).get("llm")
                                      if by == "version" else None)), highlight=False)
    model_lines(figures)
    blind = figures["blind"]
    if not blind["judged"]:
        console.print(f"blind controls: {blind['note']}")
        return
    low, high = blind["time_saved_ci95"]
    console.print(f"blind controls ({blind['items_shown']} pre-annotated, {blind['items_blind']} blind items): "
                  f"time saved per item {blind['time_saved_seconds']:.1f} s (95 % interval {low:.1f} … {high:.1f}; "
                  f"median {blind['median_seconds_blind']:.1f} s blind, {blind['median_seconds_shown']:.1f} s shown); "
                  f"agreement with the model {blind['agreement_shown']:.0%} when shown, "
                  f"{_percent(blind['agreement_blind'])} when hidden")


def model_lines(figures: dict) -> None:
    """What stats says of the champion whether or not people decided anything yet: its calibration, what autopilot
    labelled, the forecast."""
    calibration_lines(figures["calibration"])
    autopilot_lines(figures["autopilot"])
    forecast_lines(figures["forecast"])


def calibration_lines(calibration: dict | None) -> None:
    """The champion's calibration, one line a level (``core.stats.calibration_summary``)."""
    if calibration:
        for level, figures in calibration["levels"].items():
            console.print(f"calibration of {escape(calibration['version'])} ({level}s): {escape(figures['line'])}",
                          highlight=False)


def autopilot_lines(autopilot: dict | None) -> None:
    """What autopilot labelled and what its audits say (``core.stats.autopilot_figures``)."""
    if not autopilot:
        return
    hours = ("" if autopilot["hours_saved"] is None else
             f", about {autopilot['hours_saved']:.1f} person-hours saved at {autopilot['seconds_per_item']:.1f} s "
             f"an item ({autopilot['seconds_from']})")
    console.print(f"autopilot: {autopilot['labelled']} item(s) on auto labels, {_percent(autopilot['share'])} of the "
                  f"project{hours}", highlight=False)
    for run in autopilot["runs"]:
        audit = f"audit {run['audited']} of {run['size']} decided" + (
            f", {run['right']} right ({run['accuracy']:.1%}, 95 % interval {run['interval'][0]:.3f}–"
            f"{run['interval'][1]:.3f})" if run["audited"] else "")
        console.print(f"  run {run['run']} ({escape(run['version'])}, target {run['target']:g}): {run['labelled']} "
                      f"labelled, {run['status']}; {audit}", highlight=False)


def forecast_lines(forecast: dict | None) -> None:
    """``--forecast``: the learning curve, what more decisions buy, what a target costs, autopilot today."""
    if forecast is None:
        return
    today = forecast.get("autopilot_today")
    if "note" in forecast:
        console.print(f"forecast: {forecast['note']}", highlight=False)
    else:
        curve, points = forecast["curve"], forecast["points"]
        console.print(f"forecast from {len(points)} trained version(s) (score = {curve['a']:.3f} − "
                      f"{curve['b']:.3f}·n^−{curve['c']:.2f}, {curve['refits']} bootstrap refits):", highlight=False)
        for row in forecast["projected"]:
            low, high = row["interval"]
            console.print(f"  at {row['decisions']:,} decisions: {row['score']:.3f} (95 % interval {low:.3f}–"
                          f"{high:.3f})", highlight=False)
        needed = forecast.get("needed")
        if needed is not None:
            low, high = ("never" if v is None else f"{v:,}" for v in needed["more_interval"])
            if needed["more"] is None:
                console.print(f"  {forecast['target']:g} is above the fitted ceiling {curve['a']:.3f}: more decisions "
                              f"alone are not forecast to reach it (95 % interval of the decisions more: {low}–{high})",
                              highlight=False)
            elif needed["more"] == 0:
                console.print(f"  {forecast['target']:g} is reached at today's decisions by the fitted curve",
                              highlight=False)
            else:
                hours = ("" if needed["hours"] is None else
                         f", about {needed['hours']:.1f} person-hours at {forecast['seconds_per_item']:.1f} s an item "
                         f"({forecast['seconds_from']})")
                console.print(f"  {forecast['target']:g} needs about {needed['more']:,} more decisions (95 % interval "
                              f"{low}–{high}){hours}", highlight=False)
        console.print(f"  assuming {forecast['assumptions']}", highlight=False)
    if today:
        console.print(f"autopilot today: {today['items']:,} of {today['undecided']:,} undecided items at target "
                      f"{today['target']:g} (bertanno autopilot --dry-run says which)", highlight=False)


def gold_lines(gold: list[dict]) -> None:
    """Each annotator's agreement with the gold items served as checks, with its 95 % interval and by week."""
    if not gold:
        return
    table = Table(title="gold checks (agreement with gold, 95 % interval)", box=box.SIMPLE_HEAD, padding=(0, 1),
                  title_justify="left")
    for column in ("annotator", "checks", "agreement", "by week"):
        table.add_column(column, justify="right" if column in ("checks", "agreement") else "left", overflow="fold")
    for row in gold:
        low, high = row["ci95"]
        weeks = ", ".join(f"{week[5:]} {right / total:.0%} ({total})" for week, (right, total) in row["by_week"].items())
        table.add_row(escape(row["annotator"]), str(row["checks"]),
                      f"{row['agreement']:.0%} [{low:.0%}–{high:.0%}]", weeks)
    console.print(table)


def alarm_lines(alarms: list[dict]) -> None:
    """The rubber-stamp check: per annotator with accepts, the median accept time, acceptance when shown and
    agreement when hidden; a flagged one in yellow with the reason."""
    if not alarms:
        return
    table = Table(title="rubber-stamp check", box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    for column in ("annotator", "accepts", "median accept s", "accepted when shown", "agree when hidden", "flag"):
        table.add_column(column, justify="left" if column in ("annotator", "flag") else "right", overflow="fold")
    for row in alarms:
        style = "yellow" if row["flags"] else ""
        table.add_row(escape(row["annotator"]), str(row["accepts"]), _number(row["median_accept_seconds"], 2),
                      f"{_percent(row['acceptance_shown'])} of {row['shown']}",
                      f"{_percent(row['agreement_blind'])} of {row['blind']}", "; ".join(row["reasons"]) or "–",
                      style=style)
    console.print(table)


def llm_line(version: str, spent: dict, decided: dict | None) -> str:
    """``m001 (LLM): 120 predictions, 3400 tokens in and 900 out spent (36 an item; 41 a decided item), 7 of 52
    named entities or relations not in the text or not allowed (13 %), 2 unanswered, 80 with a reason``."""
    parts = [f"{version} (LLM): {spent['predictions']} predictions, {spent['tokens_in']} tokens in and "
             f"{spent['tokens_out']} out spent ({spent['tokens_per_prediction']:.0f} an item"
             + (f"; {decided['tokens_per_prediction']:.0f} a decided item)" if decided else ")")]
    if spent["named"]:
        parts.append(f"{spent['dropped']} of {spent['named']} named entities or relations not in the text or not "
                     f"allowed ({spent['hallucinated_share']:.0%})")
    if spent["unanswered"]:
        parts.append(f"{spent['unanswered']} unanswered")
    if spent["with_reason"]:
        parts.append(f"{spent['with_reason']} with a reason (bertanno explain)")
    return ", ".join(parts)


def _figures(scores: dict) -> str:
    """``κ 0.62 · 81 %`` or ``span F1 0.74 (overlap 0.85) · 60 %``: the headline figures of a pair."""
    parts = []
    if "cohen_kappa" in scores:
        parts.append(f"κ {scores['cohen_kappa']:.2f}")
    if "f1_exact" in scores:
        parts.append(f"span F1 {scores['f1_exact']:.2f} (overlap {scores['f1_overlap']:.2f})")
    if "relation_f1_exact" in scores:
        parts.append(f"relation F1 {scores['relation_f1_exact']:.2f} (overlap {scores['relation_f1_overlap']:.2f})")
    parts.append(f"{scores['percent']:.0%} same")
    return " · ".join(parts)


def _per_type(scores: dict) -> list[tuple[str, float]]:
    """``[("disease", 0.81), ...]``: a pair's exact span F1 per entity type (the ``f1_exact/TYPE`` figures of
    ``Task.pair_agreement``), in label order as the task gave them; empty for label tasks."""
    return [(key.split("/", 1)[1], value) for key, value in scores.items() if key.startswith("f1_exact/")]


@click.command()
@click.argument("project")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (every figure, per entity type too).")
@click.pass_context
def agreement(ctx, project, as_json):
    """How far PROJECT's annotators agree with each other and with the model.

    On the items two or more annotators decided (configure --overlap K):
    for each pair, the share of items given the same label and Cohen's
    kappa (labels), or span F1 with exact and overlapping matches, overall
    and per entity type (NER); over everyone, Krippendorff's alpha (labels);
    and for each annotator, the same figures against the model prediction
    they were shown, and (labels) their competence as Dawid–Skene and MACE
    estimate it from all their decisions. Each annotator's latest decision on
    an item counts; skips and rejects are left out.

    \b
    Examples:
      bertanno agreement clinic
      bertanno agreement clinic --json
    """
    from bertanno.core.agreement import project_agreement

    report = project_agreement(open_store(ctx), project)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{escape(report.project)}[/] · {escape(report.task)} · {len(report.annotators)} annotators · "
                  f"{report.overlapping} items decided by two or more")
    if "krippendorff_alpha" in report.group:
        console.print(f"Krippendorff's α (all annotators, nominal): {report.group['krippendorff_alpha']:.3f}")
    table = Table(title="annotator pairs", box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    for column in ("annotators", "items", "agreement"):
        table.add_column(column, overflow="fold")
    for pair in report.pairs:
        table.add_row(f"{escape(pair['first'])} · {escape(pair['second'])}", str(pair["items"]), _figures(pair))
        for kind, f1 in _per_type(pair):
            table.add_row(f"  {escape(kind)}", "", f"span F1 {f1:.2f}")
    console.print(table)
    if report.model:
        table = Table(title="each annotator against the model's pre-annotations", box=box.SIMPLE_HEAD,
                      padding=(0, 1), title_justify="left")
        for column in ("annotator", "items", "agreement"):
            table.add_column(column, overflow="fold")
        for row in report.model:
            table.add_row(escape(row["annotator"]), str(row["items"]), _figures(row))
            for kind, f1 in _per_type(row):
                table.add_row(f"  {escape(kind)}", "", f"span F1 {f1:.2f}")
        console.print(table)
    if report.competence:
        table = Table(title="each annotator's estimated competence (the chance their label is the true one)",
                      box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
        for column in ("annotator", "Dawid–Skene", "MACE"):
            table.add_column(column, justify="left" if column == "annotator" else "right")
        for name in report.annotators:
            table.add_row(escape(name), *(_number(report.competence[method].get(name), 2)
                                          for method in ("dawid-skene", "mace")))
        console.print(table)


@click.command()
@click.argument("project")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="The folder for report.html and its figures (default: PROJECT-report).")
@click.pass_context
def report(ctx, project, output):
    """Write PROJECT's progress as a web page with figures: one self-contained
    report.html (open it in any browser, mail it) and each figure as a PNG.

    Items decided over time; each annotator's items per hour and median
    seconds per item; the settled labels; the annotators' agreement matrix
    (Cohen's kappa, or span F1 for entities); the model versions' scores on
    the evaluation split over time, the project's learning curve; and the
    share of pre-annotations accepted unchanged per model version. Needs
    matplotlib: pip install 'bertanno[report]'.

    \b
    Example:
      bertanno report clinic -o clinic-report/
    """
    from bertanno.app.report import project_report

    files = project_report(open_store(ctx), project, output or Path(f"{project}-report"))
    console.print(f"wrote {escape(str(files.page))} with {len(files.images)} figure(s)", highlight=False)
    for section in files.sections:
        if section.figure is None:
            console.print(f"  {escape(section.title)}: {escape(section.empty)}", highlight=False)


def shown_payload(task, text: str, stored) -> str:
    """A stored payload as a person reads it on one line: a label; entities as ``SURFACE:TYPE``; relations as
    ``HEAD ─TYPE→ TAIL`` after the entities; ``(none)`` for a model that gave no answer."""
    if stored is None:
        return "(no answer)"
    payload = task.payload_from_json(stored)
    if isinstance(payload, str):
        return payload
    spans, relations = (payload.spans, payload.relations) if hasattr(payload, "relations") else (payload, ())
    entities = ", ".join(f"{text[s.start:s.end]}:{s.label}" for s in spans) or "(no entities)"
    links = "; ".join(f"{text[r.head.start:r.head.end]} ─{r.label}→ {text[r.tail.start:r.tail.end]}"
                      for r in relations)
    return entities + (f"; {links}" if links else "")


@click.command()
@click.argument("project")
@click.argument("item", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def explain(ctx, project, item, as_json):
    """Why PROJECT's ITEM was pre-annotated as it was: every model's proposal for it, an LLM's stated reason,
    what that cost, and the decisions people made.

    ITEM is the item's number as the annotation screen shows it (item 12/300). For
    each stored prediction: the version, when, the proposal, its confidence and,
    from an llm version, the model's reason for its label, the tokens it took in and
    gave out, the demonstrations it was shown, and how many entities it named that
    were not in the text (dropped, never shown).

    \b
    Examples:
      bertanno explain reviews 12
      bertanno explain clinic 3 --json
    """
    from bertanno.core.project import open_project

    handle = open_project(open_store(ctx), project)
    known = handle.explain(item)
    if as_json:
        click.echo(json.dumps(known, ensure_ascii=False, indent=2))
        return
    text = known["text"]
    split = {"eval": " (evaluation split)", "train": " (training split)"}.get(known["split"] or "", "")
    console.print(f"[bold]{escape(project)}[/] · item {item}{split}", highlight=False)
    console.print(escape(text if known["text_b"] is None else f"{text}\n{known['text_b']}"), highlight=False)
    if not known["predictions"]:
        console.print("no model has pre-annotated it yet")
    for prediction in known["predictions"]:
        details = prediction["details"]
        sure = "" if details.get("unanswered") or not prediction["confidence"] else \
            f" · {prediction['confidence']:.0%} sure"
        console.print(f"[bold]{escape(prediction['version'])}[/] {prediction['created_at']}{sure}: "
                      f"{escape(shown_payload(handle.task, text, prediction['payload']))}", highlight=False)
        if details.get("reason"):
            console.print(f"  why: {escape(details['reason'])}", highlight=False)
        spent = []
        if "tokens_in" in details:
            spent.append(f"{details['tokens_in']} tokens in, {details.get('tokens_out', 0)} out"
                         + (" (answered from the cache)" if details.get("cached") else ""))
        if details.get("shots"):
            spent.append(f"{details['shots']} demonstrations shown")
        if details.get("dropped"):
            spent.append(f"{details['dropped']} of {details.get('named', 0)} named not in the text or not allowed "
                         "(dropped)")
        if details.get("unanswered"):
            spent.append("no usable answer, asked twice")
        if spent:
            console.print("  " + " · ".join(spent), highlight=False)
    for decision in known["decisions"]:
        console.print(f"decided by {escape(decision['annotator'])} ({decision['source']}, {decision['decision']}) "
                      f"{decision['created_at']}: {escape(shown_payload(handle.task, text, decision['payload']))}",
                      highlight=False)
    for auto in known["auto_labels"]:
        state = {"auditing": "provisional: its run is being audited", "passed": "its run's audit passed",
                 "withdrawn": "withdrawn"}[auto["status"]]
        console.print(f"auto label of autopilot run {auto['run']} ({escape(auto['version'])}, calibrated "
                      f"{auto['probability']:.2f}{', in the audit sample' if auto['audit'] else ''}; {state}): "
                      f"{escape(shown_payload(handle.task, text, auto['payload']))}", highlight=False)
    for comment in known["comments"]:
        flag = " (flagged for discussion)" if comment["flagged"] else ""
        console.print(f"comment by {escape(comment['author'])} {comment['created_at']}{flag}: "
                      f"{escape(comment['text'])}", highlight=False)


@click.command()
@click.argument("project")
@click.option("--flagged", is_flag=True, help="Only the items someone flagged for discussion.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def comments(ctx, project, flagged, as_json):
    """The comments people left on PROJECT's items (# in the annotation app), item by item.

    A comment that starts with ! flags its item for discussion; --flagged lists
    only those items. Items are numbered as the annotation screen numbers them
    (bertanno explain PROJECT N shows one whole); export --provenance carries
    each item's comments.

    \b
    Examples:
      bertanno comments clinic
      bertanno comments clinic --flagged
    """
    from bertanno.core.project import open_project

    listing = open_project(open_store(ctx), project).comment_listing(flagged)
    if as_json:
        click.echo(json.dumps(listing, ensure_ascii=False, indent=2))
        return
    if not listing:
        console.print(f"no {'flagged items' if flagged else 'comments'} in {escape(project)}", highlight=False)
        return
    for entry in listing:
        text = " ".join(entry["text"].split())
        console.print(f"[bold]item {entry['item']}[/]: {escape(text if len(text) <= 60 else text[:59] + '…')}",
                      highlight=False)
        for comment in entry["comments"]:
            flag = " [yellow](flagged)[/]" if comment["flagged"] else ""
            console.print(f"  {escape(comment['author'])}, {comment['created_at'][:16].replace('T', ' ')}{flag}: "
                          f"{escape(comment['text'])}", highlight=False)


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (stats, agreement, report, explain, comments):
        cli.add_command(command)
