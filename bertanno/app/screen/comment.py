"""One-line boxes over the item: ``#``, a comment on the item on screen (Enter saves it; one that starts with ``!``
flags the item for discussion); ``=``, the filter of the items served (``core.filters``). Esc closes either
without a change."""

from __future__ import annotations

from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class LineBox(ModalScreen[str | None]):
    """A titled one-line box at the bottom, over the item: dismissed with the text typed on Enter (``None`` for a
    blank one unless ``BLANK_ANSWERS``), or with ``None`` on Esc."""

    DEFAULT_CSS = """
    LineBox { align: center bottom; }
    LineBox > Vertical { width: 100%; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [("escape", "cancel", "close without a change")]
    TITLE_TEXT = ""
    PLACEHOLDER = ""
    BLANK_ANSWERS = False
    """Whether a blank line is an answer (a filter: every item) rather than no answer (a comment)."""

    def __init__(self, value: str = ""):
        super().__init__()
        self.value = value

    def compose(self):
        with Vertical():
            yield Static(self.TITLE_TEXT)
            yield Input(value=self.value, placeholder=self.PLACEHOLDER)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value if event.value.strip() or self.BLANK_ANSWERS else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CommentScreen(LineBox):
    TITLE_TEXT = "Comment on this item (start with ! to flag it for discussion; Enter saves, Esc closes):"
    PLACEHOLDER = "e.g. !这里的“胸闷”是症状还是主诉？"


class FilterScreen(LineBox):
    """The filter of the items served, as ``annotate --where`` takes it (empty: every item)."""

    TITLE_TEXT = ("Serve only the items where (e.g. 胸闷  label:DIS  model:DIS confidence:<0.6  is:flagged  "
                  "-is:decided; empty: every item; Enter applies, Esc closes):")
    BLANK_ANSWERS = True
