"""``bertanno models``, ``bertanno plugins`` and ``bertanno formats``: what this installation has."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from bertanno import __version__, hookimpl
from bertanno.cli.common import console, err_console


@click.command()
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
    table = Table(title="Domain model aliases", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("alias · hub id · tokens", overflow="fold", max_width=31)
    table.add_column("here", no_wrap=True)
    table.add_column("what it is", ratio=1, min_width=20)
    for row in rows:
        available = "[green]yes[/]" if row["available"] else "[yellow]no[/]"
        table.add_row(f"[bold]{escape(row['name'])}[/]\n[dim]{escape(row['hub_id'])}[/]\n{row['max_length']} tokens",
                      available, escape(row["description"]))
    console.print(table)
    console.print("Any hub id or local directory works too. Check one with: bertanno models --check NAME_OR_PATH")
    families = Table(title="Model families (what serves pre-annotations)", box=box.SIMPLE_HEAD, pad_edge=False,
                     title_justify="left")
    families.add_column("family · serves", max_width=16)
    families.add_column("labels", max_width=14)
    families.add_column("ready here", max_width=18)
    families.add_column("what it is", ratio=1, min_width=20)
    for row in model_info.list_families():
        ready = "[green]yes[/]" if row["ready"] else f"[yellow]no[/]: {escape(row['install'])}"
        labels = ", ".join(row["labels"]) or ("its term lists' types" if row["configured"] else "the project's")
        families.add_row(f"[bold]{escape(row['name'])}[/]\n{', '.join(row['example_kinds'])}", escape(labels),
                         ready, escape(f"{row['description']}\n{row['origin']}"))
    console.print(families)
    console.print("A zero-shot family serves a new project from its first item: bertanno init P --zero-shot FAMILY")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "show_all", is_flag=True, help="Also bertanno's own built-in plugins.")
def plugins(as_json, show_all):
    """List installed plugins: their hooks, versions, origins and what they register.

    bertanno's own tasks, formats, model families and commands come in
    through the same hooks as built-in plugins; --all lists them too.
    BERTANNO_LOAD_PLUGINS=a,b loads only the named entry-point plugins ("" loads
    none).

    \b
    Examples:
      bertanno plugins --all
      BERTANNO_LOAD_PLUGINS=topics bertanno plugins --json
    """
    from bertanno.core.plugins import get_plugins

    loaded = get_plugins()
    everything = [asdict(info) for info in loaded.info()]
    rows = [row for row in everything if show_all or not row["builtin"]]
    hidden = len(everything) - len(rows)
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
    if rows:
        console.print(table)
    else:
        console.print("no plugins installed beyond bertanno's own")
    if hidden:
        console.print(f"{hidden} built-in plugin(s) not shown: --all lists them", style="dim")
    for problem in problems:
        err_console.print(f"[red]plugin {escape(problem['plugin'])}:[/] {escape(problem['problem'])}")



@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def formats(as_json):
    """List the file formats import and export know: what each carries and refuses.

    Built-in formats and plugins' formats alike. "recognised" says how import
    picks a format without --format: by extension, by the file's content, or by
    the files in a directory. "predictions": rows written by bertanno predict
    come in as pre-annotations.

    \b
    Example:
      bertanno formats --json
    """
    from bertanno.core.import_export import list_formats

    rows = list_formats()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title="File formats (import reads, export writes)")
    table.add_column("format", no_wrap=True)
    table.add_column("kinds", max_width=10)
    table.add_column("recognised", max_width=16)
    table.add_column("carries", max_width=16)
    table.add_column("refuses on export", ratio=1, min_width=16)
    for row in rows:
        shape = "a directory" if row["directory"] else ", ".join(row["extensions"]) or "--format only"
        recognised = shape + (" + content" if row["sniffs"] and not row["directory"] else "")
        carries = ", ".join(part for part, present in (("labels", row["labels"]), ("meta", row["meta"]),
                                                       ("predictions", row["pre_annotations"])) if present)
        refuses = "cannot write" if not row["writes"] else row["refuses"] or "nothing"
        name = row["name"] if row["plugin"].startswith("bertanno.") else f"{row['name']} ({row['plugin']})"
        table.add_row(escape(name), ", ".join(row["kinds"]), escape(recognised), carries or "texts only",
                      escape(refuses))
    console.print(table)
    console.print("Every format takes --option label_map=…; the others: bertanno import --help")


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (models, plugins, formats):
        cli.add_command(command)
