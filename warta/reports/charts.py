"""Small SVG bar charts for the report, drawn without a plotting library (pure, no I/O).

Used until and where the insights app's own chart rendering is not available
(``insights_adapter.chart_svg``)."""

from __future__ import annotations

from xml.sax.saxutils import escape

WIDTH = 640
BAR = 18
GAP = 6
LABEL = 190
COLOUR = "#1f5f8b"


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")


def bar_chart_svg(rows: list[tuple[str, float]], title: str) -> str:
    """A horizontal bar chart: one bar per (label, value), values written at the bar's end."""
    rows = rows[:20]
    top = 28
    height = top + max(1, len(rows)) * (BAR + GAP) + 8
    biggest = max((v for _l, v in rows), default=0) or 1
    span = WIDTH - LABEL - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, sans-serif" font-size="11">',
             f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    if not rows:
        parts.append(f'<text x="0" y="{top + 12}" fill="#666">Tidak ada data</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * (BAR + GAP)
        w = max(1.0, span * float(value) / biggest) if value else 0
        parts.append(f'<text x="{LABEL - 6}" y="{y + BAR - 5}" text-anchor="end">{escape(str(label)[:32])}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{COLOUR}"/>')
        parts.append(f'<text x="{LABEL + w + 4:.1f}" y="{y + BAR - 5}">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
