"""Charts of ``services.figures()`` output, rendered on the server with matplotlib (Agg).

Theory of operation: a chart is a pure function of the figures dict, so the dashboard, the
downloads and the monthly report's PDF draw the same picture from the same numbers, and each
chart's numbers are offered as a table (``table``) for CSV/XLSX. matplotlib draws both SVG (sharp
on screen and in a PDF) and PNG; see docs/decisions/matplotlib.md. Rendering costs 30–80 ms, so
the dashboard caches a chart's bytes for a minute under the hash of its figures.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable
from typing import Any

CHARTS: dict[str, str] = {
    "volume": "Volume pesan per hari",
    "topics": "Pesan per topik",
    "sentiment": "Tren sentimen",
    "regions": "Wilayah (kecamatan) terbanyak",
    "sla": "Kepatuhan SLA per unit",
    "response": "Waktu respons dan penyelesaian per unit (jam)",
    "terms": "Kata teratas",
}
_COLORS = {"positif": "#2e7d32", "netral": "#9e9e9e", "negatif": "#c62828"}
_lock = threading.Lock()  # pyplot's state is global; the object API below avoids it, Agg is not re-entrant


def _figure(width: float = 8.0, height: float = 3.2) -> Any:
    # No layout engine (constrained layout doubles the drawing time): fixed margins per chart.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


_MARGINS = {"bars": {"left": 0.3, "right": 0.95, "top": 0.88, "bottom": 0.08},
            "time": {"left": 0.07, "right": 0.98, "top": 0.86, "bottom": 0.14}}


def _bars(ax: Any, labels: list[str], values: list[float], color: str = "#1565c0") -> None:
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, values, color=color)
    ax.set_yticks(ys, labels=labels, fontsize=8)
    for y, v in zip(ys, values, strict=True):
        ax.text(v, y, f" {v:g}", va="center", fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def _volume(f: dict[str, Any], fig: Any) -> None:
    ax = fig.add_subplot()
    days = [d["day"][5:] for d in f["by_day"]]
    values = [d["count"] for d in f["by_day"]]
    if len(days) > 62:  # a long range: one area, not hundreds of bars
        ax.fill_between(range(len(days)), values, color="#1565c0", linewidth=0)
    else:
        ax.bar(range(len(days)), values, color="#1565c0")
    step = max(1, len(days) // 12)
    ax.set_xticks(range(0, len(days), step), labels=days[::step], fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def _topics(f: dict[str, Any], fig: Any) -> None:
    rows = f["by_topic"][:16]
    _bars(fig.add_subplot(), [r["name"][:28] for r in rows], [r["count"] for r in rows])


def _sentiment(f: dict[str, Any], fig: Any) -> None:
    ax = fig.add_subplot()
    days = [d["day"][5:] for d in f["sentiment_by_day"]]
    order = ("negatif", "netral", "positif")
    if days:  # stacked areas: three polygons, whatever the range
        ax.stackplot(range(len(days)), *[[d[s] for d in f["sentiment_by_day"]] for s in order],
                     colors=[_COLORS[s] for s in order], labels=list(order), linewidth=0)
    step = max(1, len(days) // 12)
    ax.set_xticks(range(0, len(days), step), labels=days[::step], fontsize=7)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _regions(f: dict[str, Any], fig: Any) -> None:
    rows = [r for r in f["regions"] if r["level"] == "kecamatan"][:15]
    _bars(fig.add_subplot(), [r["name"] for r in rows], [r["count"] for r in rows], "#6a1b9a")


def _sla(f: dict[str, Any], fig: Any) -> None:
    rows = [r for r in f["units"] if r["sla_rate"] is not None][:15]
    ax = fig.add_subplot()
    _bars(ax, [r["name"][:30] for r in rows], [round(100 * r["sla_rate"], 1) for r in rows], "#00838f")
    ax.set_xlim(0, 110)


def _response(f: dict[str, Any], fig: Any) -> None:
    rows = [r for r in f["units"] if r["avg_resolution_hours"] is not None or r["avg_response_hours"] is not None][:12]
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    ax.barh([y + 0.2 for y in ys], [r["avg_response_hours"] or 0 for r in rows], height=0.4, color="#ef6c00",
            label="respons")
    ax.barh([y - 0.2 for y in ys], [r["avg_resolution_hours"] or 0 for r in rows], height=0.4, color="#2e7d32",
            label="penyelesaian")
    ax.set_yticks(ys, labels=[r["name"][:30] for r in rows], fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _terms(f: dict[str, Any], fig: Any) -> None:
    rows = f["top_terms"][:15]
    _bars(fig.add_subplot(), [r["term"] for r in rows], [r["count"] for r in rows], "#455a64")


_DRAW: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "volume": _volume, "topics": _topics, "sentiment": _sentiment, "regions": _regions, "sla": _sla,
    "response": _response, "terms": _terms,
}


def render(name: str, f: dict[str, Any], fmt: str = "svg") -> bytes:
    """SVG or PNG bytes of chart ``name``; an empty range draws an empty frame, never fails."""
    if name not in _DRAW:
        raise KeyError(name)
    if fmt not in ("svg", "png"):
        raise ValueError(fmt)
    key = hashlib.sha256(json.dumps([name, fmt, f], sort_keys=True, default=str).encode()).hexdigest()
    from django.core.cache import cache

    hit = cache.get(f"insights-chart:{key}")
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    import matplotlib

    timeline = name in ("volume", "sentiment")
    with _lock, matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text: smaller, faster SVG
        fig = _figure(8.0, 3.2 if timeline else 4.2)
        fig.subplots_adjust(**_MARGINS["time" if timeline else "bars"])
        fig.suptitle(CHARTS[name], fontsize=10)
        _DRAW[name](f, fig)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    data = buf.getvalue()
    cache.set(f"insights-chart:{key}", data, 60)
    return data


def table(name: str, f: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The numbers behind chart ``name``."""
    if name == "volume":
        return ["tanggal", "pesan"], [[d["day"], d["count"]] for d in f["by_day"]]
    if name == "topics":
        return ["kode", "topik", "pesan"], [[r["code"], r["name"], r["count"]] for r in f["by_topic"]]
    if name == "sentiment":
        return ["tanggal", "positif", "netral", "negatif"], [
            [d["day"], d["positif"], d["netral"], d["negatif"]] for d in f["sentiment_by_day"]]
    if name == "regions":
        return ["kode", "wilayah", "tingkat", "pesan", "darurat"], [
            [r["code"], r["name"], r["level"], r["count"], r["urgent"]] for r in f["regions"]]
    if name in ("sla", "response"):
        return ["unit", "pesan", "diteruskan", "selesai", "tepat SLA", "% SLA", "respons (jam)", "penyelesaian (jam)"], [
            [r["name"], r["messages"], r["forwarded"], r["closed"], r["within_sla"],
             round(100 * r["sla_rate"], 1) if r["sla_rate"] is not None else "",
             r["avg_response_hours"] if r["avg_response_hours"] is not None else "",
             r["avg_resolution_hours"] if r["avg_resolution_hours"] is not None else ""] for r in f["units"]]
    if name == "terms":
        return ["kata", "jumlah"], [[r["term"], r["count"]] for r in f["top_terms"]]
    raise KeyError(name)
