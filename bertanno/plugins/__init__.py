"""Hookspecs, the plugin manager, and the built-in task plugins.

Plugin authors import everything they need from ``bertanno`` itself (``bertanno.PLUGIN_API``).
"""

from bertanno.plugins.manager import Plugins, get_plugins

__all__ = ["Plugins", "get_plugins"]
