"""Keys a person presses to enter a passage's relations in the relation view, from scratch and from the
``relation-linear`` family's pre-annotations, replayed through the real annotation app (``AnnotationApp``,
headless, Textual's pilot, 80×24).

    python -m benchmarks.relation_keys [--passages 80] [--seed 0]

The passages: the test passages of the first fold of ``benchmarks.relations`` (DUTIR, split by judgment), at most
``--passages``. Both conditions start from the passage's gold entities (the entities are what the span editor's
benchmark, ``benchmarks.keystrokes``, measures): *from scratch* with no relation, *pre-annotated* with the
relations ``relation-linear`` (trained on the fold's other judgments) proposes between them. An annotator who
knows the gold relations then presses, reading the screen as it goes: for each relation on screen that is not
gold, ``j`` until it is focused, then ``t`` and the gold type's number when a gold relation joins the same ends
(else ``D``); for each missing relation, grouped by head in text order, Tab (or Shift+Tab) until the cursor is
on the head, ``l``, the tail's span number (and Enter when it begins a longer number), the type's number when
more than one type fits. Then Enter saves the item. Every key is counted, Enter included; the stored decision
is compared with the gold relations, and a passage whose replay does not reach them is a failure of the
benchmark, never counted. Writes ``benchmarks/results/relation_keys.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import write_rows
from benchmarks.relations import LABELS, SCHEMA, folds, passages


async def enter_relations(pilot, app, task, gold) -> int | None:
    """Press the keys that turn the relations on screen into ``gold``'s (module docstring), then Enter; returns
    how many, Enter included, or ``None`` when the relations on screen did not become the gold ones."""
    from bertanno.app.screen.widgets.relations import GraphText
    from bertanno.plugins.task import Relation

    view, pressed = app.view, 0

    async def press(*keys: str) -> None:
        nonlocal pressed
        for key in keys:
            await pilot.press(key)
            pressed += 1
        await pilot.pause()

    editor, text = view.editor, view.query_one(GraphText)
    wanted = {task.normal(r) for r in gold.relations}

    def shown(number: int) -> Relation:
        head, tail, label = editor.links[number]
        return task.normal(Relation(editor.numbered[head], editor.numbered[tail], label))

    for _ in range(200):
        wrong = [n for n in editor.links if shown(n) not in wanted]
        if not wrong:
            break
        target = wrong[0]
        while text.focused != target:
            await press("j")
        head, tail, _ = editor.links[target]
        retyped = [r.label for r in wanted if (r.head, r.tail) == (editor.numbered[head], editor.numbered[tail])]
        choices = [name for name in editor.allowed(head, tail) if name != editor.links[target][2]]
        if retyped and retyped[0] in choices:
            await press("t", *([str(choices.index(retyped[0]) + 1)] if len(choices) > 1 else []))
        else:
            await press("D")
    number_of = {tuple(span): n for n, span in editor.numbered.items()}
    have = {shown(n) for n in editor.links}
    missing = sorted((r for r in wanted if r not in have), key=lambda r: (r.head, r.tail))
    for relation in missing:
        head, tail = number_of[tuple(relation.head)], number_of[tuple(relation.tail)]
        step = "tab" if text.cursor < relation.head.start else "shift+tab"
        for _ in range(200):
            if editor.at(text.cursor) == head:
                break
            await press(step)
        digits = str(tail)
        longer = any(str(n) != digits and str(n).startswith(digits) for n in editor.numbered)
        await press("l", *digits, *(["enter"] if longer else []))
        if text.linking is not None:  # several types fit: the gold one's number
            await press(str(text.linking["choices"].index(relation.label) + 1))
    reached = set(editor.graph.relations) == wanted
    await press("enter")
    return pressed if reached else None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from bertanno.app.line_screen import KEYS
    from bertanno.app.screen import AnnotationApp
    from bertanno.app.session import AnnotationSession
    from bertanno.core.import_export import import_file
    from bertanno.core.plugins import get_plugins
    from bertanno.plugins.task import Prediction, SpanGraph
    from bertanno.store import Store
    from bertanno.store.projects import create_project

    plugins = get_plugins()
    task = plugins.task("relations", labels=LABELS, relations=SCHEMA)
    training, test = next(folds(passages(), 4, args.seed))
    test = test[:args.passages]
    family = plugins.family("relation-linear")
    counts: dict[str, list[int]] = {"from scratch": [], "pre-annotated": []}
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        family.fit(task, training, Path(folder) / "r001")
        model = family.load(Path(folder) / "r001", {}, task)
        proposed = {e.text: SpanGraph(tuple(sorted(e.payload.spans)),
                                      tuple(model.relations_for(e.text, e.payload.spans)[0])) for e in test}
        for condition in counts:
            store = Store.open(f"sqlite:///{Path(folder) / (condition.replace(' ', '-') + '.db')}")
            with store.transaction() as db:
                create_project(db, "cases", "relations", LABELS, "bert-base-chinese", config=dict(task.config))
            items = Path(folder) / "items.jsonl"
            items.write_text("".join(json.dumps({"text": e.text}, ensure_ascii=False) + "\n" for e in test),
                             encoding="utf-8")
            import_file(store, "cases", items)
            gold = {e.text: e.payload for e in test}

            class Shown:
                def predict(self, examples, condition=condition):
                    return [Prediction(proposed[e.text] if condition == "pre-annotated"
                                       else SpanGraph(tuple(sorted(gold[e.text].spans)), ()), 0.5)
                            for e in examples], None

            session = AnnotationSession(store, "cases", "bench", predictor=Shown(), model_version="r001",
                                        predict_ahead=False)
            app = AnnotationApp(session, KEYS)
            missed: list[str] = []  # the passages whose replay did not reach the gold relations

            async def run(app=app, session=session):
                async with app.run_test(size=(80, 24)) as pilot:
                    await pilot.pause()
                    while session.current is not None:
                        text = session.current.example.text
                        keys = await enter_relations(pilot, app, task, gold[text])
                        if keys is None:
                            missed.append(text)
                        else:
                            counts[condition].append(keys)
                    await pilot.press("q")

            asyncio.run(run())
            session.close()
            failures += len(missed)
            store.close()
            print(f"{condition}: median {statistics.median(counts[condition])} keys a passage over "
                  f"{len(counts[condition])} passages", flush=True)
    rows = [{"condition": condition, "passages": len(keys), "median_keys": statistics.median(keys),
             "mean_keys": round(statistics.mean(keys), 2), "max_keys": max(keys),
             "relations_per_passage": round(statistics.mean(len(e.payload.relations) for e in test), 2)}
            for condition, keys in counts.items()]
    rows.append({"condition": "replays that did not reach the gold relations", "failures": failures})
    return write_rows("relation_keys", "benchmarks.relation_keys", argv, 1, rows)


if __name__ == "__main__":
    main()
