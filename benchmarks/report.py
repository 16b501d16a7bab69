"""benchmarks/RESULTS.md and PNG plots from the JSON that the suites wrote in benchmarks/results/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.common import REPO

RESULTS = REPO / "benchmarks" / "results"
REPORT = REPO / "benchmarks" / "RESULTS.md"
HEADLINE = {"sentiment": ("accuracy", "acc"), "ner": ("f1", "entity F1"), "pair": ("accuracy", "acc")}


def _jsonl(path: Path) -> tuple[dict, list[dict]]:
    """A results file's header and rows; ``({}, [])`` when it is missing or still empty (a run that has begun)."""
    if not path.exists():
        return {}, []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (lines[0], lines[1:]) if lines else ({}, [])


def _json(name: str) -> dict | None:
    """The results file ``name`` (one JSON object), or ``None`` when that suite has not been run."""
    path = RESULTS / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _score(metrics, task: str) -> str:
    if not isinstance(metrics, dict):
        return "–"
    key, _ = HEADLINE[task]
    text = f"{metrics[key]:.3f}"
    if task == "pair":
        text += f" (F1 {metrics.get('f1', 0):.2f})"
    return text


def _machine(facts: dict) -> str:
    return (f"{facts.get('cpu_count')} CPUs ({facts.get('cpu')}), {facts.get('torch_threads')} torch threads, "
            f"torch {facts.get('torch')}, transformers {facts.get('transformers')}, tokenizers "
            f"{facts.get('tokenizers')}, Python {facts.get('python')}")


def _ner(settings: dict) -> str:
    if "ner_lr" not in settings:
        return ""
    return (f" (NER, which learns slower from random weights: {settings['ner_epochs']} epochs at most, "
            f"lr {settings['ner_lr']})")


