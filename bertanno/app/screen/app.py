"""The annotation app: a header that never scrolls away (project, progress, the model serving and its score),
the task's item view in the middle (``widgets.item_widget``: the widget of the view the task names), a message line and the keys at the bottom.

Every decision is committed (``AnnotationSession.decide``) before the next item is shown; undo brings back the
person's own annotation; after the last item an all-done view stays, from which undo still works. Ctrl-C is a
key here like q: the session ends between two keys, never inside a store transaction.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Static

from bertanno.app.screen.choose import ChooseScreen
from bertanno.app.screen.comment import CommentScreen, FilterScreen
from bertanno.app.screen.done import DoneView
from bertanno.app.screen.guidelines import GuidelinesScreen
from bertanno.app.screen.help import HelpScreen, help_text, key_labels
from bertanno.app.screen.widgets import Decided, character_key, item_widget
from bertanno.app.session import RENEW_SECONDS, AnnotationSession
from bertanno.app.views.guidelines import guidelines_renderable
from bertanno.core.stats import counts_line
from bertanno.errors import BertannoError
from bertanno.store.annotations import ItemTaken

ACTIONS = {"accept": "accept", "reject": "decide('reject')", "skip": "decide('skip')", "undo": "undo",
           "quit": "quit_session", "help": "help", "choose": "choose", "guidelines": "guidelines",
           "comment": "comment", "filter": "filter"}


def key_names(keys: tuple[str, ...]) -> str:
    """Textual's comma-separated key names for a keymap entry (``("\\r", "a")`` -> ``enter,a``)."""
    return ",".join(dict.fromkeys(character_key(key) for key in keys))


def shown_keys(keys: tuple[str, ...]) -> str:
    return "/".join(key_labels(keys))


