"""Projects and their data: ``init``, ``projects``, ``import``, ``export``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bertanno import hookimpl
from bertanno.cli.common import (
    SHOWN_REFUSALS,
    console,
    dash_is_stdout,
    err_console,
    open_store,
    parse_labels,
    parse_options,
    when_interrupted,
    where_option,
)
from bertanno.errors import BertannoError
from bertanno.store.projects import MAX_BLIND_SHARE, MAX_OVERLAP
from bertanno.store.schema import SETTLE_RULES


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


def team_options(function):
    """--overlap and --settle, shared by init and configure."""
    function = click.option("--settle", type=click.Choice(SETTLE_RULES),
                            help="How the overlapping decisions settle an item (default unanimous: all agree; "
                                 "majority: more than half; dawid-skene or mace, label tasks: the most probable "
                                 "label when each annotator's reliability is estimated from all their decisions); "
                                 "otherwise a review decides.")(function)
    return click.option("--overlap", type=click.IntRange(1, MAX_OVERLAP), metavar="K",
                        help="Serve each item to K different annotators (default 1).")(function)


@click.command()
@click.argument("project")
@click.option("--task", "task_name", required=True,
              help="sentiment, ner, pair, relations, or a plugin's task (bertanno plugins).")
@click.option("--labels", help="Comma-separated label set (entity types for ner and relations). Default: the task's own.")
@click.option("--relations", metavar="NAME:HEAD>TAIL,…",
              help="relations: the relation types and the entity types each joins (quote it: > and | mean something "
                   "to the shell), e.g. "
                   "sell_drugs_to:Nh>Nh,traffic_in:Nh>NDR (> directed, - undirected, | any of, * any type).")
@click.option("--model", help="Domain model: alias, hub id or directory (default: bert-base-chinese when its weights "
                               "are on this machine, else zh-mini, shipped with bertanno).")
@click.option("--zero-shot", "zero_shot", metavar="FAMILY",
              help="A model family that pre-annotates from the first item, before any training: snownlp "
                   "(sentiment), lac (person, place, organisation, time), llm (any labels, through --llm-model), or "
                   "a plugin's (bertanno models).")
@click.option("--llm-model", metavar="NAME",
              help="With --zero-shot llm: the model the endpoint serves (e.g. qwen2.5:7b for Ollama).")
@click.option("--llm-url", metavar="URL",
              help="With --zero-shot llm: the OpenAI-compatible endpoint (default Ollama's http://127.0.0.1:11434/v1; "
                   "vLLM: http://127.0.0.1:8000/v1; llama.cpp's server: http://127.0.0.1:8080/v1).")
@click.option("--llm-key-env", metavar="VAR",
              help="With --zero-shot llm: the environment variable holding the API key (default BERTANNO_LLM_KEY); "
                   "the key is read from it at each request, never stored.")
@click.option("--llm-concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="With --zero-shot llm: requests at a time.")
@click.option("--llm-rpm", type=click.FloatRange(min=0.1), metavar="N",
              help="With --zero-shot llm: at most N requests a minute (default: no limit).")
@click.option("--llm-samples", type=click.IntRange(1, 20), default=1, show_default=True, metavar="K",
              help="With --zero-shot llm, for a server that gives no log-probabilities: ask K times (the first at "
                   "temperature 0) and take the share that agree as the confidence; K times the tokens. 1: no "
                   "confidence (--order uncertain serves such items first).")
@click.option("--allow-remote", is_flag=True,
              help="With --zero-shot llm: allow a plain http:// URL on another machine (the texts leave this "
                   "machine unencrypted).")
@click.option("--gazetteer", "gazetteer", multiple=True, metavar="LIST",
              help="NER: pre-annotate the terms of typed term lists (term<TAB>TYPE; built-in medical, legal, or a "
                   "file) from the first item. Repeatable.")
@click.option("--map", "label_map", multiple=True, metavar="FAMILY_LABEL=LABEL,…",
              help="With --zero-shot or --gazetteer: which project label each of the family's labels (a list's "
                   "entity types) becomes (same-named labels map themselves). Repeatable.")
@click.option("--blind-share", default=0.0, show_default=True, type=click.FloatRange(0, MAX_BLIND_SHARE),
              metavar="FRACTION",
              help="Serve this share of items (chosen at random per item, at most 0.5) without any pre-annotation: "
                   "blind controls that show how much the model saves and whether it sways the annotators.")
@click.option("--gold-share", default=0.0, show_default=True, type=click.FloatRange(0, MAX_BLIND_SHARE),
              metavar="FRACTION",
              help="Serve gold items (the evaluation split's imported labels: import FILE --split eval) in this "
                   "share of draws (at most 0.5) as ordinary items: checks of each annotator against gold, shown "
                   "by stats; they never change the gold label.")
@click.option("--model-later", is_flag=True,
              help="Create the project even though --model cannot be loaded here yet (download it before training).")
@team_options
@click.pass_context
def init(ctx, project, task_name, labels, relations, model, zero_shot, llm_model, llm_url, llm_key_env,
         llm_concurrency, llm_rpm, llm_samples, allow_remote, gazetteer, label_map, blind_share, gold_share, overlap,
         settle, model_later):
    """Create PROJECT: one task, one label set, one domain model.

    With --zero-shot, a model that needs no training serves the first pre-annotations (version
    z001, the champion until the gate promotes a trained model); with --gazetteer,
    typed term lists do (version g001, longest-leftmost matches); with --zero-shot llm, a large
    language model behind an OpenAI-compatible endpoint does (Ollama, vLLM, llama.cpp's server;
    version m001), with the project's own labels.

    \b
    Examples:
      bertanno init reviews --task sentiment --labels negative,positive
      bertanno init reviews --task sentiment --zero-shot snownlp
      bertanno init news --task ner --labels person,place \\
          --zero-shot lac --map PER=person,LOC=place
      bertanno init clinic --task ner --labels disease,drug --gazetteer medical
      bertanno init clinic --task ner --labels disease,drug \\
          --zero-shot llm --llm-model qwen2.5:7b
      bertanno init records --task ner --labels disease,drug --model medbert
      bertanno init cases --task relations --labels Nh,NDR \\
          --relations "sell_drugs_to:Nh>Nh,traffic_in:Nh>NDR"
    """
    from bertanno.app.new_project import create_project
    from bertanno.core.hub import default_model, model_reference
    from bertanno.core.import_export import check_new_labels
    from bertanno.core.plugins import get_plugins

    mapping = parse_label_map(label_map)
    if mapping and not (zero_shot or gazetteer):
        raise click.UsageError("--map maps a zero-shot family's labels; name the family with --zero-shot or "
                               "give --gazetteer")
    plugins = get_plugins()
    if relations is not None and task_name != "relations":
        raise click.UsageError("--relations gives a relations project its relation types; use it with --task "
                               "relations")
    task = plugins.task(task_name, labels=parse_labels(labels),
                        **({"relations": relations} if relations is not None else {}))
    label_warnings = check_new_labels(task, plugins)  # a label no format can carry: refused here, not at export
    llm_given = any(v is not None for v in (llm_model, llm_url, llm_key_env, llm_rpm)) or allow_remote or \
        llm_samples > 1
    if llm_given and zero_shot != "llm":
        raise click.UsageError("--llm-model, --llm-url, --llm-key-env, --llm-rpm, --llm-samples and --allow-remote "
                               "configure --zero-shot llm")
    zero_shot_options = None
    if zero_shot == "llm":
        from bertanno.plugins.builtin.llm_family import llm_options

        zero_shot_options = llm_options(task, llm_model, llm_url, llm_key_env, allow_remote, llm_concurrency,
                                        llm_rpm, llm_samples)
    chosen = None
    if model is None:
        model, chosen = default_model(plugins)  # one that is on this machine
    elif not model_later:
        check_model_at_init(project, model, plugins)
    model = model_reference(model)
    from bertanno.store.database import missing_sqlite_file

    new_file = missing_sqlite_file(ctx.find_root().obj["db"])
    store = open_store(ctx, create=True)
    try:
        created = create_project(store, project, task, model, zero_shot, mapping, gazetteer=list(gazetteer),
                                 blind_share=blind_share, overlap=overlap or 1, settle=settle or "unanimous",
                                 gold_share=gold_share,
                                 zero_shot_options=zero_shot_options)
    except BaseException:
        if new_file is not None:  # a database made for this project alone: leave nothing behind
            store.close()
            for leftover in (new_file, *(new_file.with_name(new_file.name + end) for end in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        raise
    console.print(f"created project [bold]{project}[/]: task {task.name}, labels {escape(', '.join(task.labels))}, "
                  f"model {escape(model)} (in {escape(store.url)})")
    if task.config.get("relations"):
        console.print(f"relations: {escape(task.config['relations'])}")
    if chosen:
        console.print(f"model: {escape(chosen)}", highlight=False, soft_wrap=False)  # word-wrapped: a long sentence
    for warning in label_warnings:
        err_console.print(f"[yellow]note[/]: {escape(warning)}", highlight=False)
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


def check_model_at_init(project: str, model: str, plugins) -> None:
    """Load ``model`` as ``bertanno models --check`` does; re-raise its refusal (same class and exit code) with
    what to do about the project."""
    from bertanno.core.model_info import check_model

    with err_console.status(f"checking that {escape(model)} loads …"):
        try:
            check_model(model, plugins)
        except BertannoError as exc:
            raise type(exc)(f"{exc}\nproject {project!r} was not created. Create it with a model that is here (leave "
                            "out --model: zh-mini is shipped), or now and fetch the model before training: add "
                            "--model-later") from None


@click.command()
@click.argument("project")
@click.option("--blind-share", type=click.FloatRange(0, MAX_BLIND_SHARE), metavar="FRACTION",
              help="Serve this share of the items still to decide (at most 0.5) without any pre-annotation: blind "
                   "controls for bertanno stats. 0 turns them off.")
@click.option("--gold-share", type=click.FloatRange(0, MAX_BLIND_SHARE), metavar="FRACTION",
              help="Serve a gold item of the evaluation split as a check in this share of draws (at most 0.5; "
                   "0 turns them off).")
@team_options
@click.pass_context
def configure(ctx, project, blind_share, gold_share, overlap, settle):
    """Show PROJECT's settings, or change those that can change after init.

    The blind draw is fixed per item, so raising the share keeps every item
    that was blind blind and adds more; decisions already made keep what was
    recorded for them.

    With --overlap K each item is served to K different annotators (never
    twice to one of them) and counts for training once it is settled: all K
    agree (--settle unanimous), more than half agree (--settle majority), the
    label most probable once each annotator's reliability is estimated from all
    their decisions is over one half (--settle dawid-skene or mace, label and
    pair tasks), or a review decides. An overlap above the number of people who
    have worked on the project is refused.

    \b
    Examples:
      bertanno configure clinic                    the settings
      bertanno configure clinic --blind-share 0.1  one item in ten blind
      bertanno configure clinic --gold-share 0.05  one draw in twenty a gold check
      bertanno configure clinic --overlap 2        two annotators per item
      bertanno configure reviews --overlap 3 --settle dawid-skene
    """
    from bertanno.app.new_project import set_blind_share, set_gold_share, set_team
    from bertanno.core.project import open_project

    store = open_store(ctx)
    if overlap is not None or settle is not None:
        before = set_team(store, project, overlap, settle)
        handle = open_project(store, project)
        console.print(f"team of {escape(project)}: overlap {before[0]} → {handle.overlap}, settle {before[1]} → "
                      f"{handle.settle} (for items served from now on)", highlight=False)
    if blind_share is not None:
        before = set_blind_share(store, project, blind_share)
        console.print(f"blind share of {escape(project)}: {before:g} → {blind_share:g} (for sessions opened from now on)",
                      highlight=False)
    if gold_share is not None:
        before = set_gold_share(store, project, gold_share)
        console.print(f"gold share of {escape(project)}: {before:g} → {gold_share:g} (for sessions opened from now on)",
                      highlight=False)
    handle = open_project(store, project)
    console.print(f"project [bold]{escape(handle.name)}[/]: task {handle.task.name}, labels "
                  f"{escape(', '.join(handle.labels))}, model {escape(handle.model)}, blind share "
                  f"{handle.blind_share:g}, gold share {handle.gold_share:g}, overlap {handle.overlap} "
                  f"({handle.settle})", highlight=False)


@click.command()
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


@click.command(name="import")
@click.argument("project")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "format_name", help="Input format (default: guessed from the file).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Format option, repeatable: columns=text,label  label_map=0=negative,1=positive  end=inclusive")
@click.option("--skip-bad", is_flag=True, help="Import the good rows and report the bad ones (default: import nothing).")
@click.option("--split", type=click.Choice(["eval"]),
              help="eval: a gold evaluation file; its items are never trained on.")
@click.option("--json", "as_json", is_flag=True,
              help="The summary as JSON: the counts, the rows skipped and what was left out, per reason.")
@click.pass_context
def import_(ctx, project, file, format_name, options, skip_bad, split, as_json):
    """Add the items of FILE to PROJECT; labels in the file become gold annotations.

    Re-importing adds nothing twice: items are matched on their normalised text. The import
    is all or nothing unless --skip-bad is given. The summary accounts for the whole file:
    what was stored, and per reason what was left out or changed (--json: the same). With --split eval the file is a gold
    evaluation set: every row needs a label, and its items are never trained on (the gate
    scores every new version on them). The output of bertanno predict goes in as
    pre-annotations, never as gold.

    \b
    Examples:
      bertanno import reviews waimai.csv --option label_map=0=negative,1=positive
      bertanno import reviews gold.jsonl --split eval
      bertanno import records train.txt --format conll
      bertanno import pairs dev.txt --option columns=text,text_b,label
      bertanno import records saved-dataset/   a Hugging Face dataset (hf)
    """
    from bertanno.core.import_export import import_file

    when_interrupted(f"nothing of {file} was imported: an import is stored whole or not at all")
    with err_console.status(f"reading {escape(str(file))} …") as status:
        report = import_file(open_store(ctx), project, file, format_name, parse_options(options), skip_bad,
                             split=split, progress=lambda line: status.update(escape(line)))
    if as_json:
        click.echo(json.dumps({
            "file": str(file), "read": report.read, "added": report.added, "already_there": report.duplicates,
            "gold_labels": report.labelled, "conflicts": report.conflicts, "unsettled": report.unsettled,
            "predictions": report.predictions, "evaluation": report.evaluation,
            "kept_in_training": report.kept_in_training,
            "skipped": [{"line": e.line, "message": e.message} for e in report.errors],
            "left_out": [note.message for note in report.notes]}, ensure_ascii=False, indent=2))
        return
    for error in report.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(file))}:{error.line}: {escape(error.message)}")
    console.print(f"{file}: {report.read} items read, {report.added} added, {report.duplicates} already there, "
                  f"{report.labelled} gold labels stored" + (f", {len(report.errors)} bad rows skipped" if report.errors else ""))
    if report.conflicts:
        err_console.print(f"[yellow]{report.conflicts} text(s) already in the project carry another label in the "
                          "file[/]: the stored one stays (see both with bertanno export --provenance)")
    if report.unsettled:
        err_console.print(f"[yellow]{report.unsettled} text(s) repeat in the file with different labels[/]: "
                          "stored without a gold label, never settled by which row came first (the labels and "
                          "their lines are in the item's meta.conflicting_labels); decide them in bertanno "
                          "annotate", highlight=False)
    for note in report.notes:
        err_console.print(f"[yellow]note[/] {escape(str(file))}: {escape(note.message)}", highlight=False)
    if report.predictions:
        console.print(f"{report.predictions} predicted label(s) stored as pre-annotations (not as gold)")
    if split:
        console.print(f"{report.evaluation} items in the evaluation split")
    if report.kept_in_training:
        err_console.print(f"[yellow]{report.kept_in_training} item(s) of the file are already in the training split[/] "
                          "(a version may have trained on them); they stay there")


@click.command()
@click.argument("project")
@click.option("--format", "format_name",
              help="jsonl (lossless), conll (character BIO), csv, tsv, txt (texts only), hf (a datasets "
                   "directory), doccano, label-studio, brat, webanno-tsv, or a plugin's: see bertanno formats. "
                   "Default: the one format that writes -o's extension for this task, else jsonl.")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=dash_is_stdout,
              help="File (directory for hf); default or -: standard output.")
@click.option("--only", type=click.Choice(["all", "human", "corrected", "accepted", "auto", "disagreements"]),
              default="all", show_default=True,
              help="all: gold imports, human decisions and autopilot's labels; human: people only; corrected / "
                   "accepted: those decisions; auto: autopilot's labels only; disagreements: items a team decided "
                   "without settling them, unlabelled, each annotator's decision in meta.decisions (jsonl), for a "
                   "review outside bertanno.")
@click.option("--provenance", is_flag=True, help="Add who decided what, when, and from which file (jsonl: in meta); "
                                                 "for an item several annotators decided, each one's decision.")
@where_option
@click.pass_context
def export(ctx, project, format_name, output, only, provenance, where):
    """Write PROJECT's annotations: the standing label of every annotated item
    (with an overlap: the settled one; items still waiting for agreement or a
    review are left out, see --only disagreements).

    Autopilot's labels (bertanno autopilot) are exported with the rest unless
    --only human; --provenance marks each as source auto, with its version,
    threshold and calibrated probability, and whether its audit is still open.

    Every format reads back what it writes. An item a format cannot carry (a line
    break in a CoNLL text, a tab in a TSV text, nested spans in CoNLL) is left out
    and named with the reason; jsonl carries everything.

    \b
    Example:
      bertanno export reviews -o reviews.csv          # csv, from the extension
      bertanno export clinic --format brat -o for-brat/
      bertanno export clinic --where "label:DIS -is:flagged" -o dis.jsonl
    """
    from bertanno.core.import_export import export_format_for, export_project
    from bertanno.core.project import open_project

    store = open_store(ctx)
    if format_name is None:
        format_name = export_format_for(output, open_project(store, project).task.example_kind)
    report = export_project(store, project, format_name, output, only, provenance, where=where)
    if report.text is not None:
        click.echo(report.text, nl=False)
    what = "items awaiting a review" if only == "disagreements" else "annotated items"
    err_console.print(f"{report.written} {what} exported" + (f" to {output}" if output else ""),
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



@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (init, configure, projects, import_, export):
        cli.add_command(command)
