"""The comments people left on an item, as the annotation and review screens show them beside it."""

from __future__ import annotations

from rich.text import Text


def render_comments(comments: list[dict]) -> Text | None:
    """One line a comment, oldest first: ``comment by ann, 12-06 10:31 (flagged for discussion)：…``; ``None``
    when there are none (the screen then shows nothing beside the item)."""
    if not comments:
        return None
    shown = Text()
    for index, comment in enumerate(comments):
        when = comment["created_at"][5:16].replace("T", " ")
        flag = " (flagged for discussion)" if comment["flagged"] else ""
        shown.append(("\n" if index else "") + f"comment by {comment['author']}, {when}{flag}：",
                     style="bold yellow" if comment["flagged"] else "bold")  # no space: CJK wraps from this line
        shown.append(" ".join(comment["text"].split()))
    return shown
