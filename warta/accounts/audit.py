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
