"""Every real file of the other tools in ``../shared/interop/`` (doccano, Label Studio's converter, INCEpTION,
brat: their own examples and test files, see its SOURCE.md) through ``bertanno import``, into a fresh project of
the task the file holds, then exported back in the tool's format and read back.

Per file it prints what the file holds, counted here from the format's own definition and not by bertanno's
readers (records or sentences; spans; class labels; relations and other parts bertanno has no layer for), what
bertanno stored, and the verdict:

- ``read``: every span and label stored, and every part left out named in the import's summary;
- ``refused``: nothing stored, and a sentence says why (a file of a non-text task, an image, an XMI);
- ``silent loss``: fewer spans or labels stored than the file holds, with no line of the summary naming them;
- ``misread``: more stored than the file holds, or a text not in the file.

Then each project that stored something is exported in the tool's format and imported into a second project:
``same`` when the second export equals the first. Last, each NER project is exported for the readers other
tools use, where they are installed, and their reading compared with what bertanno stored, span for span:
pybrat (``pip install pybrat``) on the brat export, seqeval's ``get_entities`` on the CoNLL export's tags, and
``datasets.load_from_disk`` on the ``hf`` export. A reader that is not installed is named, not counted.
Every file that holds relations (doccano's relation extraction files, brat's ``R`` and ``E`` lines) is also
imported into a ``relations`` project whose schema allows its relation types between any entities, and the
relations stored are counted against those the file holds (``relations_pass``).

    python -m benchmarks.interop            # the table; writes benchmarks/results/interop.json
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.common import SHARED

INTEROP = SHARED / "interop"
RESULTS = Path(__file__).resolve().parent / "results"
NAMED_ENTITY = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"


# -- what a file holds, counted from the format's definition -------------------------------------------------------

def _json_values(text: str) -> list:
    """Top-level JSON values of a file: one per line, an array's elements, or concatenated objects."""
    decoder, values, position = json.JSONDecoder(), [], 0
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return []
    while position < len(text):
        while position < len(text) and (text[position].isspace() or text[position] == ","):
            position += 1
        if position >= len(text):
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            break
        values.append(value)
    return values


def count_doccano(path: Path) -> dict | None:
    records = [r for r in _json_values(path.read_text(encoding="utf-8")) if isinstance(r, dict)]
    if not records:
        return None
    spans, labels, cats, relations, kinds = 0, Counter(), 0, 0, set()
    for record in records:
        for key in ("label", "labels", "entities", "cats", "column_label"):
            value = record.get(key)
            if not isinstance(value, list):
                continue
            for entry in value:
                if isinstance(entry, list) and len(entry) == 3:
                    spans += 1
                    labels[entry[2]] += 1
                    kinds.add("spans")
                elif isinstance(entry, dict) and "start_offset" in entry:
                    spans += 1
                    labels[entry.get("label")] += 1
                    kinds.add("spans")
                elif isinstance(entry, str):
                    cats += 1
                    labels[entry] += 1
                    kinds.add("classes")
        relations += len(record.get("relations") or [])
    texts = sum(isinstance(r.get("text", r.get("column_data")), str) for r in records)
    return {"records": len(records), "texts": texts, "spans": spans, "classes": cats, "relations": relations,
            "labels": sorted(str(label) for label in labels), "kinds": sorted(kinds)}


def count_label_studio(path: Path) -> dict | None:
    tasks = _json_values(path.read_text(encoding="utf-8"))
    if not tasks or not all(isinstance(t, dict) for t in tasks):
        return None
    spans, classes, types, labels, texts = 0, 0, Counter(), Counter(), 0
    for task in tasks:
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        texts += any(isinstance(value, str) and not value.startswith(("http", "/data")) for value in data.values())
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        for result in (annotations[0].get("result") or []) if annotations else []:
            kind = result.get("type", "?")
            types[kind] += 1
            value = result.get("value") or {}
            if kind == "labels":
                spans += len(value.get("labels") or [])
                labels.update(value.get("labels") or [])
            elif kind == "choices":
                classes += len(value.get("choices") or [])
                labels.update(value.get("choices") or [])
    return {"records": len(tasks), "texts": texts, "spans": spans, "classes": classes,
            "other_results": sum(n for k, n in types.items() if k not in ("labels", "choices")),
            "labels": sorted(labels), "kinds": ["spans"] if spans else ["classes"] if classes else []}


