"""Number and money formats of the report (Indonesian grouping: 1.234.567,5)."""

from __future__ import annotations

from typing import Any

from django import template

from warta.reports.render import number, rupiah

register = template.Library()


@register.filter(name="num")
def num(value: Any) -> str:
    return number(value)


@register.filter(name="rupiah")
def rupiah_filter(value: Any) -> str:
    return rupiah(value)


@register.filter
def signed(value: Any) -> str:
    return ("+" if value is not None and float(value) > 0 else "") + number(value)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key, key) if hasattr(mapping, "get") else key


@register.filter
def pct(value: Any) -> str:
    """``87.9`` → ``87,9%``; no value → ``—`` (not ``—%``)."""
    return "—" if value is None else number(value) + "%"
