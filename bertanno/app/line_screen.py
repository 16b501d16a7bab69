"""The line-by-line screen of an annotation session (``annotate --plain``; the full-screen Textual app is
``bertanno.app.screen``): ``LineScreen``, the keys and their keymap, the span editor's command line, and the
scripted mode that reads one key sequence per item from a file (how ``--decisions``, scripts and tests drive
it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from bertanno.app.relation_editing import GraphEditor
from bertanno.app.session import AnnotationSession
from bertanno.app.span_editing import SpanEditor
from bertanno.app.views import item_legend, render_item, view_for
from bertanno.app.views.guidelines import guidelines_renderable
from bertanno.core.stats import counts_line
from bertanno.errors import BertannoError
from bertanno.plugins.task import not_text
from bertanno.store.annotations import ItemTaken

KEYS = {  # the default keymap; --keys / BERTANNO_KEYS change it
    "accept": ("\r", "\n", "a"),
    "reject": ("x",),
    "skip": ("s",),
    "undo": ("u",),
    "correct": ("c",),
    "choose": ("v",),
    "quit": ("q",),
    "help": ("?",),
    "guidelines": ("g",),
    "comment": ("#",),
    "filter": ("=",),
}
HELP = """[bold]Keys[/]
  Enter / a   accept the pre-annotation      1-9  choose that label
  c           correct: type a label, or edit spans (NER)
  x           {reject:<30} s    skip (comes back later)
  v N         review without a majority: settle with version N
  u           undo, as many steps as this session has made
  q / Ctrl-C / Ctrl-D   quit (every decision is saved)   ?  this help
  g           the project's annotation guidelines
  #           comment on the item (! first flags it for discussion)
  =           serve only the items that meet a filter (as annotate --where)

[bold]Span editor (NER)[/]: one command per line, shown before it is saved
  + 北京:LOC     add the first free occurrence of 北京
  + 北京#2:LOC   add its second occurrence
  + 3-5:LOC      add characters 3 to 5 (end exclusive, see the ruler)
  - 2            delete span 2 (- 2-4, - 2,5, - all)   t 2 ORG  change its type
  [2  ]2         move span 2's start left / its end right
  {2  }2         move span 2's start right / its end left
  1>2:sell_to    relations: a relation from span 1 to span 2 (relations projects)
  -r 3           delete relation r3 (-r 3,4, -r all)   tr 3 TYPE  change its type
  Enter          save                       !    cancel"""


GUIDELINES = "\0guidelines"
"""``Driver.key``'s message for the guidelines key: the screen shows the guidelines in place of a message."""


def plain_help(session) -> str:
    """The plain screen's help (``HELP``) in the session's own words for x (``REJECT_HELP``)."""
    return HELP.replace("{reject:<30}", f"{session.REJECT_HELP:<30}")


def parse_keymap(text: str | None) -> dict[str, tuple[str, ...]]:
    """``"accept=y reject=n skip=k"`` -> the default keymap with those actions on those keys.

    Enter always accepts as well; a key given to two actions is refused.
    """
    keymap = dict(KEYS)
    for item in (text or "").replace(",", " ").split():
        action, sep, keys = item.partition("=")
        if not sep or action not in KEYS or not keys:
            raise BertannoError(f"--keys items look like accept=y, for the actions {', '.join(KEYS)}; got {item!r}")
        keymap[action] = tuple(keys) + (("\r", "\n") if action == "accept" else ())
    taken: dict[str, str] = {}
    for action, keys in keymap.items():
        for key in keys:
            if key.isdigit():
                raise BertannoError(f"digits choose labels; {action} cannot be {key!r}")
            if key in taken:
                raise BertannoError(f"key {key!r} is given to both {taken[key]} and {action}")
            taken[key] = action
    return keymap


def span_listing(editor: SpanEditor) -> Text:
    """The editor's spans with their numbers, in text order, each in its label's colour; a ``GraphEditor``'s
    relations after them, one a line (``r1 薛某某 ─sell_drugs_to→ 赵某某``)."""
    text = editor.example.text
    listing = Text("  ").join(Text(f"{n}:{text[s.start:s.end]}[{s.start}-{s.end}]:{s.label}",
                                   style=editor.colour(s.label)) for n, s in editor.items())
    if not editor.spans:
        listing = Text("(no entities)", style="dim")
    if isinstance(editor, GraphEditor):
        links = [editor.describe_link(n) for n, _ in editor.link_items()] or ["(no relations)"]
        listing = Text("\n").join([listing, *(Text(line) for line in links)])
    return listing