def count_brat(folder: Path) -> dict:
    spans, labels, other = 0, Counter(), Counter()
    for ann in folder.glob("*.ann"):
        for line in ann.read_text(encoding="utf-8").split("\n"):
            if line.startswith("T"):
                parts = line.split("\t")
                kind, _, positions = parts[1].partition(" ")
                if ";" in positions:
                    other["discontinuous"] += 1
                else:
                    spans += 1
                    labels[kind] += 1
            elif line[:1] in "REAMN#*" and line:
                other[line[0]] += 1
    return {"records": len(list(folder.glob("*.txt"))), "texts": len(list(folder.glob("*.txt"))), "spans": spans,
            "classes": 0, "other": dict(other), "labels": sorted(labels), "kinds": ["spans"]}


def count_webanno(path: Path) -> dict | None:
    lines = path.read_text(encoding="utf-8").split("\n")
    if not lines[0].startswith("#FORMAT=WebAnno TSV 3"):
        return None
    layers = [line[6:].split("|") for line in lines[1:] if line.startswith("#T_")]
    span_layers = [(layer[0], layer[1:] or [""]) for layer, line in zip(layers, [x for x in lines[1:] if
                                                                                  x.startswith("#T_")])
                   if line.startswith("#T_SP=")]
    if not span_layers:
        return {"records": 0, "texts": 0, "spans": 0, "classes": 0, "labels": [], "kinds": [], "layer": None}
    layer, features = next(((name, f) for name, f in span_layers if name == NAMED_ENTITY), span_layers[0])
    column = sum(len(f) for f in [x[1:] or [""] for x in layers[:[x[0] for x in layers].index(layer)]])
    column += features.index("value") if "value" in features else 0
    annotations, labels, zero, sentences = set(), Counter(), 0, 0
    for number, line in enumerate(lines):
        if line.startswith("#Text=") and (number == 0 or not lines[number - 1].startswith("#Text=")):
            sentences += 1
        fields = line.split("\t")
        if len(fields) < 4 or not re.match(r"\d+-\d+", fields[0]):
            continue
        cell = fields[3 + column] if 3 + column < len(fields) else "_"
        if cell in ("_", ""):
            continue
        begin, end = fields[1].split("-")
        for part in re.split(r"(?<!\\)\|", cell):
            value, found = re.match(r"(.*?)(\[\d+\])?$", part).groups()
            if begin == end:
                zero += 1
                continue
            key = found or f"{number}:{part}"
            if key not in annotations:
                annotations.add(key)
                labels[re.sub(r"\\(->|[\\\[\]|_;*])", r"\1", value).replace("\\t", "\t").replace("\\n", "\n")] += 1
    return {"records": sentences, "texts": sentences, "spans": len(annotations), "classes": 0, "zero_length": zero,
            "labels": sorted(labels), "kinds": ["spans"], "layer": layer,
            "feature": "value" if "value" in features or not features[0] else features[0]}


# -- the files ------------------------------------------------------------------------------------------------------

def files() -> list[tuple[str, Path, str | None]]:
    """``(tool, path, format)`` of every file or collection to try; ``format`` None: bertanno guesses."""
    found = []
    for path in sorted((INTEROP / "doccano").rglob("*")):
        if path.is_file() and path.suffix in (".jsonl", ".json", ".csv", ".txt"):
            found.append(("doccano", path, None))
    for path in sorted((INTEROP / "label-studio-converter").rglob("*.json")):
        found.append(("label-studio", path, "label-studio"))
    for path in sorted((INTEROP / "inception").rglob("*.tsv")):
        found.append(("inception", path, "webanno-tsv"))
    for folder in sorted({ann.parent for ann in (INTEROP / "brat").rglob("*.ann")}):
        found.append(("brat", folder, "brat"))
    return found


def count(tool: str, path: Path) -> dict | None:
    if tool == "brat":
        return count_brat(path)
    if tool == "inception":
        return count_webanno(path)
    if tool == "label-studio":
        return count_label_studio(path)
    if path.suffix in (".json", ".jsonl"):
        return count_doccano(path)
    if path.suffix == ".txt":
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        names = [word[len("__label__"):] for line in lines for word in line.split(" ") if word.startswith("__label__")]
        return {"records": len(lines), "texts": len(lines), "spans": 0, "classes": len(names),
                "labels": sorted(set(names)), "kinds": ["classes"] if names else []}
    if path.suffix == ".csv":
        import csv
        import io

        raw = path.read_bytes()
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8", "replace")
        rows = list(csv.DictReader(io.StringIO(text)))
        key = next((k for k in (rows[0] if rows else {}) if k and "label" in k.lower()), None)
        names = [name for row in rows for name in (row.get(key) or "").split("#") if name] if key else []
        return {"records": len(rows), "texts": len(rows), "spans": 0, "classes": len(names),
                "labels": sorted(set(names)), "kinds": ["classes"] if names else []}
    return None


