"""After the last item: the session stays open, so the last decision can still be undone."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class DoneView(Static):
    DEFAULT_CSS = "DoneView { height: 1fr; content-align: center middle; }"

    def __init__(self, undo_keys: str, quit_keys: str, **kwargs):
        text = Text.assemble(("all done", "bold green"), ": every item is decided or taken by another annotator\n\n",
                             (undo_keys, "bold cyan"), " undo the last decision    ", (quit_keys, "bold cyan"), " quit")
        super().__init__(text, **kwargs)
