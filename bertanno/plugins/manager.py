"""The plugin manager: loads built-in and third-party plugins and validates what they register.

Built-in plugins go through exactly the same hooks as third-party ones. A plugin
that fails to import, or registers something invalid, is reported with its name
and skipped; it never takes the command line down with it.

``BERTANNO_LOAD_PLUGINS`` limits which entry points load: unset loads all,
an empty string loads none, ``a,b`` loads only the distributions or entry points
named ``a`` and ``b`` (handy to bisect a broken plugin).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pluggy

from bertanno.errors import BertannoError
from bertanno.plugins import hookspecs
from bertanno.plugins.families import ModelFamily
from bertanno.plugins.specs import BUILTIN_VIEWS, FileFormat, ModelSpec, ViewSpec, VocabularySpec
from bertanno.plugins.task import EXAMPLE_KINDS, HEADS, NAME_PATTERN, Task

ENTRY_POINT_GROUP = "bertanno"
LOAD_ENV = "BERTANNO_LOAD_PLUGINS"

BUILTIN_PLUGINS = (
    "bertanno.plugins.builtin.sentiment",
    "bertanno.plugins.builtin.ner",
    "bertanno.plugins.builtin.relations",
    "bertanno.plugins.builtin.pair",
    "bertanno.plugins.builtin.models",
    "bertanno.plugins.builtin.vocabularies",
    "bertanno.plugins.builtin.formats",
    "bertanno.plugins.builtin.snownlp_family",
    "bertanno.plugins.builtin.lac_family",
    "bertanno.plugins.builtin.gazetteer_family",
    "bertanno.plugins.builtin.fast_families",
    "bertanno.plugins.builtin.relation_families",
    "bertanno.plugins.builtin.llm_family",
)
"""The plugins layer's own built-in modules. The engine's transformer family lives in ``core`` and is added by
``bertanno.core.plugins``, which every layer above this one loads its plugin set from."""



def call_impl(impl, **kwargs):
    """Call one hookimpl the way pluggy does: with only the arguments it names."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


class PluginError(BertannoError):
    """A plugin registered something the core refuses."""


@dataclass
class PluginProblem:
    plugin: str
    message: str


@dataclass
class Registered:
    value: Any
    plugin: str


@dataclass
class PluginInfo:
    name: str
    """The name the plugin is registered under (module path for built-ins, entry-point name otherwise)."""
    distribution: str | None
    version: str | None
    hooks: list[str]
    source: str
    builtin: bool
    registers: dict[str, list[str]]


def _check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise PluginError(f"{kind} name {name!r} must be lowercase letters, digits, '-' or '_', starting with a letter")
    return name


def validate_task(task_class: Any) -> str:
    if not (inspect.isclass(task_class) and issubclass(task_class, Task)):
        raise PluginError(f"a task must be a subclass of bertanno.plugins.task.Task, got {task_class!r}")
    missing = [a for a in ("name", "description", "head", "example_kind", "default_labels") if not hasattr(task_class, a)]
    if missing:
        raise PluginError(f"task {task_class.__name__} is incomplete: missing {', '.join(missing)}")
    name = _check_name("task", task_class.name)
    abstract = sorted(getattr(task_class, "__abstractmethods__", ()))
    if abstract:
        raise PluginError(f"task {name!r} is incomplete: it does not implement {', '.join(abstract)}")
    if task_class.head not in HEADS:
        raise PluginError(f"task {name!r}: head must be one of {sorted(HEADS)}, got {task_class.head!r}")
    if task_class.example_kind not in EXAMPLE_KINDS:
        raise PluginError(f"task {name!r}: example_kind must be one of {sorted(EXAMPLE_KINDS)}")
    if not task_class.default_labels:
        raise PluginError(f"task {name!r}: default_labels is empty")
    return name


def validate_model(spec: Any) -> str:
    if not isinstance(spec, ModelSpec):
        raise PluginError(f"a model alias must be a bertanno.plugins.specs.ModelSpec, got {spec!r}")
    if not spec.hub_id:
        raise PluginError(f"model alias {spec.name!r} has no hub_id")
    if spec.tokenizer_class not in ("bert", "auto"):
        raise PluginError(f"model alias {spec.name!r}: tokenizer_class must be 'bert' or 'auto'")
    return _check_name("model alias", spec.name)


