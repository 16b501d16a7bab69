"""Hookspecs, the plugin manager, and the built-in task plugins.

Plugin authors need ``bertanno.hookimpl``, ``bertanno.plugins.task.Task`` and the
specs in ``bertanno.plugins.specs``.
"""

from bertanno.plugins.manager import Plugins, get_plugins

__all__ = ["Plugins", "get_plugins"]
