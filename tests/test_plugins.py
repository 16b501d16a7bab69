"""Every hook: a throwaway plugin registers through it, and the core accepts good and refuses bad registrations."""

import importlib.metadata
import sys
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bertanno import hookimpl

REPO = Path(__file__).resolve().parent.parent
from bertanno.core.plugins import Plugins
from bertanno.errors import BertannoError
from bertanno.plugins.builtin.sentiment import SentimentTask
from bertanno.plugins.specs import FileFormat, ModelSpec, RowError, ViewSpec, VocabularySpec
from bertanno.plugins.task import Example


def plugin(name, **hooks):
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


class EmotionTask(SentimentTask):
    name = "emotion"
    description = "joy / anger / sadness"
    default_labels = ("joy", "anger", "sadness")


def problems_of(loaded, name):
    return [p.message for p in loaded.problems if p.plugin == name]


# -- register_tasks ---------------------------------------------------------------------------------------------

def test_hook_register_tasks():
    loaded = Plugins(load_entrypoints=False, extra=[plugin("emotions", register_tasks=lambda register: register(EmotionTask))])
    assert "emotion" in loaded.tasks and loaded.problems == []
    assert loaded.task("emotion").labels == ("joy", "anger", "sadness")
    assert loaded.registered_by("emotions") == {"tasks": ["emotion"]}


def test_a_duplicate_task_is_refused_naming_both_plugins():
    class Clash(SentimentTask):
        description = "same name as the built-in"

    loaded = Plugins(load_entrypoints=False, extra=[plugin("clash", register_tasks=lambda register: register(Clash))])
    [message] = problems_of(loaded, "clash")
    assert "'clash' tried to register task 'sentiment'" in message and "bertanno.plugins.builtin.sentiment" in message
    assert loaded.tasks.get("sentiment") is SentimentTask  # the built-in stays


def test_an_incomplete_task_is_refused():
    from bertanno.plugins.task import Task

    class HalfDone(Task):
        name = "half"
        description = "no methods"
        head = "sequence"
        example_kind = "text"
        default_labels = ("a",)

    loaded = Plugins(load_entrypoints=False, extra=[plugin("half", register_tasks=lambda register: register(HalfDone))])
    [message] = problems_of(loaded, "half")
    assert "incomplete" in message and "decode" in message and "half" not in loaded.tasks


@pytest.mark.parametrize("change, fragment", [
    ({"name": "Bad Name"}, "lowercase"),
    ({"head": "span"}, "head must be"),
    ({"example_kind": "image"}, "example_kind"),
    ({"default_labels": ()}, "empty"),
])
def test_invalid_task_attributes_are_refused(change, fragment):
    bad = type("Bad", (EmotionTask,), change)
    loaded = Plugins(load_entrypoints=False, extra=[plugin("bad", register_tasks=lambda register: register(bad))])
    assert any(fragment in message for message in problems_of(loaded, "bad"))


def test_something_that_is_not_a_task_is_refused():
    loaded = Plugins(load_entrypoints=False, extra=[plugin("junk", register_tasks=lambda register: register("ner"))])
    assert "subclass" in problems_of(loaded, "junk")[0]


# -- register_models ------------------------------------------------------------------------------------------------

def test_hook_register_models():
    spec = ModelSpec(name="mc-bert", hub_id="freedomking/mc-bert", description="medical")
    loaded = Plugins(load_entrypoints=False, extra=[plugin("mc", register_models=lambda register: register(spec))])
    assert loaded.models.get("mc-bert") is spec and loaded.problems == []


def test_a_duplicate_or_incomplete_model_alias_is_refused():
    def register_models(register):
        register(ModelSpec(name="medbert", hub_id="someone/else", description="clash"))
        register(ModelSpec(name="empty", hub_id="", description="no hub id"))

    loaded = Plugins(load_entrypoints=False, extra=[plugin("models2", register_models=register_models)])
    assert "already registered" in problems_of(loaded, "models2")[0]
    assert loaded.models.get("medbert").hub_id == "trueto/medbert-base-wwm-chinese"


