"""``Idempotency-Key`` on creating POSTs: a retried request returns the first answer.

Theory of operation: before the view runs, the key is *reserved*: a row (token, key) with status 0
is inserted, and the unique constraint decides which of two concurrent requests goes first. The
second one is told 409 (still running) or, once the first has finished, gets the first answer
byte for byte with ``Idempotent-Replayed: true``. Only a 2xx answer is kept; after a refusal the
row is removed, so the client may fix the request and send it again with the same key. A key
sent again with a different body is a client bug and is refused (422), as Stripe does. Keys are
per token and kept ``API_IDEMPOTENCY_HOURS``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from . import conf
from .errors import ApiError
from .models import ApiToken, IdempotencyKey
from .services import TOKEN_RE, hash_token

HEADER = "Idempotency-Key"


def _token(request: HttpRequest) -> ApiToken | None:
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    value = auth[7:].strip()
    m = TOKEN_RE.match(value)
    if not m:
        return None
    token = ApiToken.objects.filter(prefix=f"wrt_{m.group(1)}").first()
    if token is None or not hmac.compare_digest(token.token_hash, hash_token(value)):
        return None
    return token


def handle(request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
    """Run ``view`` under the request's Idempotency-Key (raises ApiError for a misused key)."""
    key = request.headers.get(HEADER)
    token = _token(request) if key is not None and request.method == "POST" else None
    if key is None or token is None:
        return view()  # no key, or not authenticated: the view answers as usual
    if not key or len(key) > 255:
        raise ApiError(422, "idempotency_key_invalid", gettext_lazy("Idempotency-Key harus 1–255 karakter."),
                       field=HEADER)
    digest = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + request.body).hexdigest()
    cutoff = timezone.now() - timedelta(hours=int(conf.get("API_IDEMPOTENCY_HOURS")))
    IdempotencyKey.objects.filter(token=token, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(token=token, key=key, request_hash=digest)
    except IntegrityError:
        first = IdempotencyKey.objects.get(token=token, key=key)
        if first.request_hash != digest:
            raise ApiError(422, "idempotency_key_reused", gettext_lazy(
                "Idempotency-Key ini sudah dipakai untuk permintaan lain. Gunakan kunci baru untuk data baru."),
                field=HEADER) from None
        if first.status == 0:
            raise ApiError(409, "idempotency_in_progress", gettext_lazy(
                "Permintaan dengan Idempotency-Key ini masih diproses. Coba lagi sebentar lagi."),
                field=HEADER, headers={"Retry-After": "1"}) from None
        replay = HttpResponse(bytes(first.body), status=first.status, content_type=first.content_type)
        replay["Idempotent-Replayed"] = "true"
        return replay
    try:
        response = view()
    except BaseException:
        IdempotencyKey.objects.filter(pk=row.pk).delete()
        raise
    if 200 <= response.status_code < 300:
        IdempotencyKey.objects.filter(pk=row.pk).update(status=response.status_code, body=response.content,
                                                        content_type=response.get("Content-Type", ""))
    else:
        IdempotencyKey.objects.filter(pk=row.pk).delete()
    return response
