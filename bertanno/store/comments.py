"""Comments on items: a person's note, maybe flagging the item for discussion."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bertanno.store.database import StoreError
from bertanno.store.schema import Comment, Item

MAX_COMMENT = 2000
"""Characters a comment may have."""


def add_comment(session: Session, project_id: int, item_id: int, author: str, text: str,
                flagged: bool = False) -> Comment:
    """Attach ``text`` by ``author`` to the item. Raises ``StoreError`` for an empty text, one over
    ``MAX_COMMENT`` characters, or an item of another project."""
    text = text.strip()
    if not text:
        raise StoreError("an empty comment: write what should be said about the item")
    if len(text) > MAX_COMMENT:
        raise StoreError(f"a comment has at most {MAX_COMMENT} characters, this one {len(text)}")
    if session.scalar(select(Item.project_id).where(Item.id == item_id)) != project_id:
        raise StoreError(f"item {item_id} is not an item of this project")
    comment = Comment(project_id=project_id, item_id=item_id, author=author, text=text, flagged=flagged)
    session.add(comment)
    session.flush()
    return comment


def item_comments(session: Session, project_id: int, item_ids: list[int] | None = None) -> dict[int, list[Comment]]:
    """The comments of these items (default: every item of the project), each item's oldest first."""
    query = select(Comment).where(Comment.project_id == project_id)
    if item_ids is not None:
        query = query.where(Comment.item_id.in_(item_ids))
    found: dict[int, list[Comment]] = {}
    for comment in session.scalars(query.order_by(Comment.id)):
        found.setdefault(comment.item_id, []).append(comment)
    return found
