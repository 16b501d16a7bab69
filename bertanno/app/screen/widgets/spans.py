"""The item view of a span task (NER, or a third party's token-level task): the text with a character cursor,
every span drawn in its label's colour as it is edited, the numbered span list and a status line.

Keys (the help screen lists them): arrows move the cursor, shift+arrows select, 1-9 label the selection (or,
on a span, change its type), d / Delete remove the span under the cursor (or every span in the selection),
Tab / Shift+Tab jump between spans, w selects the word under the cursor (jieba), W snaps the selection (or the
cursor) to BERT word pieces (a word's ``##`` pieces taken whole), ``[ ] { }`` move the start or
end of the span under the cursor, r brings back the pre-annotation, Esc drops the selection, ``:`` opens the
line-command prompt (``+ 3-5:LOC``, ``+ 北京:LOC``, ``- 2``, ``- all``, ``t 2 ORG``).

The text is wrapped by this widget, one character at a time by its cell width (two for CJK and emoji), so no
character is ever cut and the cursor's row is known; only the rows on screen are drawn (Textual's line API),
so a long text opens at once.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Callable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Input, Static

from bertanno import BERT_BASE_CHINESE_DIR
from bertanno.app.screen.widgets import Prompt
from bertanno.app.screen.widgets.text import WrappedText, display_character
from bertanno.app.span_editing import SpanEditor
from bertanno.app.views.spans import legend
from bertanno.plugins.task import Span

HELP = """
Span editing
  ← → ↑ ↓ Home End   move the cursor        shift+arrows   select (N presses: N characters)
  ctrl+← ctrl+→      the previous / next word (with shift: select by words)
  PageUp PageDown    a screen up / down     ctrl+Home ctrl+End   the first / last character
  /                  find a string and select its next occurrence
  1-9                label the selection (on a span: change its type; over spans: press
                     again to replace them; with nothing selected: nothing)
  d / Delete         remove the span under the cursor (or those in the selection, which stays)
  Tab / Shift+Tab    next / previous span   w word (jieba)  W word pieces
  [ ]                move the span's start left / its end right
  { }                move the span's start right / its end left
  < >                widen the span by the word before it / after it
  m  |               merge the span with the next one / split it at the cursor
  r                  back to the spans the item opened with (after an undo: yours)
  f  F               letters over every word on screen: type one to jump there (F: select
                     from the cursor to the end of that word)
  *                  on a span: mark its text everywhere else in the item with its type
  u / U              undo / redo the last edit on this item (u with no edit left: the item before)
  Esc                drop the selection
  :                  a line command: + 3-5:LOC  + 北京:LOC  + 北京#2:LOC
                     - 2  - 2-4  - all  t 2 ORG
  mouse              a click puts the cursor on a character, a drag selects
  Enter / a          save the spans shown (unchanged: accept)"""
CURSOR = Style(reverse=True, bold=True)
HINT = Style(color="black", bgcolor="yellow", bold=True)
HINT_LETTERS = "asdfghjklqwertyuiopzxcvbnm"
"""The letters jump hints are made of, the home row first."""
CURSOR_AFTER = Style(underline=True, bold=True)
"""The cursor while selecting: it stands after the selection's last character, not on one it selects."""
UNMARKED = (0, Style())
SELECTED = Style(bgcolor="grey42", color="white")


