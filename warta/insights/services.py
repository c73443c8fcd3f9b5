"""What other apps (reports, api, blasts' console) ask the insights app.

Theory of operation: every function here reads the counter tables (``DailyCount``,
``TermCount``, ``UnitDayCount``, ``PollCount``), never the messages, so a month's figures cost a
few thousand rows whatever the traffic. Retired topics stay in the figures under their own name;
merged topics are folded into the topic they were merged into (``fold_merged``). Dates are WIB
calendar days, both ends included.

Public interface (documented in docs/insights.md)::

    figures(start, end, *, unit=None, topic=None, region=None) -> dict
    chart(name, fig, fmt="svg"|"png") -> bytes          # charts.CHARTS lists the names
    chart_table(name, fig) -> (header, rows)             # the numbers behind a chart
    poll_results(poll_or_blast) -> dict
    blast_impact(blast) -> dict
    classify(text) / classify_many(texts) -> list[Result]
    correct(classification, topic, *, actor)             # an analyst's one-click correction
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .models import (
    Classification,
    DailyCount,
    DailyRegionCount,
    DailyTopicCount,
    MonthRegionCount,
    MonthTermCount,
    Poll,
    PollCount,
    TermCount,
    Topic,
    UnitDayCount,
)

__all__ = ["blast_impact", "chart", "chart_table", "classify", "classify_many", "correct", "figures",
           "poll_results", "rising_topics"]


_REF_TTL = 30.0
_ref_cache: tuple[float, dict[str, Any]] | None = None


def reference() -> dict[str, Any]:
    """Topics, merges, regions and unit names, read once per ``_REF_TTL`` seconds per process: a
    page asks for them several times and they change rarely (a topic change clears it)."""
    global _ref_cache
    import time

    from warta.contacts.models import Region

    from .topics import effective_map

    now = time.monotonic()
    if _ref_cache is not None and now - _ref_cache[0] < _REF_TTL:
        return _ref_cache[1]
    regions = {pk: (code, name, level) for pk, code, name, level in
               Region.objects.values_list("pk", "code", "name", "level")}
    ref = {
        "topics": {t.pk: t for t in Topic.objects.all()},
        "effective": effective_map(),
        "regions": regions,
        "by_code": {code: pk for pk, (code, _n, _l) in regions.items()},
    }
    _ref_cache = (now, ref)
    return ref


def clear_reference() -> None:
    global _ref_cache
    _ref_cache = None


def topic_totals(start: date, end: date, *, unit: Any = None) -> dict[str, int]:
    """Messages per topic code (merged topics folded) in [start, end]: one GROUP BY."""
    ref = reference()
    qs = _daily(start, end, _unit_ids(unit), None, None)
    out: Counter[str] = Counter()
    for row in qs.values("topic_id").annotate(n=Sum("count")).order_by():
        t = ref["topics"].get(ref["effective"].get(row["topic_id"], row["topic_id"]))
        out[t.code if t else "?"] += row["n"]
    return dict(out)


def _month_end(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def spans(start: date, end: date) -> tuple[list[tuple[date, date]], list[date]]:
    """[start, end] as day ranges at its ends and whole calendar months in between (ranges under
    two months stay days: their daily rows are few)."""
    if (end - start).days < 62:
        return [(start, end)], []
    m = start if start.day == 1 else _month_end(start) + timedelta(days=1)
    months = []
    while _month_end(m) <= end:
        months.append(m)
        m = _month_end(m) + timedelta(days=1)
    if not months:
        return [(start, end)], []
    days = []
    if start < months[0]:
        days.append((start, months[0] - timedelta(days=1)))
    after = _month_end(months[-1]) + timedelta(days=1)
    if after <= end:
        days.append((after, end))
    return days, months


def _day_q(ranges: list[tuple[date, date]], field: str = "day") -> Any:
    from django.db.models import Q

    q = Q(pk__in=[])
    for a, b in ranges:
        q |= Q(**{f"{field}__gte": a, f"{field}__lte": b})
    return q


def _unit_ids(unit: Any) -> set[int] | None:
    if unit is None:
        return None
    if isinstance(unit, int):
        from warta.accounts.models import Unit

        unit = Unit.objects.get(pk=unit)
    return set(unit.descendant_ids())


def _region_ids(region: Any) -> set[int] | None:
    if region is None:
        return None
    from warta.contacts.models import Region

    if isinstance(region, int):
        region = Region.objects.get(pk=region)
    return set(region.subtree_ids())


def _daily(start: date, end: date, unit_ids: set[int] | None, topic_ids: set[int] | None,
           region_ids: set[int] | None, *, by_region: bool = False) -> Any:
    """The narrowest counter table that answers: the region roll-up for the regions' table when
    no topic is asked for, the topic roll-up when no region is, else the full cross."""
    if by_region and topic_ids is None:
        model: Any = DailyRegionCount
    elif region_ids is None and not by_region:
        model = DailyTopicCount
    else:
        model = DailyCount
    qs = model.objects.filter(day__gte=start, day__lte=end)
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    if topic_ids is not None:
        qs = qs.filter(topic_id__in=topic_ids)
    if region_ids is not None:
        qs = qs.filter(region_id__in=region_ids)
    return qs


def _topic_filter(topic: Any) -> set[int] | None:
    if topic is None:
        return None
    if isinstance(topic, str):
        topic = Topic.objects.get(code=topic)
    target = topic.pk if isinstance(topic, Topic) else int(topic)
    return {pk for pk, eff in reference()["effective"].items() if eff == target or pk == target}


def figures(start: date, end: date, *, unit: Any = None, topic: Any = None, region: Any = None) -> dict[str, Any]:
    """Everything the dashboards and the monthly report show for [start, end] (WIB days).

    ``unit`` (a Unit or its id) narrows to that unit's subtree — a liaison's slice; ``topic`` (a
    Topic, its id or code) and ``region`` (a Region or its id, with its subtree) narrow further.
    Returns plain data (JSON-serialisable apart from ``date`` keys turned to ISO strings)::

        {"start", "end", "total", "urgent",
         "by_day": [{"day": "2026-11-01", "count": n}, …]            # every day of the range
         "by_topic": [{"code", "name", "count", "retired"}, …]        # largest first
         "sentiment": {"positif": n, "netral": n, "negatif": n},
         "sentiment_by_day": [{"day", "positif", "netral", "negatif"}, …],
         "regions": [{"code", "name", "level", "count", "urgent"}, …] # kota and kecamatan
         "units": [{"unit_id", "name", "messages", "forwarded", "closed", "within_sla",
                    "sla_rate", "avg_response_hours", "avg_resolution_hours"}, …],
         "top_terms": [{"term", "count"}, …],
         "topics_by_day": {code: [n per day]}}
    """
    ref = reference()
    unit_ids = _unit_ids(unit)
    topic_ids = _topic_filter(topic)
    region_ids = _region_ids(region)
    qs = _daily(start, end, unit_ids, topic_ids, region_ids)
    eff = ref["effective"]
    topics = ref["topics"]
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    # One GROUP BY per dimension, in the database: a month is a few hundred thousand counter rows
    # at most, and PostgreSQL sums them on the (day, …) index faster than Python could fetch them.
    by_day: Counter[date] = Counter()
    sentiment: Counter[str] = Counter()
    sentiment_by_day: dict[date, Counter[str]] = defaultdict(Counter)
    urgent = 0
    for row in qs.values("day", "sentiment", "urgent").annotate(n=Sum("count")).order_by():
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"]))
        by_day[day] += row["n"]
        sentiment[row["sentiment"]] += row["n"]
        sentiment_by_day[day][row["sentiment"]] += row["n"]
        if row["urgent"]:
            urgent += row["n"]
    by_topic: Counter[int] = Counter()
    topics_by_day: dict[int, Counter[date]] = defaultdict(Counter)
    for row in qs.values("day", "topic_id").annotate(n=Sum("count")).order_by():
        t = eff.get(row["topic_id"], row["topic_id"])
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"]))
        by_topic[t] += row["n"]
        topics_by_day[t][day] += row["n"]
    by_region: Counter[int] = Counter()
    urgent_by_region: Counter[int] = Counter()
    day_ranges, months = spans(start, end)
    if topic_ids is None and months:
        # A long range: whole months from the monthly roll-up, the ends from the daily one.
        region_sets = [DailyRegionCount.objects.filter(_day_q(day_ranges)),
                       MonthRegionCount.objects.filter(month__in=months)]
        for i, rqs in enumerate(region_sets):
            if unit_ids is not None:
                rqs = rqs.filter(unit_id__in=unit_ids)
            if region_ids is not None:
                rqs = rqs.filter(region_id__in=region_ids)
            region_sets[i] = rqs
    else:
        region_sets = [_daily(start, end, unit_ids, topic_ids, region_ids, by_region=True)]
    for region_qs in region_sets:
        for row in region_qs.exclude(region_id=0).values("region_id", "urgent").annotate(n=Sum("count")).order_by():
            by_region[row["region_id"]] += row["n"]
            if row["urgent"]:
                urgent_by_region[row["region_id"]] += row["n"]
    by_unit: Counter[int] = Counter(
        {row["unit_id"]: row["n"] for row in qs.values("unit_id").annotate(n=Sum("count")).order_by()})
    topic_ids_seen = set(by_topic)

    # Regions roll up to kecamatan and kota by their Kemendagri code prefix.
    regions = {pk: (pk, *v) for pk, v in ref["regions"].items()}
    by_code = ref["by_code"]
    rolled: Counter[int] = Counter()
    rolled_urgent: Counter[int] = Counter()
    for rid, count in by_region.items():
        if rid not in regions:
            continue
        code = regions[rid][1]
        for prefix_len in (5, 8):  # "31.71", "31.71.01"
            pk = by_code.get(code[:prefix_len])
            if pk is not None and len(code) >= prefix_len:
                rolled[pk] += count
                rolled_urgent[pk] += urgent_by_region[rid]
    region_rows = sorted(
        ({"code": regions[pk][1], "name": regions[pk][2], "level": regions[pk][3], "count": n,
          "urgent": rolled_urgent[pk]} for pk, n in rolled.items()),
        key=lambda r: (-r["count"], r["code"]))

    from warta.accounts.models import Unit

    units = dict(Unit.objects.values_list("pk", "name"))  # not cached: units come and go more often
    outcome_qs = UnitDayCount.objects.filter(day__gte=start, day__lte=end)
    if unit_ids is not None:
        outcome_qs = outcome_qs.filter(unit_id__in=unit_ids)
    outcomes = outcome_qs.values("unit_id").annotate(
        forwarded=Sum("forwarded"), response=Sum("response_seconds"), closed=Sum("closed"),
        resolution=Sum("resolution_seconds"), within=Sum("within_sla"))
    unit_rows: dict[int, dict[str, Any]] = {}
    for o in outcomes:
        unit_rows[o["unit_id"]] = {
            "unit_id": o["unit_id"], "name": units.get(o["unit_id"], "Pusat SMS (belum diteruskan)"),
            "messages": by_unit.get(o["unit_id"], 0), "forwarded": o["forwarded"], "closed": o["closed"],
            "within_sla": o["within"],
            "sla_rate": round(o["within"] / o["closed"], 4) if o["closed"] else None,
            "avg_response_hours": round(o["response"] / o["forwarded"] / 3600, 2) if o["forwarded"] else None,
            "avg_resolution_hours": round(o["resolution"] / o["closed"] / 3600, 2) if o["closed"] else None,
        }
    for uid, n in by_unit.items():
        if uid not in unit_rows and uid:
            unit_rows[uid] = {"unit_id": uid, "name": units.get(uid, "?"), "messages": n, "forwarded": 0,
                              "closed": 0, "within_sla": 0, "sla_rate": None, "avg_response_hours": None,
                              "avg_resolution_hours": None}

    terms: Counter[str] = Counter()
    term_sets: list[Any] = [TermCount.objects.filter(_day_q(day_ranges))]
    if months:
        term_sets.append(MonthTermCount.objects.filter(month__in=months))
    for term_qs in term_sets:
        if topic_ids is not None:
            term_qs = term_qs.filter(topic_id__in=topic_ids)
        # Terms have no unit/region: a liaison's slice gets the terms of the topics in its slice.
        if unit_ids is not None or region_ids is not None:
            term_qs = term_qs.filter(topic_id__in=topic_ids_seen)
        for r in term_qs.values("term").annotate(n=Sum("count")).order_by("-n", "term")[:200]:
            terms[r["term"]] += r["n"]
    top_terms = [{"term": t, "count": n} for t, n in sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:20]]

    def topic_row(pk: int, count: int) -> dict[str, Any]:
        t = topics.get(pk)
        return {"code": t.code if t else "?", "name": t.name if t else "?", "count": count,
                "retired": bool(t and t.retired)}

    return {
        "start": start.isoformat(), "end": end.isoformat(),
        "total": sum(by_day.values()), "urgent": urgent,
        "by_day": [{"day": d.isoformat(), "count": by_day[d]} for d in days],
        "by_topic": [topic_row(pk, n) for pk, n in sorted(by_topic.items(), key=lambda kv: (-kv[1], kv[0]))],
        "sentiment": {s: sentiment.get(s, 0) for s in ("positif", "netral", "negatif")},
        "sentiment_by_day": [{"day": d.isoformat(), **{s: sentiment_by_day[d].get(s, 0)
                                                       for s in ("positif", "netral", "negatif")}} for d in days],
        "regions": region_rows,
        "units": sorted(unit_rows.values(), key=lambda r: (-r["messages"], r["name"])),
        "top_terms": top_terms,
        "topics_by_day": {topics[pk].code if pk in topics else str(pk): [c[d] for d in days]
                          for pk, c in topics_by_day.items()},
    }


def rising_topics(today: date, *, unit: Any = None) -> list[dict[str, Any]]:
    """This week (7 days to ``today``) against the weekly average of the four weeks before."""
    this = topic_totals(today - timedelta(days=6), today, unit=unit)
    before = topic_totals(today - timedelta(days=34), today - timedelta(days=7), unit=unit)
    names = {t.code: t.name for t in reference()["topics"].values()}
    out = []
    for code, n in this.items():
        base = before.get(code, 0) / 4
        out.append({"code": code, "name": names.get(code, code), "this_week": n, "weekly_avg": round(base, 1),
                    "change": round((n - base) / base, 3) if base else None})
    out.sort(key=lambda r: (-(r["change"] if r["change"] is not None else 99), -r["this_week"]))
    return out


def month_over_month(month_start: date, *, unit: Any = None) -> dict[str, Any]:
    """Totals per topic for the month starting ``month_start`` and the month before."""
    end = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    prev_end = month_start - timedelta(days=1)
    cur = topic_totals(month_start, end, unit=unit)
    prev = topic_totals(prev_end.replace(day=1), prev_end, unit=unit)
    names = {t.code: t.name for t in reference()["topics"].values()}
    rows = [{"code": c, "name": names.get(c, c), "this_month": n, "last_month": prev.get(c, 0)}
            for c, n in sorted(cur.items(), key=lambda kv: -kv[1])]
    urgent = _daily(month_start, end, _unit_ids(unit), None, None).filter(urgent=True).aggregate(n=Sum("count"))["n"]
    return {"total": sum(cur.values()), "last_total": sum(prev.values()), "urgent": urgent or 0, "topics": rows}


def chart(name: str, fig: dict[str, Any], fmt: str = "svg") -> bytes:
    """The named chart of ``figures()`` output as SVG or PNG bytes (``charts.CHARTS``)."""
    from . import charts

    return charts.render(name, fig, fmt)


def chart_table(name: str, fig: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The numbers behind a chart: (header, rows), for CSV/XLSX downloads."""
    from . import charts

    return charts.table(name, fig)


