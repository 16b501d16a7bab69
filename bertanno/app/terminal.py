"""The terminal front of an annotation session: the screen, the keys, the span editor, and the
scripted mode that reads one key sequence per item from a file (how scripts and tests drive it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from bertanno.app.session import AnnotationSession
from bertanno.errors import BertannoError
from bertanno.plugins.task import Example, Span, not_text

KEYS = {  # the default keymap; --keys / BERTANNO_KEYS change it
    "accept": ("\r", "\n", "a"),
    "reject": ("x",),
    "skip": ("s",),
    "undo": ("u",),
    "correct": ("c",),
    "quit": ("q",),
    "help": ("?",),
}
HELP = """[bold]Keys[/]
  Enter / a   accept the pre-annotation      1-9  choose that label
  c           correct: type a label, or edit spans (NER)
  x           reject the pre-annotation      s    skip (comes back later)
  u           undo, as many steps as this session has made
  q / Ctrl-C / Ctrl-D   quit (every decision is saved)   ?  this help

[bold]Span editor (NER)[/]: one command per line, shown before it is saved
  + 北京:LOC     add the first free occurrence of 北京
  + 北京#2:LOC   add its second occurrence
  + 3-5:LOC      add characters 3 to 5 (end exclusive, see the ruler)
  - 2            delete span 2              t 2 ORG  change its type
  [2  ]2         move span 2's start left / its end right
  {2  }2         move span 2's start right / its end left
  Enter          save                       !    cancel"""


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


class SpanEditor:
    """Keyboard-only editing of a list of spans over one text."""

    def __init__(self, task, example: Example, spans):
        self.task, self.example = task, example
        self.spans: list[Span] = sorted(Span(*s) for s in spans or [])

    def _index(self, text: str) -> int:
        if not text.strip().isdigit() or not 1 <= int(text) <= len(self.spans):
            raise ValueError(f"no span {text.strip()!r}; spans are numbered 1 to {len(self.spans)}")
        return int(text) - 1

    def _occurrence(self, surface: str, nth: int) -> int:
        start, found = -1, 0
        while True:
            start = self.example.text.find(surface, start + 1)
            if start < 0:
                raise ValueError(f"{surface!r} does not occur {nth} time(s) in the text")
            if not any(s.start < start + len(surface) and start < s.end for s in self.spans):
                found += 1
                if found == nth:
                    return start

    def apply(self, command: str) -> None:
        """One editor command; raises ``ValueError`` with a hint when it cannot be done."""
        command = command.strip()
        if command.startswith("+"):
            target, _, label = command[1:].strip().rpartition(":")
            if not target or not label:
                raise ValueError("add a span with + TEXT:TYPE or + START-END:TYPE")
            start_end = target.split("-")
            if len(start_end) == 2 and all(part.isdigit() for part in start_end):
                span = Span(int(start_end[0]), int(start_end[1]), label)
            else:
                surface, _, nth = target.partition("#")
                start = self._occurrence(surface, int(nth) if nth.isdigit() else 1)
                span = Span(start, start + len(surface), label)
            self._check([*self.spans, span])
        elif command.startswith("-"):
            del self.spans[self._index(command[1:])]
        elif command.startswith("t "):
            number, _, label = command[2:].strip().partition(" ")
            index = self._index(number)
            self._check([*self.spans[:index], self.spans[index]._replace(label=label.strip()), *self.spans[index + 1:]])
        elif command[:1] in "[]{}" and command:
            index = self._index(command[1:])
            span = self.spans[index]
            moved = {"[": span._replace(start=span.start - 1), "]": span._replace(end=span.end + 1),
                     "{": span._replace(start=span.start + 1), "}": span._replace(end=span.end - 1)}[command[0]]
            if moved.start >= moved.end:
                raise ValueError("a span needs at least one character")
            self._check([*self.spans[:index], moved, *self.spans[index + 1:]])
        else:
            raise ValueError(f"unknown command {command!r}; ? shows the span editor's commands")

    def _check(self, spans: list[Span]) -> None:
        self.task.validate(Example(self.example.text, payload=spans))
        ordered = sorted(spans)
        for before, after in zip(ordered, ordered[1:]):
            if after.start < before.end:
                raise ValueError(f"{self.example.text[after.start:after.end]!r} overlaps "
                                 f"{self.example.text[before.start:before.end]!r}")
        self.spans = ordered

    def listing(self) -> Text:
        if not self.spans:
            return Text("(no entities)", style="dim")
        return Text("  ").join(Text(f"{n}:{self.example.text[s.start:s.end]}[{s.start}-{s.end}]:{s.label}",
                                    style=self.task.colour(s.label)) for n, s in enumerate(self.spans, start=1))


@dataclass
class Screen:
    console: Console
    session: AnnotationSession

    def show(self, message: str = "", extra=None) -> None:
        session, current = self.session, self.session.current
        progress = session.progress()
        counts = progress["session"]
        header = Text.assemble(
            (f"{session.project_name}", "bold"),
            f" · {session.task.name} · {'no model yet' if session.model_version is None else 'model ' + session.serving} · ",
            (f"{progress['done']}/{progress['total']} done", "bold"), f" · {progress['per_minute']:.1f}/min · ",
            (f"✓{counts['accept']} ✎{counts['correct']} ✗{counts['reject']} ↷{counts['skip']}", "cyan"))
        if session.live is not None:
            header = Text.assemble(header, "\n", (f"live: {session.live.status()}", "dim"))
        body = session.task.render(current.example, current.prediction)
        parts = [header, Panel(body if extra is None else Group(body, extra), title=f"item {current.item_id}")]
        if current.prediction is None:
            parts.append(Text("no pre-annotation: choose a label or correct (c)", style="yellow"))
        parts.append(Text("Enter accept · c correct · x reject · s skip · u undo · q quit · ? keys", style="dim"))
        if message:  # the help is bertanno's own markup; any other message may quote data: plain text
            parts.append(Text.from_markup(message) if message == HELP else Text(message, style="red"))
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

    def key(self, key: str) -> str | None:
        """Handle one key for the current item; returns a message for the screen, or ``"quit"``."""
        session, task, keys = self.session, self.session.task, self.keys
        if key in keys["quit"]:
            return "quit"
        if key in keys["help"]:
            return HELP
        if key in keys["undo"]:
            return None if session.undo() else "nothing to undo in this session"
        if key in keys["skip"]:
            session.decide("skip")
        elif key in keys["reject"]:
            session.decide("reject")
        elif key in keys["accept"]:
            session.decide("accept")
        elif key.isdigit() and task.head == "sequence":
            session.decide("correct", task.parse_correction(key, session.current.example))
        elif key in keys["correct"]:
            payload = self.correction()
            if payload is None:
                return "correction cancelled"
            session.decide("correct", payload)
        else:
            return f"unknown key {key!r}; ? shows the keys"
        return None

    def correction(self):
        task, current = self.session.task, self.session.current
        if task.head != "token":
            labels = ", ".join(f"{i} {label}" for i, label in enumerate(task.labels, start=1))
            while True:
                typed = self.read_line(f"label ({labels}; empty cancels): ").strip()
                if not typed:
                    return None
                try:
                    return task.parse_correction(typed, current.example)
                except ValueError as exc:
                    if self.strict:
                        raise
                    self.show(str(exc))
        editor = SpanEditor(task, current.example, current.prediction.payload if current.prediction else [])
        message = ""
        while True:
            self.show(message, extra=Group(Text("editing:", style="bold"), editor.listing()))
            command = self.read_line("span> ")
            if not command.strip():
                return editor.spans
            if command.strip() == "!":
                return None
            if command.strip() == "?":
                message = HELP
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
    screen = Screen(console, session)

    def read_line(prompt: str) -> str:
        return console.input(prompt)

    driver = Driver(session, read_line, lambda message="", extra=None: screen.show(message, extra), keymap=keymap)
    message = ""
    while session.next() is not None:
        screen.show(message)
        try:
            message = driver.key(get_key()) or ""
        except (BertannoError, ValueError) as exc:
            message = str(exc)
        if message == "quit":
            return
    console.print("[green]every item is decided or taken by another annotator[/]")


def run_scripted(session: AnnotationSession, lines: Iterable[str], echo: Callable[[str], None],
                 keymap: dict[str, tuple[str, ...]] | None = None) -> int:
    """Each line is the key sequence for the current item: ``a``, ``x``, ``s``, ``u``, ``q``, a digit,
    ``c LABEL`` or, for NER, ``c`` followed by span-editor commands separated by ``;``
    (``c + 北京:LOC; - 1``). Returns how many lines were applied."""
    applied = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not_text(line) is not None:
            raise BertannoError(f"decisions line {number}, {not_text(line)}")
        if session.next() is None:
            echo("no items left")
            break
        key, _, rest = line.strip().partition(" ")
        keys = keymap or KEYS
        queued = [part for part in rest.split(";") if part.strip()] if key in keys["correct"] else []
        driver = Driver(session, lambda prompt: queued.pop(0) if queued else "", lambda *a, **k: None, strict=True,
                        keymap=keys)
        item_id = session.current.item_id
        try:
            message = driver.key(key)
        except ValueError as exc:
            raise BertannoError(f"decisions line {number} ({line.strip()!r}): {exc}") from None
        if message and message != "quit" and not message.startswith("nothing to undo"):
            raise BertannoError(f"decisions line {number} ({line.strip()!r}): {message}")
        applied += 1
        if message == "quit":
            break
        echo(f"item {item_id}: {key}" + (f" ({message})" if message else ""))
    return applied