@dataclass
class LineScreen:
    console: Console
    session: AnnotationSession

    def show(self, message: str = "", extra=None) -> None:
        session, current = self.session, self.session.current
        progress = session.progress()
        header = Text.assemble(
            (f"{session.project_name}", "bold"),
            f" · {session.task.name} · {session.serving_line()} · ",
            (f"{progress['done']}/{progress['total']} done", "bold"), f" · {progress['per_minute']:.1f}/min · ",
            (counts_line(session.kinds), "cyan"))
        if session.live is not None:
            header = Text.assemble(header, "\n", (f"live: {session.live.status()}", "dim"))
        guidelines = getattr(session, "guidelines", None)
        descriptions = guidelines.descriptions(session.task.labels) if guidelines is not None else None
        body = Group(render_item(session.task, current.example, current.prediction, session.plugins),
                     item_legend(session.task, session.plugins, descriptions))
        context = session.context()
        parts = [header] + ([Panel(context, title=session.CONTEXT_TITLE)] if context is not None else [])
        parts.append(Panel(body if extra is None else Group(body, extra), title=session.item_heading()))
        note, style = session.item_note()
        news = session.guidelines_news()
        if news is not None:
            parts.append(Text(f"guidelines version {news} is new (g reads them)", style="bold yellow"))
        parts.append(Text(note, style=style))
        choose = " · v choose a version" if session.choices() else ""
        parts.append(Text(f"Enter accept · c correct{choose} · x {session.REJECT_WORD} · s skip · u undo · q quit · "
                          "? keys", style="dim"))
        if message == GUIDELINES:
            parts.append(guidelines_renderable(getattr(getattr(session, "guidelines", None), "current", None),
                                               session.project_name))
        elif message:  # the help is bertanno's own markup; any other message may quote data: plain text
            parts.append(Text.from_markup(message) if message == plain_help(session) else Text(message, style="red"))
        self.console.clear()
        self.console.print(Group(*parts))


class Driver:
    """Applies keys to a session. ``read_line`` supplies typed input (corrections, span commands)."""

    def __init__(self, session: AnnotationSession, read_line: Callable[[str], str], show: Callable[..., None],
                 strict: bool = False, keymap: dict[str, tuple[str, ...]] | None = None):
        self.session, self.read_line, self.show = session, read_line, show
        self.keys = keymap or KEYS
        self.strict = strict
        """Scripted input: a correction that cannot be applied is an error, not a message to retype."""
        self.notice: str | None = None
        """After a decision: the session's word on the pace of its accepts (``pace_notice``), if it has one."""

    def key(self, key: str) -> str | None:
        """Handle one key for the current item; returns a message for the screen, or ``"quit"``."""
        session, task, keys = self.session, self.session.task, self.keys
        session.touch()
        if key in keys["quit"]:
            return "quit"
        if key in keys["help"]:
            return plain_help(session)
        if key in keys.get("guidelines", ()):
            return GUIDELINES
        if key in keys.get("filter", ()) and hasattr(session, "set_filter"):
            where = self._typed(f"filter ({session.where or 'none'}; e.g. label:DIS is:flagged; empty: every item): ")
            session.set_filter(where)  # the loop's next() serves the item on screen again, or a matching one
            return f"only the items where {where.strip()}" if where.strip() else "every item again"
        if key in keys.get("comment", ()):
            text = self._typed("comment (! first flags the item; empty cancels): ")
            if not text.strip():
                return "no comment"
            comment = session.comment(text)
            return "comment saved" + (", the item flagged for discussion" if comment["flagged"] else "")
        if key in keys["undo"]:
            return None if session.undo() else "nothing to undo in this session"
        if key in keys["skip"]:
            session.decide("skip")
        elif key in keys["reject"]:
            session.decide("reject")
        elif key in keys["accept"]:
            session.decide("accept")
        elif key in keys.get("choose", ()):
            return self.choose()
        elif (chosen := task.key_correction(key, session.current.example)) is not None:
            session.decide("correct", chosen)
        elif key in keys["correct"]:
            payload = self.correction()
            if payload is None:
                return "correction cancelled"
            session.decide("correct", payload)
        else:
            return f"unknown key {key!r}; ? shows the keys"
        self.notice = getattr(session, "pace_notice", lambda: None)()
        return None

    def choose(self) -> str | None:
        """``v N``: settle a review's item with version N of ``session.choices()`` (an annotator's, or their
        union); returns a message when there is nothing to choose or the number is not a choice."""
        session = self.session
        if not session.choices():
            return "nothing to choose between on this item: Enter accepts the proposal"
        typed = self._typed(f"version ({session.choice_line()}; empty cancels): ").strip()
        if not typed:
            return "choice cancelled"
        if not typed.isdigit():
            return f"{typed!r} is not a version number: {session.choice_line()}"
        session.choose(int(typed))
        session.decide("accept")
        return None

    def _typed(self, prompt: str) -> str:
        """A typed line; each of its characters and its Enter count as keystrokes on the item."""
        line = self.read_line(prompt)
        self.session.touch(len(line.rstrip("\r\n")) + 1)
        return line

    def correction(self):
        task, current = self.session.task, self.session.current
        view = view_for(task, self.session.plugins)
        shown = current.prediction.payload if current.prediction else None
        editor = (GraphEditor(task, current.example, shown) if view.name == "relations"
                  else SpanEditor(task, current.example, shown or []) if view.edits_spans else None)
        if editor is None:
            labels = ", ".join(f"{i} {label}" for i, label in enumerate(task.labels, start=1))
            while True:
                typed = self._typed(f"label ({labels}; empty cancels): ").strip()
                if not typed:
                    return None
                try:
                    return task.parse_correction(typed, current.example)
                except ValueError as exc:
                    if self.strict:
                        raise
                    self.show(str(exc))
        message = ""
        while True:
            self.show(message, extra=Group(Text("editing:", style="bold"), span_listing(editor)))
            command = self._typed("span> ")
            if not command.strip():
                return editor.graph if isinstance(editor, GraphEditor) else editor.spans
            if command.strip() == "!":
                return None
            if command.strip() == "?":
                message = plain_help(self.session)
                continue
            try:
                editor.apply(command)
                message = ""
            except ValueError as exc:
                if self.strict:
                    raise
                message = str(exc)