class SpanText(WrappedText, can_focus=True):
    """The text with its spans and the cursor; edits go through a ``SpanEditor``."""

    DEFAULT_CSS = "SpanText { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }"
    BINDINGS = [
        Binding("left", "move(-1)", "←", show=False), Binding("right", "move(1)", "→", show=False),
        Binding("up", "row(-1)", show=False), Binding("down", "row(1)", show=False),
        Binding("home", "row_edge(0)", show=False), Binding("end", "row_edge(1)", show=False),
        Binding("shift+home", "row_edge(0, True)", show=False), Binding("shift+end", "row_edge(1, True)", show=False),
        Binding("ctrl+home", "text_edge(0)", show=False), Binding("ctrl+end", "text_edge(1)", show=False),
        Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
        Binding("shift+pageup", "page(-1, True)", show=False), Binding("shift+pagedown", "page(1, True)", show=False),
        Binding("shift+left", "move(-1, True)", show=False), Binding("shift+right", "move(1, True)", show=False),
        Binding("ctrl+left", "word_jump(-1)", show=False), Binding("ctrl+right", "word_jump(1)", show=False),
        Binding("ctrl+shift+left", "word_jump(-1, True)", show=False),
        Binding("ctrl+shift+right", "word_jump(1, True)", show=False),
        Binding("shift+up", "row(-1, True)", show=False), Binding("shift+down", "row(1, True)", show=False),
        Binding("tab", "jump(1)", "next span", show=False), Binding("shift+tab", "jump(-1)", show=False),
        Binding("d,delete,backspace", "remove", "remove span"), Binding("w", "word", "word"),
        Binding("W", "word_piece", "word piece", show=False),
        Binding("left_square_bracket", "boundary('[')", show=False),
        Binding("right_square_bracket", "boundary(']')", show=False),
        Binding("left_curly_bracket", "boundary('{')", show=False),
        Binding("right_curly_bracket", "boundary('}')", show=False),
        Binding("less_than_sign", "widen_by_word(-1)", show=False),
        Binding("greater_than_sign", "widen_by_word(1)", show=False),
        Binding("m", "merge", show=False), Binding("vertical_line", "split", show=False),
        Binding("escape", "unselect", show=False), Binding("r", "reset", "reset"),
        Binding("U", "redo", "redo", show=False), Binding("asterisk", "label_all", show=False),
        Binding("f", "hints(False)", "jump", show=False), Binding("F", "hints(True)", "select to", show=False),
    ]

    def __init__(self, editor: SpanEditor, on_change: Callable[[str | None], None], initial: list[Span], **kwargs):
        super().__init__(editor.example.text, **kwargs)
        self.editor, self.on_change, self.initial = editor, on_change, initial
        self.cursor, self.anchor = 0, None
        self._selection: tuple[int, int] | None = None
        self._dragging = False
        self._drag_from = 0
        self._replacing: tuple[tuple[int, int], int] | None = None  # (selection, key) waiting for a second press
        self.hints: dict[str, int] | None = None
        """While ``f`` or ``F`` waits for letters: hint -> the offset of the word it stands on."""
        self._hint_typed, self._hint_select = "", False
        self._hint_at: dict[int, str] = {}
        self._owners: dict[int, tuple[int, Style]] = {}
        for number, label in enumerate(editor.task.labels[:9], start=1):
            self._bindings.bind(str(number), f"label({number})", description=label, show=False)
        self._index_spans()

    # -- layout ---------------------------------------------------------------------------------------------------
    def on_resize(self) -> None:
        super().on_resize()
        self._show_cursor()
        self.on_change(None)

    def render_line(self, y: int) -> Strip:
        self._selection = self.selection()
        return super().render_line(y)

    def shown_at(self, offset: int) -> str:
        """A jump hint's letters (those not typed yet) over the first character of its word, in that
        character's cells; else the character."""
        character = super().shown_at(offset)
        label = self._hint_at.get(offset) if self.hints is not None else None
        if label is None or not label.startswith(self._hint_typed):
            return character
        left = label[len(self._hint_typed):]
        return left[:cell_len(character)].ljust(cell_len(character))

    def style_at(self, offset: int) -> Style:
        """The span's colour, the selection, the cursor; a jump hint in black on yellow."""
        label = self._hint_at.get(offset) if self.hints is not None else None
        if label is not None and label.startswith(self._hint_typed):
            return HINT
        style = self._owners.get(offset, UNMARKED)[1]
        if self._selection and self._selection[0] <= offset < self._selection[1]:
            style += SELECTED
        if offset == self.cursor:
            style += CURSOR if self._selection is None else CURSOR_AFTER
        return style

    # -- the mouse: a click puts the cursor on a character, a drag selects ------------------------------------------
    def offset_at(self, event) -> int | None:
        """The character under a mouse event, or ``None`` outside the text."""
        where = event.get_content_offset(self)
        if where is None:
            return None
        row = self.scroll_offset.y + where.y
        if row >= len(self.rows):
            return None
        start, end = self.rows[row]
        used = 0
        for offset in range(start, end):
            used += cell_len(display_character(self.text[offset]))
            if used > where.x:
                return offset
        return max(end - 1, start)

    def on_mouse_down(self, event) -> None:
        offset = self.offset_at(event)
        if offset is not None:
            self.focus()
            self.cursor, self.anchor, self._dragging, self._drag_from = offset, None, True, offset
            self.capture_mouse()
            self._changed()

    def on_mouse_move(self, event) -> None:
        if self._dragging:
            offset = self.offset_at(event)
            if offset is not None and offset != self._drag_from:  # the characters dragged over, both ends in
                start = self._drag_from
                self.anchor, self.cursor = (start, offset + 1) if offset > start else (start + 1, offset)
                self._changed()

    def on_mouse_up(self, event) -> None:
        self._dragging = False
        self.release_mouse()

    # -- state ----------------------------------------------------------------------------------------------------
    def selection(self) -> tuple[int, int] | None:
        """``(start, end)`` of the selection, end exclusive: the characters between the anchor and the cursor,
        as between two carets, so N presses of shift+→ select N characters; ``None`` when empty."""
        if self.anchor is None or self.anchor == self.cursor:
            return None
        return min(self.anchor, self.cursor), max(self.anchor, self.cursor)

    def _index_spans(self) -> None:
        """Which span covers each character, and its style: the label's colour, every other span of a run
        underlined so that two adjacent spans of one type are seen as two."""
        self._owners = {}
        for position, (number, span) in enumerate(self.editor.items()):
            style = Style(color="black", bgcolor=self.editor.colour(span.label), underline=position % 2 == 1)
            for offset in range(span.start, span.end):
                self._owners[offset] = (number, style)

    def _changed(self, message: str = "") -> None:
        self._index_spans()
        self._show_cursor()
        self.refresh()
        self.on_change(message)

    def _show_cursor(self) -> None:
        row, height = self.row_of(self.cursor), self.scrollable_content_region.height
        if height <= 0:
            return
        if row < self.scroll_offset.y:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= self.scroll_offset.y + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def _edit(self, change: Callable[[], Any], done: str | Callable[[], str], keep_selection: bool = False) -> bool:
        """Apply ``change`` to the editor; show ``done`` (a sentence, or what makes one) or why it failed, and
        say which (``False``: refused, nothing changed). The selection is dropped unless ``keep_selection``."""
        try:
            change()
        except ValueError as exc:
            self._changed(str(exc))
            return False
        if not keep_selection:
            self.anchor = None
            self.cursor = self.on_character
        self._changed(done() if callable(done) else done)
        return True

    # -- actions --------------------------------------------------------------------------------------------------
    def action_move(self, step: int, select: bool = False) -> None:
        """Move the cursor ``step`` characters; ``select``: extend the selection (the cursor may then stand
        after the last character, so that it can be selected)."""
        self._move_to(self.cursor + step, select)

    @property
    def on_character(self) -> int:
        """The character the cursor is on: the last one when, selecting, it stands after the text."""
        return min(self.cursor, max(len(self.text) - 1, 0))

    def _move_to(self, offset: int, select: bool = False) -> None:
        if select and self.anchor is None:
            self.anchor = self.cursor
        elif not select:
            self.anchor = None
        last = len(self.text) if select else max(len(self.text) - 1, 0)
        self.cursor = min(max(offset, 0), last)
        self._changed()

    def action_text_edge(self, edge: int) -> None:
        """Ctrl+Home / Ctrl+End: the first or the last character."""
        self._move_to(0 if edge == 0 else len(self.text) - 1)

    def action_page(self, step: int, select: bool = False) -> None:
        """PageUp / PageDown: a screen of rows up or down (shift: selecting)."""
        self.action_row(step * max(self.scrollable_content_region.height - 1, 1), select)

    def action_word_jump(self, step: int, select: bool = False) -> None:
        """Ctrl+← / Ctrl+→: to the start of the previous or next word (jieba's words, the project's terms
        among them when they were added to it); with shift, extending the selection."""
        starts = word_starts(self.text, self.cursor)
        if step > 0:
            target = next((s for s in starts if s > self.cursor), len(self.text) if select else len(self.text) - 1)
        else:
            target = next((s for s in reversed(starts) if s < self.cursor), 0)
        self._move_to(target, select)

    def action_row(self, step: int, select: bool = False) -> None:
        row = self.row_of(self.cursor)
        target = min(max(row + step, 0), len(self.rows) - 1)
        column = self.cursor - self.rows[row][0]
        start, end = self.rows[target]
        self.action_move(min(start + column, max(end - 1, start)) - self.cursor, select)

    def action_row_edge(self, edge: int, select: bool = False) -> None:
        start, end = self.rows[self.row_of(self.on_character)]
        self._move_to(start if edge == 0 else (end if select else max(end - 1, start)), select)

    def action_jump(self, step: int) -> None:
        spans = self.editor.spans
        if not spans:
            self._changed("no spans to jump to")
            return
        starts = [span.start for span in spans]
        ahead = [s for s in starts if s > self.cursor] if step > 0 else [s for s in starts if s < self.cursor]
        self.anchor = None
        self.cursor = (ahead[0] if step > 0 else ahead[-1]) if ahead else (starts[0] if step > 0 else starts[-1])
        self._changed()

    def action_label(self, number: int) -> None:
        """A label key: on a selection, mark it (over existing spans: press the key again to replace them);
        on a span, change its type; elsewhere, nothing but a hint (a stray key marks no character)."""
        label = self.editor.task.labels[number - 1]
        selection = self.selection()
        under = self.editor.at(self.cursor)
        if selection is None and under is not None:
            span = self.editor.numbered[under]
            self._edit(lambda: self.editor.replace(under, span._replace(label=label)),
                       f"span {under} is now {label}")
            return
        if selection is None:
            self._changed("select the characters first (shift+arrows, ctrl+shift+arrows by words, w a word, "
                          "/ to find, or drag), then a label key")
            return
        start, end = selection
        overlapped = [n for n, s in self.editor.items() if s.start < end and start < s.end]
        if overlapped and self._replacing != (selection, number):
            self._replacing = (selection, number)
            shown = ", ".join(self.editor.describe(n) for n in overlapped)
            self._changed(f"overlaps {shown}: press {number} again to replace it with {self.text[start:end]!r} "
                          f"{label}")
            return
        self._replacing = None
        self._edit(lambda: self.editor.replace_overlapping(Span(start, end, label)),
                   f"{self.text[start:end]!r} [{start}-{end}] is {label}"
                   + (f" (replaced span {', '.join(map(str, overlapped))})" if overlapped else ""))

    def action_remove(self) -> None:
        selection = self.selection()
        if selection is not None:
            numbers = [n for n, s in self.editor.items() if s.start < selection[1] and selection[0] < s.end]
        else:
            numbers = [n for n in [self.editor.at(self.cursor)] if n is not None]
        if not numbers:
            self._changed("no span here to remove")
            return
        self._edit(lambda: self.editor.remove(numbers), "removed span " + ", ".join(map(str, numbers)),
                   keep_selection=True)  # the selection stays, to be labelled again

    def action_boundary(self, key: str) -> None:
        number = self.editor.at(self.cursor)
        if number is None:
            self._changed("put the cursor on a span to move its start ([ {) or end (] })")
            return
        self._edit(lambda: self.editor.apply(f"{key}{number}"), lambda: f"span {self.editor.describe(number)}")

    def action_widen_by_word(self, side: int) -> None:
        """``<`` / ``>``: widen the span under the cursor by the word before its start / after its end (jieba's
        words, the project's terms among them)."""
        number = self.editor.at(self.cursor)
        if number is None:
            self._changed("put the cursor on a span to widen it by a word (< left, > right)")
            return
        span = self.editor.numbered[number]
        if (side < 0 and span.start == 0) or (side > 0 and span.end >= len(self.text)):
            self._changed("the span already reaches the edge of the text")
            return
        widened = (span._replace(start=word_around(self.text, span.start - 1)[0]) if side < 0
                   else span._replace(end=word_around(self.text, span.end)[1]))
        self._edit(lambda: self.editor.replace(number, widened), lambda: f"span {self.editor.describe(number)}")

    def action_merge(self) -> None:
        """``m``: join the span under the cursor with the next span (the first's type)."""
        number = self.editor.at(self.cursor)
        if number is None:
            self._changed("put the cursor on a span to merge it with the next one (m)")
            return
        self._edit(lambda: self.editor.merge(number), lambda: f"merged into span {self.editor.describe(number)}")

    def action_split(self) -> None:
        """``|``: cut the span under the cursor in two; the cursor's character starts the second part."""
        number = self.editor.at(self.cursor)
        if number is None:
            self._changed("put the cursor inside a span, on the first character of its second part, to split it (|)")
            return
        cursor = self.cursor
        self._edit(lambda: self.editor.split(number, cursor),
                   lambda: f"split span {number} at offset {cursor}")

    def action_word(self) -> None:
        start, end = word_around(self.text, self.cursor)
        self.anchor, self.cursor = start, end
        self._changed(f"selected {self.text[start:end]!r}: a label key (1-9) marks it")

    def select(self, start: int, end: int, message: str = "") -> None:
        """Select characters ``start:end`` (the cursor after them) and say ``message``."""
        self.anchor, self.cursor = start, end
        self._changed(message)

    def action_word_piece(self) -> None:
        start, end = word_pieces_around(self.text, *(self.selection() or (self.cursor, self.cursor + 1)))
        self.anchor, self.cursor = start, end
        self._changed(f"selected {self.text[start:end]!r} (whole word pieces): a label key (1-9) marks it")

    def action_unselect(self) -> None:
        self.anchor = None
        self.cursor = self.on_character
        self._changed()

    def action_reset(self) -> None:
        self.editor.reset(self.initial)
        self.anchor = None
        self._changed("back to the spans the item opened with (u takes that back)")

    def action_hints(self, select: bool) -> None:
        """``f``: letters over the first character of every word on screen; typing a word's letters puts the
        cursor on it. ``F``: the same, and the selection runs from the cursor to the end of that word."""
        top = self.scroll_offset.y
        shown = self.rows[top:top + max(self.scrollable_content_region.height, 1)]
        if not shown or not self.text:
            return
        targets = hint_targets(self.text, shown[0][0], shown[-1][1])
        self.hints = dict(zip(hint_labels(len(targets)), targets))
        self._hint_at = {offset: label for label, offset in self.hints.items()}
        self._hint_typed, self._hint_select = "", select
        self._changed("type the letters over a word to " + ("select to its end" if select else "jump to it")
                      + " (Esc: cancel)")

    def on_key(self, event) -> None:
        """While hints are shown, letters choose one and every other key cancels them (and does nothing else)."""
        if self.hints is None:
            return
        event.prevent_default()
        event.stop()
        typed = self._hint_typed + (event.character or "")
        chosen = [label for label in self.hints if label.startswith(typed)] if event.character else []
        if not chosen:
            self.hints = None
            self._changed("jump cancelled")
            return
        if typed not in self.hints:
            self._hint_typed = typed
            self.refresh()
            return
        offset, select = self.hints[typed], self._hint_select
        self.hints = None
        if select:
            if self.anchor is None:
                self.anchor = self.cursor
            self.cursor = word_around(self.text, offset)[1]
            self._changed(f"selected {self.text[min(self.anchor, self.cursor):max(self.anchor, self.cursor)]!r}")
        else:
            self.anchor, self.cursor = None, offset
            self._changed()

    def action_label_all(self) -> None:
        """``*`` on a span: the same text everywhere else in the item gets the same type."""
        number = self.editor.at(self.on_character)
        if number is None:
            self._changed("put the cursor on a span: * marks its text everywhere else in the item")
            return
        found: list = []

        def mark() -> None:
            found.extend(self.editor.label_occurrences(number))

        def said() -> str:
            added, overlapping = found
            span = self.editor.numbered[number]
            words = f"{len(added)} more {self.text[span.start:span.end]!r} marked {span.label}"
            return words + (f"; {overlapping} left: they overlap a span" if overlapping else "")
        self._edit(mark, said)

    def undo_edit(self) -> bool:
        """Take back the last edit on this item (``u``); ``False`` when there is none left."""
        if not self.editor.undo():
            return False
        self._changed("undone the last edit on this item (U redoes it)")
        return True

    def action_redo(self) -> None:
        if self.editor.redo():
            self._changed("redone")
        else:
            self._changed("nothing to redo")


