"""Built-in file formats: CSV/TSV, character-per-line CoNLL, JSON lines, plain text, a Hugging Face
dataset, doccano's JSONL and CSV, brat standoff, Label Studio's JSON, WebAnno/INCEpTION TSV 3."""

from bertanno.plugins.builtin.formats import brat, conll, doccano, hf, jsonl, label_studio, tabular, text, webanno
from bertanno.plugins.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    for module in (tabular, conll, jsonl, text, hf, doccano, brat, label_studio, webanno):
        for file_format in module.FORMATS:
            register(file_format)