def validate_family(family: Any) -> str:
    if not isinstance(family, ModelFamily):
        raise PluginError(f"a model family must be an instance of a bertanno.plugins.families.ModelFamily subclass, "
                          f"got {family!r}")
    name = _check_name("model family", getattr(family, "name", None))
    abstract = sorted(getattr(type(family), "__abstractmethods__", ()))
    if abstract:
        raise PluginError(f"model family {name!r} is incomplete: it does not implement {', '.join(abstract)}")
    kinds = getattr(family, "example_kinds", None)
    if not kinds or set(kinds) - EXAMPLE_KINDS:
        raise PluginError(f"model family {name!r}: example_kinds must be a non-empty subset of {sorted(EXAMPLE_KINDS)}")
    if family.zero_shot and not family.labels and not family.configured:
        raise PluginError(f"model family {name!r} is zero-shot but declares no labels")
    prefix = getattr(family, "version_prefix", "")
    if not (isinstance(prefix, str) and prefix.isascii() and prefix.isalpha() and prefix.islower()):
        raise PluginError(f"model family {name!r}: version_prefix must be lowercase letters")
    return name


def validate_vocabulary(spec: Any) -> str:
    if not isinstance(spec, VocabularySpec):
        raise PluginError(f"a vocabulary must be a bertanno.plugins.specs.VocabularySpec, got {spec!r}")
    return _check_name("vocabulary", spec.name)


def validate_format(spec: Any) -> str:
    if not isinstance(spec, FileFormat):
        raise PluginError(f"a format must be a bertanno.plugins.specs.FileFormat, got {spec!r}")
    unknown = set(spec.kinds) - EXAMPLE_KINDS
    if not spec.kinds or unknown:
        raise PluginError(f"format {spec.name!r}: kinds must be a non-empty subset of {sorted(EXAMPLE_KINDS)}")
    if not callable(spec.read):
        raise PluginError(f"format {spec.name!r}: read is not callable")
    return _check_name("format", spec.name)


def validate_view(spec: Any) -> str:
    if not isinstance(spec, ViewSpec):
        raise PluginError(f"a view must be a bertanno.ViewSpec, got {spec!r}")
    name = _check_name("view", spec.name)
    if name in BUILTIN_VIEWS:
        raise PluginError(f"view {name!r} is one of bertanno's own ({', '.join(BUILTIN_VIEWS)}): a task reuses it "
                          "by naming it in Task.view; register yours under another name")
    for part in ("render", "widget", "decisions"):
        value = getattr(spec, part)
        if (value is not None or part == "render") and not callable(value):
            raise PluginError(f"view {name!r}: {part} is not callable")
    return name


@dataclass(frozen=True)
class Kind:
    """One kind of thing plugins register: its hook, the ``Plugins`` attribute that holds its registry, what it
    is called (one, and several in ``bertanno plugins``), and the validator that names it or refuses it."""

    hook: str
    attribute: str
    one: str
    several: str
    validate: Callable[[Any], str]


KINDS = (
    Kind("register_tasks", "tasks", "task", "tasks", validate_task),
    Kind("register_models", "models", "model alias", "models", validate_model),
    Kind("register_model_families", "families", "model family", "model families", validate_family),
    Kind("register_vocabularies", "vocabularies", "vocabulary", "vocabularies", validate_vocabulary),
    Kind("register_formats", "formats", "format", "formats", validate_format),
    Kind("register_views", "views", "view", "views", validate_view),
)
"""The one table of the registration hooks: everything about a kind is written here once."""


