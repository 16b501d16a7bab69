"""The annotation screen: a full-screen Textual app (``app.AnnotationApp``) with its help (``help``) and
all-done (``done``) screens. The item itself is drawn and corrected by the task's widget
(``Task.item_view``, in ``bertanno.plugins.widgets``)."""

from bertanno.app.screen.app import AnnotationApp

__all__ = ["AnnotationApp"]
