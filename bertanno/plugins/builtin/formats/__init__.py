"""Built-in file formats: CSV/TSV, character-per-line CoNLL, JSON lines, plain text, a Hugging Face dataset."""

from bertanno.plugins.builtin.formats import conll, hf, jsonl, tabular, text
from bertanno.plugins.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    for module in (tabular, conll, jsonl, text, hf):
        for file_format in module.FORMATS:
            register(file_format)
