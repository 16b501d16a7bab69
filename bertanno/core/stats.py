"""Whether the model in the loop helps: ``bertanno stats`` from the decision records.

Every figure comes from the standing human decisions (``store.annotations.decision_records``): acceptance and
the edit mix per model version (or annotator, label, day), seconds per item with and without a pre-annotation,
items per hour, the corrections the model needs most, and the blind controls (items served without a
pre-annotation, ``init --blind-share``): time saved per item (median, pre-annotated against blind, with a
percentile-bootstrap 95 % interval; Efron & Tibshirani 1993, ch. 13) and anchoring (how often the final decision
equals the model's prediction when it was shown, against when it was hidden; Berzak et al., EMNLP 2016, and
South et al., J Biomed Inform 2014, on people anchoring on what a tool shows them). A figure from fewer than
``MIN_ITEMS`` items is reported as too few to judge.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from bertanno.core.bundle import record_family_name
from bertanno.core.calibration import Calibration
from bertanno.core.filters import matching_items
from bertanno.core.gate import CONFIDENCE, percentile_interval
from bertanno.core.plugins import Plugins
from bertanno.core.project import open_project
from bertanno.errors import BertannoError
from bertanno.plugins.task import headline_scores
from bertanno.store import Store
from bertanno.store.annotations import decision_records, gold_payloads
from bertanno.store.autopilot import auto_decided_count
from bertanno.store.autopilot import runs as autopilot_runs
from bertanno.store.items import count_items
from bertanno.store.predictions import undecided_predictions, version_details
from bertanno.store.versions import champion, list_versions
from bertanno.store.versions import runs as training_runs

MIN_ITEMS = 20
"""Items each side needs before a comparison (time saved, anchoring) is judged."""
BOOTSTRAP_SAMPLES = 2000
GROUPINGS = ("version", "annotator", "label", "day")
EDIT_COUNTS = ("label changed", "added", "removed", "boundary moved", "type changed", "relation added",
               "relation removed", "relation type changed")


KINDS = ("accepted", "corrected", "labelled", "rejected", "skipped")
"""What a decision did, as every view counts it (``Annotation.edit["kind"]``): the pre-annotation accepted
unchanged, corrected, an item labelled with nothing shown, rejected, skipped."""
SYMBOLS = {"accepted": "✓", "corrected": "✎", "labelled": "+", "rejected": "✗", "skipped": "↷"}


def decision_kind(edit: dict | None) -> str:
    """The kind (``KINDS``) of a decision from its recorded edit; ``unrecorded`` for one without (an import)."""
    return (edit or {}).get("kind", "unrecorded")


def decided(records: list[dict]) -> list[dict]:
    """The records that decide an item: every decision but a skip. The one count of "decisions" every view
    shows (``stats``, the report's timeline and tables, the annotation screen's header)."""
    return [record for record in records if record["decision"] != "skip"]


def counts_line(kinds: dict) -> str:
    """``✓3 ✎2 ✗0 ↷1`` (and ``+4`` when items were labelled with nothing shown): ``kinds`` by ``KINDS``."""
    line = " ".join(f"{SYMBOLS[kind]}{kinds.get(kind, 0)}" for kind in ("accepted", "corrected", "rejected", "skipped"))
    return line + (f" +{kinds['labelled']}" if kinds.get("labelled") else "")


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def _group_key(record: dict, by: str) -> str:
    if by == "version":
        return record["shown_version"] or ("(blind)" if record["blind"] else "(nothing shown)")
    if by == "annotator":
        return record["annotator"]
    if by == "day":
        return record["created_at"].date().isoformat()
    payload = record["payload"]
    return payload if isinstance(payload, str) else "(no single label)" if payload is None else "(spans or labels)"


def median_difference_interval(a: list[float], b: list[float], samples: int = BOOTSTRAP_SAMPLES,
                               seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval (the gate's ``CONFIDENCE``, 95 %) of ``median(a) - median(b)``: both groups
    resampled with replacement ``samples`` times (numpy, seeded), the 2.5th and 97.5th percentiles of the
    differences."""
    import numpy as np

    generator = np.random.default_rng(seed)
    left, right = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    differences = (np.median(generator.choice(left, (samples, len(left))), axis=1)
                   - np.median(generator.choice(right, (samples, len(right))), axis=1))
    return percentile_interval(differences, CONFIDENCE)


