"""Template tags other apps' pages use to show the insights of a row (one include each)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("insights/_ticket_analysis.html", takes_context=True)
def ticket_analysis(context: Any) -> dict[str, Any]:
    """Topic, sentiment, urgency and place of a ticket's messages, with the deciding words, and
    the one-click correction for analysts (``context["t"]`` is the ticket)."""
    from warta.accounts.permissions import has_capability

    from ..models import Classification, Topic

    ticket = context.get("t")
    request = context.get("request")
    rows = []
    if ticket is not None:
        rows = list(Classification.objects.filter(ticket=ticket).select_related("topic", "predicted_topic", "region")
                    .order_by("-at")[:5])
    user = getattr(request, "user", None)
    can_correct = bool(user is not None and has_capability(user, "insights.correct"))
    return {"rows": rows, "can_correct": can_correct, "request": request, "csrf_token": context.get("csrf_token"),
            "topics": list(Topic.objects.filter(retired=False)) if can_correct and rows else []}


@register.inclusion_tag("insights/_blast_impact.html")
def blast_impact(blast: Any) -> dict[str, Any]:
    """The 48-hour impact of a blast, for the blast console."""
    from ..services import blast_impact as impact

    return {"impact": impact(blast) if blast is not None and getattr(blast, "pk", None) else None}
