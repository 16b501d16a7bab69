"""The item view of a label task (sentences, pairs, a third party's classes): the whole text, wrapped, the
pre-annotation with its confidence, and one key per label (1-9, or the digit labels themselves) with a legend
of them that never scrolls away."""

from __future__ import annotations

from typing import Any, Callable

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from bertanno.app.screen.widgets import Decided, Prompt
from bertanno.app.screen.widgets.text import WrappedText
from bertanno.app.views.labels import keys_legend, render_labels
from bertanno.plugins.task import Example, label_keys

LONG_TEXT = 20_000
"""Characters (both texts of a pair together) above which the text is drawn row by row instead of by
``task.render``: rich would wrap a megabyte for seconds before the first screen."""


class ItemScroll(VerticalScroll, can_focus=False):
    """The scrolling part of a label view: the keys stay with the view, which keeps the focus."""


class LabelView(Vertical, can_focus=True):
    """The view's ``render`` (``render``; default the ``labels`` view's) in a scrollable pane (no character is
    cut: rich wraps by cells, CJK at two), under it the legend of the label keys, which never scrolls away, and
    the keys choose a label at once. ``restored``: the person's own label, after an undo."""

    DEFAULT_CSS = """
    LabelView { height: 1fr; }
    LabelView #label-scroll { height: 1fr; padding: 0 1; }
    LabelView .long-text { height: 1fr; padding: 0; }
    LabelView #label-keys { height: auto; padding: 0 1; }
    LabelView #label-keys.described { text-wrap: nowrap; text-overflow: ellipsis; }
    LabelView #label-message { height: auto; padding: 0 1; }
    """
    HELP = """
Labels
  1-9                choose that label, as the legend under the text shows (labels that are
                     digits, such as 0 and 1, are their own keys; a multi-label task: that one)
  c                  type the label, or what the task takes (topics: symptom, drug); a label
                     it refuses keeps the box open with what you typed
  ↑ ↓                scroll a long text"""
    """The view's own keys for the help screen (a title line, then the keys); the app lists the common ones."""
    KEYS = (("1-9", "label"), ("c", "type"))
    """``(key, what)`` pairs for the key line at the bottom of the screen."""
    BINDINGS = [Binding("up", "scroll_text(-1)", show=False), Binding("down", "scroll_text(1)", show=False),
                Binding("pageup", "scroll_text(-20)", show=False), Binding("pagedown", "scroll_text(20)", show=False),
                Binding("home", "scroll_text(-1000000000)", show=False),
                Binding("end", "scroll_text(1000000000)", show=False),
                Binding("c", "type", "type a label", show=False)]

    def __init__(self, task, example, prediction, restored: Any = None, render: Callable | None = None,
                 descriptions: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.item_task, self.example, self.prediction, self.restored = task, example, prediction, restored
        self.render_item = render or render_labels
        self.descriptions = descriptions  # the guidelines' one-line label descriptions, in the legend
        for key, label in label_keys(task.labels):
            self._bindings.bind(key, f"choose({key!r})", description=label, show=False)

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
        if self.is_long(example):  # drawn row by row, each pane scrolling itself, the task's view of the rest under it
            yield WrappedText(example.text, classes="long-text")
            if example.text_b:
                yield WrappedText(example.text_b, classes="long-text")
            yield Static(self._item(), id="item-text")
        else:
            with ItemScroll(id="label-scroll"):
                yield Static(self._item(), id="item-text")
        yield Static(keys_legend(self.item_task, None, self.descriptions), id="label-keys",
                     classes="described" if self.descriptions else "")
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
        self.query_one("#label-scroll").scroll_home(animate=False)
        return True

    def action_choose(self, key: str) -> None:
        """The label the legend shows key ``key`` for (``task.label_keys``)."""
        self._decide(dict(label_keys(self.item_task.labels))[key])

    def action_type(self) -> None:
        self.query_one("#label-input", Prompt).open()

    def _decide(self, typed: str) -> bool:
        """Decide with what was typed or keyed; ``False`` (and the reason on the message line) when the task
        refuses it."""
        try:
            payload = self.item_task.parse_correction(typed, self.example)
        except ValueError as exc:
            self.query_one("#label-message", Static).update(Text(str(exc), style="yellow"))
            return False
        self.post_message(Decided("correct", payload))
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A refused label keeps the box open with what was typed, to mend; Enter on an empty box closes it."""
        event.stop()
        typed = event.value.strip()
        prompt = self.query_one("#label-input", Prompt)
        if not typed:
            prompt.close()
        elif self._decide(typed):
            prompt.close()

    def accepted(self) -> tuple[str, Any]:
        """Accept: the pre-annotation as it is."""
        return "accept", None

    def action_scroll_text(self, rows: int) -> None:
        """Scroll the text: the long-text pane when there is one, else this view."""
        panes = self.query(WrappedText)
        target = panes.first() if panes else self.query_one("#label-scroll")
        target.scroll_to(y=max(target.scroll_offset.y + rows, 0), animate=False)
