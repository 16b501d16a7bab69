"""The house's layers (issue 'the house at its seams'): imports only go downwards, nothing imports the CLI,
and the built-in commands come in through the same hook as a plugin's."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pluggy

import bertanno
from bertanno.cli import COMMAND_MODULES, cli
from bertanno.plugins import hookspecs

PACKAGE = Path(bertanno.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Every ``bertanno…`` module a file imports, at any depth of the file (lazy imports count), and every
    string that names one whole (``"bertanno.plugins.builtin.ner"``: a module loaded by ``importlib``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bertanno"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("bertanno"))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and re.fullmatch(r"bertanno(\.\w+)+", node.value) and importlib.util.find_spec(node.value)):
            found.add(node.value)
    return found


def package_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0] if len(parts) > 1 else "bertanno." + parts[0]


def test_nothing_outside_the_cli_package_imports_it():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if package_of(path) in ("cli", "bertanno.__main__"):
            continue
        offenders += [f"{path.relative_to(PACKAGE)}: {name}" for name in imports_of(path)
                      if name == "bertanno.cli" or name.startswith("bertanno.cli.")]
    assert offenders == []


def test_the_library_packages_hold_no_click_code():
    for package in ("core", "store", "plugins", "vocab", "pretraining"):
        for path in (PACKAGE / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                     for alias in node.names} | {node.module for node in ast.walk(tree)
                                                 if isinstance(node, ast.ImportFrom) and node.module}
            assert "click" not in names, path


def test_every_builtin_command_comes_through_register_commands():
    """The group's commands are exactly what the command modules' hooks add to an empty group."""
    import click

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        assert hasattr(module.register_commands, "bertanno_impl"), f"{name}.register_commands is not a hookimpl"
        manager.register(module, name=name)
    group = click.Group("empty")
    manager.hook.register_commands(cli=group)
    assert sorted(group.commands) == sorted(cli.commands)
    assert len(group.commands) >= 18  # every family adds at least one command; vocab is one group


# What each layer may import (ARCHITECTURE.md: errors <- store/, plugins/ <- core/ <- vocab/ <- pretraining/,
# app/ <- cli/);
# "bertanno" is the package's own __init__ (hookimpl, __version__), which imports only errors and plugins.
BOTTOM = {"bertanno.errors", "bertanno.files"}
"""The bottom layer: the error type and whole-or-nothing file writing (``files`` imports only ``errors``)."""
ALLOWED = {
    "bertanno.errors": set(),
    "bertanno.files": {"bertanno.errors"},
    "store": BOTTOM,
    "plugins": BOTTOM | {"bertanno"},
    "bertanno": BOTTOM | {"plugins"},
    "core": BOTTOM | {"bertanno", "store", "plugins"},
    "vocab": BOTTOM | {"bertanno", "store", "plugins", "core"},
    "pretraining": BOTTOM | {"bertanno", "store", "plugins", "core", "vocab"},
    "app": BOTTOM | {"bertanno", "store", "plugins", "core", "vocab", "pretraining"},
    "cli": BOTTOM | {"bertanno", "store", "plugins", "core", "vocab", "pretraining", "app"},
    "bertanno.__main__": {"cli"},
}


def layer_of(module: str) -> str:
    """``bertanno.core.bundle`` -> ``core``; ``bertanno.errors`` -> itself; ``bertanno`` -> ``bertanno``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "bertanno"
    return module if (PACKAGE / (parts[1] + ".py")).exists() else parts[1]


def test_a_module_named_in_a_string_counts_as_an_import(tmp_path):
    # the plugin manager once loaded the engine's transformer family from a string: an upward import the AST
    # walk did not see
    path = tmp_path / "m.py"
    path.write_text('BUILTIN = ("bertanno.core.transformer_family", "bertanno.no_such_module", "bertanno x")\n')
    assert imports_of(path) == {"bertanno.core.transformer_family"}


def test_no_task_or_plugin_module_draws_on_a_terminal():
    # views are out of the tasks (issue 52, part 4): the plugins layer names a view, the app draws it
    drawing = []
    for path in (PACKAGE / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            drawing += [f"{path.relative_to(PACKAGE)}: {name}" for name in names
                        if name.split(".")[0] in ("textual", "rich", "jieba")]
    assert drawing == []


def test_imports_only_go_down_the_layers():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue  # Alembic's scripts: store-level by place, they import the schema
        here = package_of(path)
        here = "bertanno" if here == "bertanno.__init__" else here
        for name in imports_of(path):
            there = layer_of(name)
            if there != here and there not in ALLOWED[here]:
                wrong.append(f"{path.relative_to(PACKAGE)} ({here}) imports {name} ({there})")
    assert wrong == []
