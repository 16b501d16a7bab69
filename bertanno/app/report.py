"""``bertanno report``: a project's progress on one self-contained HTML page (every figure embedded), with each
figure also written as a PNG file beside it (matplotlib, ``pip install 'bertanno[report]'``).

Sections: items decided over time; each annotator's throughput and median seconds per item; the distribution of
the settled labels (entity types for NER); the agreement matrix of the annotators (Cohen's kappa, or span F1 for
entities; ``core.agreement``); the model versions' scores on the evaluation split over time (the project's
learning curve); the share of pre-annotations accepted unchanged per model version (``core.stats``); gold
checks; the rubber-stamp check; the champion's reliability diagram (``core.calibration``); the forecast
(``core.forecast``). A section
without data says why instead of drawing an empty figure.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bertanno import files
from bertanno.core.agreement import agreement_figures
from bertanno.core.calibration import Calibration
from bertanno.core.plugins import Plugins
from bertanno.core.project import open_project
from bertanno.core.stats import (
    FAST_ACCEPT_SECONDS,
    annotator_alarms,
    decided,
    gold_figures,
    grouped_figures,
    project_forecast,
    record_seconds,
    with_gold,
)
from bertanno.errors import BertannoError
from bertanno.plugins.task import SpanGraph
from bertanno.store import Store
from bertanno.store.annotations import decision_records
from bertanno.store.versions import list_versions

PAGE = "report.html"
STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
img{max-width:100%;height:auto}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
.empty{color:#777;font-style:italic}"""
CHECK_IMAGES = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.body.dataset.images = images.length;
  document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
});
</script>"""
"""Marks on ``<body>`` how many figures the browser decoded: what a test in a real browser reads back."""


@dataclass
class Section:
    key: str
    title: str
    figure: bytes | None = None
    """The figure as PNG, or ``None`` (then ``empty`` says why)."""
    empty: str = ""
    rows: list[list[str]] = field(default_factory=list)
    """A small table under the figure: a header row, then data rows."""


@dataclass
class ReportFiles:
    page: Path
    images: list[Path]
    sections: list[Section]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise BertannoError("the report draws its figures with matplotlib: pip install 'bertanno[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    figure.clf()
    return buffer.getvalue()


def _decided(pyplot, records: list[dict]) -> Section:
    section = Section("decided", "Items decided over time")
    times = sorted(r["created_at"] for r in decided(records))
    if not times:
        section.empty = "no decisions yet"
        return section
    figure, axes = pyplot.subplots(figsize=(8, 3))
    axes.step(times, range(1, len(times) + 1), where="post")
    axes.set_ylabel("decisions (cumulative)")
    figure.autofmt_xdate()
    section.figure = _png(figure)
    section.rows = [["first decision", "latest", "decisions"], [times[0].isoformat(" ", "minutes"),
                                                                 times[-1].isoformat(" ", "minutes"), str(len(times))]]
    return section


def _annotators(pyplot, groups: dict) -> Section:
    section = Section("annotators", "Annotators: throughput and seconds per item")
    names = sorted(groups)
    if not names:
        section.empty = "no decisions yet"
        return section
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(9, 3))
    left.bar(names, [groups[n]["items_per_hour"] or 0 for n in names])
    left.set_title("items per hour (active time)")
    right.bar(names, [groups[n]["median_seconds"] or 0 for n in names], color="tab:orange")
    right.set_title("median seconds per item")
    for axes in (left, right):
        axes.tick_params(axis="x", rotation=30)
    section.figure = _png(figure)
    section.rows = [["annotator", "decisions", "items/h", "median s"]] + [
        [n, str(groups[n]["decisions"]), f"{groups[n]['items_per_hour'] or 0:.0f}",
         f"{groups[n]['median_seconds'] or 0:.1f}"] for n in names]
    return section


def _labels(pyplot, handle) -> Section:
    section = Section("labels", "Settled labels")
    counts: Counter = Counter()
    for _, example in handle.annotated():
        payload = example.payload
        if isinstance(payload, SpanGraph):  # a relations project: its entity types, then its relation types
            counts.update(span.label for span in payload.spans)
            counts.update(f"{relation.label} (relation)" for relation in payload.relations)
        elif isinstance(payload, list):
            counts.update(getattr(unit, "label", unit) for unit in payload)
        elif payload is not None:
            counts[str(payload)] += 1
    if not counts:
        section.empty = "no settled labels yet"
        return section
    names = [name for name, _ in counts.most_common()]
    figure, axes = pyplot.subplots(figsize=(8, 3))
    axes.bar(names, [counts[n] for n in names], color="tab:green")
    axes.set_ylabel("entities" if handle.task.head == "token" else "items")
    axes.tick_params(axis="x", rotation=30)
    section.figure = _png(figure)
    section.rows = [["label", "count"]] + [[n, str(counts[n])] for n in names]
    return section


def _agreement(pyplot, pairs: list[dict], annotators: list[str]) -> Section:
    section = Section("agreement", "Agreement between annotators")
    if not pairs:
        section.empty = "no item has been decided by two annotators (bertanno configure PROJECT --overlap 2)"
        return section
    key = next(k for k in ("cohen_kappa", "relation_f1_exact", "f1_exact") if k in pairs[0])
    name = {"cohen_kappa": "Cohen's κ", "relation_f1_exact": "relation F1 (exact)"}.get(key, "span F1 (exact)")
    import numpy as np

    matrix = np.full((len(annotators), len(annotators)), np.nan)
    np.fill_diagonal(matrix, 1.0)
    for pair in pairs:
        i, j = annotators.index(pair["first"]), annotators.index(pair["second"])
        matrix[i, j] = matrix[j, i] = pair[key]
    figure, axes = pyplot.subplots(figsize=(1.2 * len(annotators) + 2.5, 1.0 * len(annotators) + 1.5))
    image = axes.imshow(matrix, vmin=-1 if key == "cohen_kappa" else 0, vmax=1, cmap="viridis")
    axes.set_xticks(range(len(annotators)), annotators, rotation=30)
    axes.set_yticks(range(len(annotators)), annotators)
    for i in range(len(annotators)):
        for j in range(len(annotators)):
            if not np.isnan(matrix[i, j]):
                axes.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="white")
    figure.colorbar(image, ax=axes, label=name)
    section.figure = _png(figure)
    section.rows = [["pair", "items", name, "same"]] + [
        [f"{p['first']} · {p['second']}", str(p["items"]), f"{p[key]:.3f}", f"{p['percent']:.0%}"] for p in pairs]
    return section


def _versions(pyplot, versions: list) -> Section:
    section = Section("versions", "Model versions on the evaluation split")
    scored = [v for v in versions if v.metrics]
    if not scored:
        section.empty = "no scored model version yet (bertanno train PROJECT)"
        return section
    headline = next(iter(scored[0].metrics))
    figure, axes = pyplot.subplots(figsize=(8, 3))
    axes.plot([v.created_at for v in scored], [v.metrics.get(headline, 0.0) for v in scored], marker="o")
    for version in scored:
        axes.annotate(version.name, (version.created_at, version.metrics.get(headline, 0.0)), fontsize=8,
                      textcoords="offset points", xytext=(3, 4))
    axes.set_ylabel(headline)
    figure.autofmt_xdate()
    section.figure = _png(figure)
    section.rows = [["version", "status", headline, "created"]] + [
        [v.name, v.status, f"{v.metrics.get(headline, 0.0):.3f}", v.created_at.isoformat(" ", "minutes")]
        for v in scored]
    return section


def _acceptance(pyplot, groups: dict) -> Section:
    section = Section("acceptance", "Pre-annotations accepted unchanged, per model version")
    shown = {name: g for name, g in groups.items() if g["acceptance_rate"] is not None}
    if not shown:
        section.empty = "no pre-annotation has been accepted or corrected yet"
        return section
    names = sorted(shown)
    figure, axes = pyplot.subplots(figsize=(8, 3))
    axes.bar(names, [shown[n]["acceptance_rate"] * 100 for n in names], color="tab:purple")
    axes.set_ylabel("% accepted unchanged")
    axes.set_ylim(0, 100)
    section.figure = _png(figure)
    section.rows = [["version", "accepted", "corrected", "share"]] + [
        [n, str(shown[n]["accepted"]), str(shown[n]["corrected"]), f"{shown[n]['acceptance_rate']:.0%}"]
        for n in names]
    return section


def _gold(pyplot, gold: list[dict]) -> Section:
    """Each annotator's agreement with the gold checks week by week (``core.stats.gold_figures``)."""
    section = Section("gold", "Agreement with gold checks over time")
    if not gold:
        section.empty = "no gold checks yet (init or configure --gold-share, with gold items: import --split eval)"
        return section
    figure, axes = pyplot.subplots(figsize=(8, 3))
    for row in gold:
        weeks = list(row["by_week"])
        axes.plot(weeks, [right / total for right, total in row["by_week"].values()], marker="o",
                  label=row["annotator"])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("agreement with gold")
    axes.legend(loc="lower left", fontsize="small")
    section.figure = _png(figure)
    section.rows = [["annotator", "checks", "agreement", "95 % interval"]] + [
        [row["annotator"], str(row["checks"]), f"{row['agreement']:.0%}",
         f"{row['ci95'][0]:.0%}–{row['ci95'][1]:.0%}"] for row in gold]
    return section


