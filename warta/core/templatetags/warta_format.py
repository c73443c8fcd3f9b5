"""One voice across pages: how amounts, times, operators and codes are written.

Theory of operation: every page formats through these filters, so Rupiah, date-times, operator
names and the labels of stored codes read the same everywhere (issue 12, "one voice"). Load with
``{% load warta_format %}``. Codes stored in rows (an import's reject reason, an audit action)
stay codes in the database and in exports meant for machines; people read their labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template

register = template.Library()


def _import_reject_labels() -> dict[str, str]:
    from warta.contacts.models import RejectReason

    return {k: str(v) for k, v in RejectReason.choices}


# namespace -> a function returning {code: label}; imported lazily (apps load before templates).
LABELS: dict[str, Callable[[], dict[str, str]]] = {
    "import_reject": _import_reject_labels,
}


@register.filter
def code_label(code: Any, namespace: str) -> str:
    """``{{ reason|code_label:"import_reject" }}``: "invalid_number" → "Nomor tidak valid"."""
    table = LABELS.get(namespace)
    text = str(code)
    if table is None:
        return text
    return table().get(text, text)
