"""Item views: how the annotation screens draw and correct one item, chosen by the name a task gives
(``Task.view``, as a Prodigy recipe names its ``view_id``), so the task keeps its schema and model and the
screens keep their drawing.

bertanno's own views are ``labels`` (a text and one key per label), ``pair`` (two texts), ``spans`` (the
span editor) and ``relations`` (the span editor with the links between spans); a plugin adds more through the ``register_views`` hook (a ``bertanno.ViewSpec``). The line screen
and the review draw ``render`` and ``decisions``; the full screen's widget is ``bertanno.app.screen.widgets``'s
(``item_widget``).
"""

from __future__ import annotations

from typing import Any, Sequence

from bertanno.app.views.labels import decision_lines, render_labels, render_pair
from bertanno.app.views.relations import relations_decisions, render_relations
from bertanno.app.views.spans import render_spans, spans_decisions
from bertanno.errors import BertannoError
from bertanno.plugins.specs import BUILTIN_VIEWS, ViewSpec
from bertanno.plugins.task import Example, Prediction

VIEWS = {
    "labels": ViewSpec("labels", "the text, the pre-annotation and one key per label", render_labels),
    "pair": ViewSpec("pair", "both texts of a pair, the pre-annotation and one key per label", render_pair),
    "spans": ViewSpec("spans", "the span editor: a character cursor, selections, one key per type",
                      render_spans, decisions=spans_decisions, edits_spans=True),
    "relations": ViewSpec("relations", "the span editor with typed links between spans: a key on the head, the "
                          "tail, the relation's number", render_relations, decisions=relations_decisions,
                          edits_spans=True),
}
"""bertanno's own views, by name (``plugins.specs.BUILTIN_VIEWS`` names them for the plugin validator)."""
assert tuple(VIEWS) == BUILTIN_VIEWS


def view_for(task, plugins=None) -> ViewSpec:
    """The view ``task`` names (``task.view``): one of bertanno's, else one a plugin registered in ``plugins``
    (default: the process-wide set). Raises ``BertannoError`` naming the known views when none has that name."""
    name = getattr(task, "view", "labels")
    if name in VIEWS:
        return VIEWS[name]
    if plugins is None:
        from bertanno.core.plugins import get_plugins

        plugins = get_plugins()
    if name in plugins.views:
        return plugins.views.get(name)
    known = ", ".join([*VIEWS, *plugins.views])
    raise BertannoError(f"task {task.name!r} names the view {name!r}, which no plugin registers (views: {known})")


def render_item(task, example: Example, prediction: Prediction | None, plugins=None):
    """The rich renderable of one item and its pre-annotation, as the task's view draws it."""
    return view_for(task, plugins).render(task, example, prediction)


def item_legend(task, plugins=None, descriptions: dict[str, str] | None = None):
    """The legend of the label keys as the task's view shows it under the item: ``[1] PER  [2] LOC`` in the
    types' colours for a span view, plain for the others; with ``descriptions``, one label a line with its own."""
    from bertanno.app.views.labels import keys_legend
    from bertanno.app.views.spans import legend

    return legend(task, descriptions) if view_for(task, plugins).edits_spans else keys_legend(task, None, descriptions)


def render_decisions(task, example: Example, decisions: Sequence[tuple[str, Any]], plugins=None):
    """Several ``(who, payload)`` decisions about one item side by side, as the task's view draws them (one
    line per decision when the view has no drawing of its own)."""
    view = view_for(task, plugins)
    return (view.decisions or decision_lines)(task, example, decisions)
