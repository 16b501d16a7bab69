"""``g``: the project's annotation guidelines (Markdown, the version in force) over the current item; the arrows
and page keys scroll them, any other key closes them (``HelpScreen``'s keys)."""

from __future__ import annotations

from bertanno.app.screen.help import HelpScreen


class GuidelinesScreen(HelpScreen):
    DEFAULT_CSS = HelpScreen.DEFAULT_CSS.replace("HelpScreen", "GuidelinesScreen")
