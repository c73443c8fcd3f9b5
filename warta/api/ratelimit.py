"""Per-token rate limits: a token bucket kept in the database, shared by every web worker.

Theory of operation: a bucket holds at most ``burst`` requests and refills at ``rate`` a
second. Taking one is a single conditional UPDATE::

    UPDATE bucket SET tokens = min(burst, tokens + (now - updated) * rate) - 1, updated = now
     WHERE token_id = ? AND tokens + (now - updated) * rate >= 1

One statement, so two workers can never both spend the last request (the database serialises
the row), and nothing else is needed: no Redis, no lock, works the same on SQLite and PostgreSQL.
When no row matches, the bucket is empty and the caller is told how long until one request is
back (``Retry-After``). A refused request writes nothing, so a flood from one key costs one
indexed UPDATE per request and never touches another key's row.
"""

from __future__ import annotations

import math
import time

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Least

from . import conf
from .models import ApiToken, RateBucket


def limits(token: ApiToken) -> tuple[float, int]:
    rate = token.rate if token.rate is not None else float(conf.get("API_RATE"))
    burst = token.burst if token.burst else int(conf.get("API_BURST"))
    return rate, max(burst, 1)


def take(token: ApiToken, now: float | None = None) -> float:
    """Spend one request of ``token``'s bucket: 0.0 when allowed, else seconds until allowed."""
    rate, burst = limits(token)
    if rate <= 0:
        return 0.0  # rate 0: unlimited (a trusted internal system)
    now = time.time() if now is None else now
    refill = F("tokens") + (Value(now) - F("updated")) * Value(rate)
    n = RateBucket.objects.filter(token_id=token.pk, tokens__gte=Value(1.0) - (Value(now) - F("updated")) * Value(rate)) \
        .update(tokens=Least(Value(float(burst)), refill) - Value(1.0), updated=Value(now))
    if n:
        return 0.0
    row = RateBucket.objects.filter(token_id=token.pk).values_list("tokens", "updated").first()
    if row is None:
        try:
            with transaction.atomic():
                RateBucket.objects.create(token_id=token.pk, tokens=float(burst) - 1, updated=now)
            return 0.0
        except IntegrityError:  # another worker made it meanwhile: take from theirs
            return take(token, now)
    tokens, updated = row
    level = min(float(burst), tokens + (now - updated) * rate)
    if level >= 1:  # refilled between the UPDATE and the SELECT
        return take(token, now)
    return max((1 - level) / rate, 0.001)


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