def test_a_model_alias_without_hub_id_is_refused():
    loaded = Plugins(load_entrypoints=False, extra=[plugin(
        "nohub", register_models=lambda register: register(ModelSpec(name="x", hub_id="", description="")))])
    assert "no hub_id" in problems_of(loaded, "nohub")[0]


# -- register_vocabularies ------------------------------------------------------------------------------------------

def test_hook_register_vocabularies(tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("新冠病毒\n高血压\n", encoding="utf-8")
    spec = VocabularySpec(name="cardio", path=terms, description="heart")
    first = plugin("vocab1", register_vocabularies=lambda register: register(spec))
    second = plugin("vocab2", register_vocabularies=lambda register: register(VocabularySpec(name="cardio", path=terms)))
    loaded = Plugins(load_entrypoints=False, extra=[first, second])
    assert loaded.vocabularies.get("cardio") is spec
    assert "already registered by 'vocab1'" in problems_of(loaded, "vocab2")[0]


def test_a_vocabulary_must_be_a_spec():
    loaded = Plugins(load_entrypoints=False, extra=[plugin("v", register_vocabularies=lambda register: register(["a"]))])
    assert "VocabularySpec" in problems_of(loaded, "v")[0]


# -- register_formats ---------------------------------------------------------------------------------------------

def read_pipe(stream, options):
    for number, line in enumerate(stream, start=1):
        text, sep, label = line.rstrip("\n").partition("|")
        yield Example(text, payload=label, meta={"line": number}) if sep else RowError(number, "no |")


def test_hook_register_formats(tmp_path, plugins):
    from bertanno.core.reading import read_examples

    pipe = FileFormat(name="pipe", description="text|label", kinds=frozenset({"text"}), read=read_pipe,
                      extensions=(".pipe",))
    loaded = Plugins(load_entrypoints=False, extra=[plugin("pipes", register_formats=lambda register: register(pipe))])
    path = tmp_path / "data.pipe"
    path.write_text("好|positive\n坏|negative\n没有标签\n", encoding="utf-8")
    result = read_examples(path, loaded.task("sentiment"), skip_bad=True, plugins=loaded)
    assert [(e.text, e.payload) for e in result.examples] == [("好", "positive"), ("坏", "negative")]
    assert [(e.line, e.message) for e in result.errors] == [(3, "no |")]


def test_a_format_with_unknown_kinds_or_a_duplicate_name_is_refused():
    def register_formats(register):
        register(FileFormat(name="weird", description="", kinds=frozenset({"audio"}), read=read_pipe))
        register(FileFormat(name="csv", description="", kinds=frozenset({"text"}), read=read_pipe))

    loaded = Plugins(load_entrypoints=False, extra=[plugin("formats2", register_formats=register_formats)])
    assert "kinds must be" in problems_of(loaded, "formats2")[0]
    loaded = Plugins(load_entrypoints=False, extra=[plugin(
        "formats3", register_formats=lambda register: register(
            FileFormat(name="csv", description="", kinds=frozenset({"text"}), read=read_pipe)))])
    assert "already registered" in problems_of(loaded, "formats3")[0]


# -- register_views -------------------------------------------------------------------------------------------------

class MoodTask(SentimentTask):
    name = "mood"
    description = "a task drawn with a plugin's view"
    default_labels = ("calm", "tense")
    view = "mood"


def draw_mood(task, example, prediction):
    from rich.text import Text

    return Text(f"MOOD «{example.text}» → {prediction.payload if prediction else '?'}")


def test_hook_register_views():
    # a task names a plugin's view: the line screen draws it with the view's render, the full screen puts that
    # drawing in the label keys widget, a review lists decisions one a line (the view draws none of its own)
    from rich.console import Console

    from bertanno.app.screen.widgets import item_widget
    from bertanno.app.screen.widgets.labels import LabelView
    from bertanno.app.views import render_decisions, render_item, view_for
    from bertanno.plugins.specs import ViewSpec
    from bertanno.plugins.task import Prediction

    loaded = Plugins(load_entrypoints=False, extra=[plugin(
        "moods", register_tasks=lambda register: register(MoodTask),
        register_views=lambda register: register(ViewSpec("mood", "the mood line", draw_mood)))])
    assert loaded.problems == [] and loaded.registered_by("moods") == {"tasks": ["mood"], "views": ["mood"]}
    task = loaded.task("mood")
    console = Console(width=60, record=True, color_system=None)
    console.print(render_item(task, Example("今天很平静"), Prediction("calm", 0.9), loaded))
    console.print(render_decisions(task, Example("今天很平静"), [("ann", "tense"), ("bob", "calm"), ("cy", "calm")],
                                   loaded))
    shown = console.export_text()
    assert "MOOD «今天很平静» → calm" in shown and "ann  tense  ≠" in shown and "bob  calm" in shown
    session = types.SimpleNamespace(task=task, plugins=loaded)
    widget = item_widget(session, Example("今天很平静"), Prediction("calm", 0.9))
    assert isinstance(widget, LabelView) and widget.render_item is draw_mood
    # a task that reuses a built-in view by name gets it; one that names no registered view is refused by name
    assert view_for(loaded.task("sentiment"), loaded).name == "labels"
    assert view_for(loaded.task("ner"), loaded).edits_spans and view_for(loaded.task("pair"), loaded).name == "pair"
    bare = Plugins(load_entrypoints=False, extra=[plugin("moods", register_tasks=lambda register: register(MoodTask))])
    with pytest.raises(BertannoError, match="names the view 'mood', which no plugin registers .views: labels, pair"):
        view_for(bare.task("mood"), bare)


@pytest.mark.parametrize("spec, message", [
    (lambda: ViewSpec("spans", "mine", draw_mood), "one of bertanno's own"),
    (lambda: ViewSpec("mood", "", "not a function"), "render is not callable"),
    (lambda: ViewSpec("mood", "", draw_mood, widget=3), "widget is not callable"),
    (lambda: ViewSpec("Mood View", "", draw_mood), "must be lowercase"),
    (lambda: "mood", "must be a bertanno.ViewSpec"),
])
def test_a_view_with_a_taken_name_or_parts_that_cannot_be_called_is_refused(spec, message):
    loaded = Plugins(load_entrypoints=False, extra=[plugin("views1", register_views=lambda register: register(spec()))])
    assert message in problems_of(loaded, "views1")[0]


# -- register_commands ----------------------------------------------------------------------------------------------

def test_hook_register_commands():
    def register_commands(cli):
        @cli.command()
        def hello():
            """Say hello."""
            click.echo("你好")

    group = click.Group("bertanno")
    loaded = Plugins(load_entrypoints=False, extra=[plugin("greeter", register_commands=register_commands)])
    loaded.add_commands(group)
    assert CliRunner().invoke(group, ["hello"]).output == "你好\n"


def test_a_broken_command_plugin_is_reported_not_raised():
    def register_commands(cli):
        raise RuntimeError("oops")

    loaded = Plugins(load_entrypoints=False, extra=[plugin("broken", register_commands=register_commands)])
    loaded.add_commands(click.Group("bertanno"))
    assert problems_of(loaded, "broken") == ["register_commands: oops"]


# -- events -------------------------------------------------------------------------------------------------------

def test_event_hooks_reach_plugins_and_a_failing_listener_is_isolated():
    seen = []

    def annotation_saved(project, item, annotation):
        seen.append(("saved", project, item, annotation))

    def model_promoted(version):  # pluggy lets an implementation take only the arguments it needs
        seen.append(("promoted", version))

    def failing(annotation):
        raise ValueError("listener broke")

    good = plugin("good", annotation_saved=annotation_saved, model_promoted=model_promoted)
    bad = plugin("bad", annotation_saved=failing)
    loaded = Plugins(load_entrypoints=False, extra=[good, bad])
    problems = loaded.notify("annotation_saved", project="p", item={"id": 1}, annotation={"decision": "accept"})
    assert [(p.plugin, "listener broke" in p.message) for p in problems] == [("bad", True)]
    assert loaded.notify("model_promoted", project="p", version="v2") == []
    assert seen == [("saved", "p", {"id": 1}, {"decision": "accept"}), ("promoted", "v2")]


# -- entry points ---------------------------------------------------------------------------------------------------

@pytest.fixture
def fake_entry_points(tmp_path, monkeypatch):
    (tmp_path / "good_plugin.py").write_text(
        "from bertanno import hookimpl\n"
        "from bertanno.plugins.specs import ModelSpec\n"
        "@hookimpl\n"
        "def register_models(register):\n"
        "    register(ModelSpec(name='good-model', hub_id='org/good', description='from an entry point'))\n")
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('missing dependency foo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [importlib.metadata.EntryPoint("good", "good_plugin", "bertanno"),
              importlib.metadata.EntryPoint("broken", "broken_plugin", "bertanno")]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points if group == "bertanno" else [])
    yield
    for name in ("good_plugin", "broken_plugin"):
        sys.modules.pop(name, None)


