"""The item view of a label task (sentences, pairs, a third party's classes): the whole text, wrapped, the
pre-annotation with its confidence, and one key per label (1-9)."""

from __future__ import annotations

from typing import Any, Callable

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from bertanno.app.screen.widgets import Decided, Prompt
from bertanno.app.screen.widgets.text import WrappedText
from bertanno.app.views.labels import render_labels
from bertanno.plugins.task import Example

LONG_TEXT = 20_000
"""Characters (both texts of a pair together) above which the text is drawn row by row instead of by
``task.render``: rich would wrap a megabyte for seconds before the first screen."""


class LabelView(VerticalScroll, can_focus=True):
    """The view's ``render`` (``render``; default the ``labels`` view's) in a scrollable pane (no character is cut: rich wraps by cells, CJK at two), and the
    digit keys choose a label at once. ``restored``: the person's own label, after an undo."""

    DEFAULT_CSS = """
    LabelView { height: 1fr; padding: 0 1; }
    LabelView .long-text { height: 1fr; padding: 0; }
    """
    HELP = """
Labels
  1-9                choose that label (a multi-label task: that one label)
  c                  type the label, or what the task takes (topics: symptom, drug)
  ↑ ↓                scroll a long text"""
    """The view's own keys for the help screen (a title line, then the keys); the app lists the common ones."""
    KEYS = (("1-9", "label"), ("c", "type"))
    """``(key, what)`` pairs for the key line at the bottom of the screen."""
    BINDINGS = [Binding("up", "scroll_text(-1)", show=False), Binding("down", "scroll_text(1)", show=False),
                Binding("pageup", "scroll_text(-20)", show=False), Binding("pagedown", "scroll_text(20)", show=False),
                Binding("home", "scroll_text(-1000000000)", show=False),
                Binding("end", "scroll_text(1000000000)", show=False),
                Binding("c", "type", "type a label", show=False)]

    def __init__(self, task, example, prediction, restored: Any = None, render: Callable | None = None, **kwargs):
        super().__init__(**kwargs)
        self.item_task, self.example, self.prediction, self.restored = task, example, prediction, restored
        self.render_item = render or render_labels
        for number, label in enumerate(task.labels[:9], start=1):
            self._bindings.bind(str(number), f"choose({number})", description=label, show=False)

    @staticmethod
    def is_long(example) -> bool:
        return len(example.text) + len(example.text_b or "") > LONG_TEXT

    def _item(self) -> Group:
        """The task's view of the item (of all but a long text, which ``WrappedText`` panes draw)."""
        example = self.example
        if self.is_long(example):
            example = Example("", "" if example.text_b is not None else None, example.payload, example.meta)
        parts = [self.render_item(self.item_task, example, self.prediction)]
        if self.restored is not None:
            parts.append(Text(f"your decision before the undo: {self.restored}", style="bold magenta"))
        return Group(*parts)

    def compose(self):
        example = self.example
        if self.is_long(example):  # drawn row by row, the task's view of the rest under it
            yield WrappedText(example.text, classes="long-text")
            if example.text_b:
                yield WrappedText(example.text_b, classes="long-text")
        yield Static(self._item(), id="item-text")
        yield Static(id="label-message")
        yield Prompt(placeholder="a label, its number, or what this task takes (Enter decides, Esc closes)",
                     id="label-input")

    def show_item(self, example, prediction, restored: Any = None) -> bool:
        """Show the next item in this view instead of a new one (a new view costs several frames); ``False``
        when it cannot (a long text comes or goes), and the app mounts a new view."""
        if self.is_long(example) or self.is_long(self.example):
            return False
        self.example, self.prediction, self.restored = example, prediction, restored
        self.query_one("#item-text", Static).update(self._item())
        self.query_one("#label-message", Static).update("")
        self.scroll_home(animate=False)
        return True

    def action_choose(self, number: int) -> None:
        """Key ``number`` is the label shown as ``[number]``, by position (labels may be digits themselves)."""
        self._decide(self.item_task.labels[number - 1])

    def action_type(self) -> None:
        self.query_one("#label-input", Prompt).open()

    def _decide(self, typed: str) -> None:
        try:
            payload = self.item_task.parse_correction(typed, self.example)
        except ValueError as exc:
            self.query_one("#label-message", Static).update(Text(str(exc), style="yellow"))
            return
        self.post_message(Decided("correct", payload))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        self.query_one("#label-input", Prompt).close()
        if typed:
            self._decide(typed)

    def accepted(self) -> tuple[str, Any]:
        """Accept: the pre-annotation as it is."""
        return "accept", None

    def action_scroll_text(self, rows: int) -> None:
        """Scroll the text: the long-text pane when there is one, else this view."""
        panes = self.query(WrappedText)
        target = panes.first() if panes else self
        target.scroll_to(y=max(target.scroll_offset.y + rows, 0), animate=False)
