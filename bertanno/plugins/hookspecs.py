"""The hooks a bertanno plugin can implement.

Registration hooks receive a ``register`` callback; the core validates each call
(unique name, complete definition) and attributes it to the plugin that made it.
Event hooks are called after the fact; an exception in one is reported, never
allowed to undo what already happened.
"""

import pluggy

PROJECT_NAME = "bertanno"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_tasks(register):
    """Register task classes: ``register(MyTask)``, a subclass of ``bertanno.plugins.task.Task``."""


@hookspec
def register_models(register):
    """Register domain model aliases: ``register(ModelSpec(name=..., hub_id=...))``."""


@hookspec
def register_model_families(register):
    """Register model families: ``register(MyFamily())``, an instance of a
    ``bertanno.plugins.families.ModelFamily`` subclass (what loads and serves a kind of model version)."""


@hookspec
def register_vocabularies(register):
    """Register named domain term lists: ``register(VocabularySpec(name=..., path=...))``."""


@hookspec
def register_formats(register):
    """Register file formats (importers and exporters): ``register(FileFormat(...))``."""


@hookspec
def register_views(register):
    """Register item views of the annotation screens: ``register(ViewSpec(name=..., render=...))``; a task names
    its view in ``Task.view`` (the built-in ones: ``labels``, ``pair``, ``spans``, ``relations``)."""


@hookspec
def register_commands(cli):
    """Add commands to the ``bertanno`` click group: ``@cli.command() def mycmd(): ...``."""


@hookspec
def annotation_saved(project, item, annotation):
    """Called after an annotation has been committed to the store."""


@hookspec
def model_promoted(project, version):
    """Called after a model version has been promoted to champion."""
