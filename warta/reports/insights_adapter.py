"""The one seam to the insights app (its figures, charts and poll results).

Theory of operation: the report's tables are computed from the inbox's rows by
``figures.inbound`` so every figure reconciles with raw data; the insights app provides what only
it has — the charts the dashboards draw (rendered by ``warta.insights.services.chart`` from its
counter rows, so the report shows *the same* pictures as the dashboards) and the poll results.
Every other module of the reports app reaches insights only through here; without insights the
report falls back on its own small SVG bar charts (``charts``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from .charts import bar_chart_svg

log = logging.getLogger("warta.reports")

#: The dashboard charts the report shows, in order (names of ``warta.insights.charts.CHARTS``).
DASHBOARD_CHARTS = ("volume", "topics", "sla")


def _services() -> Any:
    try:
        from warta.insights import services
    except ImportError:
        return None
    return services


def available() -> bool:
    return _services() is not None


def enrich(month: dt.date, inbound: dict[str, Any]) -> dict[str, Any]:
    """``inbound`` with what only insights knows: its figures' urgent count and top terms."""
    svc = _services()
    if svc is None:
        return inbound
    from .figures import next_month

    fig = svc.figures(month, next_month(month) - dt.timedelta(days=1))
    return {**inbound, "urgent": fig.get("urgent", 0), "top_terms": fig.get("top_terms", [])[:15],
            "insights_total": fig.get("total", 0)}


def dashboard_charts(fig: dict[str, Any]) -> list[str]:
    """The dashboards' charts, drawn by the insights app's renderer from *this report's* tables
    (so a chart never disagrees with the table beside it), as SVG text; empty without insights."""
    svc = _services()
    if svc is None:
        return []
    from .figures import bounds, parse_month

    inb = fig["inbound"]
    start, end = bounds(parse_month(fig["month"]))
    counts = {d["date"]: d["messages"] for d in inb["by_day"]}
    days = [(start + dt.timedelta(days=i)).date().isoformat() for i in range((end - start).days)]
    shaped = {
        "by_day": [{"day": d, "count": counts.get(d, 0)} for d in days],
        "by_topic": [{"code": t["topic"], "name": t["label"], "count": t["tickets"], "retired": t.get("retired", False)}
                     for t in inb["by_topic"]],
        "units": [{"name": r["unit"], "sla_rate": r["compliance_pct"] / 100 if r["compliance_pct"] is not None else None}
                  for r in inb["sla_by_unit"]],
    }
    out = []
    for name in DASHBOARD_CHARTS:
        try:
            out.append(svc.chart(name, shaped, "svg").decode())
        except Exception:  # noqa: BLE001 - a chart that fails to draw must not stop the report
            log.exception("insights chart %s failed", name)
    return out


def polls(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    svc = _services()
    if svc is None:
        return []
    from warta.insights.models import Poll

    out = []
    for poll in Poll.objects.filter(opens_at__gte=start, opens_at__lt=end).order_by("opens_at"):
        r = svc.poll_results(poll)
        out.append({"name": r["question"], "total": r["total"],
                    "options": [{"label": o["label"] or o["key"], "votes": o["count"]} for o in r["options"]],
                    "by_kota": [{"name": k["name"], "total": k["total"]} for k in r["by_kota"]]})
    return out


def blast_topics(texts: list[str]) -> list[str]:
    """The topic (its name) of each blast's text by the insights classifier; blanks without it."""
    svc = _services()
    if svc is None or not texts:
        return [""] * len(texts)
    from warta.insights.models import Topic

    names = dict(Topic.objects.values_list("code", "name"))
    try:
        results = svc.classify_many(texts)
    except Exception:  # noqa: BLE001 - no trained model yet: the column stays empty, the report goes on
        log.exception("blast topic classification failed")
        return [""] * len(texts)
    return [names.get(r.topic, r.topic) for r in results]


def chart_svg(kind: str, rows: list[tuple[str, float]], title: str) -> str:
    """A chart of the report's own tables (outbound side) as SVG text."""
    return bar_chart_svg(rows, title)