def _line_around(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` of the line (or lines) holding characters ``start:end``, without their newlines: the
    segmenters read one line at a time."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end - 1)
    return line_start, len(text) if line_end < 0 else line_end


def hint_targets(text: str, start: int, end: int) -> list[int]:
    """Where the words of ``text[start:end]`` start (jieba's words of each line in it; runs of white space and
    punctuation are no words), in text order: what ``f`` puts letters on."""
    try:
        jieba = _jieba()
    except ImportError:
        return [offset for offset in range(start, end) if text[offset].isalnum()]
    targets, position = [], start
    while position < end:
        line_end = text.find("\n", position, end)
        line_end = end if line_end < 0 else line_end
        for word, at, _ in jieba.tokenize(text[position:line_end]):
            if any(ch.isalnum() for ch in word):
                targets.append(position + at)
        position = line_end + 1
    return targets


def hint_labels(count: int) -> list[str]:
    """``count`` hints, none the beginning of another: one letter each when they are few enough, else two, else
    three."""
    labels = list(HINT_LETTERS)
    while len(labels) < count:
        labels = [label + letter for label in labels for letter in HINT_LETTERS]
    return labels[:count]


def word_starts(text: str, offset: int) -> list[int]:
    """Where the words start on the line holding ``offset`` and on the lines either side (``hint_targets``:
    jieba's words; a run of white space or punctuation is not a word), in text order, for Ctrl+← / Ctrl+→."""
    if not text:
        return []
    offset = min(max(offset, 0), len(text) - 1)
    line_start, line_end = _line_around(text, offset, offset + 1)
    first = text.rfind("\n", 0, max(line_start - 1, 0)) + 1 if line_start else 0
    last = text.find("\n", line_end + 1)
    return hint_targets(text, first, len(text) if last < 0 else last)


def word_around(text: str, offset: int) -> tuple[int, int]:
    """The ``(start, end)`` of the jieba word holding character ``offset`` (jieba: the standard Chinese
    segmenter, ``jieba.tokenize``); the character alone when jieba is not installed."""
    if not text:
        return 0, 0
    offset = min(offset, len(text) - 1)
    try:
        jieba = _jieba()
    except ImportError:
        return offset, offset + 1
    line_start, line_end = _line_around(text, offset, offset + 1)
    for _, start, end in jieba.tokenize(text[line_start:line_end]):
        if line_start + start <= offset < line_start + end:
            return line_start + start, line_start + end
    return offset, offset + 1


@lru_cache(maxsize=1)
def _word_piece_tokenizer():
    """bert-base-chinese's WordPiece tokenizer, from the vocabulary shipped with bertanno (the family's: medbert's
    and Lawformer's tokenizers split Chinese text the same way)."""
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab_file=str(BERT_BASE_CHINESE_DIR / "vocab.txt"), do_lower_case=True)


def word_pieces_around(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` widened to whole BERT word pieces: the characters ``start:end`` plus the rest of every
    word they touch, a word being a piece and the ``##`` pieces that continue it (so ``proBNP`` of ``NT-proBNP``
    and ``4580`` are taken whole; a Chinese character is its own piece). Characters no piece covers (spaces)
    stay as they are. Offsets are code points; each line is tokenized on its own."""
    if not text:
        return 0, 0
    start, end = max(0, min(start, len(text) - 1)), max(1, min(end, len(text)))
    line_start, line_end = _line_around(text, start, end)
    encoded = _word_piece_tokenizer()(text[line_start:line_end], add_special_tokens=False,
                                       return_offsets_mapping=True, verbose=False)
    words: list[list[int]] = []
    for token, (a, b) in zip(encoded.tokens(), encoded["offset_mapping"]):
        if token.startswith("##") and words and words[-1][1] == line_start + a:
            words[-1][1] = line_start + b
        else:
            words.append([line_start + a, line_start + b])
    for a, b in words:
        if a < end and b > start:  # a word the selection touches: take it whole
            start, end = min(start, a), max(end, b)
    return start, end


_warming: list[threading.Thread] = []
_user_words: dict[str, None] = {}  # the project's terms not yet given to jieba, in order
_user_words_lock = threading.Lock()


def use_terms(terms: Sequence[str]) -> None:
    """Make the project's domain terms (``bertanno vocab add``) words of jieba's user dictionary for this
    process, so Ctrl+arrows, ``f`` hints and ``w`` treat 急性心肌梗死 or 硝苯地平控释片 as one word. The terms are
    handed to jieba (``jieba.add_word``, with the frequency ``suggest_freq`` gives so it is cut whole) the next
    time a word is looked up; terms of one or no character, or holding white space, are left out."""
    with _user_words_lock:
        for term in terms:
            if len(term) > 1 and not any(ch.isspace() for ch in term):
                _user_words[term] = None


def _jieba():
    """jieba, with the terms of ``use_terms`` added to it first. Raises ``ImportError`` without jieba."""
    import jieba

    if _user_words:
        with _user_words_lock:
            words = list(_user_words)
            _user_words.clear()
        jieba.setLogLevel(60)
        for word in words:
            jieba.add_word(word)  # its frequency: suggest_freq's, enough for jieba to cut the term whole
    return jieba


def warm_up_segmenters() -> None:
    """Load jieba's dictionary and the word-piece tokenizer in a background thread, once per process, from the
    first key on a span item (the cursor moving towards a word): the first w or W would otherwise wait a second
    or two for them."""
    if _warming:
        return

    def load() -> None:
        try:
            import jieba

            jieba.setLogLevel(60)  # its "Building prefix dict" lines would land on the screen
            jieba.initialize()
            _jieba()  # the project's terms too
        except ImportError:
            pass
        _word_piece_tokenizer()

    _warming.append(threading.Thread(target=load, name="warm-up-segmenters", daemon=True))
    _warming[0].start()


class SpanView(Vertical):
    """The span editor: ``SpanText``, a status line (cursor offset, selection, the span under the cursor, the
    last message), the numbered spans, and the ``:`` command prompt. ``restored``: the person's own spans,
    after an undo; otherwise the pre-annotation's."""

    DEFAULT_CSS = """
    SpanView { height: 1fr; }
    SpanView #span-status { height: auto; max-height: 2; padding: 0 1; background: $panel; }
    SpanView #span-keys { height: auto; padding: 0 1; }
    SpanView #span-list { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("colon", "command", ": command"), Binding("slash", "find", "/ find")]
    HELP = HELP
    KEYS = (("←→ shift", "select"), ("1-9", "label"), ("d", "remove"), (":", "command"), ("/", "find"))

    def __init__(self, task, example, prediction, restored: Any = None, unproposed: str | None = None,
                 terms: Sequence[str] = (), descriptions: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.descriptions = descriptions  # the guidelines' one-line label descriptions: the status line shows the
        # one of the span under the cursor (a line a type in the legend would leave the text too few rows)
        use_terms(terms)  # the project's terms: words for Ctrl+arrows, f and w
        self.example, self.prediction = example, prediction
        self.unproposed = unproposed or "(no entities)"  # the list with nothing proposed and nothing marked
        self.predicted = self.annotation(task, prediction.payload if prediction is not None else None)
        self.start = self.annotation(task, restored) if restored is not None else self.predicted
        self.editor = self.EDITOR(task, example, self.start)
        self.message = "your spans from before the undo" if restored is not None else ""

    EDITOR = SpanEditor
    """The editor of the annotation (a subclass's may edit more than spans)."""
    TEXT = SpanText
    """The text widget (a subclass's may have more keys)."""

    @staticmethod
    def annotation(task, payload: Any) -> Any:
        """``payload`` (a prediction's, or a stored one) in the form ``current()`` gives, so that they compare:
        the spans in text order."""
        return sorted(Span(*s) for s in payload or [])

    def current(self) -> Any:
        """The annotation as edited now (the spans in text order)."""
        return self.editor.spans

    def compose(self):
        yield self.TEXT(self.editor, self._changed, self.start, id="span-text")
        yield Static(id="span-status")
        yield Static(legend(self.editor.task), id="span-keys")
        yield Static(id="span-list")
        yield Prompt(placeholder="+ 3-5:LOC · + 北京:LOC · - 2 · - all · t 2 ORG   (Enter runs, Esc closes)",
                     id="span-command")
        yield Prompt(placeholder="find: the characters to select (Enter: the next occurrence, Esc closes)",
                     id="span-find")

    def on_mount(self) -> None:
        self.query_one(SpanText).focus()
        self._changed(self.message)

    def on_key(self) -> None:
        warm_up_segmenters()  # at the first key, not at mount: loading them would delay a long item's first screen

    def _changed(self, message: str | None = "") -> None:
        """Redraw the status line and the span list; ``message``: what the last key did (``None``: keep it)."""
        if message is None:
            message = self.message
        self.message = message
        text = self.query_one(SpanText)
        row = text.row_of(text.cursor)
        status = Text(f"offset {text.cursor} · row {row + 1}/{len(text.rows)}")
        selection = text.selection()
        if selection:
            status.append(f" · selected {selection[0]}-{selection[1]}")
        if message:
            status.append(f" · {message}", style="yellow")
        under = self.editor.at(text.cursor)
        if under is not None:
            span = self.editor.numbered[under]
            status.append(f" · on span {under} {self.example.text[span.start:span.end]} [{span.start}-{span.end}] "
                          f"{span.label}", style="bold")
            described = (self.descriptions or {}).get(span.label)
            if described:  # the guidelines' line for its type, where the eye already is
                status.append(f" {' '.join(described.split())}", style="dim")
        self.query_one("#span-status", Static).update(status)
        self._list_spans(under, text)

    def _list_spans(self, under: int | None, text: "SpanText") -> None:
        """The numbered spans in as many rows as the screen spares (the text keeps at least half the view, or
        all it needs), scrolled to the span under the cursor (else the next one after it), with a line that
        says how many are above and below when they do not all fit."""
        listing = self.query_one("#span-list", Static)
        width = max((listing.content_region.width or self.size.width - 2) - 1, 20)  # one cell spare: no rewrap
        entries = []
        for number, span in self.editor.items():
            colour = self.editor.colour(span.label)
            entry = Text(f"{number} {self.example.text[span.start:span.end]} [{span.start}-{span.end}] ",
                         style=Style(color=colour))
            entry.append(span.label, style=Style(color=colour, bold=True))
            entries.append((number, span, entry))
        if not entries:
            opened_empty = self.prediction is None and not self.start
            listing.styles.height = 1
            listing.update(Text(self.unproposed if opened_empty else "(no entities)", style="dim"))
            return
        rows: list[list[tuple[int, Span, Text]]] = [[]]
        used = 0
        for entry in entries:
            needed = entry[2].cell_len + (2 if rows[-1] else 0)
            if rows[-1] and used + needed > width:
                rows.append([])
                used, needed = 0, entry[2].cell_len
            rows[-1].append(entry)
            used += needed
        keys_rows = self.query_one("#span-keys", Static).size.height or 1
        status_rows = self.query_one("#span-status", Static).size.height or 1
        spare = (self.size.height - status_rows - keys_rows - self.reserved_rows()
                 - min(len(text.rows), max(3, self.size.height // 2)))
        fits = max(2, spare)
        if len(rows) <= fits:
            shown, above, below = rows, [], []
        else:
            cursor = text.cursor
            focus = next((index for index, row in enumerate(rows)
                          for number, span, _ in row if number == under or span.start >= cursor), len(rows) - 1)
            first = min(max(focus - (fits - 1) // 2, 0), len(rows) - (fits - 1))
            shown = rows[first:first + fits - 1]
            above = [e for row in rows[:first] for e in row]
            below = [e for row in rows[first + fits - 1:] for e in row]
        lines = [Text("  ").join(entry for _, _, entry in row) for row in shown]
        if above or below:
            lines.append(Text(f"▲ {len(above)} more · ▼ {len(below)} more of {len(entries)} spans "
                              "(Tab / Shift+Tab reach them)", style="dim"))
        listing.styles.height = len(lines)
        listing.update(Text("\n").join(lines))

    def reserved_rows(self) -> int:
        """Rows of the view below the span list that it must leave free (a subclass's own lists)."""
        return 0

    def on_resize(self) -> None:
        self._changed(None)

    def action_command(self) -> None:
        self.query_one("#span-command", Prompt).open()

    def action_find(self) -> None:
        self.query_one("#span-find", Prompt).open()

    def find(self, wanted: str) -> bool:
        """Select the next occurrence of ``wanted`` after the cursor (from the start again after the last);
        ``False``, and a message, when the text holds none."""
        text = self.query_one(SpanText)
        found = [index for index in range(len(self.example.text)) if self.example.text.startswith(wanted, index)]
        if not found:
            text._changed(f"{wanted!r} is not in this text")
            return False
        start = next((index for index in found if index > text.cursor - (1 if text.selection() is None else 0)),
                     found[0])
        text.select(start, start + len(wanted),
                    f"{wanted!r}: occurrence {found.index(start) + 1} of {len(found)} selected; / Enter finds the next")
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Run the command (or the search); one that cannot be done keeps the box open with what was typed."""
        event.stop()
        if event.input.id == "span-find":
            wanted = event.value
            if not wanted or self.find(wanted):
                event.input.close()
            return
        command = event.value.strip()
        prompt = self.query_one("#span-command", Prompt)
        if not command:
            prompt.close()
            return
        if self.query_one(SpanText)._edit(lambda: self.editor.apply(command), f"done: {command}"):
            prompt.close()

    def undo_edit(self) -> bool:
        """Take back the last edit on this item; ``False`` when none is left (then ``u`` goes to the item
        before)."""
        return self.query_one(SpanText).undo_edit()

    def edited(self) -> bool:
        """Whether the person changed the annotation this view opened with."""
        return self.current() != self.start

    def accepted(self) -> tuple[str, Any]:
        """Accept: the pre-annotation when it is unchanged, else a correction with the annotation shown."""
        if self.prediction is not None and self.current() == self.predicted:
            return "accept", None
        return "correct", self.current()