def _calibration(pyplot, versions: list) -> Section:
    """The champion's reliability diagram: accuracy against confidence in ten bins, per level (items; NER spans
    too), with the expected calibration error before and after its map (``core.calibration``)."""
    section = Section("calibration", "Calibration of the champion: confidence against being right")
    reigning = next((v for v in versions if v.status == "champion" and v.calibration), None)
    if reigning is None:
        section.empty = "no calibrated champion yet (bertanno train PROJECT fits the map on the evaluation split)"
        return section
    figure, axes = pyplot.subplots(figsize=(5, 4))
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    section.rows = [["level", "units", "map", "ECE before", "ECE after"]]
    for level, data in reigning.calibration.items():
        fitted = Calibration.from_json(data)
        filled = [row for row in fitted.reliability if row[0]]
        axes.plot([row[1] for row in filled], [row[2] for row in filled], marker="o", label=f"{level}s (raw)")
        section.rows.append([f"{level}s", str(fitted.units), fitted.method, f"{fitted.ece_raw:.3f}",
                             f"{fitted.ece:.3f}"])
    axes.set_xlabel(f"{reigning.name}'s confidence")
    axes.set_ylabel("share right")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="upper left", fontsize="small")
    section.figure = _png(figure)
    return section


def _forecast(pyplot, forecast: dict | None) -> Section:
    """The learning curve of the champion's family fitted to the gate's history, with its 95 % band, projected to
    four times today's decisions (``core.stats.forecast_figures``)."""
    section = Section("forecast", "Forecast: the learning curve and what more decisions buy")
    if not forecast or "band" not in forecast:
        section.empty = (forecast or {}).get("note") or "no champion yet (bertanno train PROJECT)"
        return section
    figure, axes = pyplot.subplots(figsize=(8, 3))
    band = forecast["band"]
    axes.fill_between([row[0] for row in band], [row[2] for row in band], [row[3] for row in band], alpha=0.2,
                      color="tab:blue", label="95 % interval")
    axes.plot([row[0] for row in band], [row[1] for row in band], color="tab:blue", label="fitted a − b·n^−c")
    axes.scatter([p[0] for p in forecast["points"]], [p[1] for p in forecast["points"]], color="black", zorder=3,
                 label="trained versions")
    axes.set_xscale("log")
    axes.set_xlabel("decisions trained on")
    axes.set_ylabel("score on the evaluation split")
    axes.legend(loc="lower right", fontsize="small")
    section.figure = _png(figure)
    section.rows = [["decisions", "forecast", "95 % interval"]] + [
        [f"{row['decisions']:,}", f"{row['score']:.3f}", f"{row['interval'][0]:.3f}–{row['interval'][1]:.3f}"]
        for row in forecast["projected"]]
    return section


