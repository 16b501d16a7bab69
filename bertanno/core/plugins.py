"""The plugin set every layer above ``plugins/`` works with: the plugins layer's built-ins, the engine's own
transformer family (``core.transformer_family``, which a lower layer cannot import), then third-party plugins.

``get_plugins()`` is the process-wide set; ``Plugins(load_entrypoints=False)`` a fresh one (tests, benchmarks).
"""

from __future__ import annotations

from typing import Any, Iterable

from bertanno.plugins import manager


class Plugins(manager.Plugins):
    """``bertanno.plugins.manager.Plugins`` with the engine's transformer and ensemble families registered as
    built-ins."""

    def __init__(self, load_entrypoints: bool = True, extra: Iterable[Any] = ()):
        from bertanno.core import ensemble, relation_transformer, transformer_family  # here, not at the top: they
        #                                                         import the engine, which imports this module

        super().__init__(load_entrypoints, extra, builtin=(transformer_family, ensemble, relation_transformer))


_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin set, loaded on first use (entry points included)."""
    global _plugins
    if _plugins is None:
        _plugins = Plugins()
    return _plugins
