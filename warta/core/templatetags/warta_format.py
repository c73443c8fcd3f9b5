"""One voice across pages: how amounts, times, operators and codes are written.

Theory of operation: every page formats through these filters, so Rupiah, date-times, operator
names and the labels of stored codes read the same everywhere (issue 12, "one voice"). Load with
``{% load warta_format %}``. Codes stored in rows (an import's reject reason, an audit action)
stay codes in the database and in exports meant for machines; people read their labels.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from warta.core import labels

register = template.Library()


def _import_reject_labels() -> dict[str, str]:
    from warta.contacts.models import RejectReason

    return {k: str(v) for k, v in RejectReason.choices}


def _ticket_status_labels() -> dict[str, str]:
    from warta.inbox.models import TicketStatus

    return {k: str(v) for k, v in TicketStatus.choices}


# namespace -> a function returning {code: label}; imported lazily (apps load before templates).
LABELS: dict[str, Callable[[], dict[str, str]]] = {
    "import_reject": _import_reject_labels,
    "ticket_status": _ticket_status_labels,
}


@register.filter
def code_label(code: Any, namespace: str) -> str:
    """``{{ reason|code_label:"import_reject" }}``: "invalid_number" → "Nomor tidak valid";
    ``{{ e.action|code_label:"audit" }}``: "auth.otp_enrolled" → "Verifikasi dua langkah didaftarkan"."""
    text = str(code)
    if namespace == "audit":
        return labels.audit_action(text)
    table = LABELS.get(namespace)
    if table is None:
        return text
    return table().get(text, text)


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return _("ya")
    if value is False:
        return _("tidak")
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{labels.field_name(str(k))}: {_value(v)}" for k, v in value.items())
    return str(value)


@register.filter
def audit_changes(changes: Any) -> list[tuple[str, str]]:
    """An audit event's ``changes`` as (field label, "old → new" or value) pairs for a page, instead
    of a Python dict's repr. ``{"state": ["queued", "active"]}`` → [("keadaan", "queued → active")]."""
    if not isinstance(changes, dict):
        return [("", _value(changes))] if changes else []
    out = []
    for key, value in changes.items():
        if isinstance(value, (list, tuple)) and len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
            text = f"{_value(value[0])} → {_value(value[1])}"
        else:
            text = _value(value)
        out.append((labels.field_name(str(key)), text))
    return out


def _grouped(digits: str) -> str:
    out = ""
    while len(digits) > 3:
        out = "." + digits[-3:] + out
        digits = digits[:-3]
    return digits + out


@register.filter
def rupiah(value: Any) -> str:
    """``Rp 204.400`` (Indonesian: "." groups thousands, "," before decimals, shown only when
    there are any: ``Rp 0,75``). Not a number: returned as it came."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount).quantize(Decimal("0.01"))
    whole, cents = divmod(amount, 1)
    text = _grouped(str(int(whole)))
    if cents:
        text += "," + f"{cents:.2f}"[2:]
    return f"{sign}Rp {text}"


@register.filter
def operator_name(code: Any) -> str:
    """"xl" → "XL", "telkomsel" → "Telkomsel", "unknown" or empty → "tidak diketahui"."""
    return labels.operator_name(code)


# One date-time format on every page: "03 Des 2026 14:05" in WIB (DESIGN.md: shown in Asia/Jakarta).
DATETIME_FORMAT = "d M Y H:i"
DATE_FORMAT = "d M Y"


@register.filter
def when(value: Any, arg: str = "") -> str:
    """``{{ t.created_at|when }}`` → "03 Des 2026 14:05"; ``|when:"date"`` → "03 Des 2026".
    Aware datetimes are shown in the current time zone (Asia/Jakarta); empty → "—"."""
    if value in (None, ""):
        return "—"
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, DATE_FORMAT if arg == "date" else DATETIME_FORMAT)
    if isinstance(value, date):
        return date_format(value, DATE_FORMAT)
    return str(value)


@register.filter
def unknown_as_text(value: Any) -> str:
    """"unknown" or empty → "tidak diketahui"."""
    text = str(value or "").strip()
    return _("tidak diketahui") if not text or text.lower() == "unknown" else text
