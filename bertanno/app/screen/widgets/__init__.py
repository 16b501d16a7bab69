"""The item's part of the annotation screen: Textual widgets that show one item and correct it, one file each.

``item_widget`` gives the widget of the view the task names (``Task.view``; ``bertanno.app.views``): for the
``labels`` and ``pair`` views ``labels.LabelView``, for ``spans`` ``spans.SpanView``, for ``relations``
``relations.RelationView``, for a plugin's view its
own widget, or the built-in one that fits it. The app (``bertanno.app.screen``) places it under its header,
gives it the focus, and asks it what the accept key means (``accepted()``). A widget that decides by itself (a
label key) posts ``Decided``. Nothing here touches the store: the app records what the widget decided.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class Decided(Message):
    """The person decided about the item from the item's own widget: ``decision`` is ``accept`` or ``correct``,
    ``payload`` the annotation (``None`` with ``accept``: the pre-annotation as it is)."""

    def __init__(self, decision: str, payload: Any = None):
        super().__init__()
        self.decision, self.payload = decision, payload


def character_key(character: str) -> str:
    """Textual's name for the key that types ``character``: ``"?"`` -> ``question_mark``, ``"\\r"`` -> ``enter``."""
    from textual.keys import _character_to_key

    if character in ("\r", "\n"):
        return "enter"
    return character if character.isalnum() else _character_to_key(character)


class Prompt(Input):
    """A one-line prompt, hidden until ``open()``: Esc closes it, and closing gives the focus back to what had
    it. Its owner handles ``Input.Submitted`` and calls ``close()``."""

    DEFAULT_CSS = "Prompt { display: none; } Prompt.open { display: block; }"
    BINDINGS = [Binding("escape", "close", show=False)]

    def open(self) -> None:
        self._back = self.app.focused
        self.add_class("open")
        self.focus()

    def action_close(self) -> None:
        self.close()

    def close(self) -> None:
        self.value = ""
        self.remove_class("open")
        back = getattr(self, "_back", None)
        if back is not None and back.is_attached:
            back.focus()


def item_widget(session, example, prediction, restored: Any = None):
    """The Textual widget that shows ``example`` with ``prediction`` for ``session``'s task and corrects it, as
    the task's view (``views.view_for``) draws it; ``restored``: the person's own annotation after an undo.
    Raises ``BertannoError`` when the task names a view no plugin registers."""
    from bertanno.app.views import view_for

    task = session.task
    view = view_for(task, session.plugins)
    if view.widget is not None:
        return view.widget(task, example, prediction, restored)
    guidelines = getattr(session, "guidelines", None)
    descriptions = guidelines.descriptions(task.labels) if guidelines is not None else None
    if view.edits_spans:
        from bertanno.app.screen.widgets.relations import RelationView
        from bertanno.app.screen.widgets.spans import SpanView

        project = getattr(session, "project", None)
        widget = RelationView if view.name == "relations" else SpanView
        return widget(task, example, prediction, restored, unproposed=session.UNPROPOSED,
                      terms=project.terms if project is not None else (), descriptions=descriptions)
    from bertanno.app.screen.widgets.labels import LabelView

    return LabelView(task, example, prediction, restored, render=view.render, descriptions=descriptions)