def group_figures(records: list[dict]) -> dict:
    """Counts of each kind of decision, acceptance rate (accepted unchanged of all shown pre-annotations that were
    accepted or corrected), the summed edit counts, median seconds and keystrokes per item, items per hour of
    active time."""
    kinds = Counter(decision_kind(r["edit"]) for r in records)
    shown = kinds["accepted"] + kinds["corrected"]
    edits = Counter()
    for record in records:
        edits.update({k: v for k, v in (record["edit"] or {}).items() if k in EDIT_COUNTS})
    seconds = [r["active_ms"] / 1000 for r in records if r["active_ms"] is not None]
    keys = [r["keystrokes"] for r in records if r["keystrokes"] is not None]
    figures = {"decisions": len(decided(records)), **{kind: kinds[kind] for kind in KINDS},
               "acceptance_rate": kinds["accepted"] / shown if shown else None, "edits": dict(edits),
               "median_seconds": _median(seconds), "keystrokes_per_item": sum(keys) / len(keys) if keys else None,
               "items_per_hour": len(seconds) / (sum(seconds) / 3600) if seconds and sum(seconds) > 0 else None}
    said = [r["predicted_details"] for r in decided(records) if r.get("predicted_details")]
    if said:
        figures["llm"] = details_figures(said)
    return figures


def details_figures(details: list[dict]) -> dict:
    """What an LLM's predictions cost and how often they named what was not there, from their stored ``details``
    (``Prediction.details``): ``predictions``; ``tokens_in`` and ``tokens_out`` spent (an answer from the cache
    costs none); ``tokens_per_prediction``, what answering one item takes, cached or not; ``named`` and
    ``dropped`` entities and relations, ``hallucinated_share`` (dropped of named; ``None`` when none were named,
    as for label tasks); ``unanswered`` and ``with_reason``."""
    paid = [d for d in details if not d.get("cached")]
    named = sum(int(d.get("named") or 0) for d in details)
    dropped = sum(int(d.get("dropped") or 0) for d in details)
    asked = sum(int(d.get("tokens_in") or 0) + int(d.get("tokens_out") or 0) for d in details)
    return {"predictions": len(details), "tokens_in": sum(int(d.get("tokens_in") or 0) for d in paid),
            "tokens_out": sum(int(d.get("tokens_out") or 0) for d in paid),
            "tokens_per_prediction": asked / len(details), "named": named, "dropped": dropped,
            "hallucinated_share": dropped / named if named else None,
            "unanswered": sum(bool(d.get("unanswered")) for d in details),
            "with_reason": sum(bool(d.get("reason")) for d in details)}


def grouped_figures(records: list[dict], by: str) -> dict[str, dict]:
    """``group_figures`` of the records grouped ``by`` version shown, annotator, label or day."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[_group_key(record, by)].append(record)
    return {key: group_figures(rows) for key, rows in groups.items()}


def blind_figures(records: list[dict]) -> dict:
    """Pre-annotated against blind items: time saved per item and anchoring, judged when each side has
    ``MIN_ITEMS``. Skips and items the model never predicted are left out."""
    decided = [r for r in records if r["decision"] != "skip" and r["active_ms"] is not None]
    shown = [r for r in decided if r["shown_version"] is not None and not r["blind"]]
    blind = [r for r in decided if r["blind"]]
    result: dict = {"items_shown": len(shown), "items_blind": len(blind), "min_items": MIN_ITEMS}
    if len(shown) < MIN_ITEMS or len(blind) < MIN_ITEMS:
        result["judged"] = False
        result["note"] = (f"too few to judge: {len(shown)} pre-annotated and {len(blind)} blind items "
                          f"(each side needs {MIN_ITEMS}; init --blind-share serves blind items)")
        return result
    shown_seconds = [r["active_ms"] / 1000 for r in shown]
    blind_seconds = [r["active_ms"] / 1000 for r in blind]
    low, high = median_difference_interval(blind_seconds, shown_seconds)
    with_prediction = [r for r in blind if r["predicted"] is not None]
    result.update({
        "judged": True, "median_seconds_shown": _median(shown_seconds), "median_seconds_blind": _median(blind_seconds),
        "time_saved_seconds": _median(blind_seconds) - _median(shown_seconds), "time_saved_ci95": [low, high],
        "agreement_shown": sum(_same(r["payload"], r["predicted"]) for r in shown) / len(shown),
        "agreement_blind": (sum(_same(r["payload"], r["predicted"]) for r in with_prediction) / len(with_prediction)
                            if with_prediction else None),
    })
    return result


FAST_ACCEPT_SECONDS = 0.5
"""An annotator whose median active time before accepting a pre-annotation is under this is flagged."""
MIN_ACCEPTS = 10
"""Accepts an annotator needs before their pace is judged."""
MIN_GOLD = 10
"""Gold checks an annotator needs on each side (accepted, their own label) before the two are compared."""
ANCHORING_MARGIN = 0.1
"""How much more often an annotator must accept a shown pre-annotation than they agree with a hidden one (blind
controls), at the lower end of a one-sided 95 % interval, to be flagged."""


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % for ``z`` 1.96): E. B. Wilson, "Probable inference, the law of
    succession, and statistical inference", *JASA* 22(158):209–212, 1927. ``(0, 1)`` for no trials."""
    if not trials:
        return 0.0, 1.0
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * ((share * (1 - share) / trials + z * z / (4 * trials * trials)) ** 0.5) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def gold_checks(records: list[dict]) -> list[dict]:
    """The decisions made on gold items served as checks (``gold_check``), skips left out; each record must carry
    ``gold``, the item's gold payload (``project_stats`` adds it)."""
    return [r for r in records if r.get("gold_check") and r["decision"] != "skip" and "gold" in r]