class Registry:
    """Name -> registered value, with the plugin that registered it."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Registered] = {}

    def add(self, name: str, value: Any, plugin: str) -> None:
        if name in self._entries:
            owner = self._entries[name].plugin
            raise PluginError(f"plugin {plugin!r} tried to register {self.kind} {name!r}, already registered by {owner!r}")
        self._entries[name] = Registered(value, plugin)

    def get(self, name: str) -> Any:
        try:
            return self._entries[name].value
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise BertannoError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, Registered]]:
        return sorted(self._entries.items())

    def names_by_plugin(self, plugin: str) -> list[str]:
        return [name for name, entry in self.items() if entry.plugin == plugin]


class Plugins:
    """Everything the loaded plugins registered, plus the problems they caused."""

    tasks: Registry
    models: Registry
    families: Registry
    vocabularies: Registry
    formats: Registry
    views: Registry

    def __init__(self, load_entrypoints: bool = True, extra: Iterable[Any] = (), builtin: Iterable[Any] = ()):
        """``builtin``: modules of the layers above registered as built-ins after this layer's own
        (``bertanno.core.plugins`` passes the transformer family); ``extra``: third-party plugin objects."""
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.problems: list[PluginProblem] = []
        self._dists: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._builtin: set[str] = set(BUILTIN_PLUGINS)
        for module_name in BUILTIN_PLUGINS:
            self.pm.register(importlib.import_module(module_name), name=module_name)
        for module in builtin:
            self.pm.register(module, name=module.__name__)
            self._builtin.add(module.__name__)
        if load_entrypoints:
            self._load_entrypoints()
        for plugin in extra:
            self.pm.register(plugin, name=getattr(plugin, "__name__", None))
        for kind in KINDS:  # self.tasks, …, self.formats, self.views
            setattr(self, kind.attribute, Registry(kind.one))
        self._collect()

    def _load_entrypoints(self) -> None:
        allowed = os.environ.get(LOAD_ENV)
        wanted = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = entry_point.dist.name if entry_point.dist else entry_point.name
            if wanted is not None and entry_point.name not in wanted and dist not in wanted:
                continue
            if self.pm.get_plugin(entry_point.name) is not None:
                continue
            try:
                plugin = entry_point.load()
                self.pm.register(plugin, name=entry_point.name)
            except Exception as exc:  # a broken plugin must not break the CLI
                self.problems.append(PluginProblem(entry_point.name, f"failed to load: {type(exc).__name__}: {exc}"))
                continue
            self._dists[entry_point.name] = (dist, entry_point.dist.version if entry_point.dist else None)

    def _collect(self) -> None:
        for kind in KINDS:
            hook_name, registry, validate = kind.hook, getattr(self, kind.attribute), kind.validate
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                plugin_name = impl.plugin_name

                def register(value, _plugin=plugin_name, _registry=registry, _validate=validate):
                    _registry.add(_validate(value), value, _plugin)

                try:
                    call_impl(impl, register=register)
                except Exception as exc:
                    self.problems.append(PluginProblem(plugin_name, f"{hook_name}: {exc}"))

    def add_builtin(self, module: Any, name: str) -> None:
        """Register one more built-in plugin module (the command line's command families, which this layer
        cannot import): the same manager as every other plugin, listed as built-in."""
        if self.pm.get_plugin(name) is None:
            self.pm.register(module, name=name)
        self._builtin.add(name)

    # -- commands and events ------------------------------------------------------
    def add_commands(self, cli) -> None:
        for impl in self.pm.hook.register_commands.get_hookimpls():
            try:
                call_impl(impl, cli=cli)
            except Exception as exc:
                self.problems.append(PluginProblem(impl.plugin_name, f"register_commands: {exc}"))

    def notify(self, event: str, **kwargs) -> list[PluginProblem]:
        """Call an event hook on every plugin; a failing listener is reported, never raised."""
        problems = []
        for impl in getattr(self.pm.hook, event).get_hookimpls():
            try:
                call_impl(impl, **kwargs)
            except Exception as exc:
                problems.append(PluginProblem(impl.plugin_name, f"{event}: {type(exc).__name__}: {exc}"))
        self.problems.extend(problems)
        return problems

    # -- lookup ---------------------------------------------------------------
    def task(self, name: str, labels=None, **config) -> Task:
        return self.tasks.get(name)(labels=labels, **config)

    def family(self, name: str) -> ModelFamily:
        return self.families.get(name)

    def registered_by(self, plugin_name: str) -> dict[str, list[str]]:
        """What one plugin registered, by kind (``Kind.several``), kinds it registered nothing of left out."""
        found = {kind.several: getattr(self, kind.attribute).names_by_plugin(plugin_name) for kind in KINDS}
        return {kind: names for kind, names in found.items() if names}

    def info(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            distribution, version = self._dists.get(name, (None, None))
            infos.append(PluginInfo(
                name=name,
                distribution=distribution,
                version=version,
                hooks=sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []),
                source=getattr(plugin, "__file__", None) or repr(plugin),
                builtin=name in self._builtin,
                registers=self.registered_by(name),
            ))
        return infos