class NothingToCarry(Exception):
    """The export wrote no item: the project holds no annotation the tool's format carries."""


def run_one(tool: str, path: Path, format_name: str | None) -> dict:
    from bertanno.core.import_export import export_project, import_file
    from bertanno.core.plugins import Plugins
    from bertanno.errors import BertannoError
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    plugins = Plugins(load_entrypoints=False)
    held = count(tool, path)
    row = {"tool": tool, "file": str(path.relative_to(INTEROP)), "held": held}
    task = "ner" if tool in ("inception", "brat") or (held and "spans" in held["kinds"]) else "sentiment"
    labels = [label for label in (held or {}).get("labels", []) if label and label.strip() == label and
              "\t" not in label and "\n" not in label]
    options = {}
    if tool == "inception" and "*" in labels:  # annotations without a value: given one (--option unlabelled)
        labels = [label if label != "*" else "unlabelled" for label in labels]
        options["unlabelled"] = "unlabelled"
    labels += [f"other{n}" for n in range(max(0, 2 - len(labels)))]  # a project needs two labels
    if tool == "inception" and held and held.get("layer") and held["layer"] != NAMED_ENTITY:
        options["layer"] = held["layer"]
    if tool == "inception" and held and held.get("feature", "value") != "value":
        options["feature"] = held["feature"]  # a layer without a value feature: its first (--option feature=)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'interop.db'}")
        try:
            with store.transaction() as session:
                create_project(session, "a", task, labels, "bert-base-chinese")
                create_project(session, "b", task, labels, "bert-base-chinese")
        except BertannoError as exc:
            store.close()
            return {**row, "verdict": "refused", "why": f"project: {exc}"}
        try:
            report = import_file(store, "a", path, format_name, dict(options), skip_bad=True, plugins=plugins)
        except BertannoError as exc:
            store.close()
            return {**row, "verdict": "refused", "why": str(exc).split("\n")[0][:160]}
        exported = export_project(store, "a", "jsonl", None, plugins=plugins).text
        records = [json.loads(line) for line in exported.splitlines()]
        stored_spans = sum(len(r.get("spans") or []) for r in records)
        stored_classes = sum(1 if isinstance(r.get("label"), str) else len(r.get("labels") or [])
                             for r in records if "spans" not in r)
        notes = [note.message for note in report.notes]
        row.update({"added": report.added, "stored_spans": stored_spans, "stored_classes": stored_classes,
                    "skipped": len(report.errors), "notes": notes,
                    "errors": [e.message[:120] for e in report.errors[:3]]})
        expected = (held or {}).get("spans", 0) if task == "ner" else (held or {}).get("classes", 0)
        stored = stored_spans if task == "ner" else stored_classes
        if report.added == 0 and report.errors:
            row["verdict"] = "refused"
            row["why"] = report.errors[0].message[:160]
        elif held is None:
            row["verdict"] = "read" if report.added else "refused"
        elif stored > expected:
            row["verdict"] = "misread"
        elif stored < expected and not (notes or report.errors or report.unsettled):
            row["verdict"] = "silent loss"
        else:
            row["verdict"] = "read"
        peer = {"doccano": "doccano", "label-studio": "label-studio", "inception": "webanno-tsv",
                "brat": "brat"}[tool]
        if report.added and (task == "ner" or peer in ("doccano", "label-studio")):
            suffix = {"brat": "", "label-studio": ".json", "webanno-tsv": ".tsv", "doccano": ".jsonl"}[peer]
            target = Path(folder) / f"back{suffix}"
            try:
                row["exported"] = export_project(store, "a", peer, target, plugins=plugins).written
                if not row["exported"]:  # every item unlabelled: the tool's file has nothing to carry back
                    raise NothingToCarry
                import_file(store, "b", target, peer, {},  # bertanno writes the NamedEntity layer
                            plugins=plugins, skip_bad=True)
                again = export_project(store, "b", "jsonl", None, plugins=plugins).text
                carried = [r for r in records if peer != "doccano" or r.get("spans") != []]
                row["round_trip"] = ("same" if [json.loads(x) for x in again.splitlines()] ==
                                     [r for r in carried if r.get("spans", r.get("label")) is not None] or
                                     again == exported else "differs")
            except NothingToCarry:
                row["round_trip"] = "nothing to carry"
            except BertannoError as exc:
                row["round_trip"] = f"refused: {str(exc)[:80]}"
        if report.added and task == "ner":
            row["peers"] = peer_readers(store, plugins, records, Path(folder))
        store.close()
    relations = relations_pass(tool, path, format_name, held)
    if relations is not None:
        row["relations"] = relations
    return row