def gold_figures(records: list[dict]) -> list[dict]:
    """Per annotator with gold checks (``gold_checks``): ``checks``, ``agreeing`` (their decision is the gold one
    exactly; a reject never is), ``agreement`` with its Wilson 95 % interval (``ci95``), and ``by_week``: per ISO
    week ``[agreeing, checks]``, oldest first: how each one's agreement with gold moves over time."""
    rows: dict[str, dict] = {}
    for record in gold_checks(records):
        row = rows.setdefault(record["annotator"], {"annotator": record["annotator"], "checks": 0, "agreeing": 0,
                                                    "by_week": {}})
        right = record["decision"] != "reject" and _same(record["payload"], record["gold"])
        row["checks"] += 1
        row["agreeing"] += right
        year, week, _ = record["created_at"].isocalendar()
        tally = row["by_week"].setdefault(f"{year}-W{week:02d}", [0, 0])
        tally[0] += right
        tally[1] += 1
    for row in rows.values():
        row["agreement"] = row["agreeing"] / row["checks"]
        row["ci95"] = list(wilson_interval(row["agreeing"], row["checks"]))
    return [rows[name] for name in sorted(rows)]


def _clearly_above(first: float, first_n: int, second: float, second_n: int, margin: float) -> bool:
    """Whether proportion ``first`` (of ``first_n``) exceeds ``second`` (of ``second_n``) by more than ``margin`` at
    the lower end of a one-sided 95 % Wald interval of their difference."""
    spread = (first * (1 - first) / first_n + second * (1 - second) / second_n) ** 0.5
    return first - second - 1.645 * spread > margin


