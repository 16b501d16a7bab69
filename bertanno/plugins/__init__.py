"""Hookspecs, the plugin manager, and the built-in task plugins.

Plugin authors import everything they need from ``bertanno`` itself (``bertanno.PLUGIN_API``); the plugin set
the engine works with comes from ``bertanno.core.plugins.get_plugins``.
"""
