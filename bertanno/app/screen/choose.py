"""``v`` in a review without a majority: the versions the reviewer may settle the item with, a key each (an
annotator's version, or the union of all of them); Esc closes it without a choice."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def payload_line(text: str, payload: Any) -> str:
    """A payload as a person reads it in one line: spans as ``SURFACE:TYPE`` (``text`` gives the surface),
    ``(no entities)`` for none; a list of labels joined by commas; a label as it is."""
    if isinstance(payload, list):
        if payload and all(hasattr(unit, "start") for unit in payload):
            return ", ".join(f"{text[s.start:s.end]}:{s.label}" for s in payload)
        return ", ".join(map(str, payload)) or "(no entities)"
    return str(payload)


def choice_text(text: str, choices: list[tuple[str, Any]]) -> Text:
    """The chooser's text: a title, then one numbered line per choice."""
    shown = Text("No majority: settle with which version?\n", style="bold")
    width = max((cell_len(what) for what, _ in choices), default=0)
    for number, (what, payload) in enumerate(choices, start=1):
        shown.append(f"  {number}  ", style="bold cyan")
        shown.append(what + " " * (width - cell_len(what)) + "  ", style="bold")
        shown.append(payload_line(text, payload) + "\n")
    shown.append("\nthe version's key chooses it (then Enter settles, or edit it first) · Esc: none", style="dim")
    return shown


class ChooseScreen(ModalScreen[int | None]):
    """The versions, a digit key each; dismissed with the chosen number (from 1), or ``None`` on Esc."""

    DEFAULT_CSS = """
    ChooseScreen { align: center middle; }
    ChooseScreen > VerticalScroll { width: 100%; max-width: 100; height: auto; max-height: 90%;
                                    border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, text: str, choices: list[tuple[str, Any]]):
        super().__init__()
        self.text, self.choices = text, choices

    def compose(self):
        with VerticalScroll():
            yield Static(choice_text(self.text, self.choices))

    def on_key(self, event) -> None:
        event.stop()
        if event.character and event.character.isdigit() and 1 <= int(event.character) <= len(self.choices):
            self.dismiss(int(event.character))
        elif event.key in ("escape", "q"):
            self.dismiss(None)
