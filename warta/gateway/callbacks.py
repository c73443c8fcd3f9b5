"""Kannel's callbacks into Warta: delivery reports (``dlr-url``) and citizens' messages
(``get-url`` / ``post-url``).

Theory of operation
-------------------
Kannel calls these URLs with no session and no CSRF token, so they are CSRF-exempt and
authenticated instead by the connection's secret (``warta.gateway.transports.kannel``):

* the path names the connection by ``kid``, a digest of its secret (never the secret);
* a DLR carries ``token = HMAC(secret, message id)``, an MO ``token = HMAC(secret, "mo")``;
  both are compared with ``hmac.compare_digest``. Anything that does not verify gets 403 and
  changes nothing; an unknown ``kid`` gets the same 403, so the answer tells a prober nothing.
  Tokens travel as ``token=`` so Warta's log filter masks them, and they are never logged here.

A receipt goes through the gateway's receipt service (``warta.gateway.receipts.apply_one``), the
one the engine uses, in one transaction with its counters, so Kannel and SMPP receipts share one
state machine. Kannel can call the dlr-url before the engine has saved the part that the 202
answer created (the engine saves it one loop later); a final receipt that finds no part is stored
as a pending ``Receipt`` and the request answered at once — the engine matches it within a loop
turn or two (no engine in the web process, no waiting in the request). Non-final reports
(buffered, SMSC accepted) that find no part are dropped: they change no state.

An MO goes out through ``warta.gateway.hooks.mobile_originated`` (the inbox provides it) with
Kannel's id (``%I``) as its dedup key, so a repeated request stores nothing twice. The answer is an empty 200: Warta answers citizens
through its own outbox, and the sms-service must say ``max-messages = 0`` (or ``omit-empty``).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import parse_qs

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .transports import ConnectionURLError, kannel

log = logging.getLogger("warta.gateway.callbacks")

def _forbidden() -> HttpResponse:
    return HttpResponse("forbidden\n", status=403, content_type="text/plain")


def _connection(kid: str) -> tuple[Any, Any] | None:
    """The active Kannel connection whose secret digests to ``kid``, with its parsed spec."""
    from .models import Connection

    for conn in Connection.objects.filter(is_active=True, url__startswith="kannel://"):
        try:
            spec = kannel.parse(conn.url)
        except ConnectionURLError:
            continue
        secret = spec.options.get("secret", "")
        if secret and hmac.compare_digest(kannel.connection_key(secret), kid):
            return conn, spec
    return None


def apply_receipt(conn_id: int, smsc_id: str, stat: str, error: str = "") -> bool:
    """Apply one receipt through the receipt service; True when it matched a part now (a
    final one that did not is stored for the engine to match)."""
    from .receipts import apply_one

    with transaction.atomic():
        return apply_one(conn_id, smsc_id, stat, error)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_dlr(request: HttpRequest, kid: str) -> HttpResponse:
    found = _connection(kid)
    message_id = request.GET.get("m", "")
    token = request.GET.get("token", "")
    if found is None or not message_id or not token:
        return _forbidden()
    conn, spec = found
    if not hmac.compare_digest(token, kannel.dlr_token(spec.options["secret"], message_id)):
        return _forbidden()
    try:
        dlr_type = int(request.GET.get("type", ""))
    except ValueError:
        return HttpResponse("bad type\n", status=400, content_type="text/plain")
    answer = request.GET.get("answer", "")
    stat = kannel.receipt_stat(dlr_type, answer)
    if stat is None:
        return HttpResponse("ignored\n", content_type="text/plain")
    error = ""
    if "err:" in answer:
        error = answer.split("err:", 1)[1].split(" ", 1)[0][:16]
    try:
        apply_receipt(conn.pk, message_id, stat, error)
    except DatabaseError:
        log.exception("kannel DLR for connection %s not saved", conn.name)
        return HttpResponse("try again\n", status=503, content_type="text/plain")
    return HttpResponse("OK\n", content_type="text/plain")


def _raw_query(request: HttpRequest) -> dict[str, bytes]:
    """Query parameters as bytes: ``%b`` may be UCS-2, which is not UTF-8."""
    pairs = parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True, encoding="latin-1")
    return {k: v[0].encode("latin-1") for k, v in pairs.items()}


def _decode(body: bytes, coding: str, charset: str) -> str:
    if coding == "2":  # UCS-2 as received
        return body.decode("utf-16-be", errors="replace")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset name Python does not know
        return body.decode("utf-8", errors="replace")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_mo(request: HttpRequest, kid: str) -> HttpResponse:
    from .hooks import InboundSms, mobile_originated

    found = _connection(kid)
    token = request.GET.get("token", "")
    if found is None or not token:
        return _forbidden()
    conn, spec = found
    if not hmac.compare_digest(token, kannel.mo_token(spec.options["secret"])):
        return _forbidden()
    raw = _raw_query(request)

    def value(name: str, header: str) -> str:
        got = request.GET.get(name)
        return str(got if got is not None else request.headers.get(header, ""))

    coding = value("coding", "X-Kannel-Coding")
    charset = value("charset", "X-Kannel-Charset")
    if request.method == "POST":  # post-url: the body is the message
        body = request.body
        charset = charset or (request.content_params or {}).get("charset", "")
    else:
        body = raw.get("text", b"")
    source, destination = value("from", "X-Kannel-From"), value("to", "X-Kannel-To")
    if not source:
        return HttpResponse("missing from\n", status=400, content_type="text/plain")
    sms = InboundSms(connection=conn.name, connection_id=conn.pk, source=source, destination=destination,
                     text=_decode(body, coding, charset), received_at=timezone.now(),
                     data_coding=8 if coding == "2" else 0, smsc_message_id=value("id", "X-Kannel-ID")[:64],
                     metadata={"transport": "kannel", "smsc": value("smsc", "X-Kannel-SMSC")[:40]})
    try:
        with transaction.atomic():
            mobile_originated([sms])
    except DatabaseError:
        log.exception("kannel MO for connection %s not saved", conn.name)
        return HttpResponse("try again\n", status=503, content_type="text/plain")
    return HttpResponse("", content_type="text/plain")