def test_entry_points_load_and_a_broken_one_is_reported(fake_entry_points, monkeypatch):
    monkeypatch.delenv("BERTANNO_LOAD_PLUGINS")
    loaded = Plugins()
    assert "good-model" in loaded.models
    [message] = problems_of(loaded, "broken")
    assert "failed to load" in message and "missing dependency foo" in message


@pytest.mark.parametrize("setting, expected", [("", set()), ("good", {"good-model"}), ("broken", set())])
def test_the_environment_variable_limits_which_entry_points_load(fake_entry_points, monkeypatch, setting, expected):
    monkeypatch.setenv("BERTANNO_LOAD_PLUGINS", setting)
    loaded = Plugins()
    assert {name for name in loaded.models if name == "good-model"} == expected
    assert bool(problems_of(loaded, "broken")) == (setting == "broken")


def test_tests_do_not_autoload_entry_points():
    import os

    assert os.environ["BERTANNO_LOAD_PLUGINS"] == ""


def test_builtins_come_through_the_same_hooks(plugins):
    builtin = {info.name: info for info in plugins.info() if info.builtin}
    assert builtin["bertanno.plugins.builtin.ner"].hooks == ["register_tasks"]
    assert builtin["bertanno.plugins.builtin.models"].registers == {"models": ["bert-base-chinese", "lawformer", "medbert", "zh-mini"]}
    assert Path(builtin["bertanno.plugins.builtin.formats"].source).name == "__init__.py"


