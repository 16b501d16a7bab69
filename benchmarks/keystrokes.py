"""Keys a person presses for the corrections a NER annotator makes most, on a 465-character clinical record at
80×24, replayed through the real annotation app (``AnnotationApp``, headless, Textual's pilot).

Each correction starts from the same pre-annotation of the record (a model's spans, some wrong) and has a goal
(the spans after it). The key sequence is found by a small planner over the keys the span editor has, not
written by hand: the cursor starts at the first character; moving to an offset costs the fewest of Tab /
Shift+Tab to a span start then arrows, Ctrl+← / Ctrl+→ by jieba's words then arrows, or arrows alone;
selecting ``start:end`` from there costs the fewest of Shift+→ per character or Ctrl+Shift+→ by words then
Shift+arrows; a span's edge moves by ``[ ] { }`` a character or ``< >`` a word at a time, ``m`` merges a span
with the next one and ``|`` splits it at the cursor. ``f`` and a hint's letters (read off the screen when replayed) jump to any word on screen, ``F``
and a hint select to the end of that word. Then the sequence is replayed in the app and the spans on screen compared with the goal: a
sequence that does not reach its goal is a failure of the benchmark, never counted. The Enter that saves the
item is not counted (every decision has it).

    python -m benchmarks.keystrokes                  # the table; writes benchmarks/results/keystrokes.json
    python -m benchmarks.keystrokes --terms medical  # the project holds a term list (bertanno vocab add):
                                                     # its terms are words for Ctrl+arrows, f and F too

Goal (issue 'Correcting entities at the speed of thought', part 7): median ≤ 4 keys, none above 8.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import REPO

RESULTS = REPO / "benchmarks" / "results"
LABELS = ["disease", "symptom", "drug", "body", "test"]
RECORD = (
    "患者男，62岁，因反复胸闷气促3年，加重伴头痛头晕2天入院。患者3年前无明显诱因出现胸闷，活动后明显，"
    "休息后可缓解，曾于外院诊断为冠状动脉粥样硬化性心脏病，长期口服阿司匹林肠溶片100mg/天、硝苯地平控释片"
    "30mg/天及Metformin 0.5g bid，血压控制可。2天前患者劳累后胸闷加重，持续不缓解，伴大汗、恶心，无呕吐，"
    "急诊心电图示V1-V4导联ST段抬高，肌钙蛋白I 2.35ng/mL，考虑急性ST段抬高型心肌梗死，收入我科。"
    "既往原发性高血压病史10年，最高180/110mmHg；2型糖尿病史5年；否认肝炎、结核等传染病史；"
    "否认药物过敏史。查体：T 36.5℃，P 98次/分，R 20次/分，BP 150/95mmHg，神志清，精神差，"
    "双肺呼吸音粗，未闻及干湿性啰音，心率98次/分，律齐，各瓣膜听诊区未闻及病理性杂音，腹软，无压痛，"
    "双下肢无水肿。辅助检查：NT-proBNP 1580pg/mL，LDL-C 3.8mmol/L。主任查房后指示完善冠脉造影检查。"
    "嘱低盐低脂饮食，监测血压、血糖，戒烟限酒。"
)


def at(surface: str, nth: int = 1) -> tuple[int, int]:
    start = -1
    for _ in range(nth):
        start = RECORD.index(surface, start + 1)
    return start, start + len(surface)


def span(surface: str, label: str, nth: int = 1):
    from bertanno.plugins.task import Span

    return Span(*at(surface, nth), label)


def pre_annotation() -> list:
    """What the model proposed: mostly right, with the errors the corrections below mend."""
    return sorted([
        span("胸闷", "symptom"), span("头痛头晕", "symptom"), span("冠状动脉", "disease"), span("粥样硬化", "disease"),
        span("阿司匹林", "drug"), span("Metformin", "disease"), span("胸闷", "symptom", 3), span("大汗", "symptom"),
        span("恶心", "symptom"), span("肌钙蛋白I", "test"), span("心肌", "body"), span("高血压", "disease"),
        span("2型糖尿病", "disease"), span("NT-proBNP", "test"), span("主任", "symptom"), span("LDL-C", "test"),
    ])


def corrections() -> list[tuple[str, list, list]]:
    """``(what, spans to take away, spans to add)`` against the pre-annotation."""
    return [
        ("add a missing 2-character symptom after a span (气促 after 胸闷)", [], [span("气促", "symptom")]),
        ("add a 7-character drug with no span before it (硝苯地平控释片)", [], [span("硝苯地平控释片", "drug")]),
        ("replace a body span by the disease that contains it (心肌 → 急性ST段抬高型心肌梗死)",
         [span("心肌", "body")], [span("急性ST段抬高型心肌梗死", "disease")]),
        ("widen a span to the left (高血压 → 原发性高血压)", [span("高血压", "disease")], [span("原发性高血压", "disease")]),
        ("widen a span to the right (阿司匹林 → 阿司匹林肠溶片)", [span("阿司匹林", "drug")],
         [span("阿司匹林肠溶片", "drug")]),
        ("change a span's type (Metformin: disease → drug)", [span("Metformin", "disease")],
         [span("Metformin", "drug")]),
        ("remove a wrong span (主任)", [span("主任", "symptom")], []),
        ("split a span in two (头痛头晕 → 头痛 + 头晕)", [span("头痛头晕", "symptom")],
         [span("头痛", "symptom"), span("头晕", "symptom")]),
        ("merge two spans (冠状动脉 + 粥样硬化 → 冠状动脉粥样硬化)",
         [span("冠状动脉", "disease"), span("粥样硬化", "disease")], [span("冠状动脉粥样硬化", "disease")]),
    ]


# -- the planner ----------------------------------------------------------------------------------------------------

def moves(cursor: int, target: int, spans: list, starts: list[int], rows: list[tuple[int, int]]) -> list[str]:
    """The fewest keys from ``cursor`` to ``target`` (see the module's docstring): arrows; Tab or Shift+Tab
    (which wrap around) to a span start; Ctrl+arrows by words; ↑ ↓ by screen rows (the column kept); each
    followed by arrows."""
    def arrows(frm: int) -> list[str]:
        return ["right"] * (target - frm) if target >= frm else ["left"] * (frm - target)

    options = [arrows(cursor)]
    span_starts = sorted({s.start for s in spans})
    forward = [s for s in span_starts if s > cursor] + [s for s in span_starts if s < cursor]
    backward = [s for s in reversed(span_starts) if s < cursor] + [s for s in reversed(span_starts) if s > cursor]
    for start in span_starts:
        if start in forward:
            options.append(["tab"] * (forward.index(start) + 1) + arrows(start))
        if start in backward:
            options.append(["shift+tab"] * (backward.index(start) + 1) + arrows(start))
    ahead, behind = [s for s in starts if s > cursor], [s for s in reversed(starts) if s < cursor]
    for word_start in starts:
        if word_start in ahead:
            options.append(["ctrl+right"] * (ahead.index(word_start) + 1) + arrows(word_start))
        elif word_start in behind:
            options.append(["ctrl+left"] * (behind.index(word_start) + 1) + arrows(word_start))
    row_of = lambda offset: next(i for i, (a, b) in enumerate(rows) if a <= offset < b or i == len(rows) - 1)  # noqa
    here, there = row_of(cursor), row_of(target)
    column = cursor - rows[here][0]
    landed = min(rows[there][0] + column, max(rows[there][1] - 1, rows[there][0]))
    options.append((["down"] * (there - here) if there >= here else ["up"] * (here - there)) + arrows(landed))
    for word_start in starts:  # f and a hint's two letters: any word on screen
        options.append([f"f→{word_start}"] + arrows(word_start))
    return min(options, key=cost)


def cost(keys: list[str]) -> int:
    """Keys pressed: a hint jump (``f→OFFSET``, ``F→OFFSET``) is the key and the hint's two letters."""
    return sum(3 if "→" in key else 1 for key in keys)


def selecting(start: int, end: int, starts: list[int]) -> list[str]:
    """From the cursor at ``start``, the fewest keys that select ``start:end``: Shift+→, Ctrl+Shift+→ by words,
    or ``F`` and the hint of the word that ends there (then Shift+arrows)."""
    from bertanno.app.screen.widgets.spans import word_around

    options = [["shift+right"] * (end - start)]
    for word_start in starts:
        word_end = word_around(RECORD, word_start)[1]
        if word_end > start:
            extra = ["shift+right"] * (end - word_end) if end >= word_end else ["shift+left"] * (word_end - end)
            options.append([f"F→{word_start}"] + extra)
    position, keys = start, []
    for word_start in [s for s in starts if s > start] + [len(RECORD)]:
        keys = keys + ["ctrl+shift+right"]
        position = word_start
        if position >= end:
            options.append(keys + ["shift+left"] * (position - end))
            break
        options.append(keys + ["shift+right"] * (end - position))
    return min(options, key=cost)


def plan(remove: list, add: list, spans: list, starts: list[int], rows: list[tuple[int, int]]) -> list[str]:
    """Keys for one correction: a type change with the cursor on the span and its label key; a removal with
    ``d`` on the span; an addition (or a replacement of the spans it covers) by moving to its start,
    selecting it and its label key (twice when it covers spans: the editor asks first); a span whose
    boundaries move also by ``[ ] { }`` with the cursor on it, when that is fewer keys."""
    moved = [(old, new) for old in remove for new in add
             if old.label == new.label and old.start < new.end and new.start < old.end]
    general = plan_general(remove, add, spans, starts, rows)
    if len(remove) == len(add) == len(moved) == 1:  # one span's boundaries: [ ] { } or < > from a key on it
        old, new = moved[0]
        bounds = moves(0, old.start, spans, starts, rows)
        bounds += (widening(old.start, new.start, -1) if new.start < old.start
                   else ["left_curly_bracket"] * (new.start - old.start))
        bounds += (widening(old.end, new.end, 1) if new.end > old.end
                   else ["right_curly_bracket"] * (old.end - new.end))
        return min([bounds, general], key=cost)
    ordered = sorted(remove)
    if (len(remove) == 2 and len(add) == 1 and ordered[0].label == ordered[1].label == add[0].label
            and (ordered[0].start, ordered[1].end) == (add[0].start, add[0].end)
            and not any(ordered[0].end <= s.start < ordered[1].start for s in spans if s not in remove)):
        merge = moves(0, ordered[0].start, spans, starts, rows) + ["m"]   # m: with the next span
        return min([merge, general], key=cost)
    parts = sorted(add)
    if (len(remove) == 1 and len(add) == 2 and parts[0].label == parts[1].label == remove[0].label
            and (parts[0].start, parts[0].end, parts[1].end) == (remove[0].start, parts[1].start, remove[0].end)):
        split = moves(0, parts[1].start, spans, starts, rows) + ["vertical_line"]   # |: cut at the cursor
        return min([split, general], key=cost)
    return general


def widening(edge: int, goal: int, side: int) -> list[str]:
    """The fewest keys that move a span's edge from ``edge`` out to ``goal`` (``side`` -1: its start, leftwards;
    1: its end): ``[`` / ``]`` a character at a time, or ``<`` / ``>`` a word at a time (jieba's words, as the
    editor takes them) then characters."""
    from bertanno.app.screen.widgets.spans import word_around

    char_key, word_key = ("left_square_bracket", "less_than_sign") if side < 0 else \
        ("right_square_bracket", "greater_than_sign")
    options = [[char_key] * abs(goal - edge)]
    position, words = edge, 0
    while (position > goal) if side < 0 else (position < goal):
        position = word_around(RECORD, position - 1)[0] if side < 0 else word_around(RECORD, position)[1]
        words += 1
        if position == goal:
            options.append([word_key] * words)
    return min(options, key=cost)


def plan_general(remove: list, add: list, spans: list, starts: list[int], rows: list[tuple[int, int]]) -> list[str]:
    """``plan`` by moving, selecting and labelling (see ``plan``)."""
    cursor, keys, spans = 0, [], list(spans)
    retyped = [(old, new) for old in remove for new in add if (old.start, old.end) == (new.start, new.end)]
    for old, new in retyped:
        step = moves(cursor, old.start, spans, starts, rows)
        keys += step + [str(LABELS.index(new.label) + 1)]
        cursor = old.start
        remove, add = [r for r in remove if r is not old], [a for a in add if a is not new]
    covered = {id(r) for r in remove for a in add if r.start < a.end and a.start < r.end}
    for old in [r for r in remove if id(r) not in covered]:
        keys += moves(cursor, old.start, spans, starts, rows) + ["d"]
        cursor = old.start
        spans.remove(old)
    for new in add:
        keys += moves(cursor, new.start, spans, starts, rows)
        keys += selecting(new.start, new.end, starts)
        overlaps = any(s.start < new.end and new.start < s.end for s in spans)
        key = str(LABELS.index(new.label) + 1)
        keys += [key, key] if overlaps else [key]
        spans = [s for s in spans if not (s.start < new.end and new.start < s.end)] + [new]
        cursor = new.end
    return keys


# -- the replay ----------------------------------------------------------------------------------------------------

def replay(keys: list[str], spans: list, terms: list[str] = ()) -> tuple[list, list[tuple[int, int]], list[str]]:
    """Press ``keys`` in the real app at 80×24 on the record pre-annotated with ``spans``: the spans on screen,
    the text's screen rows ``(start, end)`` and the keys pressed (a hint jump's letters read off the screen)."""
    import asyncio

    from bertanno.app.line_screen import KEYS
    from bertanno.app.screen import AnnotationApp
    from bertanno.app.session import AnnotationSession
    from bertanno.core.import_export import import_file
    from bertanno.plugins.task import Prediction
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    class Fixed:
        def predict(self, examples):
            return [Prediction(list(spans), 0.8) for _ in examples], None

    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'k.db'}")
        with store.transaction() as db:
            project = create_project(db, "clinic", "ner", LABELS, "bert-base-chinese")
            if terms:
                from bertanno.store.vocabularies import save_vocabulary
                from bertanno.vocab.terms import vocabulary_hash

                project.vocabulary_id = save_vocabulary(db, "terms", list(terms), vocabulary_hash(list(terms))).id
        data = Path(folder) / "record.jsonl"
        data.write_text(json.dumps({"text": RECORD}, ensure_ascii=False) + "\n", encoding="utf-8")
        import_file(store, "clinic", data)
        session = AnnotationSession(store, "clinic", "bench", predictor=Fixed(), model_version="m",
                                    predict_ahead=False)
        app = AnnotationApp(session, KEYS)
        shown: list = []
        rows: list = []
        pressed: list = []

        async def drive():
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                for key in keys:
                    if "→" in key:  # f or F, then the letters the screen shows over that word
                        jump, offset = key.split("→")
                        await pilot.press(jump)
                        await pilot.pause()
                        hints = app.view.query_one("SpanText").hints
                        letters = next(label for label, at in hints.items() if at == int(offset))
                        pressed.append(jump)
                        for letter in letters:
                            await pilot.press(letter)
                            pressed.append(letter)
                        await pilot.pause()
                        continue
                    await pilot.press(key)
                    pressed.append(key)
                    await pilot.pause()
                shown.extend(app.view.editor.spans)
                rows.extend(app.view.query_one("SpanText").rows)
                await pilot.press("q")

        asyncio.run(drive())
        session.close()
        store.close()
    return shown, rows, pressed