# ----------------------------------------------------------------------------- classification


def classify_many(texts: list[str]) -> list[Any]:
    """Classify texts with the active model (no database writes); ``classifier.Result`` each."""
    from . import engine

    return engine.get().classify_many(texts)


def classify(text: str) -> Any:
    return classify_many([text])[0]


def result_json(result: Any) -> dict[str, Any]:
    return asdict(result)


def correct(classification: Classification, topic: Topic, *, actor: Any) -> Classification:
    """An analyst's correction: the topic changes, the counters move, the next training uses it."""
    from warta.accounts import audit

    from . import counters

    with transaction.atomic():
        c = Classification.objects.select_for_update().get(pk=classification.pk)
        old = c.topic
        if old.pk == topic.pk:
            return c
        counters.move(c, topic)
        c.topic, c.corrected_by, c.corrected_at = topic, actor, timezone.now()
        c.save(update_fields=["topic", "corrected_by", "corrected_at"])
        if c.ticket_id is not None:
            from warta.inbox.models import Ticket

            Ticket.objects.filter(pk=c.ticket_id).update(topic=topic)
        audit.record("insights.classification.corrected", c, actor=actor,
                     changes={"topic": [old.code, topic.code], "message": c.message_id})
    return c


# ----------------------------------------------------------------------------- polls and blast impact