def test_every_hook_is_documented_and_tested(plugins):
    """datasette-style (``test_plugin_hooks_have_tests``): the hooks are read from the plugin manager, not from a
    list kept here; each has a docstring, a row in the README's hook table with the arguments pluggy passes
    (``pm.hook.<name>.spec.argnames``), and a test function named ``test_hook_<name>``."""
    import ast
    from pathlib import Path

    hooks = sorted(name for name in dir(plugins.pm.hook) if not name.startswith("_"))
    assert len(hooks) >= 9
    tests = Path(__file__).parent
    readme = (tests.parent / "README.md").read_text(encoding="utf-8")
    defined = {node.name for path in tests.glob("test_*.py")
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.FunctionDef)}
    for name in hooks:
        spec = getattr(plugins.pm.hook, name).spec
        assert spec.function.__doc__, name
        assert f"| `{name}({', '.join(spec.argnames)})` |" in readme, f"the README's hook table lacks {name}"
        assert f"test_hook_{name}" in defined, f"no test_hook_{name}"


def test_the_format_listing_shows_every_format_with_what_it_carries_and_refuses(plugins):
    from bertanno.core.import_export import list_formats

    loaded = Plugins(load_entrypoints=False, extra=[plugin("pipes", register_formats=lambda register: register(
        FileFormat(name="pipe", description="text|label", kinds=frozenset({"text"}), read=read_pipe,
                   extensions=(".pipe",))))])
    rows = {row["name"]: row for row in list_formats(loaded)}
    assert {"jsonl", "csv", "tsv", "txt", "conll", "hf", "doccano", "doccano-csv", "brat", "webanno-tsv"} <= set(rows)
    assert rows["pipe"]["plugin"] == "pipes" and rows["pipe"]["writes"] is False
    assert rows["jsonl"]["pre_annotations"] and rows["jsonl"]["refuses"] == ""
    assert rows["brat"]["directory"] and "line break" in rows["brat"]["refuses"]
    assert rows["txt"]["labels"] is False and rows["doccano-csv"]["extensions"] == []
    assert rows["csv"]["options"][0] == "label_map"
    # every built-in format that writes and refuses something says what
    for row in rows.values():
        if row["plugin"].startswith("bertanno.") and row["writes"]:
            spec = loaded.formats.get(row["name"])
            assert (spec.cannot_carry is None) == (row["refuses"] == ""), row["name"]


