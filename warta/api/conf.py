"""The API's settings: ``WARTA_API_*`` from the environment, overridable in ``settings.WARTA``."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Token bucket per key: refill (requests a second) and capacity; a key's own values win.
    "API_RATE": float(os.environ.get("WARTA_API_RATE", "10")),
    "API_BURST": int(os.environ.get("WARTA_API_BURST", "50")),
    # Largest request body; bigger ones are answered 413 before they are read.
    "API_MAX_BODY_MB": float(os.environ.get("WARTA_API_MAX_BODY_MB", "8")),
    # How long a first answer is kept for a retry with the same Idempotency-Key.
    "API_IDEMPOTENCY_HOURS": int(os.environ.get("WARTA_API_IDEMPOTENCY_HOURS", "24")),
    # Webhooks: give up on a delivery this long after the event; wait at most this long per request.
    "WEBHOOK_RETRY_HOURS": int(os.environ.get("WARTA_WEBHOOK_RETRY_HOURS", "24")),
    "WEBHOOK_TIMEOUT": float(os.environ.get("WARTA_WEBHOOK_TIMEOUT", "10")),
    # Receivers on private addresses (127.0.0.1, 10.x) are allowed: units' systems sit on the
    # government's own network. Set 0 to refuse them.
    "WEBHOOK_ALLOW_PRIVATE": os.environ.get("WARTA_WEBHOOK_ALLOW_PRIVATE", "1") == "1",
}


def get(key: str) -> Any:
    return settings.WARTA.get(key, DEFAULTS[key])
