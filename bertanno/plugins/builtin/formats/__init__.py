"""Built-in file formats: CSV/TSV, character-per-line CoNLL, JSON lines, plain text, CAIL argument pairs."""

from bertanno.plugins.builtin.formats import conll, jsonl, tabular, text
from bertanno.plugins.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    for module in (tabular, conll, jsonl, text):
        for file_format in module.FORMATS:
            register(file_format)
