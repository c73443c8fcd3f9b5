from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.translation import gettext as _

from warta.accounts.permissions import has_capability

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context: dict[str, Any], capability: str) -> bool:
    """``{% can "contacts.export" as may_export %}``: the template only hides; views check again."""
    return has_capability(context["request"].user, capability)


@register.filter
def clock(delta: timedelta) -> str:
    """A remaining time as "2 hari 5 jam" or, past the deadline, "terlambat 3 jam"."""
    seconds = int(delta.total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(_("%(n)d hari") % {"n": days})
    if hours or days:
        parts.append(_("%(n)d jam") % {"n": hours})
    if not days:
        parts.append(_("%(n)d menit") % {"n": minutes})
    text = " ".join(parts)
    return _("terlambat %(t)s") % {"t": text} if late else text