def quality_section(header: dict, rows: list[dict]) -> list[str]:
    settings = header["settings"]
    lines = [
        "## Quality", "",
        f"Command: `{header['command']}` (started {header['started']}). Machine: {_machine(header['machine'])}. "
        f"Seeds: {header['seeds']}.", "",
        f"bertanno: `train` (full fine-tuning, Trainer, early stopping on a 10 % validation split) of a "
        f"**randomly initialised** {settings['layers']}-layer x {settings['hidden']} Chinese BERT (bert-base-chinese "
        f"config and vocabulary, shrunk), {settings['epochs']} epochs at most, lr {settings['lr']}{_ner(settings)}, "
        f"{settings['max_length']} tokens, on at most {settings['max_train']} training examples (a seeded sample). "
        "Classical baselines train on the identical examples, and on the full training split where cheap. "
        "All score the same test sample with the same metrics (accuracy for sentiment and pairs, with the F1 of "
        "the positive class for pairs; strict entity F1 for NER). The published bert-base-chinese column is "
        "a reference from each SOURCE.md, **not reproduced here**: no pretrained weights are reachable.", "",
        "| dataset | task | split | train / test | bertanno (random init) | classical, same examples | "
        "classical, full train | SnowNLP | bert-base-chinese published |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        task = row["task"]
        full = _score(row.get("baseline_full_train"), task)
        if "full_train" in row:
            full += f" (n={row['full_train']})"
        lines.append(
            f"| {row['dataset']} | {task} | {row['split']} | {row['train']} / {row['test']} | "
            f"{_score(row['bertanno_full'], task)} | {_score(row['baseline_same_train'], task)} | {full} | "
            f"{_score(row.get('snownlp'), task)} | {row['reference (bert-base, not reproduced)']} |")
    lines += ["", "Classical baseline: char 1-3-gram TF-IDF + logistic regression (sentiment, pairs; pairs use the "
              "features of both texts and their product); a CRF over character features (NER). SnowNLP: its bundled "
              "sentiment model as it comes.", "", "![quality](results/quality.png)", ""]
    seconds = ", ".join(f"{r['dataset']} {r['bertanno_total_seconds']:.0f} s" for r in rows)
    lines += [f"bertanno training time per dataset: {seconds}.", ""]
    return lines


def speed_section(speed: dict) -> list[str]:
    lines = [
        "## Speed", "",
        f"Command: `{speed['command']}` (started {speed['started']}). Machine: {_machine(speed['machine'])}.", "",
        "bert-base-chinese architecture (12 x 768) with random weights: the real model's cost. The same texts "
        "(at most 480 characters, so no pipeline truncates) through the tutorial pipeline of "
        "`../shared/REFERENCE.md` (batches of 16 padded to 500, `no_grad`, drop_last), transformers' `pipeline()` "
        "with its defaults, and `bertanno predict` (`Predictor`: length-sorted batches under a token budget, "
        "per-batch padding, `inference_mode`). Peak memory: the process's resident memory, highest while the "
        "pipeline ran.", "",
        "| task | data | texts | tutorial texts/s | pipeline() texts/s | bertanno texts/s | bertanno tokens/s | "
        "vs tutorial | vs pipeline() | peak RSS MiB (tut. / pipe. / bertanno) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in speed["predict"]:
        t, p, b = row["tutorial"], row["pipeline"], row["bertanno"]
        lines.append(f"| {row['task']} | {row['data']} | {row['texts']} | {t['texts_per_s']} | {p['texts_per_s']} | "
                     f"{b['texts_per_s']} | {b['tokens_per_s']} | **{row['speedup_vs_tutorial']}x** | "
                     f"**{row['speedup_vs_pipeline']}x** | {t['peak_rss_mib']} / {p['peak_rss_mib']} / "
                     f"{b['peak_rss_mib']} |")
    agree = [f"{r['task']} {r['bertanno_and_tutorial_agree']}" for r in speed["predict"] if "bertanno_and_tutorial_agree" in r]
    if agree:
        lines += ["", f"Same model, so the labels must agree: bertanno vs tutorial {', '.join(agree)}."]
    lines += ["", "Why the ratios differ: the tutorial pays for 500 positions whatever the text's length, so its "
              "cost is flat and the gap grows as texts get shorter (pairs are the shortest). `pipeline()` with its "
              "defaults runs one text at a time and pads nothing, so on a CPU it pays no padding either; bertanno's "
              "edge over it is batching, which matters most for short inputs. Peak RSS is the whole process's (the "
              "model itself is about 400 MiB), sampled every 10 ms while that pipeline ran."]
    lines += ["", "![speed](results/speed.png)", "", "### Cost as the input grows", "",
              "One text of N characters of legal case text (CAIL2021 xxcq). Lawformer (Longformer architecture, "
              "4,096 tokens, random weights) reads it in one pass; bert-base-chinese NER reads it in overlapping "
              "512-token windows (bertanno's windowing). Longformer pads every input to a multiple of its 512-token "
              "attention window, so a short text costs Lawformer as much as 512 tokens.", "",
              "| characters | Lawformer s | Lawformer peak MiB | bert-base NER windows s | windows |",
              "|---|---|---|---|---|"]
    for row in speed["length_curve"]:
        law, win = row["lawformer"], row["bert_base_ner_windows"]
        lines.append(f"| {row['characters']} | {law['seconds']:.2f} | {law['peak_rss_mib']} | {win['seconds']:.2f} | "
                     f"{win.get('windows', '–')} |")
    lines += ["", "![length](results/length_curve.png)", ""]
    store = speed.get("store")
    if store:
        lines += ["### Store", "",
                  f"SQLite, {store['items']:,} labelled reviews: import **{store['import_items_per_s']:,} items/s** "
                  f"(read, validate, hash, items + gold labels in one transaction), re-import of the same file "
                  f"{store['reimport_items_per_s (all duplicates)']:,} items/s, JSONL export "
                  f"**{store['export_jsonl_items_per_s']:,} items/s**; database {store['database_mb']} MB.", ""]
    latency = speed.get("annotate_latency")
    if latency:
        ahead, without = latency["predict_ahead"], latency["no_predict_ahead"]
        lines += ["### Annotation session", "",
                  "Key press to the next item on screen, measured through the real full-screen app (Textual, headless "
                  "at 100×30, driven by its pilot; from the key to the screen refreshed with the next item: decision "
                  "committed and recorded, next item served, pre-annotation ready, item view updated and drawn), "
                  "bert-base-chinese architecture, a simulated annotator who looks at each item for 0.5 s, the "
                  "background pretraining paused. The next item is leased and loaded while the person reads "
                  "(fetch-ahead) and background prediction runs at nice 10: "
                  f"with predict-ahead median **{ahead['median_ms']} ms**, p95 {ahead['p95_ms']} ms; "
                  f"without predict-ahead (each item predicted during the fetch ahead): median {without['median_ms']} "
                  f"ms, p95 {without['p95_ms']} ms ({ahead['items']} items each)."]
        live = latency.get("live_refitting")
        if live:
            lines[-1] += (f" With no transformer and the live linear model refitted in the background every 20 "
                          f"decisions during the session ({live['items']} items, {live['models_served']} models "
                          f"served in turn): median **{live['median_ms']} ms**, p95 {live['p95_ms']} ms.")
        huge = latency.get("open_1mb_text")
        if huge:
            lines[-1] += (f" Opening one item of 1 MB of text ({huge['characters']:,} characters): "
                          f"{huge['sentiment_seconds']} s for a sentiment item, {huge['ner_seconds']} s for an NER item.")
        recording = latency.get("recording")
        if recording:
            on, off = recording["on"], recording["off"]
            lines[-1] += (f" The decision records' cost (active time, keystrokes, what was shown, the edit), measured "
                          f"in one session with blocks of {recording['block']} items alternating: recording on median "
                          f"{on['median_ms']} ms, p95 {on['p95_ms']} ms ({on['items']} items); off median "
                          f"{off['median_ms']} ms, p95 {off['p95_ms']} ms ({off['items']} items) "
                          "(`--only-recording`).")
        lines[-1] += " (`python -m benchmarks.annotate_latency --items 100`.)"
        lines.append("")
    return lines


def vocabulary_section(header: dict, rows: list[dict]) -> list[str]:
    lines = ["## Domain vocabulary on cMedQANER", "",
             f"Command: `python -m benchmarks.vocab_quality` (started {header['started']}); the same random "
             f"{header['settings']['layers']}-layer x {header['settings']['hidden']} model and seed for every variant, "
             f"{header['settings']['epochs']} epochs; test: the official test split "
             f"({header['dataset']['test']} sentences).", "",
             "| variant | terms | tokens/text (test) | test spans unexpressible | entity F1 | precision | recall | masked-LM loss (held out) |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        mlm = f"{row['mlm_loss'][0]} → {row['mlm_loss'][1]}" if "mlm_loss" in row else "–"
        test = row["test"]
        lines.append(f"| {row['variant']} | {row['terms']} | {row['tokens_per_text_test']} | "
                     f"{row['unexpressible_test_spans']} / {row['test_spans']} | **{test['f1']:.3f}** | "
                     f"{test['precision']:.3f} | {test['recall']:.3f} | {mlm} |")
    lines += ["", "The `medical` list is made from the training split's entity surfaces (never the test split), so "
              "with term tokens it also acts as a gazetteer of the entities seen in training.", ""]
    return lines


def plots(quality_rows: list[dict], speed: dict | None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if quality_rows:
        figure, axis = plt.subplots(figsize=(11, 4.5))
        series = [("bertanno (random init)", lambda r: r["bertanno_full"]),
                  ("classical, same examples", lambda r: r["baseline_same_train"]),
                  ("classical, full train", lambda r: r.get("baseline_full_train")),
                  ("SnowNLP", lambda r: r.get("snownlp"))]
        width = 0.2
        for i, (label, pick) in enumerate(series):
            values = [(pick(r) or {}).get(HEADLINE[r["task"]][0], 0) if isinstance(pick(r), dict) else 0
                      for r in quality_rows]
            axis.bar([x + i * width for x in range(len(quality_rows))], values, width, label=label)
        axis.set_xticks([x + 1.5 * width for x in range(len(quality_rows))])
        axis.set_xticklabels([f"{r['dataset']}\n({HEADLINE[r['task']][1]})" for r in quality_rows], fontsize=8)
        axis.set_ylim(0, 1)
        axis.set_title("Test scores: small models trained here from random weights vs classical baselines")
        axis.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(RESULTS / "quality.png", dpi=110)
        written.append(RESULTS / "quality.png")
    if speed:
        figure, axis = plt.subplots(figsize=(7, 4))
        tasks = speed["predict"]
        for i, key in enumerate(("tutorial", "pipeline", "bertanno")):
            axis.bar([x + i * 0.27 for x in range(len(tasks))], [r[key]["texts_per_s"] for r in tasks], 0.27,
                     label={"pipeline": "pipeline()", "tutorial": "tutorial (pad 500)"}.get(key, key))
        axis.set_xticks([x + 0.27 for x in range(len(tasks))])
        axis.set_xticklabels([r["task"] for r in tasks])
        axis.set_ylabel("texts / s (2 CPU threads)")
        axis.set_title("Prediction, bert-base-chinese architecture")
        axis.legend()
        figure.tight_layout()
        figure.savefig(RESULTS / "speed.png", dpi=110)
        written.append(RESULTS / "speed.png")

        figure, axis = plt.subplots(figsize=(7, 4))
        curve = speed["length_curve"]
        lengths = [r["characters"] for r in curve]
        axis.plot(lengths, [r["lawformer"]["seconds"] for r in curve], "o-", label="Lawformer, one pass")
        axis.plot(lengths, [r["bert_base_ner_windows"]["seconds"] for r in curve], "s-",
                  label="bert-base NER, 512-token windows")
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("characters in the text")
        axis.set_ylabel("seconds per text")
        axis.set_title("Cost as the input grows (2 CPU threads)")
        axis.legend()
        figure.tight_layout()
        figure.savefig(RESULTS / "length_curve.png", dpi=110)
        written.append(RESULTS / "length_curve.png")
    return written


def zero_shot_section(header: dict, rows: list[dict]) -> list[str]:
    lines = ["## Zero-shot model families (help from the first item)", "",
             f"Command: `{header['command']}` (started {header['started']}), one thread. No labels and no training: "
             "each family is served through bertanno's own family code with the label map shown, on the first "
             f"{header['settings']['max_test']} test examples. Rate: sentences/s after loading.", "",
             "| dataset | family | test examples | headline | per type (P / R / F1) | sentences/s | unaligned spans |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        metrics = row["metrics"]
        headline = next(iter(metrics))
        types = sorted({key.split("/", 1)[1] for key in metrics if "/" in key})
        per_type = "; ".join(f"{t} {metrics.get('precision/' + t, 0):.3f} / {metrics.get('recall/' + t, 0):.3f} / "
                             f"{metrics.get('f1/' + t, 0):.3f}" for t in types) or "–"
        lines.append(f"| {row['dataset']} | {row['family']} | {row['test_examples']} | {headline} "
                     f"{metrics[headline]:.3f} | {per_type} | {row['sentences_per_second']} | "
                     f"{row['unaligned_spans']} |")
    lines += [""] + [f"- `{family}`: {origin} ({version})" for family, origin, version in
                     sorted({(r["family"], r["origin"], r.get("family_version", "")) for r in rows})] + [""]
    return lines


def cold_start_stats(rows: list[dict]) -> list[str]:
    """The table of ``bertanno stats`` per scenario and model version shown, from the cold-start stats rows."""
    lines = ["| scenario | shown | decisions | accepted unchanged | corrected | labelled (nothing shown) | edits | "
             "keystrokes per item |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        for version, group in row["stats"].items():
            rate = group["acceptance_rate"]
            edits = ", ".join(f"{kind} {count}" for kind, count in group["edits"].items()) or "–"
            accepted = f"{group['accepted']}" + (f" ({rate:.0%})" if rate is not None else "")
            keys = "–" if group["keystrokes_per_item"] is None else f"{group['keystrokes_per_item']:.1f}"
            lines.append(f"| {row['scenario']} | {version} | {group['decisions']} | {accepted} | "
                         f"{group['corrected']} | {group['labelled']} | {edits} | {keys} |")
    return lines


def cold_start_section(header: dict, rows: list[dict], name: str = "cold_start") -> list[str]:
    settings = header["settings"]
    stats = [r for r in rows if "stats" in r]
    rows = [r for r in rows if "stats" not in r]
    lines = ["## Cold start: the first decisions of a young project", "",
             f"Command: `{header['command']}` (started {header['started']}). A simulated annotator (gold labels) "
             f"works a fresh project of {settings['pool']} training-split items, most uncertain first, for "
             f"{settings['decisions']} decisions; the live model refits every {settings['every']} decisions. Per 50 "
             "decisions: share of pre-annotations accepted unchanged (an item shown without one counts as not "
             "accepted), keystrokes per item, and the serving model with its score on a fixed test sample of "
             f"{settings['test']} items. See `benchmarks/cold_start.py` for the scenarios. Plot: "
             f"`benchmarks/results/{name}.png`." + (f" Note: {header['note']}." if header.get("note") else ""), ""]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == dataset]
        marks = sorted({r["decisions"] for r in mine})
        lines += [f"**{dataset}**: accepted per 50 decisions (keystrokes per item) · serving model: test score "
                  "at the end", "",
                  "| scenario | " + " | ".join(str(m) for m in marks) + " | serving at the end |",
                  "|---|" + "---|" * (len(marks) + 1)]
        for scenario in dict.fromkeys(r["scenario"] for r in mine):
            points = {r["decisions"]: r for r in mine if r["scenario"] == scenario}
            cells = [f"{points[m]['accepted']:.2f} ({points[m]['keystrokes_per_item']})" if m in points else "–"
                     for m in marks]
            last = points[max(points)]
            score = ", ".join(f"{k} {v:.3f}" for k, v in last["test"].items()) or "–"
            lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {last['serving'] or 'none'}: {score} |")
        lines.append("")
        taking_over = []
        for scenario in dict.fromkeys(r["scenario"] for r in mine):
            points = sorted((r for r in mine if r["scenario"] == scenario), key=lambda r: r["decisions"])
            transformer = [r for r in points if (r["serving"] or "")[:1] in ("v", "e")]  # zh-mini or the ensemble
            if transformer:
                taking_over.append(f"({scenario[0]}) at decision{'s' if len(transformer) > 1 else ''} "
                                   + ", ".join(f"{r['decisions']} ({r['serving']}, "
                                               + ", ".join(f"{k} {v:.3f}" for k, v in list(r["test"].items())[:1])
                                               + ")" for r in transformer))
        if taking_over:
            lines += ["A transformer-based version (`v…` zh-mini, `e…` the ensemble) served "
                      + "; ".join(taking_over) + ".", ""]
        elif any(r["scenario"][:1] in ("d", "e", "f") for r in mine):
            lines += ["No transformer-based version served at any checkpoint.", ""]
        served = {r["serving"] for r in mine if r["scenario"].startswith("d ") and r["serving"]}
        if served and not any(name.startswith("v") for name in served):
            lines += ["In (d) no transformer version ever served: the gate kept the live model each time, since no "
                      "transformer candidate (one every 200 decisions) beat it on the evaluation split, so (d) "
                      "equals (c).", ""]
        mine_stats = [r for r in stats if r["dataset"] == dataset]
        if mine_stats:
            lines += ["`bertanno stats` of each scenario's project (its decision records), per version shown: "
                      "pre-annotations accepted unchanged (share of those shown), corrected, items labelled with "
                      "nothing shown, the corrections' edit mix (span counts for NER) and keystrokes per item. The "
                      "simulated annotator's time is the machine's, not a person's, so no time figures.", "",
                      *cold_start_stats(mine_stats), ""]
    return lines


def correction_loop_section(runs: list[tuple[dict, list[dict]]]) -> list[str]:
    """The correction loop from each base model (benchmarks.correction_loop: one results file per base)."""
    lines = ["## The correction loop on ChnSentiCorp", "",
             "A simulated annotator (gold labels) works the queue, most uncertain first; `retrain` runs after each "
             "batch and the gate decides on the evaluation split as it has grown; the champion's test accuracy is on "
             "the official test split.", ""]
    for header, rows in runs:
        settings = header.get("settings", {})
        base = settings.get("base", "random")
        model = (f"a {settings.get('layers')} x {settings.get('hidden')} Chinese BERT from random weights"
                 if base == "random" else f"{base}")
        lr = settings.get("lr") or "by the rule"
        # rows since the plan was recorded say what the rule gave: "training with lr 0.0002, 5 epochs, batch 32; ..."
        plan = rows[0].get("training", "").removeprefix("training with ").split(";")[0] if rows else ""
        recipe = plan or f"{settings.get('epochs')} epochs at lr {lr}"
        lines += [f"Command: `python -m benchmarks.correction_loop --base {base}` ({settings.get('pool')} unlabelled "
                  f"training reviews, {model}, {recipe}).", "",
                  "| base | decisions | pre-annotations accepted so far | version | decision | test accuracy | gate |",
                  "|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {base} | {row['decisions']} | {row['accepted_pre_annotations']} | {row['version']} | "
                         f"{row['decision']} | {row['test_accuracy']:.3f} | {row.get('gate') or '–'} |")
        lines.append("")
    return lines


def _zh_mini_cell(row: dict, task: str, rows: list[dict]) -> str:
    """One zh-mini quality score among ``rows`` (its base's on its dataset), with its learning rate when several
    rates ran, and its pooling when several poolings ran (rows from before core.pooling carry none: [CLS])."""
    notes = [f"lr {row['bertanno_settings']['lr']:g}"] if len({r["bertanno_settings"]["lr"] for r in rows}) > 1 else []
    if task != "ner" and len({r.get("pooling", "[CLS]") for r in rows}) > 1:
        notes.append(f"{row.get('pooling', '[CLS]')} pooling")
    if row.get("long_texts") == "windows":
        notes.append("long texts in windows")
    return _score(row["bertanno_full"], task) + (f" ({', '.join(notes)})" if notes else "")


def zh_mini_quality_section(header: dict, rows: list[dict], suite_rows: list[dict]) -> list[str]:
    suite = {row["dataset"]: row for row in suite_rows}
    bases = list(dict.fromkeys(row["base"] for row in rows))
    commands = list(dict.fromkeys([header["command"]] + [row["command"] for row in rows if "command" in row]))
    lines = ["## zh-mini in the quality suite", "",
             f"Command{'s' if len(commands) > 1 else ''}: {'; '.join(f'`{c}`' for c in commands)} (the first started "
             f"{header['started']}; resumable, one dataset, base and learning rate at a time). The quality suite's "
             "recipe, sample and seeds (its bertanno column's settings above), from the "
             "shipped zh-mini and from random weights of zh-mini's shape (4 x 256); the suite's own 2 x 128 column "
             "and its classical baseline on the identical examples beside them.", "",
             "| dataset | task | random 2 x 128 (suite) | " + " | ".join(bases) + " | classical, same examples |",
             "|---|---|---|" + "---|" * len(bases) + "---|"]
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        mine: dict[str, list[dict]] = {}
        for row in rows:
            if row["dataset"] == dataset:
                mine.setdefault(row["base"], []).append(row)
        task = next(iter(mine.values()))[0]["task"]
        own = suite.get(dataset, {})
        cells = [" / ".join(_zh_mini_cell(row, task, mine[b]) for row in mine[b]) if b in mine else "–"
                 for b in bases]
        lines.append(f"| {dataset} | {task} | {_score(own.get('bertanno_full'), task)} | " + " | ".join(cells)
                     + f" | {_score(own.get('baseline_same_train'), task)} |")
    return lines + ["", *_zh_mini_wins(rows, suite, bases), ""]


ZH_MINI_METRIC = {"sentiment": ("accuracy", "accuracy"), "ner": ("f1", "entity F1"),
                  "pair": ("f1", "F1 of the positive class")}
"""How zh-mini is compared on each task: ``HEADLINE``'s metric, but the positive class's F1 for pairs, whose
accuracy rewards answering the majority class (AFQMC's random models reach 0.70 by answering "no")."""
ZH_MINI_CARD_HEADING = "## Fine-tuned on eight Chinese sets"


def _zh_mini_last(rows: list[dict]) -> dict[str, dict]:
    """zh-mini's last row on each dataset: its own settings, since rows rerun at them come later; a row that read
    long texts in windows (``long_texts=windows``, a task option, not the default) is not its own settings."""
    return {row["dataset"]: row for row in rows if row["base"] == "zh-mini" and row.get("long_texts") != "windows"}


def zh_mini_compared(rows: list[dict], suite: dict[str, dict], bases: list[str]) -> dict[str, dict]:
    """zh-mini's last run on each set (its own settings: rows rerun at them come later) and the scores it is
    compared with: ``{dataset: {"task": t, "zh-mini": scores, "random 2 x 128": …, base: …, "classical": …}}``, each
    score a ``bertanno_full``-style dict or ``None`` where that column has not run. Another base of
    ``benchmarks.zh_mini_quality`` counts only at zh-mini's learning rate (the same recipe; its last run there);
    the 2 x 128 column and the classical baseline are the quality suite's (``suite``, by dataset)."""
    at_lr = {(row["dataset"], row["base"], row["bertanno_settings"]["lr"]): row for row in rows}
    compared = {}
    for dataset, row in _zh_mini_last(rows).items():
        lr = row["bertanno_settings"]["lr"]
        others = {b: at_lr.get((dataset, b, lr), {}).get("bertanno_full") for b in bases if b != "zh-mini"}
        compared[dataset] = {"task": row["task"], "zh-mini": row["bertanno_full"],
                             "random 2 x 128": suite.get(dataset, {}).get("bertanno_full"), **others,
                             "classical": suite.get(dataset, {}).get("baseline_same_train")}
    return compared


def _zh_mini_wins(rows: list[dict], suite: dict[str, dict], bases: list[str]) -> list[str]:
    """One sentence: on how many sets zh-mini's last run beats each other column (``zh_mini_compared``), by
    accuracy for sentiment, entity F1 for NER and the positive class's F1 for pairs (their accuracy rewards
    answering the majority class)."""
    compared = zh_mini_compared(rows, suite, bases)
    if not compared:
        return []
    columns = [column for column in next(iter(compared.values())) if column not in ("task", "zh-mini")]
    counts = []
    for column in columns:
        pairs = [(sets["zh-mini"], sets[column], ZH_MINI_METRIC[sets["task"]][0]) for sets in compared.values()
                 if isinstance(sets[column], dict)]
        won = sum(mine[metric] > other[metric] for mine, other, metric in pairs)
        counts.append(f"{column} on {won} of {len(pairs)}")
    return ["zh-mini's last run on each set (its own settings: mean pooling, and lr 2e-4 for NER, where rerun; "
            "random 4 x 256 at the same learning rate) beats "
            + "; ".join(counts) + " (accuracy for sentiment, entity F1 for NER, the positive class's F1 for pairs, "
            "whose accuracy rewards answering the majority class)."]


def zh_mini_card_section() -> list[str]:
    """The model card's section on downstream quality: ``zh_mini_compared`` on the rows of
    ``results/quality_zh_mini.jsonl`` and the quality suite's, one line per set, the headline metric of each
    task (the positive class's F1 for pairs). Empty when zh-mini has not run."""
    header, rows = _jsonl(RESULTS / "quality_zh_mini.jsonl")
    suite = {row["dataset"]: row for row in _jsonl(RESULTS / "quality.jsonl")[1]}
    bases = list(dict.fromkeys(row["base"] for row in rows))
    compared = zh_mini_compared(rows, suite, bases)
    if not compared:
        return []
    others = [b for b in bases if b != "zh-mini"]

    def cell(scores, task):
        return f"{scores[ZH_MINI_METRIC[task][0]]:.3f}" if isinstance(scores, dict) else "not run yet"

    settings = header.get("settings", {})
    recipes = "; ".join(dict.fromkeys(
        f"{row['task']}: {row['bertanno_settings']['epochs']} epochs at most, lr {row['bertanno_settings']['lr']:g}"
        + (f", {row['pooling']} pooling" if row.get("pooling") and row["task"] != "ner" else "")
        for row in _zh_mini_last(rows).values()))
    lines = [ZH_MINI_CARD_HEADING, "",
             f"Fine-tuned by bertanno's quality benchmark (`python -m benchmarks.zh_mini_quality`) on 2 CPU cores: at "
             f"most {settings.get('max_train', 20000):,} training examples a set, {settings.get('max_length', 128)} "
             f"tokens ({recipes}), early stopping on a validation "
             "split; scored on each set's test split (a seeded sample of at most "
             f"{settings.get('max_test', 2000):,}). Beside it: the same recipe from random weights of zh-mini's shape "
             "(pooling by [CLS], its pooler trained with it), "
             "and a classical model on the identical examples (character 1-3-gram TF-IDF + logistic regression; a "
             "CRF over character features for NER). One seed each.", "",
             "| set | task | metric | zh-mini | " + " | ".join(f"{b}, same recipe" for b in others)
             + " | classical |", "|---|---|---|---|" + "---|" * len(others) + "---|"]
    for dataset, sets in compared.items():
        task = sets["task"]
        lines.append(f"| {dataset} | {task} | {ZH_MINI_METRIC[task][1]} | {cell(sets['zh-mini'], task)} | "
                     + " | ".join(cell(sets[b], task) for b in others) + f" | {cell(sets['classical'], task)} |")
    return lines + [""]


def zh_mini_speed_section(result: dict) -> list[str]:
    """zh-mini's prediction speed next to bert-base's (benchmarks.zh_mini_speed)."""
    settings = result["settings"]
    lines = ["## zh-mini's speed", "",
             f"Command: `python -m benchmarks.zh_mini_speed` (started {result['started']}). Machine: "
             f"{_machine(result['machine'])}. The first {settings['texts']} test texts of each set through "
             "`Predictor.predict` (what `bertanno predict` runs), the best of "
             f"{settings['repeats']} passes: bert-base-chinese's architecture (12 x 768, random weights: its real "
             "cost), the shipped zh-mini (4 x 256) in full precision, and zh-mini with the ONNX int8 variant "
             "(`bertanno optimize`).", "",
             "| dataset | task | mean chars | bert-base texts/s | zh-mini texts/s | × bert-base | zh-mini+onnx-int8 "
             "texts/s | × bert-base |", "|---|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['dataset']} | {row['task']} | {row['mean_characters']} | {row['bert-base_texts_per_s']} "
                     f"| {row['zh-mini_texts_per_s']} | **{row['zh-mini_x_bert-base']}x** | "
                     f"{row['zh-mini+onnx-int8_texts_per_s']} | **{row['zh-mini+onnx-int8_x_bert-base']}x** |")
    return lines + [""]


def zh_mini_demo_section(header: dict, rows: list[dict]) -> list[str]:
    """The demo's project trained from zh-mini and from random weights (benchmarks.zh_mini_demo; appended runs)."""
    headers = [header] + [row for row in rows if "run" not in row]
    runs = [row for row in rows if "run" in row]
    commands = "; ".join(f"`python -m benchmarks.zh_mini_demo --runs {h.get('settings', {}).get('runs', '')}` "
                         f"({h.get('date', '')})" for h in headers)
    lines = ["## zh-mini on the demo", "",
             f"Commands: {commands}. The demo's project (1,182 labelled ChnSentiCorp reviews for training, 118 for "
             "evaluation, 200 new ones) trained from each base model with early stopping; accuracy on the demo's "
             "evaluation split (118 reviews: one review is 0.85 points, and one seed to the next moved a run by up "
             "to 9 points, so compare the means over seeds). `random` is the demo's model before zh-mini, 2 x 128 "
             "from random weights at its rule's lr 1e-3; pooling `[CLS]` for zh-mini rows are from before mean "
             "pooling (`core.pooling`).", "",
             "| base model | lr | epochs (run) | batch | pooling | seed | eval accuracy | macro-F1 | mean confidence "
             "of the champion's pre-annotations | training time |", "|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[float]] = {}
    for row in runs:
        lr = f"{row['lr']:g}" if row["lr"] else "by the rule"
        pooling = row.get("pooling") or ("[CLS]" if row["model"] != "random" else "cls")
        pooling = "[CLS]" if pooling == "cls" else pooling
        batch = row.get("batch_size") or "by the rule"
        confidence = row["mean_confidence_of_champion_pre_annotations"]
        epochs = f"{row['epochs']} ({row['epochs_run']})" if row.get("epochs_run") else f"{row['epochs']}"
        lines.append(f"| {row['model']} | {lr} | {epochs} | {batch} | {pooling} | {row.get('seed', 0)} | "
                     f"{row['accuracy']:.3f} | {row['macro_f1']:.3f} | "
                     f"{confidence if confidence is not None else '–'} | {row['seconds']:.0f} s |")
        groups.setdefault((row["model"], lr, row["epochs"], batch, pooling), []).append(row["accuracy"])
    several = {key: values for key, values in groups.items() if len(values) > 1}
    if several:
        lines += ["", "Means over seeds:", "", "| base model | lr | epochs | batch | pooling | seeds | mean accuracy | "
                  "range |", "|---|---|---|---|---|---|---|---|"]
        for (model, lr, epochs, batch, pooling), values in several.items():
            lines.append(f"| {model} | {lr} | {epochs} | {batch} | {pooling} | {len(values)} | "
                         f"{sum(values) / len(values):.3f} | {min(values):.3f}–{max(values):.3f} |")
    return lines + [""]


def _bulk_texts(settings: dict) -> str:
    """Which reviews a bulk run pre-annotated (benchmarks.bulk_predict.texts)."""
    if settings.get("texts", "mixed") == "waimai" or settings["items"] <= 11_987:
        return "waimai_10k's short reviews, cycled and numbered"
    return "waimai_10k's short reviews, then ChnSentiCorp's long training reviews, cycled and numbered"


def bulk_section(result: dict) -> list[str]:
    """``predict-project`` into SQLite per variant, with the kill-and-resume check (benchmarks.bulk_predict)."""
    settings = result["settings"]
    texts = f" --texts {settings['texts']}" if settings.get("texts", "mixed") != "mixed" else ""
    output = settings.get("output", "bulk_predict.json")
    output = f" --output {output}" if output != "bulk_predict.json" else ""
    lines = [f"### Bulk pre-annotation (`bertanno predict-project`), {settings['items']:,} items", "",
             f"Command: `python -m benchmarks.bulk_predict --items {settings['items']} "
             f"--variants {settings['variants']} --kill-after {settings['kill_after']:g}{texts}{output}` (started {result['started']}). "
             f"{settings['items']:,} distinct reviews ({_bulk_texts(settings)}) in a fresh SQLite project, "
             f"pre-annotated by {result['model']} through the `predict-project` command (a subprocess: its start "
             "and model load are in the time). The first variant's run was killed with SIGKILL after "
             f"{settings['kill_after']:g} s and started again."
             + (f" `student`: {result['student']}, the student `bertanno distill --student "
                f"{settings.get('student_layers', 3)}` starts from, untrained (its speed does not depend on its "
                "weights), served in the teacher's place as a passing student is; `student-onnx-int8`: that student "
                "with its ONNX Runtime int8 variant in use."
                if any(row["variant"].startswith("student") for row in result["runs"]) else ""), "",
             "| variant | items | seconds | items/s | hours for 100,000 | predictions stored | kill and resume |",
             "|---|---|---|---|---|---|---|"]
    for row in result["runs"]:
        killed = (f"killed at {row['killed_after_s']} s with {row['stored_when_killed']} stored; resumed"
                  if "killed_after_s" in row else "–")
        lines.append(f"| {row['variant']} | {row['items_predicted']:,} | {row['seconds']} | {row['items_per_s']} | "
                     f"{row['hours_for_100k']} | {row['predictions_stored']:,} | {killed} |")
    return lines + [""]


def team_section(result: dict) -> list[str]:
    """Simulated annotators and the store under a team's load (benchmarks.team)."""
    noise = ", ".join(f"{name} {rate:.0%}" for name, rate in result["noise"].items())
    lines = ["### Teams: agreement against known noise, settled decisions, PostgreSQL under load", "",
             f"Command: `{result['command'].strip()}`. Three simulated annotators with label noise {noise} (NER: "
             "each gold span gets a boundary or a type error with that probability) decide real items; overlap 3 "
             "settles by majority, overlap 2 (each pair shares a third of the items) by a simulated reviewer with "
             f"{result['reviewer_noise']:.0%} noise through `ReviewSession` (what `bertanno review` runs). "
             "Expected: binary percent agreement 1 - p - q + 2pq and Cohen's kappa from it and the label shares; "
             "span F1 about (1 - p)(1 - q) (a widened span that runs into the next one drops it, so slightly less); majority of three right with P(at least two right).", "",
             "| set | overlap | pair | items | measured | expected |", "|---|---|---|---|---|---|"]
    for row in result["simulation"]:
        for pair in row["pairs"]:
            measured = ", ".join(f"{k} {v:.3f}" for k, v in pair["measured"].items())
            expected = ", ".join(f"{k} {v:.3f}" for k, v in pair["expected"].items())
            lines.append(f"| {row['dataset']} | {row['overlap']} | {pair['pair']} | {pair['items']} | {measured} | "
                         f"{expected} |")
    lines += ["", "| set | overlap, settled by | reviewed | settled vs gold | expected |", "|---|---|---|---|---|"]
    for row in result["simulation"]:
        score = (f"accuracy {row['settled_accuracy_vs_gold']:.3f}" if "settled_accuracy_vs_gold" in row
                 else f"span F1 {row['settled_span_f1_vs_gold']:.3f}")
        lines.append(f"| {row['dataset']} | {row['overlap']}, {row['settle']} | {row['reviewed']} of "
                     f"{row['items']} | {score} | {row.get('expected_accuracy', '–')} |")
    if result.get("aggregation"):
        lines += ["", f"Command: `{result.get('aggregation_command', result['command']).strip()}`. Settling overlap-3 "
                  "decisions by majority vote against the reliability-weighted rules of `--settle dawid-skene` and "
                  "`--settle mace` (each annotator's competence estimated by EM from all their labels; a majority "
                  "tie counts as wrong). The estimated competence is the chance an annotator's label is right (MACE: "
                  "the chance they know rather than guess); the truth is 1 - flip rate.", "",
                  "| set | team (flip rates) | items | majority | Dawid–Skene | MACE | competence, Dawid–Skene | "
                  "competence, MACE |", "|---|---|---|---|---|---|---|---|"]
        for row in result["aggregation"]:
            team = ", ".join(f"{who} {rate:.0%}" for who, rate in row["flip_rates"].items())
            accuracy = row["accuracy"]
            competence = {method: ", ".join(f"{who} {value:.2f}" for who, value in row["competence"][method].items())
                          for method in ("dawid-skene", "mace")}
            lines.append(f"| {row['dataset']} | {row['team']} ({team}) | {row['items']} | {accuracy['majority']:.3f} | "
                         f"{accuracy['dawid-skene']:.3f} | {accuracy['mace']:.3f} | {competence['dawid-skene']} | "
                         f"{competence['mace']} |")
    if (alarm := result.get("alarm")) is not None:
        lines += ["", f"The rubber-stamp alarm (same command): five simulated annotators, {alarm['items_each']} items "
                  f"each, a model right {alarm['model_accuracy']:.0%} of the time, {alarm['blind_share']:.0%} blind "
                  f"controls (their own label right {alarm['own_accuracy']:.0%} of the time); a reader corrects a "
                  "wrong pre-annotation as often as they are right unseen. Flagged: "
                  f"**{alarm['hits']} of {alarm['hits'] + len(alarm['missed'])} rubber-stampers**, "
                  f"{len(alarm['false_alarms'])} false alarms.", "",
                  "| annotator | how they work | median accept s | accepted when shown | agree when hidden | flags |",
                  "|---|---|---|---|---|---|"]
        for row in alarm["rows"]:
            habit = alarm["team"][row["annotator"]]
            lines.append(f"| {row['annotator']} | {habit['habit']}, median {habit['median_accept_s']} s | "
                         f"{row['median_accept_seconds']:.2f} | {row['acceptance_shown']:.0%} of {row['shown']} | "
                         f"{row['agreement_blind']:.0%} of {row['blind']} | {', '.join(row['flags']) or '–'} |")
    if (load := result.get("postgres_load")) is not None:
        lines += ["", f"Command: `{result.get('load_command', result['command']).strip()}`, on this 2-core machine with "
                  "nothing else running (the 8 processes share its 2 cores with the server). "
                  f"{load['server']}: {load['processes']} annotator processes, overlap 2, {load['items']:,} "
                  f"items: **{load['decisions_per_s']} decisions/s** ({load['decisions']:,} in {load['seconds']} s), "
                  f"next item p50 {load['next_item_ms_p50']} ms, **p95 {load['next_item_ms_p95']} ms**; "
                  f"{load['double_assignments']} double assignments, {load['lost_decisions']} lost decisions, "
                  f"{load['items_with_two_annotators']:,} items with exactly two annotators, "
                  f"{load['items_with_more']} with more."]
    return lines + [""]


def scale_section(result: dict) -> list[str]:
    """Bulk pre-annotation on Ray, and PostgreSQL taking a bulk write while annotators decide (benchmarks.scale)."""
    lines = ray_lines(result) if result.get("ray_bulk") else []
    if not result.get("postgres_bulk_and_annotators"):
        return lines
    return lines + postgres_lines(result)


def ray_lines(result: dict) -> list[str]:
    runs = result["ray_bulk"]
    local = next((run for run in runs if run["engine"] == "local"), None)
    lines = ["### Bulk pre-annotation on Ray Data at equal cores", "",
             f"Command: `{result['ray_command'].strip()}`, on this 2-core machine: {runs[0]['items']:,} distinct "
             "waimai_10k / ChnSentiCorp texts into a SQLite project, a 4 x 256 classifier (zh-mini's shape, random "
             "weights). `local` is `predict-project` in one process; `ray` a local Ray instance, the predictions "
             "stored by the driver in chunks.", "",
             "| run | actors x threads | items | seconds (Ray start) | items/s | vs one process |", "|---|---|---|---|---|---|"]
    for run in runs:
        shape = f"{run['actors']} x {run['threads_each']}" if run["actors"] else f"1 process x {run['threads_each']}"
        versus = f"{run['items_per_s'] / local['items_per_s']:.2f}x" if local else "–"
        lines.append(f"| {run['run']} | {shape} | {run['predicted']:,} | {run['seconds']} ({run['ray_start_s']}) | "
                     f"{run['items_per_s']} | {versus} |")
    best = max((run for run in runs if run["actors"]), key=lambda run: run["items_per_s"] / run["actors"],
               default=None)
    writes = [row["predictions_per_s"] for row in result.get("postgres_bulk_and_annotators") or []]
    if best and writes:
        per_actor = best["items_per_s"] / best["actors"]
        overhead = [1 - run["items_per_s"] / local["items_per_s"] for run in runs if run["actors"] and local]
        lines += ["", (f"Ray's overhead at equal cores: {min(overhead):.0%}–{max(overhead):.0%} here (starting Ray, "
                       "a model load per actor, and the driver pickling items and storing predictions on the same "
                       "2 cores). " if overhead else "")
                  + f"On N machines of A actors each: items/s = min(N x A x {per_actor:.1f}, {max(writes):,}) "
                    f"(the per-actor rate of `{best['run']}` here, an actor of {best['threads_each']} threads, and "
                    f"the store's write rate on PostgreSQL, below): past about {max(writes) / per_actor:,.0f} "
                    "such actors the store, not the model, is the limit."]
    return lines + [""]


def postgres_lines(result: dict) -> list[str]:
    runs = result["postgres_bulk_and_annotators"]
    runs = runs if isinstance(runs, list) else [runs]
    first = runs[0]
    lines = ["### PostgreSQL: a bulk write of predictions while annotators decide", "",
             f"Command: `{result['command'].strip()}`, on this 2-core machine (the server, the annotator processes "
             f"and the writer share its 2 cores). {first['server']}: {first['annotators']} annotator processes "
             f"(overlap 2, {first['think_s']} s on each item, then the decision and the next item) on "
             f"{first['items']:,} items, while one process writes predictions in batches of {first['batch']}. "
             "Goal: key to next item p95 under 50 ms.", "",
             "| writer paced at | predictions/s | key to next p50 | p95 | slowest | decisions | lost | served twice |",
             "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        pace = f"{run['writer_rate_limit']:,.0f} rows/s" if run.get("writer_rate_limit") else "as fast as it can"
        lines.append(f"| {pace} | {run['predictions_per_s']:,} | {run['key_to_next_ms_p50']} ms | "
                     f"**{run['key_to_next_ms_p95']} ms** | {run['key_to_next_ms_max']} ms | {run['decisions']:,} | "
                     f"{run['lost_decisions']} | {run['double_assignments']} |")
    return lines + [""]


def distributed_train_section(result: dict) -> list[str]:
    """Training samples/s by process count (benchmarks.distributed_train)."""
    runs = result["runs"]
    single = next((run for run in runs if run["processes"] == 1), None)
    lines = ["### Training in several processes", "",
             f"Command: `{result['command'].strip()}`: one epoch of {runs[0]['items']:,} ChnSentiCorp training "
             f"reviews, {result['model']}, the same global batch at each count; the time includes launching the "
             f"ranks. Machine: {result['machine'].get('cpu', '?')}.", "",
             "| processes | seconds | samples/s | vs one process | epoch inside the ranks (s) |", "|---|---|---|---|---|"]
    for run in runs:
        versus = f"{run['samples_per_s'] / single['samples_per_s']:.2f}x" if single else "–"
        lines.append(f"| {run['processes']} | {run['seconds']} | {run['samples_per_s']} | {versus} | "
                     f"{run['seconds_per_epoch_in_ranks']} |")
    return lines + [""]


def optimize_gate_section(result: dict) -> list[str]:
    """The accuracy gate on models fine-tuned here (benchmarks.optimize_gate)."""
    settings = result["settings"]
    lines = ["### The accuracy gate on models trained here", "",
             f"Command: `python -m benchmarks.optimize_gate` (started {result['started']}): {result['model']} on "
             f"{settings['train']} gold training items for "
             + (f"{settings['epochs']} epochs" if settings.get("epochs") else "`train`'s plan of epochs")
             + f", then `optimize --variant auto` on {settings['eval']} evaluation items. A variant passes with "
             "≥ 99 % agreement (NER: entity spans over their union) and ≤ 0.5 points of the headline lost"
             + ("; a distilled student is judged on gold by the promotion gate (not confidently worse than its "
                f"teacher), its agreement reported; transfer: {settings['transfer']}." if "transfer" in settings
                else " (a student too, in this run: the rule before students were judged on gold)."), "",
             "| dataset | model as trained | variant | agrees | headline as trained → variant | items/s | verdict |",
             "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        headline = next(iter(row["metrics"]))
        for f in row["variants"]:
            verdict = "passes" if f["accepted"] else f"refused: {f['reason']}"
            lines.append(f"| {row['dataset']} | {row['version']}: {headline} {row['metrics'][headline]:.3f} | "
                         f"{f['variant']} | {f['agreement']:.1%} | {f['full_score']:.4f} → {f['variant_score']:.4f} | "
                         f"{f['full_items_per_second']:.1f} → {f['variant_items_per_second']:.1f} | {verdict} |")
        lines.append(f"| {row['dataset']} | | in use after `optimize` | | | | **{row['in_use']}** |")
        if "student" in row:
            f, student = row["student"]["gate"], row["student"]
            verdict = "passes" if f["accepted"] else f"refused: {f['reason']}"
            lines.append(f"| {row['dataset']} | | distilled {student['version']} ({student['started_from']}; "
                         f"{student['texts']} texts, {student['unlabelled']} unlabelled) | {f['agreement']:.1%} | "
                         f"{f['full_score']:.4f} → {f['variant_score']:.4f} | {f['full_items_per_second']:.1f} → "
                         f"{f['variant_items_per_second']:.1f} | {verdict} |")
            optimized = student.get("optimized")
            if isinstance(optimized, dict):
                for g in optimized["variants"]:
                    verdict = "passes" if g["accepted"] else f"refused: {g['reason']}"
                    lines.append(f"| {row['dataset']} | | {student['version']} + {g['variant']} | "
                                 f"{g['agreement']:.1%} | {g['full_score']:.4f} → {g['variant_score']:.4f} | "
                                 f"{g['full_items_per_second']:.1f} → {g['variant_items_per_second']:.1f} | "
                                 f"{verdict} |")
                lines.append(f"| {row['dataset']} | | {student['version']} in use with | | | | "
                             f"**{optimized['in_use']}** |")
    return lines + [""]


def speed_goal_section(speed: dict, gate: dict | None, bulk: dict | None) -> list[str]:
    """Speed that passes the gate, against its goal: the students' rates against the tutorial and ``pipeline()``
    (``benchmarks.optimize_speed``: bert-base's 3-layer student and zh-mini's 2-layer one, each with the int8
    variant in use), the 100,000 short texts of ``benchmarks.bulk_predict`` and, from ``benchmarks.optimize_gate``,
    what the students distilled from teachers trained here score on gold against their teachers."""
    rows = {row["dataset"]: row for row in speed["rows"]}
    gated = {row["dataset"]: row for row in (gate or {}).get("rows", []) if "student" in row}

    def column(name: str) -> str | None:
        """The zh-mini student's column the gate put in use on ``name`` (else its fastest), or None."""
        student = gated.get(name, {}).get("student", {})
        optimized = student.get("optimized")
        in_use = optimized.get("in_use") if isinstance(optimized, dict) else None
        options = [f"zh-mini-s2+{in_use}"] if in_use in ("int8", "onnx-int8") else ["zh-mini-s2+int8",
                                                                                    "zh-mini-s2+onnx-int8"]
        present = [c for c in options if f"{c}_x_tutorial" in rows.get(name, {})]
        return max(present, key=lambda c: rows[name][f"{c}_texts_per_s"]) if present else None

    def ratio(name: str, variant: str | None, reference: str) -> float | None:
        return rows.get(name, {}).get(f"{variant}_x_{reference}") if variant else None

    def shown(value, goal: float) -> str:
        return "–" if value is None else f"{value:g}× ({'met' if value >= goal else 'not met'})"

    lines = ["### Speed that passes the gate: the goal", "",
             "Goal: with the best version that passes the gate on gold, ≥ 15× the tutorial on ChnSentiCorp's long "
             "reviews, ≥ 60× on waimai's short ones, ≥ 3× `pipeline()`, 100,000 short texts in under 0.5 h on 2 "
             "cores, the gated student at most 1 point below its teacher's gold score. Rates from the optimised "
             "variants' table above (one run, tutorial and `pipeline()` on bert-base's architecture); "
             "`student-3+onnx-int8`: bert-base's 3-layer student (random weights: its cost, no gold score); "
             "zh-mini's 2-layer student with the variant the gate put in use on that set in the table below "
             "(the students that were trained here and judged on gold).", "",
             "| set | student | × tutorial | × `pipeline()` | teacher's gold score → student's | gate |",
             "|---|---|---|---|---|---|"]
    for name, goal in (("chnsenticorp", 15), ("waimai_10k", 60)):
        for variant in ("student-3+onnx-int8", column(name)):
            if variant is None or name not in rows:
                continue
            score = gate_cell = "–"
            if variant.startswith("zh-mini") and name in gated:
                figures = gated[name]["student"]["gate"]
                score = (f"{figures['full_score']:.4f} → {figures['variant_score']:.4f} "
                         f"({0.0 - figures['loss_points']:+.2f} points)")
                gate_cell = "passes" if figures["accepted"] else f"refused: {figures['reason']}"
            lines.append(f"| {name} | {variant} | {shown(ratio(name, variant, 'tutorial'), goal)} | "
                         f"{shown(ratio(name, variant, 'pipeline'), 3)} | {score} | {gate_cell} |")
    for name in (n for n in gated if n not in ("chnsenticorp", "waimai_10k")):
        figures = gated[name]["student"]["gate"]
        lines.append(f"| {name} | zh-mini's 2-layer student | – | – | {figures['full_score']:.4f} → "
                     f"{figures['variant_score']:.4f} ({0.0 - figures['loss_points']:+.2f} points) | "
                     + ("passes" if figures["accepted"] else f"refused: {figures['reason']}") + " |")
    for run in (bulk or {}).get("runs", []):
        if run["variant"].startswith("student"):
            lines += ["", f"100,000 short texts (`benchmarks.bulk_predict`, {bulk['started']}): {run['variant']} of "
                          f"{bulk['model']} in {run['hours_for_100k']} h "
                          f"({'met' if run['hours_for_100k'] < 0.5 else 'not met'}: under 0.5 h)."]
    return lines + [""]


def optimize_speed_section(result: dict) -> list[str]:
    """The optimised variants against full precision, the tutorial and ``pipeline()`` (benchmarks.optimize_speed)."""
    machine = result["machine"]
    flags = ", ".join(machine.get("cpu_flags", [])) or "none of AVX2, AVX-512, VNNI, AMX"
    from benchmarks.optimize_speed import VARIANTS

    columns = [variant for variant in VARIANTS if f"{variant}_texts_per_s" in result["rows"][0]]
    lines = ["## Optimised variants (`bertanno optimize`)", "",
             f"Command: `python -m benchmarks.optimize_speed --texts {result['settings']['texts']}` (started "
             f"{result['started']}). Machine: {_machine(machine)}; CPU flags: {flags}. {result['model']}: the real "
             "cost, not real predictions (the accuracy gate's figures need a trained model). Texts/s on the first "
             "test texts of each set; × tutorial and × `pipeline()` are ratios measured in the same run "
             "(sentiment only: both are sentence classifiers).", "",
             "`student-3`: the lowest 3 of the 12 layers, what `bertanno distill --student 3` starts from; "
             "`+onnx-int8`: that student optimised in turn."
             + (" `zh-mini-s2`: the lowest 2 of the shipped zh-mini's 4 layers (4 x 256), the shape of the students "
                "distilled from zh-mini teachers in the accuracy gate's table below, with each int8 variant."
                if any(column.startswith("zh-mini") for column in columns) else ""), "",
             "| dataset | task | texts | mean chars | tutorial | pipeline() | " + " | ".join(columns) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(columns)]
    for row in result["rows"]:
        def cell(variant: str) -> str:
            text = f"{row[f'{variant}_texts_per_s']}"
            ratios = [f"{row[key]}× {base}" for base in ("tutorial", "pipeline")
                      if (key := f"{variant}_x_{base}") in row]
            return text + (f" ({', '.join(ratios)})" if ratios else "")

        lines.append(f"| {row['dataset']} | {row['task']} | {row['texts']} | {row['mean_characters']} | "
                     f"{row.get('tutorial_texts_per_s', '–')} | {row.get('pipeline_texts_per_s', '–')} | "
                     + " | ".join(cell(variant) for variant in columns) + " |")
    memory = [row for row in result["rows"] if f"{columns[0]}_peak_rss_mb" in row]
    if memory:
        when = (f" (`--memory-only`, {result['memory_measured']})" if result.get("memory_measured") else "")
        lines += ["", "Peak resident memory (MiB: the process's `VmHWM`) of a fresh process that loads the saved "
                      "version with the variant in use, as `bertanno predict` does, and predicts the same texts"
                      f"{when}; int8 quantises after loading the fp32 weights, so its peak holds both:", "",
                  "| dataset | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        for row in memory:
            lines.append(f"| {row['dataset']} | " + " | ".join(str(row.get(f"{variant}_peak_rss_mb", "–"))
                                                          for variant in columns) + " |")
    limit = machine.get("peak")
    if limit and any(f"{columns[0]}_tokens_per_s" in row for row in result["rows"]):
        def share(value):
            return "–" if value is None else f"{value:.1%}"

        fp32 = "unknown" if limit["fp32_ops_per_s"] is None else f"{limit['fp32_ops_per_s'] / 1e9:,.0f}"
        int8 = "unknown" if limit["int8_ops_per_s"] is None else f"{limit['int8_ops_per_s'] / 1e9:,.0f}"
        lines += ["", f"The machine's limit (`benchmarks.machine`): {limit['cores']} core(s) at {limit['ghz']} GHz "
                      f"({limit['ghz_from']}), {limit['isa']} ({limit['fp32_lanes']} fp32 lanes, "
                      f"{limit['fma_units_assumed']} FMA units a core assumed): peak {fp32} GOP/s in fp32; int8 by "
                      f"{limit['int8_isa']}: {int8} GOP/s. Per variant: tokens/s, the arithmetic done (GOP/s at "
                      "the texts' mean length) and its share of the peak of the precision it computes in:", "",
                  "| dataset | mean tokens | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
        for row in result["rows"]:
            if f"{columns[0]}_tokens_per_s" in row:
                lines.append(f"| {row['dataset']} | {row['mean_tokens']} | " + " | ".join(
                    f"{row[f'{v}_tokens_per_s']:,.0f} tok/s, {row[f'{v}_gops']} GOP/s, "
                    f"{share(row[f'{v}_share_of_peak'])}" for v in columns) + " |")
    return lines + [""]


def interop_section(result: dict) -> list[str]:
    """``python -m benchmarks.interop``: the other tools' own files through bertanno import, per tool."""
    from collections import Counter

    rows = result["files"]
    lines = ["## Files of the other tools", "",
             "`python -m benchmarks.interop`: every example and test file of doccano, Label Studio's converter, "
             "INCEpTION (its WebAnno TSV suite) and brat in the shared interop corpus, imported into a fresh project "
             "of the task the file holds; what the file holds is counted by the benchmark from the format's "
             "definition, not by bertanno's readers. **read**: every span and label stored, each part left out "
             "named in the summary; **refused**: nothing stored, a sentence says why; **silent loss** / "
             "**misread**: fewer / more stored than the file holds with no word. Round trip: exported in the "
             "tool's format, imported into a second project, the same items and labels (a project whose items are all "
             "unlabelled has nothing to carry and is not counted).", "",
             "| tool | files | read | refused | silent loss | misread | spans in the files | spans stored | "
             "round trips the same |", "|---|---|---|---|---|---|---|---|---|"]
    for tool in sorted({row["tool"] for row in rows}):
        mine = [row for row in rows if row["tool"] == tool]
        verdicts = Counter(row["verdict"] for row in mine)
        read = [row for row in mine if row["verdict"] == "read"]
        held = sum((row.get("held") or {}).get("spans", 0) for row in read)
        stored = sum(row.get("stored_spans") or 0 for row in read)
        trips = [row for row in mine if row.get("round_trip") and row["round_trip"] != "nothing to carry"]
        lines.append(f"| {tool} | {len(mine)} | {verdicts['read']} | {verdicts['refused']} | "
                     f"{verdicts['silent loss']} | {verdicts['misread']} | {held} | {stored} | "
                     f"{sum(row['round_trip'] == 'same' for row in trips)} of {len(trips)} |")
    peers = Counter((name, verdict if verdict in ("same", "not installed") or verdict.startswith("nothing") else
                     "differs") for row in rows for name, verdict in (row.get("peers") or {}).items())
    if peers:
        lines += ["", "The other tools' readers on bertanno's exports of every NER project read above (pybrat on the "
                  "brat export, seqeval's `get_entities` on the CoNLL export's tags, `datasets.load_from_disk` on the "
                  "`hf` export), compared span for span with what bertanno stored:", "",
                  "| reader | the same spans | differs | nothing the format carries | not installed |",
                  "|---|---|---|---|---|"]
        for name in sorted({name for name, _ in peers}):
            lines.append(f"| {name} | {peers[name, 'same']} | {peers[name, 'differs']} | "
                         f"{sum(n for (r, v), n in peers.items() if r == name and v.startswith('nothing'))} | "
                         f"{peers[name, 'not installed']} |")
    with_relations = [row for row in rows if row.get("relations")]
    if with_relations:
        lines += ["", "Files that hold relations, also imported into a `relations` project whose schema allows each of "
                  "their relation types between any entities (brat: an `R` line is one relation, an `E` line one per "
                  "role argument; the count is the benchmark's, from the format's definition):", "",
                  "| tool | file | relations in the file | stored | verdict |", "|---|---|---|---|---|"]
        for row in with_relations:
            found = row["relations"]
            lines.append(f"| {row['tool']} | `{row['file']}` | {found['held']} | {found.get('stored', '–')} | "
                         f"{found['verdict']} |")
    reasons = Counter(re.sub(r"\d+|'[^']*'|\S*/\S*", "…", row.get("why") or "")[:90]
                      for row in rows if row["verdict"] == "refused")
    lines += ["", "Refusals, by reason (files):", ""]
    lines += [f"- {count} × {reason}" for reason, count in reasons.most_common()]
    return lines + [""]


BEFORE_KEYSTROKES = {
    "add a missing 2-character symptom after a span": 7,
    "add a 7-character drug with no span before it": 21,
    "replace a body span by the disease that contains it": 13,
}
"""The counts the issue that asked for this benchmark measured by hand before the span editor's word moves,
find and replace keys (its own 465-character record; the rest were not counted then)."""


BEFORE_WORD_EDITS = {
    "add a missing 2-character symptom": 5, "add a 7-character drug": 7, "replace a body span": 8,
    "widen a span to the left": 6, "widen a span to the right": 6, "change a span's type": 4,
    "remove a wrong span": 2, "split a span in two": 7, "merge two spans": 9,
}
"""The planner's counts of 2026-12-06, before ``< >`` (widen by a word), ``m`` (merge) and ``|`` (split)."""


def keystrokes_section(result: dict) -> list[str]:
    """``python -m benchmarks.keystrokes``: keys per correction, planned over the editor's keys and replayed."""
    lines = ["## Keys per correction in the span editor", "",
             f"`python -m benchmarks.keystrokes`: the corrections a NER annotator makes most, on a "
             f"{result['record_characters']}-character clinical record at {result['screen']}, from the same "
             "pre-annotation; the key sequence is the fewest a small planner finds over the editor's keys (Tab / "
             "Shift+Tab, Ctrl+arrows by words, ↑ ↓ by rows, arrows, `f` and a hint's letters to any word on "
             "screen; Shift+ and Ctrl+Shift+arrows or `F` and a hint to select; `[ ] { }` on a span; the label "
             "key, twice over a span it replaces; d; `< >` a word wider, `m` merge, `|` split), replayed in the real app with Textual's pilot (a hint's "
             "letters read off the screen) and checked against the goal. The Enter that saves the item is not "
             "counted. No mouse: a click and a drag do any of these in three actions.", "",
             "| correction | keys now | keys 2026-12-06 (before `< > m \\|`) | keys before (hand count) |",
             "|---|---|---|---|"]
    for row in result["corrections"]:
        before = next((str(n) for what, n in BEFORE_KEYSTROKES.items() if row["correction"].startswith(what)), "–")
        earlier = next((str(n) for what, n in BEFORE_WORD_EDITS.items() if row["correction"].startswith(what)), "–")
        lines.append(f"| {row['correction']} | {row['keys']} | {earlier} | {before} |")
    met = result["median"] <= 4 and result["max"] <= 8
    lines += ["", f"**Median {result['median']} keys, most {result['max']}: the goal ({result['goal']}) is "
              f"{'met' if met else 'not met'}.** What brought the last steps: `<` / `>` widen a span by the word "
              "before or after it, `m` merges a span with the next one, `|` splits a span at the cursor (one edit "
              "each, undone by `u`). With the built-in `medical` term list in the project (`--terms medical`: its "
              "terms become words for Ctrl+arrows, `f` and `F`) the counts are the same: the record's drug and "
              "disease names are not in that list. What still costs most: a hint is three keys (`f` and two "
              "letters: a screen of a long record holds more than 26 words), and a replacement over a span asks "
              "once more.", ""]
    return lines


def section_head(title: str, result: dict, text: str) -> list[str]:
    """The first lines of a benchmark's section: ``## title``, then the command that wrote ``result`` (its
    ``command`` and ``started``) followed by ``text``."""
    return [f"## {title}", "", f"Command: `{result['command'].strip()}` (started {result['started']}). {text}", ""]


def linear_family_section(result: dict) -> list[str]:
    """``python -m benchmarks.linear_family``: the live linear family against the TF-IDF baseline."""
    rows = result["rows"]
    lines = section_head("The live linear family against the TF-IDF baseline", result,
             "The quality suite's training and "
             "test sample of each shared sentence and pair set, the first N training examples, the identical test "
             "examples; the task's headline score (sentiment: accuracy; pairs: macro F1). "
             "`baseline`: scikit-learn's TfidfVectorizer (character 1-3-grams, sublinear tf, min_df 2) + logistic "
             "regression, the column beside bertanno's in the quality suite; `linear`: the family `annotate` refits "
             "live and `train --family linear` trains, which since 2026-12-07 keeps the baseline's own n-grams and "
             "idf (before, hashed into 2^18 buckets, it scored 0.4 to 1.6 points below the baseline at 1,500 "
             "examples).") + [
             "| set | N | metric | baseline | linear | difference |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['dataset']} | {row['train']:,} | {row['baseline']['metric']} | "
                     f"{row['baseline']['score']:.4f} | {row['linear']['score']:.4f} | "
                     f"{(row['linear']['score'] - row['baseline']['score']) * 100:+.2f} |")
    below = [r for r in rows if r["linear"]["score"] < r["baseline"]["score"] - 0.002]
    mean = sum(r["linear"]["score"] - r["baseline"]["score"] for r in rows) / len(rows)
    lines += ["", f"The live linear model scores {round(mean * 100, 2) + 0.0:+.2f} points against the baseline on "
              "average "
              f"({len(below)} of {len(rows)} rows more than 0.2 points below it).", ""]
    return lines


def constrained_decoding_section(result: dict) -> list[str]:
    """``python -m benchmarks.constrained_decoding``: one NER model decoded by argmax and by constrained Viterbi."""
    lines = section_head("NER decoding: per-token argmax against constrained Viterbi", result,
             "zh-mini fine-tuned once per set "
             "with `bertanno train`'s plan for a token task (seed 42) on the quality suite's training sample (first N), "
             "scored on its test sample with strict entity F1 (seqeval, IOB2), the same predictions decoded two ways: "
             "`argmax`, each token's likeliest tag (the decoder before 2026-12-06; an I-X after O starts a span), and "
             "`constrained`, Viterbi over the same probabilities with the transitions IOB2 forbids masked out.") + [
             "| set | train | test | plan | best epoch | argmax F1 | constrained F1 |", "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['dataset']} | {row['train']:,} | {row['test']:,} | {row['plan']} | {row['best_epoch']} | "
                     f"{row['argmax']:.4f} | {row['constrained']:.4f} |")
    return lines + [""]


def crf_head_section(result: dict) -> list[str]:
    """``python -m benchmarks.crf_head``: zh-mini's NER heads and features beside the classical CRF baseline."""
    rows = result["rows"]
    heads = list(dict.fromkeys(row["head"] for row in rows))
    sets = list(dict.fromkeys(row["dataset"] for row in rows))
    score = {(row["dataset"], row["head"]): row for row in rows}
    lines = section_head("NER: zh-mini's heads against the classical CRF", result,
             "For each shared NER set the "
             "first N examples of the quality suite's training sample (a tenth of them held out to choose the "
             "epoch), zh-mini fine-tuned by `bertanno train`'s plan for a token task (seed 42) once per head, scored "
             "on the suite's test sample with strict entity F1. `softmax`: the token head decoded by constrained "
             "Viterbi; `crf`: `train --head crf`; `+lexicon`: `train --lexicon-features`; `crf baseline`: "
             "sklearn-crfsuite over character features on the same training examples.") + [
             "| set | train | test | " + " | ".join(heads) + " |", "|---|---|---|" + "---|" * len(heads)]
    for name in sets:
        first = next(row for row in rows if row["dataset"] == name)
        cells = [f"{score[(name, head)]['f1']:.4f}" if (name, head) in score else "–" for head in heads]
        lines.append(f"| {name} | {first['train']:,} | {first['test']:,} | " + " | ".join(cells) + " |")
    seconds = [f"{head} {sum(r['seconds'] for r in rows if r['head'] == head) / max(1, sum(r['head'] == head for r in rows)):.0f} s"
               for head in heads]
    lines += ["", "Mean training seconds per set (1 thread, niced, beside other work): " + ", ".join(seconds) + "."]
    said = []
    for head in heads:
        if head in ("crf baseline", "softmax"):
            continue
        both = [name for name in sets if (name, head) in score and (name, "softmax") in score]
        if not both:
            continue
        lift = sum(score[(n, head)]["f1"] - score[(n, "softmax")]["f1"] for n in both) / len(both)
        above = [n for n in both if (n, "crf baseline") in score and score[(n, head)]["f1"] > score[(n, "crf baseline")]["f1"]]
        said.append(f"`{head}` {lift * 100:+.1f} points of entity F1 over `softmax` on average ({len(both)} set(s)), "
                    f"above the CRF baseline on {len(above)} of {len(both)}")
    if said:
        lines += ["", "What each lever bought: " + "; ".join(said) + "."]
    return lines + [""]


def ensemble_section(result: dict) -> list[str]:
    """``python -m benchmarks.ensemble``: the ensemble family against its members."""
    rows = result["rows"]
    partners = ", ".join(sorted({m for row in rows for m in row["out_of_fold"] if m != "transformer"}))
    lines = section_head(f"Stacking: the ensemble family against its members (transformer with {partners})", result,
             "The first N examples of the "
             "quality suite's training sample and its test sample; members as `train --family ensemble` trains "
             "them (zh-mini by the token or sentence plan, the crf or linear family), each fitted on all folds but "
             "one for the combiner's out-of-fold training data and on all N for the test; the task's headline score "
             "on the test sample. `out of fold`: each member's score on its out-of-fold predictions of the training "
             "examples, what the combiner learnt from.") + [
             "| set | train | folds | members | member scores | ensemble | out of fold |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        members = [key for key in row["out_of_fold"]]
        lines.append(f"| {row['dataset']}{' †' if row.get('earlier') else ''} | {row['train']:,} | {row['folds']} | "
                     f"{', '.join(members)} | " + ", ".join(f"{row[m]:.4f}" for m in members)
                     + f" | {row['ensemble']:.4f} | " + ", ".join(f"{row['out_of_fold'][m]:.4f}" for m in members)
                     + " |")
    earlier = sorted({row["earlier"] for row in rows if row.get("earlier")})
    if earlier:
        lines += ["", "† Measured by an earlier run, before " + "; ".join(earlier) + "."]
    return lines + [""]


def plan_headline(row: dict) -> float:
    """A ``benchmarks.sentence_plan`` row's score by the task's headline of today: pairs by macro F1 (rows measured
    before 2026-12-07 recorded the positive label's F1 as their headline; every row keeps all metrics), sentence
    tasks by their recorded headline (accuracy)."""
    metrics = row.get("metrics", {})
    return metrics["macro_f1"] if "f1" in metrics and "macro_f1" in metrics else row["headline"]


def sentence_plan_section(result: dict, title: str = "zh-mini's training plan on small sentence and pair sets"
                          ) -> list[str]:
    """``python -m benchmarks.sentence_plan``: zh-mini's plan for sentence and pair tasks against variants (longer
    plans, task options such as ``task.long_texts=truncate``)."""
    rows = result["rows"]
    variants = list(dict.fromkeys(row["variant"] for row in rows if row["variant"] != "classical"))
    lines = section_head(title, result,
             "The first N examples of the quality suite's training sample (a tenth held out to choose the epoch) "
             "and its test sample; zh-mini fine-tuned once per variant (seed 42): `plan` is `bertanno train`'s own "
             "plan, the others name the `TrainConfig` fields or task options (`task.`) they change; `classical`: "
             "TF-IDF + logistic regression on the same examples. The task's headline on the test sample (sentiment: accuracy; pairs: "
             "macro F1), the best epoch in brackets.") + [
             "| set | N | classical | " + " | ".join(f"`{v}`" for v in variants) + " |",
             "|---|---|---|" + "---|" * len(variants)]
    by_set: dict[str, dict] = {}
    for row in rows:
        by_set.setdefault(row["dataset"], {})[row["variant"]] = row
    for name, entry in by_set.items():
        cells = []
        for variant in ["classical", *variants]:
            row = entry.get(variant)
            cells.append("–" if row is None else f"{plan_headline(row):.4f}"
                         + (f" ({row['best_epoch']})" if row.get("best_epoch") else ""))
        train = next(iter(entry.values()))["train"]
        lines.append(f"| {name} | {train:,} | " + " | ".join(cells) + " |")
    said = []
    for variant in variants[1:] if variants[:1] == ["plan"] else []:
        both = [entry for entry in by_set.values() if "plan" in entry and variant in entry]
        if both:
            lift = sum(plan_headline(e[variant]) - plan_headline(e["plan"]) for e in both) / len(both) * 100
            said.append(f"`{variant}` {lift:+.1f} points against `plan` ({len(both)} set(s))")
    if said:
        lines += ["", "On average: " + "; ".join(said) + "."]
    return lines + [""]


def loop_goal_section(heads: dict | None, ner: dict | None, sentences: dict | None) -> list[str]:
    """The model in the loop against the classical baseline on all 8 shared sets, from ``benchmarks.crf_head``
    (zh-mini's heads on NER) and ``benchmarks.ensemble`` (NER, and ``--output ensemble_sentences`` for the sentence
    and pair sets): per set the classical baseline on the same examples, zh-mini by ``train``'s plan with each head,
    the ensemble, and whether the best transformer-based version beats the baseline. Pairs are compared by
    macro F1 (the pair task's headline), sentiment by accuracy, NER by strict entity F1."""
    from benchmarks.common import NER_SETS

    table: dict[str, dict] = {}
    for row in (heads or {}).get("rows", []):
        entry = table.setdefault(row["dataset"], {"task": "ner", "metric": "entity F1", "train": row["train"]
                                                  + row.get("validation", 0)})
        entry["classical" if row["head"] == "crf baseline" else row["head"]] = row["f1"]
    for row in (ner or {}).get("rows", []) + (sentences or {}).get("rows", []):
        metrics = row.get("metrics", {})
        if row["dataset"] in NER_SETS.split(","):
            entry = table.setdefault(row["dataset"], {"task": "ner", "metric": "entity F1", "train": row["train"]})
            entry["ensemble"] = row["ensemble"]
            entry.setdefault(row.get("head") or "transformer", row["transformer"])
            entry.setdefault("classical", row.get("crf"))
            continue
        pair = "f1" in metrics.get("transformer", {})
        key = "macro_f1" if pair else "accuracy"
        table[row["dataset"]] = {"task": "pair" if pair else "sentiment", "metric": "macro F1" if pair else
                                 "accuracy", "train": row["train"], "softmax": metrics["transformer"][key],
                                 "ensemble": metrics["ensemble"][key], "classical": metrics["classical"][key]}
    if not table:
        return []
    columns = ("softmax", "crf", "crf+lexicon", "ensemble")
    lines = ["## The model in the loop against the classical baseline", "",
             "From the two tables above (`benchmarks.crf_head`, `benchmarks.ensemble`): the same first N training "
             "examples of the quality suite's sample and its test sample for every column; zh-mini fine-tuned by "
             "`train`'s plan (`softmax`: the token or sentence head as before; `crf`, `crf+lexicon`: NER's CRF head "
             "and lexicon features), the ensemble of zh-mini with the crf or linear family, and the classical "
             "baseline on the same examples (TF-IDF + logistic regression; NER: a CRF over character features). "
             "Pairs are compared by macro F1, the pair task's headline since 2026-12-07: the positive label's F1 "
             "rewards a model that says \"match\" to every pair (on cMedQQ zh-mini's epochs chosen by it did, F1 "
             "0.64 at accuracy 0.485), accuracy one that never does. "
             "Goal: the best transformer-based version beats the baseline on all 3 NER sets and on at least 7 of "
             "the 8 sets.", "",
             "| set | task | metric | N | classical | zh-mini | + crf | + crf + lexicon | ensemble | best | margin |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    wins = ner_wins = ner_sets = 0
    for name, entry in table.items():
        scored = {column: entry[column] for column in columns if entry.get(column) is not None}
        best = max(scored, key=scored.get) if scored else None
        margin = (scored[best] - entry["classical"]) * 100 if best and entry.get("classical") is not None else None
        wins += bool(margin is not None and margin > 0)
        if entry["task"] == "ner":
            ner_sets += 1
            ner_wins += bool(margin is not None and margin > 0)
        lines.append(f"| {name} | {entry['task']} | {entry['metric']} | {entry['train']:,} | "
                     + " | ".join("–" if entry.get(c) is None else f"{entry[c]:.4f}"
                                  for c in ("classical",) + columns)
                     + f" | {best or '–'} | " + ("–" if margin is None else f"{margin:+.2f}") + " |")
    lines += ["", f"The best transformer-based version beats the classical baseline on {wins} of {len(table)} set(s) "
                  f"measured ({ner_wins} of {ner_sets} NER); the goal counts all 8"
                  + ("." if len(table) == 8 else f": {8 - len(table)} not measured in these runs yet.")]
    return lines + [""]


def levers_section(decoding: dict | None, heads: dict | None, ensembles: list[dict | None],
                   windows: dict | None, small_plan: dict | None, adapt: dict | None) -> list[str]:
    """What each lever of the model in the loop bought, by how much, computed from the tables above: constrained
    decoding (``benchmarks.constrained_decoding``), the CRF head and lexicon features (``benchmarks.crf_head``),
    stacking against each ensemble's best member (``benchmarks.ensemble``, every results file), long texts in
    windows and longer plans for small sentence sets (``benchmarks.sentence_plan``), task-adaptive pretraining
    (``benchmarks.adapt``). Points of the task's headline (entity F1, accuracy, macro F1), differences on the
    same examples; a lever with no rows is left out."""
    said = []

    def spread(differences: list[float], over: str = "set(s)") -> str:
        points = [d * 100 for d in differences]
        return (f"{sum(points) / len(points):+.1f} points on average over {len(points)} {over} "
                f"({min(points):+.1f} to {max(points):+.1f})")

    if decoding and decoding.get("rows"):
        said.append("constrained Viterbi decoding against each token's likeliest tag (same NER model): "
                    + spread([row["constrained"] - row["argmax"] for row in decoding["rows"]]))
    by_set: dict[str, dict] = {}
    for row in (heads or {}).get("rows", []):
        by_set.setdefault(row["dataset"], {})[row["head"]] = row["f1"]
    for lever, better, worse in (("the CRF head against the softmax head", "crf", "softmax"),
                                 ("lexicon features beside the encoder, with the CRF head", "crf+lexicon", "crf")):
        pairs = [entry[better] - entry[worse] for entry in by_set.values() if better in entry and worse in entry]
        if pairs:
            said.append(f"{lever} (NER): " + spread(pairs))
    stacked = [row for result in ensembles for row in (result or {}).get("rows", [])]
    members = [{name: row[name] for name in ("transformer", "crf", "linear") if row.get(name) is not None}
               for row in stacked]
    if stacked:
        over_best = [row["ensemble"] - max(mine.values()) for row, mine in zip(stacked, members)]
        over_transformer = [row["ensemble"] - row["transformer"] for row in stacked]
        runs = "runs (a set at one sample size)"
        said.append("stacking, the ensemble against its best member: " + spread(over_best, runs)
                    + f", above it on {sum(d > 0 for d in over_best)} of {len(over_best)}; against its zh-mini "
                    "member: " + spread(over_transformer, "runs"))
    for result, variant, lever, sign in ((windows, "task.long_texts=truncate", "long texts read in windows against "
                                          "truncated", 1), (small_plan, "epochs=16,patience=3", "16 epochs with "
                                          "patience 3 against 4 on 300 examples (the rule the plan now follows)", -1)):
        rows = (result or {}).get("rows", [])
        plans = {row["dataset"]: row["headline"] for row in rows if row["variant"] == "plan"}
        others = {row["dataset"]: row["headline"] for row in rows if row["variant"] == variant}
        pairs = [sign * (plans[name] - others[name]) for name in plans if name in others]
        if pairs:
            said.append(f"{lever}: " + spread(pairs))
    adapted = [row["adapted"]["score"] - row["shipped"]["score"] for row in (adapt or {}).get("rows", [])]
    if adapted:
        said.append("task-adaptive pretraining (`vocab adapt`, then `train --from adapted`) against zh-mini as "
                    "shipped: " + spread(adapted))
    if not said:
        return []
    return ["### What each lever bought", "", *(f"- {line}." for line in said), ""]


def loop_goal_full_section(linear: dict | None, zh_rows: list[dict], heads_full: dict | None, heads: dict | None,
                           ner: dict | None, ensembles_full: dict | None = None) -> list[str]:
    """The same goal at the quality suite's full training samples, where measured: sentence and pair sets from
    ``benchmarks.zh_mini_quality`` (zh-mini's last run on each, the suite's recipe) against the classical baseline
    of ``benchmarks.linear_family`` on the whole sample (the same examples); NER from ``benchmarks.crf_head
    --output crf_head_full`` (zh-mini's heads on the whole sample), else the 1,500-example rows, marked so; for any
    set, ``benchmarks.ensemble --output ensemble_full`` (the ensemble on the whole sample) where run."""
    table: dict[str, dict] = {}
    for row in (linear or {}).get("rows", []):
        entry = table.setdefault(row["dataset"], {"task": row["task"]})
        if row["train"] >= entry.get("train", 0):
            entry.update(train=row["train"], classical=row["baseline"]["score"], metric=row["baseline"]["metric"])
    for row in _zh_mini_last(zh_rows).values():
        if row["dataset"] in table:
            entry = table[row["dataset"]]
            entry["best"], entry["version"] = row["bertanno_full"][entry["metric"]], "zh-mini (suite's recipe)"
    for source, full in ((heads_full, True), (heads, False)):
        for row in (source or {}).get("rows", []):
            if row["dataset"] in table and table[row["dataset"]].get("full") and not full:
                continue
            entry = table.setdefault(row["dataset"], {"task": "ner", "metric": "f1"})
            entry.update(train=row["train"] + row.get("validation", 0), full=full)
            if row["head"] == "crf baseline":
                entry["classical"] = row["f1"]
            elif row["f1"] > entry.get("best", -1):
                entry["best"], entry["version"] = row["f1"], f"zh-mini {row['head']}"
    for row in (ner or {}).get("rows", []):
        entry = table.get(row["dataset"])
        if entry and not entry.get("full") and row["train"] == entry.get("train") and row["ensemble"] > entry["best"]:
            entry["best"], entry["version"] = row["ensemble"], "ensemble"
    for row in (ensembles_full or {}).get("rows", []):  # NER where the row above is whole, else the same N
        entry = table.get(row["dataset"])
        whole = entry and (entry.get("full") if entry["task"] == "ner" else row["train"] == entry.get("train"))
        if whole and row["ensemble"] > entry["best"]:
            entry["best"], entry["version"] = row["ensemble"], "ensemble"
    table = {name: entry for name, entry in table.items() if entry.get("best") is not None}
    if not table:
        return []
    lines = ["### At the quality suite's full training samples", "",
             "The same goal where the training sample is the quality suite's whole one (at most 20,000 examples, "
             "its validation tenth left out): sentence and pair sets from `benchmarks.zh_mini_quality` (zh-mini's "
             "last run on each set, the suite's recipe: at most 8 epochs at lr 2e-4 with early stopping, mean "
             "pooling) against the classical baseline of `benchmarks.linear_family` on the same whole sample; NER "
             "from `benchmarks.crf_head --train 20000 --output crf_head_full` (zh-mini by `train`'s token plan with "
             "its best head, the classical CRF on the same examples) and `benchmarks.ensemble --train 20000 --output "
             "ensemble_full` where run, else the 1,500-example rows above (marked *).", "",
             "| set | task | metric | N | classical | best transformer-based | version | margin |",
             "|---|---|---|---|---|---|---|---|"]
    partial = {name for name, entry in table.items() if entry["task"] == "ner" and not entry.get("full")}
    wins = 0
    for name, entry in table.items():
        margin = (entry["best"] - entry["classical"]) * 100
        wins += margin > 0
        lines.append(f"| {name} | {entry['task']} | {entry['metric']} | {entry['train']:,}"
                     f"{' *' if name in partial else ''} | {entry['classical']:.4f} | {entry['best']:.4f} | "
                     f"{entry['version']} | {margin:+.2f} |")
    lines += ["", f"At the full samples the best transformer-based version beats the classical baseline on {wins} of "
                  f"{len(table)} set(s)" + (f" ({len(partial)} of them measured at 1,500 examples only, marked *)"
                                           if partial else "") + ". zh-mini's pretraining text held the training splits (never "
                  "a test split) of ChnSentiCorp, cMedQANER and cMedQQ (its model card): those rows favour it, above "
                  "all cMedQQ's."]
    return lines + [""]


def adapt_section(result: dict) -> list[str]:
    """``python -m benchmarks.adapt``: zh-mini fine-tuned as shipped and after task-adaptive pretraining."""
    lines = section_head("Task-adaptive pretraining (`vocab adapt`)", result,
             "zh-mini's masked-LM training "
             "continued on the set's own unlabelled training texts (never its test texts), then zh-mini as shipped "
             "and adapted fine-tuned on the same first N training examples by `bertanno train`'s plan (seed 42) and "
             "scored on the suite's test sample with the task's headline metric. Never a gain: `train` starts "
             "from the adapted model only when asked (`--from adapted`).") + [
             "| set | corpus texts | steps (epochs, lr) | held-out MLM loss | train | shipped | adapted | difference |",
             "|---|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        shipped, adapted = row["shipped"]["score"], row["adapted"]["score"]
        lines.append(f"| {row['dataset']} | {row['corpus']:,} | {row['adapt_steps']:,} ({row['adapt_epochs']}, "
                     f"{row['adapt_lr']:g}) | "
                     f"{row['mlm_loss_before']:.3f} → {row['mlm_loss_after']:.3f} | {row['train']:,} | "
                     f"{shipped:.4f} | {adapted:.4f} | {(adapted - shipped) * 100:+.2f} |")
    return lines + [""]


def best_bound(run: dict) -> str:
    """The lower bound of the best cut a run that labelled nothing found (from its reason), as text."""
    import re

    found = re.search(r"the most confident ([\d,]+) item\(s\) are right ([\d.]+) .*only at least ([\d.]+)",
                      run.get("reason", ""))
    return f"{found.group(3)} (top {found.group(1)}, expected {found.group(2)})" if found else "under the target"


def autopilot_section(result: dict) -> list[str]:
    """``python -m benchmarks.autopilot``: autopilot's runs at each checkpoint, their audits against the truth."""
    sets = result["rows"]
    families = ", ".join(sorted({s["family"] for s in sets}))
    gold = f"; {sets[0]['gold']:,} gold items" if sets[0]["gold"] != 300 else ""
    lines = section_head(f"Autopilot: calibrated auto labels audited blind ({families}{gold})", result,
             "A simulated team (gold labels) works each set's queue most uncertain first; the live family "
             f"({families}) is retrained through the gate as the command says; "
             f"the evaluation split starts with {sets[0]['gold']} gold items. At each checkpoint, on a copy of the "
             "project, `autopilot --target T` (max share 0.8, default audit size) plans and starts a run and the "
             "team decides its audit sample. *true*: the auto labels' accuracy against gold; *audited*: the "
             "audit's estimate and Wilson 95 % interval; *saved*: labels kept (audit excluded); *oracle*: the most "
             "confident items, at most 0.8 of the queue, whose true accuracy reaches the target (what knowing the "
             "labels' accuracy exactly would allow: the bound's cost is the gap to the labelled column, the "
             "model's limit the gap to the queue).") + [
             "| set | decisions | target | queue | oracle | auto-labelled | audit | true | audited (95 % interval) | "
             "covers | verdict | saved |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def oracle(run) -> str:
        return "–" if "oracle" not in run else f"{run['oracle']:,} ({run['oracle'] / max(run['pool'], 1):.0%})"

    covered = audited = kept = kept_right = 0
    for entry in sets:
        for run in entry["runs"]:
            if not run["labelled"]:
                lines.append(f"| {entry['dataset']} | {run['decisions']:,} | {run['target']:g} | {run['pool']:,} | "
                             f"{oracle(run)} | 0 | – | – | – | – | nothing labelled: the best bound "
                             + best_bound(run) + " | 0 |")
                continue
            interval = run.get("interval") or [0, 0]
            audited += 1
            covered += bool(run.get("covers"))
            if run["status"] == "passed":
                kept += 1
                kept_right += run["true_accuracy"] >= run["target"]
            lines.append(f"| {entry['dataset']} | {run['decisions']:,} | {run['target']:g} | {run['pool']:,} | "
                         f"{oracle(run)} | {run['labelled']:,} ({run['share']:.0%}) | {run['audit']} | "
                         f"{run['true_accuracy']:.3f} | "
                         f"{run['audited_accuracy']:.3f} ({interval[0]:.3f}–{interval[1]:.3f}) | "
                         f"{'yes' if run.get('covers') else 'no'} | {run['status']} | {run['saved']:,} |")
    lines += ["", f"The audited interval held the true accuracy in {covered} of {audited} audited run(s); of the "
              f"{kept} run(s) that passed, {kept_right} had a true accuracy at or above their target." if audited
              else "No run labelled anything, so no audit ran: the lower bound of the best cut stayed under the "
                   "target each time (the model's confident share is not provably that accurate yet)."]
    last = max(run["decisions"] for entry in sets for run in entry["runs"])
    for target in sorted({run["target"] for entry in sets for run in entry["runs"]}):
        taken = [f"{entry['dataset']} {run.get('saved', 0) / run['pool']:.0%}"
                 + (f" (oracle {run['oracle'] / run['pool']:.0%})" if "oracle" in run else "")
                 for entry in sets for run in entry["runs"] if run["target"] == target and run["decisions"] == last]
        lines.append(f"- Target {target:g}: the share of the remaining queue kept on auto labels at decision "
                     f"{last:,}: {', '.join(taken)}.")
    for entry in sets:
        forecast = entry.get("forecast")
        if forecast and "reached" in forecast:
            low, high = forecast["interval"]
            lines.append(f"- {entry['dataset']}: the forecast at {forecast['at']:,} decisions ({forecast['points']} "
                         f"versions) of the score at {forecast['for']:,}: {forecast['score']:.3f} ({low:.3f}–"
                         f"{high:.3f}); reached {forecast['reached']:.3f}"
                         f" ({'inside' if forecast['covers'] else 'outside'} the interval).")
    return lines + [""]


def relations_section(result: dict) -> list[str]:
    """``python -m benchmarks.relations``: the relation-linear family and the rule baseline on DUTIR's passages."""
    rows = result["rows"]
    types = sorted({key.split("/", 1)[1] for row in rows for key in row if key.startswith("f1/")})
    lines = section_head("Relations: DUTIR legal drug-crime passages", result,
             f"{rows[0]['passages']} passages of 41 judgments, cross-validated by judgment (each fold's judgments "
             "held out once; the pooled test predictions scored with the relations task's own metrics: strict "
             "relation micro-F1, a relation right when its head span and type, tail span and type and relation "
             "type all are). `gold`: the test passages' own entities given; `predicted`: the family's CRF tags "
             "them first, as it serves a project. Seconds: prediction per passage and fitting per fold, one "
             "process.") + [
             "| model | entities | relation F1 | precision | recall | " + " | ".join(types)
             + " | entity F1 | ms / passage | fit s / fold |",
             "|---|---|---|---|---|" + "---|" * len(types) + "---|---|---|"]
    for row in rows:
        timing = (f"{row['seconds_per_passage'] * 1000:.1f} | {row['fit_seconds_per_fold']:.0f}"
                  if "seconds_per_passage" in row else " | ")
        lines.append(f"| {row['model']} | {row['entities']} | {row['f1']:.3f} | {row['precision']:.3f} | "
                     f"{row['recall']:.3f} | " + " | ".join(f"{row.get('f1/' + t, 0.0):.3f}" for t in types)
                     + f" | {row['entity_f1']:.3f} | {timing} |")
    return lines + [""]


def relation_keys_section(result: dict) -> list[str]:
    """``python -m benchmarks.relation_keys``: keys to enter a passage's relations in the relation view."""
    rows = [row for row in result["rows"] if "passages" in row]
    failures = next((row["failures"] for row in result["rows"] if "failures" in row), 0)
    lines = section_head("Relations from the keyboard: keys a passage", result,
             "DUTIR passages of the first fold's held-out judgments at 80×24, replayed through the annotation app "
             "(Textual's pilot): the gold entities on screen, then the relations entered from scratch or mended "
             "from `relation-linear`'s pre-annotations (trained on the other judgments) by the keys the relation "
             "view has, Enter included; every replay checked against the gold relations "
             f"({failures} did not reach them).") + [
             "| start | passages | relations a passage | median keys | mean keys | most keys |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['condition']} | {row['passages']} | {row['relations_per_passage']:.2f} | "
                     f"{row['median_keys']:g} | {row['mean_keys']:.2f} | {row['max_keys']} |")
    return lines + [""]


def llm_section(result: dict, loopback: bool) -> list[str]:
    """``python -m benchmarks.llm``: the llm family against an endpoint, or bertanno's overhead on loopback."""
    rows = result["rows"]
    if loopback:
        lines = section_head("The llm family: bertanno's own time per item", result,
                 "Against a server on loopback that answers every request at once (a valid, empty answer), so the "
                 "time is bertanno's alone: the prompt, the HTTP request, parsing and checking the answer, finding "
                 "the entities in the text. A real model adds its own generation time; its scores are reported "
                 "only when the benchmark is run against one (`--url`, `--model`). With demonstrations, the time "
                 "includes choosing each item's four most similar from the pool; the tokens are estimated "
                 "(`llm_family.estimated_tokens`: a CJK character one, four other characters one), the prompt a "
                 "real server would be sent.") + [
                 "| set | task | items | demonstrations | concurrency | ms / item | est. tokens / item |",
                 "|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row['dataset']} | {row['task']} | {row['items']} | {row.get('demonstrations', 0)} | "
                         f"{row['concurrency']} | {row['seconds_per_item'] * 1000:.2f} | "
                         f"{row.get('tokens_per_item', '-')} |")
        return lines + [""]
    lines = section_head(f"The llm family against {rows[0]['model']}", result,
             "The first test examples of each set, one request each, scored with the task's metrics.") + [
             "| set | task | items | demonstrations | headline | unanswered | hallucinated spans | tokens / item | "
             "s / item |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        headline = next(iter(row.get("scores", {}).items()), ("-", 0.0))
        lines.append(f"| {row['dataset']} | {row['task']} | {row['items']} | {row.get('demonstrations', 0)} | "
                     f"{headline[0]} {headline[1]:.4f} | {row['unanswered']} | {row['hallucinated_or_foreign_spans']} "
                     f"| {row.get('tokens_per_item', '-')} | {row['seconds_per_item']:.2f} |")
    return lines + [""]


def write_report() -> list[Path]:
    quality_header, quality_rows = _jsonl(RESULTS / "quality.jsonl")
    speed = _json("speed.json")
    latest = _json("annotate_latency.json")
    if speed is not None and latest is not None:  # the latest latency run, however it was started
        speed.setdefault("annotate_latency", {}).update(
            {k: v for k, v in latest.items() if k not in ("machine", "settings")})
    vocab_header, vocab_rows = _jsonl(RESULTS / "vocab_quality.jsonl")
    zero_header, zero_rows = _jsonl(RESULTS / "zero_shot.jsonl")
    # cold_start.jsonl, then the runs of zh-mini's scenarios (cold_start_zh_mini*.jsonl: a file per run)
    colds = [(path.stem, *_jsonl(path)) for path in sorted(RESULTS.glob("cold_start*.jsonl"))]
    loops = [loop for loop in (_jsonl(RESULTS / "correction_loop.jsonl"), _jsonl(RESULTS / "correction_loop_zh_mini.jsonl"))
             if loop[1]]
    demo_header, demo_rows = _jsonl(RESULTS / "zh_mini_demo.jsonl")
    zh_header, zh_rows = _jsonl(RESULTS / "quality_zh_mini.jsonl")
    lines = ["# bertanno benchmark results", "",
             "Written by `python -m benchmarks report` from the files in `benchmarks/results/` (rerun a suite with "
             "`python -m benchmarks run --suite quality|speed`). No hub weights are reachable on these machines: "
             "every model here starts from **random weights** except in the zh-mini sections, whose model bertanno "
             "pretrained itself (its model card, `bertanno/data/models/zh-mini/README.md`, says on what and how "
             "far). Quality numbers are what small models trained here on 2 CPU cores reach; speed numbers use the "
             "real architectures at their real cost.", ""]
    if quality_rows:
        lines += quality_section(quality_header, quality_rows)
    if speed:
        lines += speed_section(speed)
    for name, section in (("optimize_speed.json", optimize_speed_section), ("optimize_gate.json", optimize_gate_section),
                          ("bulk_predict.json", bulk_section), ("bulk_predict_100k.json", bulk_section),
                          ("optimize_speed.json", lambda speed: speed_goal_section(
                              speed, _json("optimize_gate.json"), _json("bulk_predict_100k.json"))),
                          ("team.json", team_section),
                          ("scale.json", scale_section), ("distributed_train.json", distributed_train_section),
                          ("interop.json", interop_section), ("keystrokes.json", keystrokes_section),
                          ("linear_family.json", linear_family_section),
                          ("constrained_decoding.json", constrained_decoding_section),
                          ("crf_head.json", crf_head_section), ("ensemble.json", ensemble_section),
                          ("ensemble_sentences.json", ensemble_section), ("ensemble_full.json", ensemble_section),
                          ("sentence_plan.json", sentence_plan_section),
                          ("sentence_plan_300.json", sentence_plan_section),
                          ("sentence_plan_windows.json", lambda result: sentence_plan_section(
                              result, "Long reviews read in windows against truncated (`long_texts`)")),
                          ("ensemble.json", lambda ner: loop_goal_section(
                              _json("crf_head.json"), ner, _json("ensemble_sentences.json"))
                           + loop_goal_full_section(_json("linear_family.json"), zh_rows, _json("crf_head_full.json"),
                                                    _json("crf_head.json"), ner, _json("ensemble_full.json"))
                           + levers_section(_json("constrained_decoding.json"), _json("crf_head.json"),
                                            [ner, _json("ensemble_sentences.json"), _json("ensemble_full.json")],
                                            _json("sentence_plan_windows.json"), _json("sentence_plan_300.json"),
                                            _json("adapt.json"))),
                          ("adapt.json", adapt_section), ("relations.json", relations_section),
                          ("autopilot.json", autopilot_section), ("autopilot_zh_mini.json", autopilot_section),
                          ("autopilot_gold1000.json", autopilot_section),
                          ("relation_keys.json", relation_keys_section),
                          ("llm.json", lambda result: llm_section(result, False)),
                          ("llm_loopback.json", lambda result: llm_section(result, True))):
        if (result := _json(name)) is not None:
            lines += section(result)
    if vocab_rows:
        lines += vocabulary_section(vocab_header, vocab_rows)
    if zero_rows:
        lines += zero_shot_section(zero_header, zero_rows)
    for name, cold_header, cold_rows in colds:
        if cold_rows:
            lines += cold_start_section(cold_header, cold_rows, name)
    if loops:
        lines += correction_loop_section(loops)
    if zh_rows:
        lines += zh_mini_quality_section(zh_header, zh_rows, quality_rows)
    if (zh_speed := _json("zh_mini_speed.json")) is not None:
        lines += zh_mini_speed_section(zh_speed)
    if demo_rows:
        lines += zh_mini_demo_section(demo_header, demo_rows)
    REPORT.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return [REPORT, *plots(quality_rows, speed)]
