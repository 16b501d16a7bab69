"""The annotation screen: a full-screen Textual app (``app.AnnotationApp``) with its help (``help``) and
all-done (``done``) screens. The item itself is drawn and corrected by the widget of the view the task names
(``widgets.item_widget``, one widget a file in ``bertanno.app.screen.widgets``)."""

from bertanno.app.screen.app import AnnotationApp

__all__ = ["AnnotationApp"]