def main(argv=None) -> dict:
    import argparse

    from bertanno.app.screen.widgets.spans import hint_targets, use_terms

    parser = argparse.ArgumentParser(prog="python -m benchmarks.keystrokes", description=__doc__.split("\n")[0])
    parser.add_argument("--terms", metavar="LIST", help="A built-in term list (medical, legal) the project holds.")
    args = parser.parse_args(argv)
    terms: list[str] = []
    if args.terms:
        from bertanno.vocab.terms import load_term_list

        terms = load_term_list(args.terms).texts
        use_terms(terms)
    starts = hint_targets(RECORD, 0, len(RECORD))
    spans = pre_annotation()
    _, screen_rows, _ = replay([], spans, terms)
    rows = []
    for what, remove, add in corrections():
        keys = plan(remove, add, spans, starts, screen_rows)
        goal = sorted([s for s in spans if s not in remove] + add)
        shown, _, pressed = replay(keys, spans, terms)
        if shown != goal:
            raise SystemExit(f"{what}: the keys {keys} left {shown}, not the goal")
        rows.append({"correction": what, "keys": len(pressed), "sequence": pressed})
        print(f"{len(pressed):>3}  {what}: {' '.join(pressed)}")
    counts = [row["keys"] for row in rows]
    result = {"record_characters": len(RECORD), "screen": "80x24", "terms": args.terms or "none",
              "median": statistics.median(counts),
              "max": max(counts), "goal": "median <= 4, none above 8", "corrections": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"keystrokes{'_' + args.terms if args.terms else ''}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")
    print(f"median {result['median']} keys, most {result['max']} ({len(RECORD)}-character record, 80x24)")
    return result


if __name__ == "__main__":
    main()