def test_the_formats_command_renders_the_listing():
    import json

    from bertanno.cli import cli

    result = CliRunner().invoke(cli, ["formats"], env={"COLUMNS": "100"})
    assert result.exit_code == 0 and "doccano-csv" in result.output and "--format only" in result.output
    listing = json.loads(CliRunner().invoke(cli, ["formats", "--json"]).output)
    assert any(row["name"] == "brat" and row["directory"] for row in listing)


def test_a_plugin_author_needs_one_import():
    """Issue 'A codebase a contributor can carry', part 2: everything the README's plugin example and the test
    plugin use comes from ``bertanno`` itself, as llm's authors write ``import llm``."""
    import ast
    import re

    import bertanno

    for name in bertanno.PLUGIN_API:
        assert getattr(bertanno, name) is not None
    assert bertanno.Task.__module__ == "bertanno.plugins.task" and bertanno.hookimpl is not None
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n# bertanno_topics.py\n(.*?)```", readme, re.S).group(1)
    plugin = (REPO / "tests" / "plugins" / "bertanno-topics" / "bertanno_topics.py").read_text(encoding="utf-8")
    for source in (example, plugin):
        modules = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in modules if m and m.startswith("bertanno.")}, modules
        names = {alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)
                 and node.module == "bertanno" for alias in node.names}
        assert names <= set(bertanno.PLUGIN_API)


def test_built_in_commands_come_through_the_one_plugin_manager_and_plugins_hides_built_ins():
    """Issue 'A codebase a contributor can carry', part 3: the command families are registered in the same
    manager as every plugin (so ``plugins --all`` lists them), and ``bertanno plugins`` hides built-ins."""
    import json

    from bertanno.cli import COMMAND_MODULES, cli
    from bertanno.core.plugins import get_plugins

    manager = get_plugins().pm
    assert all(manager.get_plugin(name) is not None for name in COMMAND_MODULES)
    listed = json.loads(CliRunner().invoke(cli, ["plugins", "--all", "--json"]).output)["plugins"]
    commands = {row["name"]: row for row in listed if row["name"] in COMMAND_MODULES}
    assert set(commands) == set(COMMAND_MODULES) and all(row["builtin"] for row in commands.values())
    assert all("register_commands" in row["hooks"] for row in commands.values())
    shown = CliRunner().invoke(cli, ["plugins", "--json"])
    assert json.loads(shown.output)["plugins"] == []  # the test run loads no entry points: nothing but built-ins
    table = CliRunner().invoke(cli, ["plugins"])
    assert "built-in plugin(s) not shown: --all lists them" in table.output
