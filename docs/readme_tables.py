"""The README's reference tables, generated from the code with cog (https://cog.readthedocs.io), as llm's docs
are: the commands from the click group, the file formats from their ``FileFormat``, the model families from
their ``ModelFamily``, the hooks from the hookspecs. The README calls these between ``[[[cog`` markers.

    cog -r -I docs README.md        # regenerate the tables after changing a command, format, family or hook
    cog --check -I docs README.md   # what make test runs: fails when a table differs from the code
"""

from __future__ import annotations

import inspect
import os

import click


def _cell(text: str) -> str:
    """One Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _plugins():
    from bertanno.core.plugins import Plugins

    return Plugins(load_entrypoints=False)  # bertanno's own, whatever is installed beside it


def _commands(group: click.Group, ctx: click.Context, prefix: str):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        sub = click.Context(command, info_name=name, parent=ctx)
        if isinstance(command, click.Group):  # its own arguments come before its subcommand's name
            arguments = " ".join(p.make_metavar(sub) for p in command.params if isinstance(p, click.Argument))
            yield from _commands(command, sub, f"{prefix} {name} {arguments}".strip())
        else:
            yield f"{prefix} {name}", command, sub


def commands() -> str:
    """``| command | what it does | options |``: every command of the ``bertanno`` group and its subgroups, in
    the order ``--help`` lists them, with its arguments, the first paragraph of its help and its options."""
    os.environ["BERTANNO_LOAD_PLUGINS"] = ""  # bertanno's own commands, whatever is installed beside it
    from bertanno.cli import cli

    lines = ["| command | what it does | options |", "|---|---|---|"]
    for name, command, ctx in _commands(cli, click.Context(cli, info_name="bertanno"), "bertanno"):
        arguments = " ".join(p.make_metavar(ctx) for p in command.params if isinstance(p, click.Argument))
        summary = (command.help or "").split("\n\n")[0]
        options = ", ".join(f"`{max(p.opts, key=len)}`" for p in command.params
                            if isinstance(p, click.Option) and not p.hidden and p.name != "help")
        lines.append(f"| `{_cell(f'{name} {arguments}'.strip())}` | {_cell(summary)} | {options} |")
    return "\n".join(lines)


def formats() -> str:
    """``| format | kinds | reads and writes |``: every built-in file format, its notes (else its description),
    its options and what its writer refuses."""
    from bertanno.core.import_export import list_formats

    lines = ["| format | kinds | what it reads and writes |", "|---|---|---|"]
    for row in list_formats(_plugins()):
        text = row["notes"] or row["description"]
        if not row["writes"]:
            text += "; read only"
        extra = [o for o in row["options"] or () if o != "label_map"]
        if extra:
            text += "; options: " + ", ".join(f"`{o}=`" for o in extra)
        if row["refuses"]:
            text += f"; its writer leaves out {row['refuses']}"
        lines.append(f"| `{row['name']}` | {', '.join(row['kinds'])} | {_cell(text)} |")
    return "\n".join(lines)


def families() -> str:
    """``| family | serves | how it starts | labels | needs |``: every built-in model family."""
    from bertanno.plugins.families import KIND_WORDS

    lines = ["| family | what it is | serves | how it starts | labels | needs |", "|---|---|---|---|---|---|"]
    for name, entry in _plugins().families.items():
        family = entry.value
        serves = ", ".join(KIND_WORDS.get(kind, kind) for kind in sorted(family.example_kinds))
        start = ("zero-shot: from the first item" if family.zero_shot else
                 "trained live while you annotate, or by train" if family.live else
                 "trained (bertanno train)" if family.trainable else "configured")
        start += f"; versions `{family.version_prefix}001`…"
        labels = ", ".join(family.labels) if family.labels else "the project's"
        needs = f"`{family.install}`" if family.install else "nothing more"
        lines.append(f"| `{name}` | {_cell(family.description)} | {serves} | {start} | {labels} | {needs} |")
    return "\n".join(lines)


def hooks() -> str:
    """``| hook | what it does |``: every hookspec with its arguments (the names pluggy passes) and its
    docstring's first paragraph."""
    from bertanno.plugins import hookspecs

    lines = ["| hook | what it does |", "|---|---|"]
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if not hasattr(function, "bertanno_spec"):
            continue
        arguments = ", ".join(inspect.signature(function).parameters)
        doc = (inspect.getdoc(function) or "").split("\n\n")[0]
        lines.append(f"| `{name}({arguments})` | {_cell(doc)} |")
    return "\n".join(lines)
