"""Editing a list of entity spans over one text: the model behind the span editor of the annotation screen and
of the plain terminal session. Spans keep the number they got when they appeared (from 1, in text order for
the spans an item starts with, then in the order they are added): deleting span 2 leaves span 3 as 3, so a
command typed from what the screen showed always means the span it showed.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable

from bertanno.app.views.spans import colour
from bertanno.plugins.task import Example, Span

MERGE_GAP = 4
"""The most characters ``SpanEditor.merge`` lets lie between two spans it joins (冠状动脉 + 粥样硬化: none)."""
MERGE_STOPS = set("\n\r。！？；，、!?;,")
"""Characters that end a clause: two spans with one of them between are never merged into one."""


class SpanEditor:
    """Numbered spans over ``example.text``, checked by ``task.validate`` and kept free of overlaps (which BIO
    cannot express). Every change raises ``ValueError`` with a sentence and leaves the spans as they were when
    it cannot be made."""

    def __init__(self, task, example: Example, spans: Iterable | None):
        self.task, self.example = task, example
        self.history: list[tuple] = []
        """The states before each change, oldest first: ``undo`` goes back through them."""
        self.future: list[tuple] = []
        """The states ``undo`` left, newest last: ``redo`` comes back through them; a new change clears it."""
        self._depth = 0
        self.reset(spans, record=False)

    def reset(self, spans: Iterable | None, record: bool = True) -> None:
        """Start over from ``spans``, numbered from 1 in text order; ``record``: as a change ``undo`` takes
        back (the item's opening state is not one)."""
        with self._change(record):
            self.numbered: dict[int, Span] = {
                n: Span(*s) for n, s in enumerate(sorted(Span(*s) for s in spans or ()), start=1)}
            self.next_number = len(self.numbered) + 1

    def _state(self) -> tuple:
        """What ``undo`` keeps of the editor: a copy of the numbered spans and the next number (a subclass that
        keeps more, such as the relations of ``GraphEditor``, keeps it here too)."""
        return dict(getattr(self, "numbered", {})), getattr(self, "next_number", 1)

    def _restore(self, state: tuple) -> None:
        """Put back a state ``_state`` gave."""
        self.numbered, self.next_number = dict(state[0]), state[1]

    def _settle(self) -> None:
        """Called at the end of each change that raised nothing, before it is recorded: where a subclass
        drops what the change left dangling (a relation whose entity was removed)."""

    @contextmanager
    def _change(self, record: bool = True):
        """One change, however many steps it takes (a command removes and adds): the state before it is kept
        for ``undo`` when it changed something and raised nothing; on ``ValueError`` the spans are put back."""
        outermost = self._depth == 0
        before = self._state()
        self._depth += 1
        try:
            yield
            if outermost:
                self._settle()
        except ValueError:
            if outermost:
                self._restore(before)
            raise
        finally:
            self._depth -= 1
        if outermost and record and before != self._state():
            self.history.append(before)
            self.future.clear()

    def undo(self) -> bool:
        """Take back the last change to the spans; ``False`` when there is none (the item as it opened)."""
        return self._step(self.history, self.future)

    def redo(self) -> bool:
        """Make again the change ``undo`` took back last; ``False`` when there is none."""
        return self._step(self.future, self.history)

    def _step(self, back_to: list, keep_in: list) -> bool:
        """Go to the newest state of ``back_to``, keeping the present one in ``keep_in``."""
        if not back_to:
            return False
        keep_in.append(self._state())
        self._restore(back_to.pop())
        return True

    @property
    def spans(self) -> list[Span]:
        """The spans in text order."""
        return sorted(self.numbered.values())

    def items(self) -> list[tuple[int, Span]]:
        """``(number, span)`` in text order."""
        return sorted(self.numbered.items(), key=lambda pair: pair[1])

    def colour(self, label: str) -> str:
        """The rich colour a span of ``label`` is drawn in (``views.spans.colour``: by its place in the label
        set)."""
        return colour(self.task.labels, label)

    def describe(self, number: int) -> str:
        """``2 上海 [4-6 LOC]``: a span as the screen names it."""
        span = self.numbered[number]
        return f"{number} {self.example.text[span.start:span.end]!r} [{span.start}-{span.end} {span.label}]"

    # -- changes --------------------------------------------------------------------------------------------------
    def add(self, span: Span) -> int:
        """Add ``span``; returns its number. Raises ``ValueError`` naming the span it would overlap."""
        with self._change():
            self._check(span)
            number, self.next_number = self.next_number, self.next_number + 1
            self.numbered[number] = span
        return number

    def remove(self, numbers: Iterable[int]) -> None:
        """Remove the spans with these numbers (all or none)."""
        numbers = list(numbers)
        with self._change():
            for number in numbers:
                self._number(str(number))
            for number in numbers:
                del self.numbered[number]

    def replace(self, number: int, span: Span) -> None:
        """Change span ``number`` (its label or its boundaries), keeping its number."""
        with self._change():
            self._check(span, ignore=number)
            self.numbered[number] = span

    def replace_overlapping(self, span: Span) -> int:
        """Add ``span`` in place of every span it overlaps, as one change; returns its number."""
        with self._change():
            self.remove([n for n, s in self.numbered.items() if s.start < span.end and span.start < s.end])
            return self.add(span)

    def merge(self, number: int) -> int:
        """Join span ``number`` with the next span in text order into one span from the first's start to the
        second's end, of the first's type, as one change; returns the number it keeps. Raises ``ValueError``
        when there is no span after it, or when more than ``MERGE_GAP`` characters or a line break or clause
        punctuation (``MERGE_STOPS``) lie between them: that is two entities, not one cut in two."""
        span = self.numbered[self._number(str(number))]
        following = [(n, s) for n, s in self.items() if s.start >= span.end]
        if not following:
            raise ValueError(f"span {self.describe(number)} is the last one: nothing after it to merge with")
        other, after = following[0]
        gap = self.example.text[span.end:after.start]
        if len(gap) > MERGE_GAP or any(ch in MERGE_STOPS for ch in gap):
            between = repr(gap) if len(gap) <= MERGE_GAP else f"{len(gap)} characters"
            raise ValueError(f"not merged: {between} between span {number} and span {other}; to mark it whole, "
                             "select the stretch and press a label key")
        with self._change():
            del self.numbered[other]
            self.replace(number, Span(span.start, after.end, span.label))
        return number

    def split(self, number: int, at: int) -> int:
        """Cut span ``number`` in two at character ``at`` (the second part starts there), both of its type, as
        one change; returns the second part's number. Raises ``ValueError`` unless ``at`` lies inside it."""
        span = self.numbered[self._number(str(number))]
        if not span.start < at < span.end:
            raise ValueError(f"put the cursor inside span {self.describe(number)}, on the first character of "
                             "the second part, to split it there")
        with self._change():
            self.replace(number, span._replace(end=at))
            return self.add(Span(at, span.end, span.label))

    def label_occurrences(self, number: int) -> tuple[list[int], int]:
        """Mark every other occurrence of span ``number``'s text with its type, as one change: ``(the numbers
        added, how many occurrences were left because they overlap a span)``. Raises ``ValueError`` for an
        unknown number."""
        span = self.numbered[self._number(str(number))]
        surface, added, overlapping = self.example.text[span.start:span.end], [], 0
        with self._change():
            start = self.example.text.find(surface)
            while start >= 0:
                candidate = Span(start, start + len(surface), span.label)
                if candidate != span:
                    if any(s.start < candidate.end and candidate.start < s.end for s in self.numbered.values()):
                        overlapping += 1
                    else:
                        added.append(self.add(candidate))
                start = self.example.text.find(surface, start + 1)
        return added, overlapping

    def at(self, offset: int) -> int | None:
        """The number of the span covering character ``offset``, or ``None``."""
        return next((n for n, s in self.numbered.items() if s.start <= offset < s.end), None)

    def apply(self, command: str) -> None:
        """One line command: ``+ START-END:TYPE``, ``+ SURFACE:TYPE`` (``SURFACE#2`` its second occurrence),
        ``- N``, ``- N-M``, ``- N,M``, ``- all``, ``t N TYPE``, ``[N ]N {N }N`` (move a boundary by one).
        Raises ``ValueError`` with a hint when it cannot be done, and changes nothing then; one command is one
        change for ``undo``."""
        with self._change():
            self._apply(command.strip())

    def _apply(self, command: str) -> None:
        if command.startswith("+"):
            target, _, label = command[1:].strip().rpartition(":")
            if not target or not label:
                raise ValueError("add a span with + TEXT:TYPE or + START-END:TYPE")
            start_end = target.split("-")
            if len(start_end) == 2 and all(part.isdigit() for part in start_end):
                self.add(Span(int(start_end[0]), int(start_end[1]), label.strip()))
            else:
                surface, _, nth = target.partition("#")
                start = self._occurrence(surface, int(nth) if nth.isdigit() else 1)
                self.add(Span(start, start + len(surface), label.strip()))
        elif command.startswith("-"):
            self.remove(self._numbers(command[1:]))
        elif command.startswith("t "):
            number, _, label = command[2:].strip().partition(" ")
            index = self._number(number)
            self.replace(index, self.numbered[index]._replace(label=label.strip()))
        elif command[:1] in "[]{}" and command:
            index = self._number(command[1:])
            span = self.numbered[index]
            moved = {"[": span._replace(start=span.start - 1), "]": span._replace(end=span.end + 1),
                     "{": span._replace(start=span.start + 1), "}": span._replace(end=span.end - 1)}[command[0]]
            if moved.start >= moved.end:
                raise ValueError("a span needs at least one character")
            self.replace(index, moved)
        else:
            raise ValueError(f"unknown command {command!r}; ? shows the span editor's commands")

    # -- helpers --------------------------------------------------------------------------------------------------
    def _number(self, text: str) -> int:
        text = text.strip()
        if not text.isdigit() or int(text) not in self.numbered:
            if not self.numbered:
                raise ValueError(f"no span {text!r}: the item has no spans yet (add one with + TEXT:TYPE or "
                                 "+ START-END:TYPE)")
            shown = ", ".join(str(n) for n, _ in self.items())
            raise ValueError(f"no span {text!r}; the spans are numbered {shown}")
        return int(text)

    def _numbers(self, text: str) -> list[int]:
        text = text.strip()
        if text == "all":
            return list(self.numbered)
        numbers: list[int] = []
        for part in filter(None, (p.strip() for p in text.replace(" ", ",").split(","))):
            first, dash, last = part.partition("-")
            if dash and first.isdigit() and last.isdigit():
                numbers += [self._number(str(n)) for n in range(int(first), int(last) + 1) if n in self.numbered]
            else:
                numbers.append(self._number(part))
        if not numbers:
            raise ValueError("remove spans with - N, - N-M, - N,M or - all")
        return numbers

    def _occurrence(self, surface: str, nth: int) -> int:
        """The start of the ``nth`` occurrence of ``surface`` that is not already a span of its own."""
        start, found = -1, 0
        while True:
            start = self.example.text.find(surface, start + 1)
            if start < 0 or not surface:
                raise ValueError(f"{surface!r} occurs fewer than {nth} time(s) in the text")
            if not any(s.start == start and s.end == start + len(surface) for s in self.numbered.values()):
                found += 1
                if found == nth:
                    return start

    def _check(self, span: Span, ignore: int | None = None) -> None:
        text = self.example.text
        if not 0 <= span.start < span.end <= len(text):
            raise ValueError(f"{span.start}-{span.end} is outside the text (0-{len(text)})")
        others = {n: s for n, s in self.numbered.items() if n != ignore}
        self.task.validate(Example(text, payload=sorted([*others.values(), span])))
        for number, other in sorted(others.items(), key=lambda pair: pair[1]):
            if span.start < other.end and other.start < span.end:
                verb = "is already span" if (other.start, other.end) == (span.start, span.end) else "overlaps span"
                raise ValueError(f"{text[span.start:span.end]!r} [{span.start}-{span.end}] {verb} "
                                 f"{self.describe(number)}; remove it first (- {number})")
