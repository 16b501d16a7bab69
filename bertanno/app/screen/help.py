"""``?``: the keys, formatted, over the current item; the arrows scroll it, any other key closes it."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_labels(keys: tuple[str, ...]) -> list[str]:
    """A keymap entry as a person reads it, each key once: ``("\r", "\n", "a")`` -> ``["Enter", "a"]``."""
    return list(dict.fromkeys("Enter" if key in ("\r", "\n") else key for key in keys))


def help_text(keymap: dict[str, tuple[str, ...]], view_help: str = "",
              reject: str = "reject the pre-annotation", choose: bool = False) -> Text:
    """The help as a person reads it: the keys of this keymap, then the item view's own keys (``view_help``:
    a title line, then the keys). ``reject``: what the reject key does in this session, in the words its
    footer uses; ``choose``: a review, whose choose key picks a version when there is no majority."""
    def keys(action: str) -> str:
        return " / ".join(key_labels(keymap[action]))

    text = Text("Keys\n", style="bold")
    rows = [(keys("accept"), "accept the pre-annotation (or what the item shows)"), ("1-9", "choose that label"),
            (keys("reject"), reject), (keys("skip"), "skip: it comes back later"),
            *([(keys("choose"), "no majority: choose an annotator's version or their union")] if choose else []),
            (keys("undo"), "undo, as many steps as this session made, your own labels and spans back"),
            (keys("quit") + " / Ctrl-C", "quit: every decision is already saved"),
            *([(keys("guidelines"), "the project's annotation guidelines")] if "guidelines" in keymap else []),
            *([(keys("comment"), "comment on the item (! first flags it for discussion)")] if "comment" in keymap
              else []),
            *([(keys("filter"), "serve only the items that meet a filter (as annotate --where)")]
              if "filter" in keymap else []),
            (keys("help"), "this help")]
    for key, what in rows:
        text.append(f"  {key:<18}", style="bold cyan")
        text.append(f" {what}\n")
    if view_help:
        title, _, body = view_help.strip("\n").partition("\n")
        text.append(f"\n{title}\n", style="bold")
        text.append(body + "\n")
    text.append("\n↑ ↓ scroll · any other key closes this help", style="dim")
    return text


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100%; max-width: 100; height: auto; max-height: 90%;
                                  border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, text):
        super().__init__()
        self.text = text

    def compose(self):
        with VerticalScroll():
            yield Static(self.text)

    def on_key(self, event) -> None:
        event.stop()
        scroll = self.query_one(VerticalScroll)
        moves = {"up": scroll.scroll_up, "down": scroll.scroll_down, "pageup": scroll.scroll_page_up,
                 "pagedown": scroll.scroll_page_down, "home": scroll.scroll_home, "end": scroll.scroll_end}
        if event.key in moves:
            moves[event.key](animate=False)
        else:
            self.dismiss()