def annotator_alarms(records: list[dict], fast_accept: float = FAST_ACCEPT_SECONDS) -> list[dict]:
    """The rubber-stamp check, per annotator who accepted pre-annotations: ``accepts`` and their median active
    seconds (``median_accept_seconds``); on shown items, how often the pre-annotation was accepted unchanged
    (``acceptance_shown`` of ``shown``); on blind controls, how often their own label matched the prediction hidden
    from them (``agreement_blind`` of ``blind``); and ``flags``: ``fast`` when the median accept takes under
    ``fast_accept`` seconds (from ``MIN_ACCEPTS`` accepts), ``anchored`` when they accept what is shown more often
    than they agree with it unseen, by more than ``ANCHORING_MARGIN`` at the lower end of a one-sided 95 %
    interval (Wald, from ``MIN_ITEMS`` items a side): the pre-annotation sways them; and on gold checks
    (``gold_checks``), ``accepts_wrong`` when the pre-annotations they accepted agree with gold less often than
    the labels they gave themselves, by more than ``ANCHORING_MARGIN`` at the lower end of a one-sided 95 %
    interval (from ``MIN_GOLD`` a side). ``reasons`` says each flag in words."""
    rows = []
    by_person: dict[str, list[dict]] = defaultdict(list)
    for record in decided(records):
        by_person[record["annotator"]].append(record)
    for person, own in sorted(by_person.items()):
        accepts = [r["active_ms"] / 1000 for r in own if decision_kind(r["edit"]) == "accepted"
                   and r["active_ms"] is not None]
        shown = [r for r in own if decision_kind(r["edit"]) in ("accepted", "corrected") and not r["blind"]]
        blind = [r for r in own if r["blind"] and r["predicted"] is not None and r["decision"] in ("accept", "correct")]
        accepted_share = sum(decision_kind(r["edit"]) == "accepted" for r in shown) / len(shown) if shown else None
        agreeing_share = sum(_same(r["payload"], r["predicted"]) for r in blind) / len(blind) if blind else None
        row = {"annotator": person, "accepts": len(accepts), "median_accept_seconds": _median(accepts),
               "shown": len(shown), "acceptance_shown": accepted_share, "blind": len(blind),
               "agreement_blind": agreeing_share, "flags": [], "reasons": []}
        if len(accepts) >= MIN_ACCEPTS and row["median_accept_seconds"] < fast_accept:
            row["flags"].append("fast")
            row["reasons"].append(f"accepts in a median {row['median_accept_seconds']:.2f} s (under {fast_accept:g} s)")
        if len(shown) >= MIN_ITEMS and len(blind) >= MIN_ITEMS:
            row["anchoring_gap"] = accepted_share - agreeing_share
            if _clearly_above(accepted_share, len(shown), agreeing_share, len(blind), ANCHORING_MARGIN):
                row["flags"].append("anchored")
                row["reasons"].append(f"accepts {accepted_share:.0%} of shown pre-annotations but agrees with "
                                      f"{agreeing_share:.0%} of hidden ones (blind controls)")
        checked = [r for r in gold_checks(own) if r["decision"] != "reject"]
        accepted = [_same(r["payload"], r["gold"]) for r in checked if decision_kind(r["edit"]) == "accepted"]
        given = [_same(r["payload"], r["gold"]) for r in checked if decision_kind(r["edit"]) in ("corrected",
                                                                                                 "labelled")]
        if len(accepted) >= MIN_GOLD and len(given) >= MIN_GOLD:
            right_accepted, right_given = sum(accepted) / len(accepted), sum(given) / len(given)
            row["gold_accepted"], row["gold_given"] = right_accepted, right_given
            if _clearly_above(right_given, len(given), right_accepted, len(accepted), ANCHORING_MARGIN):
                row["flags"].append("accepts_wrong")
                row["reasons"].append(f"on gold checks, what they accept is right {right_accepted:.0%} of the time, "
                                      f"what they give themselves {right_given:.0%}")
        rows.append(row)
    return rows


def with_gold(session, project_id: int, records: list[dict]) -> list[dict]:
    """Add to each gold check of ``records`` (``gold_check``) its item's gold payload, ``gold`` (the import that
    settles it: ``store.annotations.gold_payloads``); returns ``records``."""
    checked = sorted({r["item_id"] for r in records if r.get("gold_check")})
    gold = gold_payloads(session, project_id, checked) if checked else {}
    for record in records:
        if record.get("gold_check") and record["item_id"] in gold:
            record["gold"] = gold[record["item_id"]]
    return records


