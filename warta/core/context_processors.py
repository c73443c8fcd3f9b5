from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from warta.accounts.permissions import AREAS, can_open, has_capability


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu shows only the areas the user's role opens (the server checks again on entry)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_areas": []}
    current = request.resolver_match.namespace if request.resolver_match else ""
    areas = [
        {"key": key, "label": label, "url": url, "active": url.split(":")[0] == current and key != "materi"}
        for key, label, url in AREAS
        if can_open(user, key)
    ]
    if not can_open(user, "blasts") and has_capability(user, "blasts.view_unit"):
        # Liaisons and analysts read their unit's sent blasts, not the whole blasts area.
        areas.append({"key": "unit_blasts", "label": _("Blast unit"), "url": "blasts:unit_blasts",
                      "active": request.resolver_match is not None
                      and request.resolver_match.view_name in ("blasts:unit_blasts", "blasts:console")})
    return {"nav_areas": areas}
