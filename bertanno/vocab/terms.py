"""Term lists: plain UTF-8 files, one term per line, ``#`` comments, optional tab-separated category and
frequency. Reading one reports what it skipped (blanks, duplicates, malformed lines) instead of hiding it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bertanno.core.plugins import Plugins, get_plugins
from bertanno.errors import BertannoError
from bertanno.plugins.task import not_text


@dataclass(frozen=True)
class Term:
    text: str
    category: str | None = None
    frequency: int | None = None


@dataclass
class TermList:
    """A list as read, with what was skipped and why (line numbers are 1-based)."""

    name: str
    source: str
    terms: list[Term] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    """``(line, why)`` for each line that is not a term line."""
    blank: int = 0

    @property
    def texts(self) -> list[str]:
        return [term.text for term in self.terms]


def parse_terms(lines, name: str, source: str) -> TermList:
    result = TermList(name, source)
    seen: set[str] = set()
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].rstrip("\r\n")
        if not line.strip():
            result.blank += not raw.lstrip().startswith("#")
            continue
        fields = [part.strip() for part in line.split("\t")]
        text = fields[0]
        problem = not_text(line)  # tabs separate the fields and are text
        if problem is None and (not text or any(ch.isspace() for ch in text)):
            problem = "a term is one word without spaces, e.g. 高血压 or 高血压<TAB>DISEASE"
        if problem is None and len(fields) > 3:
            problem = f"{len(fields)} tab-separated fields; a term line has at most 3 (term, type, frequency)"
        frequency = None
        if problem is None and len(fields) == 3 and fields[2]:
            if fields[2].isdigit():
                frequency = int(fields[2])
            else:
                problem = f"the frequency {fields[2]!r} is not a whole number"
        if problem is not None:
            result.malformed.append((number, problem))
            continue
        if text in seen:
            result.duplicates.append((number, text))
            continue
        seen.add(text)
        result.terms.append(Term(text, fields[1] if len(fields) > 1 and fields[1] else None, frequency))
    return result


def read_term_list(path: str | Path, name: str | None = None) -> TermList:
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return parse_terms(handle, name or path.stem, str(path))
    except UnicodeDecodeError as exc:
        raise BertannoError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise BertannoError(f"cannot read the term list {path}: {exc.strerror}") from None


def load_term_list(name_or_path: str, plugins: Plugins | None = None) -> TermList:
    """A built-in or plugin list by name (``medical``, ``legal``), or a file."""
    plugins = plugins or get_plugins()
    if name_or_path in plugins.vocabularies:
        spec = plugins.vocabularies.get(name_or_path)
        return read_term_list(spec.path, spec.name)
    if Path(name_or_path).is_file():
        return read_term_list(name_or_path)
    known = ", ".join(sorted(plugins.vocabularies)) or "none"
    raise BertannoError(f"{name_or_path!r} is neither a term list file nor a known list (lists: {known})")


def write_term_list(terms: list[Term], path: str | Path, header: str = "") -> None:
    lines = [f"# {line}" for line in header.splitlines()]
    for term in terms:
        fields = [term.text, term.category or "", "" if term.frequency is None else str(term.frequency)]
        lines.append("\t".join(fields).rstrip("\t"))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def vocabulary_hash(terms: list[str]) -> str:
    """Identifies an ordered term list; order matters because it decides the new tokens' ids."""
    return hashlib.sha256(json.dumps(list(terms), ensure_ascii=False).encode("utf-8")).hexdigest()
