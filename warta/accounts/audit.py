"""Recording the audit trail.

Theory of operation: every service that changes state calls ``record``. The acting user and their
address come from the request being served (``AuditContextMiddleware`` puts it in a context
variable), so services need not thread the request through; commands and background jobs pass
``actor`` explicitly or are recorded as the system. Secrets never enter ``changes``: fields named
like passwords, keys or tokens are replaced by a marker.
"""

from __future__ import annotations

import contextvars
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

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


def _view_scope(request: HttpRequest) -> str:
    """Who is reading, as stored in ``data.viewed``: a keyed hash of the session key (the key itself
    would let anyone who reads the trail take over the session), or of the user without one."""
    session = getattr(request, "session", None)
    scope = (session.session_key if session is not None else None) or f"user-{request.user.pk}"
    return salted_hmac("warta.accounts.data-viewed", scope, algorithm="sha256").hexdigest()[:16]


def record_views(request: HttpRequest, object_type: str, ids: list[Any], *, what: str) -> AuditEvent | None:
    """Record that ``request``'s user was shown the personal data of these records (contact pages,
    tickets with full numbers): one ``data.viewed`` event naming the ids not already recorded for
    this session in the last hour, or nothing when all were.

    Theory of operation: the trail itself is the memory. Each event carries the session's
    ``_view_scope``; an id is "already recorded" when an event of this user, session and type in
    the last hour names it, whichever web worker wrote it (the index ``audit_data_viewed_idx``
    keeps that look-up to this user's recent events). In front of it, the default cache (per
    process) remembers what this worker has recorded or found, until that record's hour ends: pages
    that poll (the inbox every 5 s) then cost one ``get_many`` and no query, and never a write or a
    session save (polls never save it, see middleware.py). The cache only ever says "recorded",
    never "not recorded", so it can be per process, shared or cleared without changing the count.
    Two workers missing the same new id at the same instant may both note it: bounded, and rare.
    """
    from django.core.cache import cache

    if not getattr(request, "user", None) or not request.user.is_authenticated or not ids:
        return None
    scope = _view_scope(request)
    keys = {f"warta:viewed:{scope}:{object_type}:{pk}": str(pk) for pk in ids}
    remembered = cache.get_many(list(keys))
    fresh = [pk for key, pk in keys.items() if key not in remembered]
    if not fresh:
        return None
    now = timezone.now()
    window = timedelta(seconds=VIEW_WINDOW_SECONDS)
    # A single-id event names its record in object_id, so only the matching ones are read; a list's
    # event names its records only in changes.
    recent = AuditEvent.objects.filter(
        action="data.viewed", actor=request.user, object_type=object_type, at__gte=now - window,
        changes__session=scope,
    ).filter(models.Q(object_id__in=fresh) | models.Q(object_id="")).order_by().values_list("at", "changes")
    wanted = set(fresh)
    recorded: dict[str, datetime] = {}
    for at, changes in recent:
        for pk in (changes or {}).get("ids", []):
            if pk in wanted and (pk not in recorded or at > recorded[pk]):
                recorded[pk] = at
    if recorded:
        # Remembered until the earliest of their hours ends: earlier than needed for some, never later.
        until = min(recorded.values()) + window
        cache.set_many({key: 1 for key, pk in keys.items() if pk in recorded},
                       timeout=max(1, int((until - now).total_seconds())))
    fresh = [pk for pk in fresh if pk not in recorded][:MAX_IDS_PER_EVENT]
    if not fresh:
        return None
    event = record(
        "data.viewed", object_type=object_type,
        object_id=fresh[0] if len(fresh) == 1 else "",
        object_repr=f"{what} ({len(fresh)})",
        changes={"what": what, "ids": fresh, "session": scope, "path": request.path[:200]},
        request=request,
    )
    cache.set_many({key: 1 for key, pk in keys.items() if pk in fresh}, timeout=VIEW_WINDOW_SECONDS)
    return event