def held_relations(tool: str, path: Path) -> tuple[int, list[str]]:
    """The relations a doccano file or a brat collection holds, counted from the format's definition (brat: an
    ``R`` line is one, an ``E`` line one per role argument), and their type names (brat roles without their
    numbering)."""
    names, total = set(), 0
    if tool == "doccano" and path.suffix in (".json", ".jsonl"):
        for record in _json_values(path.read_text(encoding="utf-8")):
            for relation in (record.get("relations") or []) if isinstance(record, dict) else []:
                total += 1
                names.add(str(relation.get("type")))
    elif tool == "brat":
        for ann in path.glob("*.ann"):
            for line in ann.read_text(encoding="utf-8").split("\n"):
                fields = line.split("\t")
                if line.startswith("R") and len(fields) > 1:
                    total += 1
                    names.add(fields[1].split(" ")[0])
                elif line.startswith("E") and len(fields) > 1:
                    for argument in fields[1].split(" ")[1:]:
                        if argument:
                            total += 1
                            names.add(re.sub(r"\d+$", "", argument.partition(":")[0]))
    elif tool == "inception" and path.suffix == ".tsv":
        total, names, _ = _webanno_relations(path)
    return total, sorted(names)


def _webanno_relations(path: Path) -> tuple[int, set[str], str]:
    """The relations of a TSV 3 file's first relation layer between annotations of the span layer
    ``count_webanno`` chose, from the header's columns: one per part of a ``BT_`` cell; types from the layer's
    ``value`` feature, else its first (``*``, an empty one, as ``unlabelled``); and that feature's name."""
    held = count_webanno(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    if not held or not held.get("layer"):
        return 0, set(), "value"
    width, value, source, feature = 0, None, None, "value"
    for line in (line for line in lines[1:] if line.startswith("#T_")):
        names = line[6:].split("|")
        if line.startswith("#T_RL=") and source is None and names[-1] == f"BT_{held['layer']}":
            source = width + len(names) - 2
            features = names[1:-1]
            feature = "value" if "value" in features or not features else features[0]
            value = width + features.index(feature) if features else None
        width += len(names[1:] or [""])
    total, types = 0, set()
    for line in lines:
        fields = line.split("\t")
        if source is None or len(fields) < 4 + source or not re.match(r"\d+-\d+", fields[0]):
            continue
        if fields[3 + source] in ("_", ""):
            continue
        parts = re.split(r"(?<!\\)\|", fields[3 + source])
        total += len(parts)
        values = re.split(r"(?<!\\)\|", fields[3 + value]) if value is not None else ["*"] * len(parts)
        types |= {"unlabelled" if v in ("*", "") else re.sub(r"\\(.)", r"\1", v) for v in values}
    return total, types, feature


def relations_pass(tool: str, path: Path, format_name: str | None, held: dict | None) -> dict | None:
    """A file that holds relations imported into a ``relations`` project whose schema allows each of its relation
    types between any entity types: how many relations were stored against how many the file holds, and the
    verdict (``read``: all of them, or every one left out named in the summary). ``None`` for a file without."""
    from bertanno.core.import_export import export_project, import_file
    from bertanno.core.plugins import Plugins
    from bertanno.errors import BertannoError
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    total, names = held_relations(tool, path)
    if not total:
        return None
    plugins = Plugins(load_entrypoints=False)
    labels = [label if label != "*" else "unlabelled" for label in (held or {}).get("labels", [])
              if label and label.strip() == label and not re.search(r"\s", label)] or ["entity"]
    schema = ",".join(f"{name}:*>*" for name in names)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'relations.db'}")
        try:
            task = plugins.task("relations", labels=labels, relations=schema)
            with store.transaction() as session:
                create_project(session, "r", "relations", labels, "bert-base-chinese", config=dict(task.config))
            options = {}
            if tool == "inception":  # as run_one reads it: the span layer it chose, values for what has none
                options = {"layer": held["layer"], "feature": held.get("feature", "value"), "unlabelled": "unlabelled",
                           "relation_unlabelled": "unlabelled", "relation_feature": _webanno_relations(path)[2]}
            report = import_file(store, "r", path, format_name, options, skip_bad=True, plugins=plugins)
        except BertannoError as exc:
            store.close()
            return {"held": total, "verdict": "refused", "why": str(exc).split("\n")[0][:160]}
        records = [json.loads(line) for line in export_project(store, "r", "jsonl", None, plugins=plugins).text
                   .splitlines()]
        store.close()
    stored = sum(len(r.get("relations") or []) for r in records)
    notes = [note.message for note in report.notes] + [error.message[:120] for error in report.errors[:3]]
    verdict = "read" if stored == total or (stored < total and notes) else "misread" if stored > total \
        else "silent loss"
    return {"held": total, "stored": stored, "types": names, "verdict": verdict, "notes": notes}


