"""The task's part of the annotation screen: Textual widgets that show one item and correct it.

A task returns one from ``Task.item_view`` (labels: ``labels.LabelView``; spans: ``spans.SpanView``); the app
(``bertanno.app.screen``) places it under its header, gives it the focus, and asks it what the accept key
means (``accepted()``). A widget that decides by itself (a label key) posts ``Decided``. Nothing here touches
the store: the app records what the widget decided.
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
