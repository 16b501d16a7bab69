"""``g``: the project's annotation guidelines (Markdown, the version in force) over the current item; the arrows
and page keys scroll them, any other key closes them."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class GuidelinesScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    GuidelinesScreen { align: center middle; }
    GuidelinesScreen > VerticalScroll { width: 100%; max-width: 100; height: auto; max-height: 90%;
                                        border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, renderable):
        super().__init__()
        self.renderable = renderable

    def compose(self):
        with VerticalScroll():
            yield Static(self.renderable)

    def on_key(self, event) -> None:
        event.stop()
        scroll = self.query_one(VerticalScroll)
        moves = {"up": scroll.scroll_up, "down": scroll.scroll_down, "pageup": scroll.scroll_page_up,
                 "pagedown": scroll.scroll_page_down, "home": scroll.scroll_home, "end": scroll.scroll_end}
        if event.key in moves:
            moves[event.key](animate=False)
        else:
            self.dismiss()
