from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from warta.accounts.permissions import AREAS, can_open


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu shows only the areas the user's role opens (the server checks again on entry)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_areas": []}
    current = request.resolver_match.namespace if request.resolver_match else ""
    return {
        "nav_areas": [
            {"key": key, "label": label, "url": url, "active": url.split(":")[0] == current and key != "materi"}
            for key, label, url in AREAS
            if can_open(user, key)
        ]
    }