def _alarms(alarms: list[dict]) -> Section:
    """The rubber-stamp check (``core.stats.annotator_alarms``) as a table, the flagged annotators named above it."""
    section = Section("rubber-stamp", "Rubber-stamp check")
    flagged = [f"{row['annotator']}: {'; '.join(row['reasons'])}" for row in alarms if row["flags"]]
    section.empty = ("flagged: " + " · ".join(flagged) if flagged else
                     f"no annotator flagged: no median accept under {FAST_ACCEPT_SECONDS:g} s, and nobody accepts "
                     "shown pre-annotations markedly more often than they agree with hidden ones" if alarms
                     else "no accepts yet")
    if alarms:
        section.rows = [["annotator", "accepts", "median accept s", "accepted when shown", "agree when hidden",
                         "flag"]] + [
            [row["annotator"], str(row["accepts"]),
             "–" if row["median_accept_seconds"] is None else f"{row['median_accept_seconds']:.2f}",
             "–" if row["acceptance_shown"] is None else f"{row['acceptance_shown']:.0%} of {row['shown']}",
             "–" if row["agreement_blind"] is None else f"{row['agreement_blind']:.0%} of {row['blind']}",
             ", ".join(row["flags"]) or "–"] for row in alarms]
    return section


def _page(project: str, task: str, sections: list[Section]) -> str:
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>bertanno report: "
             f"{html.escape(project)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(project)} <small>({html.escape(task)})</small></h1>",
             f"<p>Written by bertanno report on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>"]
    for section in sections:
        parts.append(f"<section id=\"{section.key}\"><h2>{html.escape(section.title)}</h2>")
        if section.figure is None:
            parts.append(f"<p class=\"empty\">{html.escape(section.empty)}</p>")
        else:
            data = base64.b64encode(section.figure).decode("ascii")
            parts.append(f"<img alt=\"{html.escape(section.title)}\" src=\"data:image/png;base64,{data}\">")
        if section.rows:
            header, *rows = section.rows
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in header) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                                   for row in rows) + "</table>")
        parts.append("</section>")
    parts.append(CHECK_IMAGES + "</body></html>")
    return "\n".join(parts)