class AnnotationApp(App[None]):
    """Runs an ``AnnotationSession`` full screen. ``keymap``: action -> keys (``bertanno.app.line_screen.KEYS``)."""

    CSS = """
    #header { dock: top; height: auto; padding: 0 1; background: $primary-background; }
    #context { height: auto; max-height: 50%; padding: 0 1; border-bottom: solid $primary; }
    #item { height: 1fr; }
    #message { height: auto; max-height: 3; padding: 0 1; }
    #keys { dock: bottom; height: auto; padding: 0 1; background: $panel; color: $text-muted; }
    """
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+c,ctrl+d,ctrl+q", "quit_session", show=False, priority=True)]
    """Ctrl-C is a key like q, even in a prompt: the session ends between two keys, with everything saved."""

    def __init__(self, session: AnnotationSession, keymap: dict[str, tuple[str, ...]]):
        super().__init__()
        self.session, self.keymap = session, keymap
        self.view: Any = None
        for action, keys in keymap.items():
            if action in ACTIONS:
                self.bind(key_names(keys), ACTIONS[action], show=False)

    def compose(self):
        yield Static(id="header")
        yield Static(id="context")
        yield Container(id="item")
        yield Static(id="message")
        yield Static(id="keys")

    def on_mount(self) -> None:
        self.show_next()
        self.set_interval(RENEW_SECONDS, self._renew)  # the item on screen stays this person's while it is open
        if self.session.live is not None:
            self.set_interval(2.0, self._show_header)

    # -- what is on screen ------------------------------------------------------------------------------------------
    def _keys_line(self) -> Text:
        keys = self.keymap
        choose = [(shown_keys(keys["choose"]), "choose")] if self.session.CHOOSES and "choose" in keys else []
        parts = [(shown_keys(keys["accept"]), "accept"), *choose, *getattr(self.view, "KEYS", ()),
                 (shown_keys(keys["reject"]), self.session.REJECT_WORD), (shown_keys(keys["skip"]), "skip"),
                 (shown_keys(keys["undo"]), "undo"), (shown_keys(keys["quit"]), "quit"),
                 *([(shown_keys(keys["guidelines"]), "guidelines")] if "guidelines" in keys and getattr(
                     getattr(self.session, "guidelines", None), "current", None) is not None else []),
                 (shown_keys(keys["help"]), "keys")]
        width = max(self.size.width - 2, 20)
        line, used = Text(), 0
        for key, what in parts:  # wrapped here, between pairs, never inside one
            size = cell_len(f"{key} {what}  ")
            if used and used + size - 2 > width:
                line.append("\n")
                used = 0
            line.append(key, style="bold")
            line.append(f" {what}  ")
            used += size
        return line

    def on_resize(self) -> None:
        self.query_one("#keys", Static).update(self._keys_line())

    def _show_header(self) -> None:
        session = self.session
        progress = session.progress()
        header = Text.assemble(
            (session.project_name, "bold"), f" · {session.task.name} · ",
            session.serving_line(), " · ",
            (f"{progress['done']}/{progress['total']} done", "bold"), f" · {progress['per_minute']:.1f}/min · ",
            (counts_line(session.kinds), "cyan"))
        if getattr(session, "where", None):
            header.append(f" · where {session.where}", style="bold magenta")
        current = session.current
        if current is not None:
            header.append(f"\n{session.item_heading()} · ")
            news = session.guidelines_news()
            if news is not None:
                key = shown_keys(self.keymap["guidelines"]) if "guidelines" in self.keymap else "bertanno guidelines"
                header.append(f"guidelines version {news} is new ({key} reads them) · ", "bold yellow")
            header.append(*session.item_note())
        if session.live is not None:
            header.append(f"\nlive: {session.live.status()}", style="dim")
        self.query_one("#header", Static).update(header)

    def _show_context(self) -> None:
        """What the session shows beside the item (a review's decisions, the comments), or nothing."""
        context = self.session.context() if self.session.current is not None else None
        shown = self.query_one("#context", Static)
        shown.display = context is not None
        if context is not None:
            shown.update(context)

    def say(self, message: str = "", style: str = "yellow") -> None:
        self.query_one("#message", Static).update(Text(message, style=style))

    def show_next(self) -> None:
        """Put the next item (or the all-done view) on screen."""
        container = self.query_one("#item", Container)
        current = self.session.next()
        reused = (current is not None and self.view is not None and hasattr(self.view, "show_item")
                  and self.session.guidelines_news() is None  # new guidelines: a new view, with their legend
                  and self.view.show_item(current.example, current.prediction, current.restored))
        if not reused:
            container.remove_children()
            if current is None:
                self.view = None
                container.mount(DoneView(shown_keys(self.keymap["undo"]), shown_keys(self.keymap["quit"])))
            else:
                self.view = item_widget(self.session, current.example, current.prediction, current.restored)
                container.mount(self.view)
                if self.view.can_focus:
                    self.view.focus()
            self.query_one("#keys", Static).update(self._keys_line())  # the keys depend on the view only
        self._show_context()
        self._show_header()
        if current is not None:  # once this item is drawn, lease the next one while the person reads
            self.call_after_refresh(self._fetch_ahead)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:  # each key once (it bubbles back up here)
            self.session.touch()
        await super().on_event(event)

    def _renew(self) -> None:
        threading.Thread(target=self.session.renew, name="renew-leases", daemon=True).start()

    def _fetch_ahead(self) -> None:
        threading.Thread(target=self.session.fetch_ahead, name="fetch-ahead", daemon=True).start()

    # -- decisions -----------------------------------------------------------------------------------------------
    def decide(self, decision: str, payload: Any = None) -> None:
        if self.session.current is None:
            self.say(f"every item is decided; {shown_keys(self.keymap['undo'])} undoes the last decision")
            return
        try:
            self.session.decide(decision, payload)
        except ItemTaken as exc:  # nothing stored; the item is someone else's now: on to the next one
            self.say(str(exc))
            self.show_next()
            return
        except (BertannoError, ValueError) as exc:
            self.say(str(exc))
            return
        notice = getattr(self.session, "pace_notice", lambda: None)()
        self.say(notice or "", style="italic yellow")
        self.show_next()

    def action_accept(self) -> None:
        if self.view is None:
            return
        edited = getattr(self.view, "edited", None)
        untouched = not (edited is not None and edited())
        if self.session.choices() and untouched:
            self.action_choose()  # no majority and nothing given yet: Enter asks which version settles it
            return
        if self.session.rejected_by_all and untouched:
            self.decide("accept")  # every annotator marked it unusable; Enter agrees (never "no entities")
            return
        decision, payload = self.view.accepted()
        self.decide(decision, payload)

    def action_choose(self) -> None:
        """A review without a majority: choose an annotator's version (or their union) as the item's proposal;
        it is put in the item view, where Enter settles the item with it or an edit changes it first."""
        current, choices = self.session.current, self.session.choices()
        if current is None or not choices:
            self.say("nothing to choose between on this item: Enter accepts the proposal")
            return

        def chosen(number: int | None) -> None:
            if number is None or self.session.current is not current:
                return
            self.session.choose(number)
            self.query_one("#item", Container).remove_children()
            self.view = item_widget(self.session, current.example, current.prediction)
            self.query_one("#item", Container).mount(self.view)
            if self.view.can_focus:
                self.view.focus()
            self.say(f"{choices[number - 1][0]}: Enter settles the item with it", style="green")
            self._show_header()

        self.push_screen(ChooseScreen(current.example.text, choices), chosen)

    def action_decide(self, decision: str) -> None:
        self.decide(decision)

    def on_decided(self, message: Decided) -> None:
        message.stop()
        self.decide(message.decision, message.payload)

    def action_undo(self) -> None:
        """The last edit on the item on screen first (a span view keeps a history of them); with none left, the
        previous item's decision."""
        undo_edit = getattr(self.view, "undo_edit", None)
        if undo_edit is not None and undo_edit():
            return
        if self.session.undo():
            self.say("undone: the item is back as you left it", style="green")
            self.show_next()
        else:
            self.say("nothing to undo in this session")

    def action_comment(self) -> None:
        """``#``: a comment on the item on screen (``!`` first flags it), saved when the box is closed with Enter."""
        current = self.session.current
        if current is None:
            self.say("no item to comment on")
            return

        def saved(text: str | None) -> None:
            if text is None or self.session.current is not current:
                return
            try:
                comment = self.session.comment(text)
            except BertannoError as exc:
                self.say(str(exc))
                return
            self.say("comment saved" + (", the item flagged for discussion" if comment["flagged"] else ""),
                     style="green")
            self._show_context()

        self.push_screen(CommentScreen(), saved)

    def action_filter(self) -> None:
        """``=``: serve only the items that meet a filter (``core.filters``, as ``annotate --where``); empty: all."""
        if not hasattr(self.session, "set_filter"):
            self.say("a review walks its own items: review --where filters them")
            return

        def chosen(where: str | None) -> None:
            if where is None:
                return
            try:
                keep = self.session.set_filter(where)
            except BertannoError as exc:
                self.say(str(exc))
                return
            self.say(f"only the items where {where.strip()}" if where.strip() else "every item again", style="green")
            if keep:
                self._show_header()
            else:
                self.show_next()

        self.push_screen(FilterScreen(self.session.where or ""), chosen)

    def action_guidelines(self) -> None:
        guidelines = getattr(self.session, "guidelines", None)
        self.push_screen(GuidelinesScreen(guidelines_renderable(guidelines.current if guidelines else None,
                                                                self.session.project_name)))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_text(self.keymap, getattr(self.view, "HELP", ""), self.session.REJECT_HELP,
                                              choose=self.session.CHOOSES)))

    def action_quit_session(self) -> None:
        self.exit()
