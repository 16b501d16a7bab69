"""A long text, wrapped one character at a time by its cell width (two for CJK and emoji) so that no character
is ever cut and every row's character range is known, drawn row by row through Textual's line API (only the
rows on screen are drawn, as Textualize/toolong does for long logs): a 1 MB text opens at once."""

from __future__ import annotations

from bisect import bisect_right

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

PLAIN = Style()


def display_character(character: str) -> str:
    """What a cell shows for ``character``: a space for line ends, tabs and other control characters."""
    return " " if character in "\r\n\t" or ord(character) < 32 or ord(character) == 127 else character


NO_ROW_START = set("、，。．；：？！）」』》〉】〕〗〙〛”’…‥・～ー々,.;:?!)]}%")
"""Closing punctuation, which a wrapped row of Chinese never starts with (the line-breaking rules of
Chinese and Japanese typesetting, W3C's clreq and JIS X 4051)."""
NO_ROW_END = set("（「『《〈【〔〖〘〚“‘([{")
"""Opening punctuation, which a wrapped row never ends with."""


def _cells(character: str) -> int:
    return 1 if character in "\r\n\t" or ord(character) < 32 else cell_len(character)


def wrap_offsets(text: str, width: int) -> list[tuple[int, int]]:
    """``(start, end)`` character ranges of the rows ``text`` takes at ``width`` cells: a row ends after a line
    break (which it includes) or before the character that would not fit, moved up to three characters earlier
    while the next row would start with closing punctuation (``，`` ``。`` ``）``…) or this one end with opening
    punctuation (``（`` ``「``…), as long as the row keeps a character. Always at least one row."""
    rows, start, used, width = [], 0, 0, max(width, 2)
    for index, character in enumerate(text):
        cells = _cells(character)
        if used + cells > width and index > start:
            cut = index
            while cut - 1 > start and index - cut < 3 and (text[cut] in NO_ROW_START or text[cut - 1] in NO_ROW_END):
                cut -= 1
            rows.append((start, cut))
            start, used = cut, sum(_cells(ch) for ch in text[cut:index])
        used += cells
        if character == "\n":
            rows.append((start, index + 1))
            start, used = index + 1, 0
    rows.append((start, len(text)))
    return rows


class WrappedText(ScrollView):
    """``text`` wrapped to the widget's width (``rows``: character ranges), each character drawn with
    ``style_at(offset)``. The scrollbar's column is kept even when the text fits: the rows are wrapped to a
    width that never changes under them (a scrollbar appearing later would cut the last character of each row)."""

    DEFAULT_CSS = "WrappedText { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }"

    def __init__(self, text: str, **kwargs):
        super().__init__(**kwargs)
        self.text = text
        self.rows: list[tuple[int, int]] = [(0, len(text))]
        self.row_starts = [0]
        self._wrapped_at = 0  # the width the rows were wrapped to (0: not yet)

    def on_resize(self) -> None:
        self._wrap()

    def _wrap(self) -> None:
        """Wrap the text to the widget's width, once per width."""
        width = self.scrollable_content_region.width
        if width == self._wrapped_at:
            return
        self.rows = wrap_offsets(self.text, width)
        self.row_starts = [start for start, _ in self.rows]
        self._wrapped_at = width
        self.virtual_size = Size(width, len(self.rows))

    def row_of(self, offset: int) -> int:
        """The row (from 0) that holds character ``offset``."""
        return max(bisect_right(self.row_starts, offset) - 1, 0)

    def style_at(self, offset: int) -> Style:
        return PLAIN

    def shown_at(self, offset: int) -> str:
        """What character ``offset`` is drawn as (``display_character``: control characters made visible); a
        subclass may draw something else over it, in the same number of cells."""
        return display_character(self.text[offset])

    def render_line(self, y: int) -> Strip:
        self._wrap()  # a first frame may come before the first resize
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        start, end = self.rows[index]
        segments = [Segment(self.shown_at(offset), self.style_at(offset)) for offset in range(start, end)]
        return Strip(segments).adjust_cell_length(width, self.rich_style)
