"""The project's annotation guidelines as a person reads them, in the full-screen app (``g``) and the plain one."""

from __future__ import annotations

from rich.console import Group
from rich.markdown import Markdown
from rich.text import Text


def guidelines_renderable(guidelines, project: str):
    """The guidelines as a person reads them: a title line (version, author, date), the Markdown rendered, and
    how to close them; for a project without guidelines, how to write them. ``guidelines``: a
    ``core.guidelines.GuidelinesVersion`` or ``None``."""
    if guidelines is None:
        return Text.assemble(("No guidelines yet", "bold"), f"\n\nbertanno guidelines {project} set FILE.md (or edit) "
                             "writes them; every annotator sees them at their next item.\n\n",
                             ("any key closes this", "dim"))
    title = Text(f"Guidelines, version {guidelines.version} by {guidelines.author}, "
                 f"{guidelines.created_at:%Y-%m-%d %H:%M}\n", style="bold")
    return Group(title, Markdown(guidelines.text), Text("\n↑ ↓ PgUp PgDn scroll · any other key closes them",
                                                        style="dim"))