def _stored(records: list[dict]) -> Counter:
    """``(text, ((start, end, label), …))`` per annotated item, as bertanno's JSONL export holds them."""
    return Counter((r["text"], tuple(sorted(tuple(s) for s in r["spans"])))
                   for r in records if r.get("spans") is not None)


def peer_readers(store, plugins, records: list[dict], folder: Path) -> dict[str, str]:
    """Per reader of another tool: ``same`` when it reads bertanno's export of the project with the spans
    bertanno stored (only the items that format carries), ``differs (N items)``, or ``not installed``."""
    from bertanno.core.import_export import export_project
    from bertanno.errors import BertannoError

    found = {}

    def compare(name, fmt, target, read):
        try:
            written = export_project(store, "a", fmt, target, plugins=plugins)
        except BertannoError as exc:
            found[name] = f"export refused: {str(exc)[:60]}"
            return
        if not written.written:
            found[name] = "nothing written (no item the format carries)"
            return
        mine, theirs = _stored(records), read(target)
        if written.refused:  # items the format cannot carry: compare the ones it wrote, and count them
            mine = Counter({key: n for key, n in mine.items() if key[0] in {k[0] for k in theirs}})
            if sum(theirs.values()) != written.written:
                found[name] = f"read {sum(theirs.values())} of {written.written} items"
                return
        differing = sum(((mine - theirs) + (theirs - mine)).values())
        found[name] = "same" if not differing else f"differs ({differing} items)"

    try:
        from pybrat.parser import BratParser

        def read_brat(target):
            return Counter((e.text, tuple(sorted((sp.start, sp.end, ent.type) for ent in e.entities
                                                 for sp in ent.spans)))
                           for e in BratParser(error="ignore").parse(str(target)))
        compare("pybrat", "brat", folder / "peer-brat", read_brat)
    except ImportError:
        found["pybrat"] = "not installed"
    try:
        from seqeval.metrics.sequence_labeling import get_entities

        def read_conll(target):
            items, chars, tags = Counter(), [], []
            for line in target.read_text(encoding="utf-8").split("\n"):
                if line:
                    char, tag = line.rsplit(" ", 1)
                    chars.append(char or " ")
                    tags.append(tag)
                elif chars:
                    items[("".join(chars), tuple(sorted((start, end + 1, label) for label, start, end
                                                        in get_entities(tags))))] += 1
                    chars, tags = [], []
            return items
        compare("seqeval", "conll", folder / "peer.conll", read_conll)
    except ImportError:
        found["seqeval"] = "not installed"
    try:
        import datasets

        def read_hf(target):
            return Counter((row["text"], tuple(sorted((s["start"], s["end"], s["label"]) for s in row["spans"])))
                           for row in datasets.load_from_disk(str(target)))
        datasets.disable_progress_bars()
        compare("datasets", "hf", folder / "peer-hf", read_hf)
    except ImportError:
        found["datasets"] = "not installed"
    return found


def main() -> list[dict]:
    if not INTEROP.exists():
        raise SystemExit(f"no interop corpus at {INTEROP} (set BERTANNO_SHARED)")
    rows = [run_one(tool, path, format_name) for tool, path, format_name in files()]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "interop.json").write_text(json.dumps({"files": rows}, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")
    verdicts = Counter(row["verdict"] for row in rows)
    for row in rows:
        held = row.get("held") or {}
        print(f"{row['verdict']:<11} {row['file'][:90]:<90} spans {held.get('spans', '-')}→{row.get('stored_spans', '-')}"
              f" classes {held.get('classes', '-')}→{row.get('stored_classes', '-')} {row.get('round_trip', '')}")
    print(dict(verdicts))
    for row in rows:
        if "relations" in row:
            found = row["relations"]
            print(f"relations {found['verdict']:<11} {row['file'][:80]:<80} {found['held']}→{found.get('stored', '-')}")
    return rows


if __name__ == "__main__":
    main()