def project_stats(store: Store, project: str, by: str = "version", plugins: Plugins | None = None,
                  fast_accept: float = FAST_ACCEPT_SECONDS, where: str | None = None, forecast: bool = False,
                  target: float | None = None, autopilot_target: float = 0.97) -> dict:
    """All of ``bertanno stats``: ``groups`` (by ``version``, ``annotator``, ``label`` or ``day``), ``seconds per
    item`` with and without a pre-annotation, ``corrected_most`` (model label -> person's label, label tasks),
    ``blind``, ``alarms`` (``annotator_alarms`` with ``fast_accept``), ``gold`` (``gold_figures``); with
    ``where``, of the decisions on the items that meet that filter (``core.filters``); ``llm_versions`` (per
    version whose predictions carry details: ``details_figures`` of all its stored predictions, decided or not);
    ``calibration`` (the champion's, ``calibration_summary``); ``autopilot`` (``autopilot_figures``); with
    ``forecast``, ``forecast`` (``project_forecast`` toward ``target``, autopilot today at ``autopilot_target``).
    Raises ``BertannoError`` for an unknown project or grouping (a project without decisions gives zero counts
    and a note)."""
    if by not in GROUPINGS:
        raise BertannoError(f"--by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    handle = open_project(store, project, plugins)
    chosen = matching_items(handle, where)
    with store.transaction() as session:
        records = decision_records(session, handle.id)
        if chosen is not None:  # --where: the decisions on those items only
            kept = set(chosen)
            records = [r for r in records if r["item_id"] in kept]
        spent = {version: details_figures(details)
                 for version, details in version_details(session, handle.id).items()}
        with_gold(session, handle.id, records)
        reigning = champion(session, handle.id)
        calibration = calibration_summary(reigning.name, reigning.calibration) if reigning else None
        from bertanno.core.autopilot import audit_state  # it reads wilson_interval from here
        audits = [audit_state(session, run) for run in autopilot_runs(session, handle.id)]
        auto_labelled = auto_decided_count(session, handle.id)
        items = count_items(session, handle.id)
        with_help, without = item_seconds(records)
        blind = blind_figures(records)
        seconds = record_seconds(records, blind)
        forecasted = (project_forecast(session, handle.id, reigning, seconds, target, autopilot_target)
                      if forecast else None)
    confusion = Counter((r["predicted"], r["payload"]) for r in records
                        if decision_kind(r["edit"]) == "corrected" and isinstance(r["predicted"], str)
                        and isinstance(r["payload"], str))
    figures_of_autopilot = autopilot_figures(audits, auto_labelled, items, seconds)
    return {"project": handle.name, "task": handle.task.name, "by": by, "decisions": len(decided(records)),
            "note": None if records else "no decisions yet: annotate first (bertanno annotate)",
            "overall": group_figures(records), "groups": grouped_figures(records, by),
            "seconds_per_item": {"with_pre_annotation": _median(with_help), "items_with": len(with_help),
                                 "without_pre_annotation": _median(without), "items_without": len(without)},
            "corrected_most": [{"model": model, "person": person, "count": count}
                               for (model, person), count in confusion.most_common(10)],
            "blind": blind, "llm_versions": spent,
            "alarms": annotator_alarms(records, fast_accept), "gold": gold_figures(records),
            "calibration": calibration,
            "autopilot": figures_of_autopilot,
            "forecast": forecasted}


def item_seconds(records: list[dict]) -> tuple[list[float], list[float]]:
    """Active seconds of the decisions made with a pre-annotation shown, and of those made without one (skips
    left out)."""
    with_help = [r["active_ms"] / 1000 for r in records if r["shown_version"] and r["active_ms"] is not None]
    without = [r["active_ms"] / 1000 for r in records if not r["shown_version"] and r["active_ms"] is not None
               and r["decision"] != "skip"]
    return with_help, without


def project_forecast(session, project_id: int, reigning, seconds: tuple, target: float | None = None,
                     autopilot_target: float = 0.97) -> dict | None:
    """``forecast_figures`` of the project's champion ``reigning`` (``None`` without one), in the caller's
    transaction: its family's gate history and its stored predictions of the undecided items."""
    if reigning is None:
        return forecast_figures([], target, None, None, autopilot_target, seconds)
    confident = (np.array([row[2] for row in undecided_predictions(session, project_id, reigning.name)])
                 if reigning.calibration else None)
    return forecast_figures(learning_points(session, project_id, reigning), target, reigning, confident,
                            autopilot_target, seconds)


def record_seconds(records: list[dict], blind: dict | None = None) -> tuple[float | None, str | None]:
    """What a person spends on an item, for the hours autopilot saves and a forecast costs: the blind controls'
    median without a pre-annotation when measured (``blind``: their ``blind_figures``, computed when not given),
    else the median of decisions made without one, else with one; and which it is. ``(None, None)`` without
    decisions."""
    blind = blind_figures(records) if blind is None else blind
    with_help, without = item_seconds(records)
    measures = ((blind.get("median_seconds_blind") if blind.get("judged") else None, "blind controls"),
                (_median(without), "decisions without a pre-annotation"),
                (_median(with_help), "decisions with a pre-annotation"))
    return next(((value, name) for value, name in measures if value is not None), (None, None))


def autopilot_figures(audits: list, auto_labelled: int, items: int, seconds: tuple) -> dict | None:
    """What autopilot did (``None`` before its first run): ``runs`` (each run's audit, ``core.autopilot``),
    ``labelled`` items standing on auto labels and their ``share`` of the project's items, the
    ``seconds_per_item`` a person would have spent on each (``record_seconds``; ``seconds_from`` says which
    measure) and the ``hours_saved``."""
    if not audits:
        return None
    per_item, source = seconds
    return {"runs": [state.to_json() for state in audits], "labelled": auto_labelled,
            "share": auto_labelled / items if items else 0.0, "seconds_per_item": per_item, "seconds_from": source,
            "hours_saved": None if per_item is None else auto_labelled * per_item / 3600}


def learning_points(session, project_id: int, reigning) -> list[tuple[int, float, str]]:
    """The gate's history for the champion's family: ``(decisions trained on, headline score, version)`` of each
    training run that made a version of that family, oldest first."""
    family = record_family_name(reigning.training_snapshot)
    versions = {v.id: v for v in list_versions(session, project_id)}
    points = []
    for run in training_runs(session, project_id):
        version = versions.get(run.candidate_id)
        scores = headline_scores(run.metrics)
        if version is None or not scores or record_family_name(version.training_snapshot) != family:
            continue
        points.append((int((run.counts or {}).get("train", 0)), float(next(iter(scores.values()))), version.name))
    return [p for p in points if p[0] > 0]


def forecast_figures(history: list, target: float | None, reigning, confident, autopilot_target: float,
                     seconds: tuple) -> dict:
    """``stats --forecast``: the learning curve fitted to ``history`` (``core.forecast``), the score now and
    projected at twice and four times the decisions, the decisions (and person-hours at ``seconds``) that
    ``target`` needs with their 95 % interval, and how many undecided items autopilot could take today at
    ``autopilot_target`` (from the champion's stored predictions, ``confident``); ``band``: the curve and its
    95 % interval on a grid up to four times the decisions, for a plot; ``note`` says what is missing."""
    from bertanno.core.autopilot import choose_cut
    from bertanno.core.calibration import item_calibration
    from bertanno.core.forecast import MIN_POINTS, fit_learning_curve

    per_item, source = seconds
    result: dict = {"points": [list(p) for p in history], "target": target, "seconds_per_item": per_item,
                    "seconds_from": source, "assumptions": (
                        "the champion's family keeps training on items like those decided so far; the evaluation "
                        "split's score stands for the truth; the fitted form a - b·n^-c (Figueroa et al. 2012)")}
    if confident is not None and len(confident):
        cut = choose_cut(item_calibration(reigning.calibration), confident, autopilot_target, 1.0)
        result["autopilot_today"] = {"target": autopilot_target, "items": cut.size, "undecided": len(confident),
                                     "threshold": cut.threshold}
    curve = fit_learning_curve([p[0] for p in history], [p[1] for p in history])
    if curve is None:
        result["note"] = (f"a forecast needs {MIN_POINTS} trained versions of the champion's family at different "
                          f"numbers of decisions; there are {len({p[0] for p in history})}")
        return result
    now = max(p[0] for p in history)
    result["curve"] = {"a": curve.a, "b": curve.b, "c": curve.c, "refits": len(curve.refits)}
    result["projected"] = [{"decisions": n, "score": float(curve.score(n)), "interval": list(curve.score_interval(n))}
                           for n in (now, 2 * now, 4 * now)]
    grid = np.geomspace(min(p[0] for p in history), 4 * now, 24)
    result["band"] = [[float(n), float(curve.score(n)), *curve.score_interval(n)] for n in grid]
    if target is not None:
        needed, low, high = curve.decisions_for(target)
        more = [None if math.isinf(v) else max(0, math.ceil(v - now)) for v in (needed, low, high)]
        result["needed"] = {"decisions": None if math.isinf(needed) else math.ceil(needed), "more": more[0],
                            "more_interval": more[1:], "hours": None if more[0] is None or per_item is None
                            else more[0] * per_item / 3600}
    return result


def calibration_summary(version: str, maps: dict | None) -> dict | None:
    """A version's stored calibration (``ModelVersion.calibration``) as ``stats`` and ``versions`` show it:
    ``{"version", "levels": {level: {"method", "units", "ece_raw", "ece", "evaluation_items", "line",
    "reliability"}}}``; ``None`` when it has none."""
    if not maps:
        return None
    levels = {}
    for level, data in maps.items():
        fitted = Calibration.from_json(data)
        levels[level] = {"method": fitted.method, "units": fitted.units, "ece_raw": fitted.ece_raw, "ece": fitted.ece,
                         "evaluation_items": fitted.evaluation_items, "line": fitted.describe(),
                         "reliability": fitted.reliability}
    return {"version": version, "levels": levels}
