"""Who may open which area: the role × area matrix, in one table.

Theory of operation: navigation, views and tests all read ``AREAS_BY_ROLE``; nothing else decides
whether a role may enter an area. Inside an area, unit liaisons are further narrowed to their own
unit's rows (``Unit.visible_to`` and ``scope_to_unit``). Permissions are always checked on the
server; hiding a menu entry is only a courtesy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from .models import Role

# Areas in menu order: key, label, URL name.
AREAS: list[tuple[str, Any, str]] = [
    ("materi", _("Materi"), "blasts:materi"),
    ("blasts", _("Naskah & Blast"), "blasts:index"),
    ("contacts", _("Kontak"), "contacts:index"),
    ("inbox", _("Kotak Masuk"), "inbox:index"),
    ("insights", _("Analisis"), "insights:index"),
    ("reports", _("Laporan"), "reports:index"),
    ("settings", _("Pengaturan"), "core:settings"),
]
AREA_KEYS = [key for key, _label, _url in AREAS]

ALL = frozenset(AREA_KEYS)
AREAS_BY_ROLE: dict[str, frozenset[str]] = {
    Role.ADMIN: ALL,
    Role.OPERATOR: frozenset({"materi", "blasts", "contacts", "inbox", "insights", "reports"}),
    Role.VERIFIER: frozenset({"materi", "blasts", "inbox", "insights", "reports"}),
    Role.APPROVER: frozenset({"materi", "blasts", "insights", "reports"}),
    # A liaison hands in materi, works the citizens' messages routed to the unit and sees the
    # unit's slice of the analysis (narrowed on the server).
    Role.LIAISON: frozenset({"materi", "inbox", "insights"}),
    Role.ANALYST: frozenset({"inbox", "insights", "reports"}),
}


def can_open(user: Any, area: str) -> bool:
    if area not in ALL:
        raise ValueError(f"unknown area {area!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return area in AREAS_BY_ROLE.get(user.role, frozenset())


V = TypeVar("V", bound=Callable[..., HttpResponse])


def area_required(area: str) -> Callable[[V], V]:
    """View decorator: anonymous users go to the login page, others without the area get 403."""

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can_open(request.user, area):
                raise PermissionDenied(_("Peran Anda tidak membuka area ini."))
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def scope_to_unit(queryset: QuerySet[Any], user: Any, field: str = "unit") -> QuerySet[Any]:
    """Narrow ``queryset`` to rows of units ``user`` may see (liaisons: their own subtree)."""
    if user.sees_all_units:
        return queryset
    if user.unit is None:
        return queryset.none()
    return queryset.filter(**{f"{field}__in": user.unit.descendant_ids()})


# Finer rights inside an area, by role. Each later issue adds its capabilities here, in one table.
CAPABILITIES: dict[str, frozenset[str]] = {
    # See a contact's or citizen's full number; everyone else sees 0812****5678.
    "numbers.view_full": frozenset({Role.ADMIN, Role.OPERATOR}),
    # Export personal data (contacts, data-subject requests).
    "contacts.export": frozenset({Role.ADMIN, Role.OPERATOR}),
    "contacts.manage": frozenset({Role.ADMIN, Role.OPERATOR}),
    "privacy.handle_requests": frozenset({Role.ADMIN}),
    "gateway.manage": frozenset({Role.ADMIN}),
    "outbox.test_send": frozenset({Role.ADMIN}),
    # Citizen inbox: reply/note/status (liaisons only on their unit's tickets), forward and bulk
    # actions, the keyword/routing/holiday/canned-reply tables, the blocklist.
    "inbox.work": frozenset({Role.ADMIN, Role.OPERATOR, Role.VERIFIER, Role.LIAISON}),
    "inbox.dispatch": frozenset({Role.ADMIN, Role.OPERATOR, Role.VERIFIER}),
    "inbox.configure": frozenset({Role.ADMIN}),
    "inbox.block": frozenset({Role.ADMIN, Role.OPERATOR}),
    # Blast workflow: hand in materi; draft/release/control blasts; decide on a chain step;
    # configure chains, blackouts, watch words, tariffs and the sender-ID registry.
    "materi.submit": frozenset({Role.ADMIN, Role.OPERATOR, Role.LIAISON}),
    "blasts.compose": frozenset({Role.ADMIN, Role.OPERATOR}),
    "blasts.approve": frozenset({Role.VERIFIER, Role.APPROVER}),
    "blasts.configure": frozenset({Role.ADMIN}),
    # Public-response analysis: correct a message's topic; edit topics, the lexicon and polls' results.
    "insights.correct": frozenset({Role.ADMIN, Role.ANALYST, Role.OPERATOR, Role.VERIFIER}),
    "insights.configure": frozenset({Role.ADMIN, Role.ANALYST}),
    "insights.polls": frozenset({Role.ADMIN, Role.OPERATOR}),
    # REST API: create API clients, issue and revoke their tokens.
    "api.manage": frozenset({Role.ADMIN}),
}


def has_capability(user: Any, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in CAPABILITIES[capability]


def capability_required(capability: str) -> Callable[[V], V]:
    """View decorator like ``area_required`` for a capability."""

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_capability(request.user, capability):
                raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
