"""SQLAlchemy schema, migrations and queries (ARCHITECTURE.md: "Where each concept lives"). Imports nothing
from core/.

Open one with ``Store.open(url)``; do work in ``with store.transaction() as session:`` and the
query functions of ``projects``, ``items``, ``annotations``, ``predictions`` and ``queue``.
"""

from bertanno.store.database import StoreError, default_url
from bertanno.store.store import Store

__all__ = ["Store", "StoreError", "default_url"]