def run_interactive(session: AnnotationSession, console: Console, get_key: Callable[[], str],
                    keymap: dict[str, tuple[str, ...]] | None = None) -> None:
    screen = LineScreen(console, session)

    def read_line(prompt: str) -> str:
        return console.input(prompt)

    driver = Driver(session, read_line, lambda message="", extra=None: screen.show(message, extra), keymap=keymap)
    message = ""
    while session.next() is not None:
        screen.show(message)
        try:
            driver.notice = None
            message = driver.key(get_key()) or driver.notice or ""
        except (BertannoError, ValueError) as exc:
            message = str(exc)
        if message == "quit":
            return
    console.print("[green]every item is decided or taken by another annotator[/]")


def run_scripted(session: AnnotationSession, lines: Iterable[str], echo: Callable[[str], None],
                 keymap: dict[str, tuple[str, ...]] | None = None) -> int:
    """Each line is the key sequence for the current item: ``a``, ``x``, ``s``, ``u``, ``q``, a digit,
    ``c LABEL`` or, for NER, ``c`` followed by span-editor commands separated by ``;``
    (``c + 北京:LOC; - 1``); in a review without a majority, ``v N`` settles with version N. A line may begin with ``@SECONDS`` (``@4.5 a``): the time the item took, recorded
    as its active time instead of the time the script took. Returns how many lines were applied."""
    applied = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not_text(line) is not None:
            raise BertannoError(f"decisions line {number}, {not_text(line)}")
        seconds = None
        if line.lstrip().startswith("@"):
            given, _, line = line.lstrip()[1:].partition(" ")
            try:
                seconds = float(given)
            except ValueError:
                raise BertannoError(f"decisions line {number}: @{given} is not a number of seconds "
                                    "(write @4.5 a: 4.5 s on the item, then its keys)") from None
            if not line.strip():
                raise BertannoError(f"decisions line {number}: @{given} gives the item's time but no keys after it")
        if session.next() is None:
            echo("no items left")
            break
        if seconds is not None:
            try:
                session.give_time(seconds)
            except BertannoError as exc:
                raise BertannoError(f"decisions line {number}: {exc}") from None
        key, _, rest = line.strip().partition(" ")
        keys = keymap or KEYS
        typed = key in keys["correct"] or key in keys.get("choose", ())
        queued = [part.strip() for part in rest.split(";") if part.strip()] if typed else []
        driver = Driver(session, lambda prompt: queued.pop(0) if queued else "", lambda *a, **k: None, strict=True,
                        keymap=keys)
        item_id = session.current.item_id
        try:
            message = driver.key(key)
        except ItemTaken as exc:  # nothing stored; the session goes on with the next item
            echo(f"decisions line {number}: {exc}")
            applied += 1
            continue
        except ValueError as exc:
            raise BertannoError(f"decisions line {number} ({line.strip()!r}): {exc}") from None
        if message and message != "quit" and not message.startswith("nothing to undo"):
            raise BertannoError(f"decisions line {number} ({line.strip()!r}): {message}")
        applied += 1
        if message == "quit":
            break
        echo(f"item {item_id}: {key}" + (f" ({message})" if message else ""))
    return applied