def project_report(store: Store, project_name: str, output: Path, plugins: Plugins | None = None) -> ReportFiles:
    """Write ``output/report.html`` (self-contained: figures embedded) and one PNG per figure into ``output``
    (created if needed). Raises ``BertannoError`` for an unknown project, an output that is a file, or
    matplotlib missing (nothing is written then)."""
    pyplot = _pyplot()
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise BertannoError(f"{output} is a file: the report is a folder (report.html and its figures); give a "
                            "folder with -o")
    handle = open_project(store, project_name, plugins)
    with store.transaction() as session:
        records = with_gold(session, handle.id, decision_records(session, handle.id))
        versions = list_versions(session, handle.id)
        forecast = project_forecast(session, handle.id, next((v for v in versions if v.status == "champion"), None),
                                    record_seconds(records))
        session.expunge_all()
    annotators, _, pairs, _, _ = agreement_figures(handle.task, records)
    sections = [_decided(pyplot, records),
                _annotators(pyplot, grouped_figures(records, "annotator")),
                _labels(pyplot, handle), _agreement(pyplot, pairs, annotators), _versions(pyplot, versions),
                _acceptance(pyplot, grouped_figures(records, "version")), _gold(pyplot, gold_figures(records)),
                _alarms(annotator_alarms(records)), _calibration(pyplot, versions),
                _forecast(pyplot, forecast)]
    pyplot.close("all")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise files.cannot_write(output, exc) from None
    images = []
    for section in sections:  # each file whole or not at all: a failed report leaves the last one's files
        if section.figure is not None:
            path = output / f"{section.key}.png"
            files.write_bytes(path, section.figure)
            images.append(path)
    page = output / PAGE
    files.write_text(page, _page(handle.name, handle.task.name, sections))
    return ReportFiles(page, images, sections)