def poll_results(poll: Any) -> dict[str, Any]:
    """Live results of a poll (a Poll, its id, or the Blast it was sent as)::

        {"poll": id, "question", "state", "opens_at", "closes_at", "total",
         "options": [{"key", "label", "count", "share"}],
         "by_kota": [{"code", "name", "total", "options": {key: n}}],
         "by_kecamatan": [{"code", "name", "kota", "total", "options": {key: n}}],
         "unknown_region": n}
    """
    from warta.contacts.models import Region

    if not isinstance(poll, Poll):
        from warta.blasts.models import Blast

        poll = (Poll.objects.get(draft__blast=poll) if isinstance(poll, Blast) else Poll.objects.get(pk=int(poll)))
    counts = list(PollCount.objects.filter(poll=poll).values_list("option", "region_id", "count"))
    regions = {pk: (code, name) for pk, code, name in Region.objects.values_list("pk", "code", "name")}
    by_code = {code: (pk, name) for pk, (code, name) in regions.items()}
    options: Counter[str] = Counter()
    kota: dict[str, Counter[str]] = defaultdict(Counter)
    kec: dict[str, Counter[str]] = defaultdict(Counter)
    unknown = 0
    for option, region_id, n in counts:
        options[option] += n
        code = regions.get(region_id, ("", ""))[0]
        if len(code) >= 5:
            kota[code[:5]][option] += n
        if len(code) >= 8:
            kec[code[:8]][option] += n
        if not code:
            unknown += n
    total = sum(options.values())
    keys = [o["key"] for o in poll.options]

    def rows(groups: dict[str, Counter[str]], with_kota: bool) -> list[dict[str, Any]]:
        out = []
        for code, c in groups.items():
            row = {"code": code, "name": by_code.get(code, (0, code))[1], "total": sum(c.values()),
                   "options": {k: c.get(k, 0) for k in keys}}
            if with_kota:
                row["kota"] = by_code.get(code[:5], (0, ""))[1]
            out.append(row)
        return sorted(out, key=lambda r: (-r["total"], r["code"]))

    return {
        "poll": poll.pk, "question": poll.question, "state": poll.state,
        "opens_at": poll.opens_at.isoformat() if poll.opens_at else None,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "total": total,
        "options": [{"key": o["key"], "label": o.get("label", ""), "count": options.get(o["key"], 0),
                     "share": round(options.get(o["key"], 0) / total, 4) if total else 0.0} for o in poll.options],
        "by_kota": rows(kota, False), "by_kecamatan": rows(kec, True), "unknown_region": unknown,
    }


IMPACT_WINDOW = timedelta(hours=48)


def blast_impact(blast: Any, *, window: timedelta = IMPACT_WINDOW) -> dict[str, Any]:
    """Replies, opt-outs, new tickets and their topics in the ``window`` after a blast was
    released, against the same window before it::

        {"blast", "at", "window_hours",
         "after": {"replies", "optouts", "tickets", "topics": {code: n}},
         "before": {…same…}}
    """
    from . import impact

    return impact.blast_impact(blast, window=window)


def today_wib() -> date:
    from warta.inbox.sla import WIB

    return timezone.now().astimezone(WIB).date()


def wib_day(at: datetime) -> date:
    from warta.inbox.sla import WIB

    return at.astimezone(WIB).date()
