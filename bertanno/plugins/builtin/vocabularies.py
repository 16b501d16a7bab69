"""Built-in term lists ``medical`` and ``legal`` (how they were made: bertanno/vocab/lists/README.md)."""

from pathlib import Path

from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.specs import VocabularySpec

LISTS = Path(__file__).resolve().parent.parent.parent / "vocab" / "lists"


@hookimpl
def register_vocabularies(register):
    register(VocabularySpec("medical", LISTS / "medical.txt",
                            "1,059 medical entity surfaces from the cMedQANER training split"))
    register(VocabularySpec("legal", LISTS / "legal.txt",
                            "461 goods, tools and organisations from the CAIL2021 xxcq training split"))
