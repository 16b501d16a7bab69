"""``bertanno guidelines PROJECT show|set|edit|log``: a project's annotation guidelines, versioned."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markdown import Markdown
from rich.markup import escape

from bertanno import hookimpl
from bertanno.cli.common import console, err_console, open_store


@click.group(invoke_without_command=True)
@click.argument("project")
@click.pass_context
def guidelines(ctx, project):
    """PROJECT's annotation guidelines: Markdown, versioned; without a subcommand, show them.

    Annotators read them in the app with g; each decision records the version it was
    made under (export --provenance carries it), and a new version is announced to
    every annotator at their next item. A list item that starts with a label gives
    that label's one-line description, shown in the app's legend and given to an llm
    version's prompt (train --family llm):

    \b
      - disease: 疾病或综合征的名称，不含部位
      - **symptom**：患者自述或查体所见

    \b
    Examples:
      bertanno guidelines clinic set guidelines.md
      bertanno guidelines clinic edit
      bertanno guidelines clinic show --version 2
      bertanno guidelines clinic log
    """
    ctx.obj = {**(ctx.obj or {}), "project": project}
    if ctx.invoked_subcommand is None:
        ctx.invoke(show)


@guidelines.command()
@click.option("--version", "version", type=click.IntRange(min=1), help="This version (default: the one in force).")
@click.option("--raw", is_flag=True, help="The Markdown as written, not rendered.")
@click.pass_context
def show(ctx, version, raw):
    """Show the guidelines (rendered Markdown), with the labels each describes."""
    from bertanno.core.guidelines import project_guidelines
    from bertanno.core.project import open_project

    project = ctx.obj["project"]
    store = open_store(ctx)
    found = project_guidelines(store, project, version)
    if found is None:
        console.print(f"{escape(project)} has no guidelines yet: bertanno guidelines {escape(project)} set FILE.md "
                      "(or edit)", highlight=False)
        return
    if raw:
        click.echo(found.text)
        return
    labels = open_project(store, project).labels
    described = found.descriptions(labels)
    console.print(f"[bold]{escape(project)}[/] guidelines, version {found.version} by {escape(found.author)}, "
                  f"{found.created_at:%Y-%m-%d %H:%M}", highlight=False)
    console.print(Markdown(found.text))
    missing = [label for label in labels if label not in described]
    if missing:
        console.print(f"[dim]labels without a one-line description: {escape(', '.join(missing))}[/]", highlight=False)


@guidelines.command(name="set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--author", help="Who wrote this version (default: your user name).")
@click.pass_context
def set_(ctx, file, author):
    """Make FILE (Markdown, UTF-8) the guidelines: a new version unless it is the one in force."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.BadParameter(f"{file} is not UTF-8 text; save it as UTF-8", param_hint="FILE") from None
    _store_version(ctx, text, author)


@guidelines.command()
@click.option("--author", help="Who wrote this version (default: your user name).")
@click.pass_context
def edit(ctx, author):
    """Edit the guidelines in $EDITOR (the version in force, or a template); saving makes a new version."""
    from bertanno.core.guidelines import project_guidelines
    from bertanno.core.project import open_project

    project = ctx.obj["project"]
    store = open_store(ctx)
    found = project_guidelines(store, project)
    if found is None:
        labels = open_project(store, project).labels
        start = f"# {project}: annotation guidelines\n\n## Labels\n\n" + "".join(f"- {label}: \n" for label in labels)
    else:
        start = found.text
    text = click.edit(start, extension=".md", require_save=True)
    if text is None or text == start:
        console.print("unchanged: no new version")
        return
    _store_version(ctx, text, author)


def _store_version(ctx, text: str, author: str | None) -> None:
    from bertanno.app.session import default_annotator
    from bertanno.core.guidelines import set_guidelines
    from bertanno.core.project import open_project

    project = ctx.obj["project"]
    store = open_store(ctx)
    version, new = set_guidelines(store, project, text, author or default_annotator())
    if not new:
        console.print(f"unchanged: version {version.version} is already this text")
        return
    labels = open_project(store, project).labels
    described = version.descriptions(labels)
    console.print(f"guidelines version {version.version} of {escape(project)} saved; annotators see it at their "
                  f"next item", highlight=False)
    console.print(f"labels described: {len(described)} of {len(labels)}"
                  + (f" (not: {escape(', '.join(label for label in labels if label not in described))})"
                     if len(described) < len(labels) else ""), highlight=False)


@guidelines.command()
@click.pass_context
def log(ctx):
    """List the versions: number, author, time, size, and the labels each describes."""
    from bertanno.core.guidelines import history
    from bertanno.core.project import open_project

    project = ctx.obj["project"]
    store = open_store(ctx)
    versions = history(store, project)
    if not versions:
        err_console.print(f"{escape(project)} has no guidelines yet", highlight=False)
        return
    labels = open_project(store, project).labels
    for version in versions:
        console.print(f"{version.version:>3}  {version.created_at:%Y-%m-%d %H:%M}  {escape(version.author)}  "
                      f"{len(version.text):,} characters, {len(version.descriptions(labels))} of {len(labels)} "
                      "labels described", highlight=False)


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    cli.add_command(guidelines)
