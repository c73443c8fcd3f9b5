"""Recording the audit trail.

Theory of operation: every service that changes state calls ``record``. The acting user and their
address come from the request being served (``AuditContextMiddleware`` puts it in a context
variable), so services need not thread the request through; commands and background jobs pass
``actor`` explicitly or are recorded as the system. Secrets never enter ``changes``: fields named
like passwords, keys or tokens are replaced by a marker.
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.db import models
from django.http import HttpRequest

from warta.lib.clientaddr import client_address

from .models import AuditEvent, Unit, User

current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "warta_audit_request", default=None
)

SECRET_MARKERS = ("password", "secret", "token", "key", "otp")
REDACTED = "[disembunyikan]"


def client_ip(request: HttpRequest) -> str | None:
    return client_address(request)


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if any(marker in key.lower() for marker in SECRET_MARKERS):
            clean[key] = REDACTED
        elif isinstance(value, dict):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for the fields that changed."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The model's concrete field values, JSON-friendly, for ``diff``."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = field.value_from_object(obj)
        if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        data[field.attname if field.is_relation else field.name] = value
    return data


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    changes: dict[str, Any] | None = None,
    actor: User | None = None,
    unit: Unit | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    request: HttpRequest | None = None,
) -> AuditEvent:
    request = request or current_request.get()
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user  # type: ignore[assignment]
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    if unit is None and actor is not None:
        unit = actor.unit
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.username if actor is not None else "sistem",
        ip_address=client_ip(request) if request is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        unit=unit,
        changes=redact(changes or {}),
    )


# --- Reading personal data ----------------------------------------------------------------------

VIEW_WINDOW_SECONDS = 3600
MAX_IDS_PER_EVENT = 200


def record_views(request: HttpRequest, object_type: str, ids: list[Any], *, what: str) -> AuditEvent | None:
    """Record that ``request``'s user was shown the personal data of these records (contact pages,
    tickets with full numbers): one ``data.viewed`` event naming the ids not already recorded for
    this session in the last hour, or nothing when all were.

    Why a cache and not the session: pages that poll (the inbox every 5 s) must neither write an
    event per poll nor renew the session (polls never save it, see middleware.py). The default
    cache is per process, so with N web workers a record may be noted up to N times an hour per
    session: bounded, and never a write per poll. One ``get_many`` per page is the whole cost when
    nothing is new.
    """
    from django.core.cache import cache

    if not getattr(request, "user", None) or not request.user.is_authenticated or not ids:
        return None
    session = getattr(request, "session", None)
    scope = (session.session_key if session is not None else None) or f"user-{request.user.pk}"
    keys = {f"warta:viewed:{scope}:{object_type}:{pk}": pk for pk in ids}
    seen = cache.get_many(list(keys))
    fresh = [pk for key, pk in keys.items() if key not in seen]
    if not fresh:
        return None
    fresh = fresh[:MAX_IDS_PER_EVENT]
    event = record(
        "data.viewed", object_type=object_type,
        object_id=str(fresh[0]) if len(fresh) == 1 else "",
        object_repr=f"{what} ({len(fresh)})",
        changes={"what": what, "ids": [str(pk) for pk in fresh], "path": request.path[:200]},
        request=request,
    )
    cache.set_many({key: 1 for key, pk in keys.items() if pk in fresh}, timeout=VIEW_WINDOW_SECONDS)
    return event
