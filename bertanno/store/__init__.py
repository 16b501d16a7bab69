"""SQLAlchemy schema, migrations and queries (see DESIGN.md, "Store"). Imports nothing from core/."""
