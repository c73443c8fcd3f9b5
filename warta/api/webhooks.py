"""Outgoing webhooks: events of a unit signed and delivered to the unit's own system.

Theory of operation
-------------------
*Signing.* Each request carries ``Warta-Signature: t=<unix time>,v1=<hex>``, where ``hex`` is
HMAC-SHA256 with the webhook's secret over ``"<t>." + body`` (Stripe's scheme, which receivers'
libraries know). The timestamp inside the signed text is what defeats replay: a receiver refuses
a ``t`` older than five minutes, and de-duplicates by ``Warta-Delivery`` (the event id, the same
on every retry). The secret is shown once, when made or rotated. A rotation keeps the previous
secret for an overlap (24 h by default) during which every request is signed with *both*
(``v1=<new>,v1=<old>``), so the receiver can switch at its own pace without losing an event.

*Delivery.* An event becomes one ``Delivery`` row per interested webhook, written by the signal
receivers in ``apps.py`` (after the sender's transaction committed). Nothing touches the network
there: a background job (``tasks.deliver_webhooks``, run by ``warta worker``, enqueued at once and
every few seconds by ``warta scheduler`` while deliveries are due) claims due rows with a
conditional UPDATE that pushes ``next_attempt_at`` forward by a lease — two workers never send
the same delivery at the same time, and a worker that dies mid-request leaves the row to be
retried when the lease ends. A 2xx answer delivers; anything else (or no answer within the
timeout) is retried with exponential back-off — 30 s, 1 min, 2 min … capped at one hour — until 24
hours after the event, then the delivery is ``failed``. Every request is logged with its status
code in ``DeliveryAttempt``, which the administrators' page shows.

A webhook of a unit hears the events of the unit and of its sub-units, as its API token sees them.
Receivers on the government's internal network (private addresses) are allowed by default, since
that is where units' systems live; ``WARTA_WEBHOOK_ALLOW_PRIVATE=0`` refuses them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from warta.accounts import audit
from warta.accounts.models import Unit, User

from . import conf
from .errors import ApiError
from .models import Delivery, DeliveryAttempt, Webhook, WebhookEvent

log = logging.getLogger("warta.api.webhooks")

EVENTS = [e.value for e in WebhookEvent if e != WebhookEvent.TEST]
LEASE = timedelta(seconds=120)  # a claimed delivery is not claimed again before this (timeout × 12)
BACKOFF_FIRST = 30.0
BACKOFF_CAP = 3600.0
TOLERANCE = 300  # seconds: what docs/api.md tells receivers to accept


# -- signing -------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(webhook: Webhook, timestamp: int, body: bytes, now: datetime | None = None) -> str:
    now = now or timezone.now()
    parts = [f"t={timestamp}", f"v1={sign(webhook.secret, timestamp, body)}"]
    if webhook.previous_secret and webhook.previous_until and webhook.previous_until > now:
        parts.append(f"v1={sign(webhook.previous_secret, timestamp, body)}")
    return ",".join(parts)


def verify(secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = TOLERANCE) -> bool:
    """What a receiver does (docs/api.md has the same in a few lines): True when one ``v1`` matches
    and ``t`` is recent."""
    items = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in items if k.strip() == "t"]
    if not stamps or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, t, body)
    return any(hmac.compare_digest(expected, v) for k, v in items if k.strip() == "v1")


# -- administration ------------------------------------------------------------------------------


def _clean_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise ApiError(400, "invalid_events", gettext_lazy("Pilih peristiwa dari: %(all)s."), {"all": ", ".join(EVENTS)})
    return [e for e in EVENTS if e in events]


def create(unit: Unit, url: str, events: list[str], actor: User | None) -> tuple[Webhook, str]:
    """A webhook for ``unit``; its secret is returned once."""
    secret = new_secret()
    hook = Webhook.objects.create(unit=unit, url=url, events=_clean_events(events), secret=secret, created_by=actor)
    audit.record("api.webhook_created", hook, actor=actor, unit=unit, changes={"url": url, "events": hook.events})
    return hook, secret


def rotate(hook: Webhook, actor: User | None, overlap: timedelta = timedelta(hours=24)) -> str:
    """A new secret; the old one still signs (alongside) for ``overlap``. Returned once."""
    secret = new_secret()
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().get(pk=hook.pk)
        hook.previous_secret, hook.previous_until = hook.secret, timezone.now() + overlap
        hook.secret = secret
        hook.save(update_fields=["secret", "previous_secret", "previous_until"])
        audit.record("api.webhook_secret_rotated", hook, actor=actor, unit=hook.unit,
                     changes={"overlap_hours": overlap.total_seconds() / 3600})
    return secret


def set_active(hook: Webhook, active: bool, actor: User | None) -> None:
    Webhook.objects.filter(pk=hook.pk).update(is_active=active)
    audit.record("api.webhook_enabled" if active else "api.webhook_disabled", hook, actor=actor, unit=hook.unit)


def delete(hook: Webhook, actor: User | None) -> None:
    audit.record("api.webhook_deleted", hook, actor=actor, unit=hook.unit, changes={"url": hook.url})
    hook.delete()


# -- events --------------------------------------------------------------------------------------


def _listening_units(unit_id: int) -> list[int]:
    """The unit and its ancestors: a parent's webhook hears its sub-units' events."""
    ids: list[int] = []
    unit = Unit.objects.filter(pk=unit_id).first()
    while unit is not None and unit.pk not in ids:
        ids.append(unit.pk)
        unit = unit.parent
    return ids


def emit(unit_id: int | None, event: str, data: dict[str, Any], *, only: Webhook | None = None) -> list[Delivery]:
    """Queue ``event`` for every active webhook of the unit (and its ancestors) that wants it."""
    if unit_id is None and only is None:
        return []
    hooks = [only] if only is not None else list(
        Webhook.objects.filter(unit_id__in=_listening_units(unit_id), is_active=True))  # type: ignore[arg-type]
    now = timezone.now()
    rows = []
    for hook in hooks:
        if only is None and event not in (hook.events or []):
            continue
        event_id = f"evt_{uuid.uuid4().hex}"
        payload = {"id": event_id, "type": event, "created_at": now.isoformat(), "unit": hook.unit.code,
                   "data": data}
        rows.append(Delivery(webhook=hook, event=event, event_id=event_id,
                             payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
                             next_attempt_at=now, created_at=now))
    if rows:
        Delivery.objects.bulk_create(rows)
        _kick()
    return rows


def _kick() -> None:
    """Ask the background worker to deliver now (after commit: the rows must be visible to it)."""
    transaction.on_commit(wake_worker)


def wake_worker() -> bool:
    """Enqueue one delivery job unless one is already waiting: an intake batch that routes a
    thousand tickets needs one run of the job, not a thousand. True when a job was enqueued."""
    try:
        from django_tasks_db.models import DBTaskResult

        from .tasks import deliver_webhooks

        path = deliver_webhooks.module_path
        if DBTaskResult.objects.filter(task_path=path, status="READY").exists():
            return False
        deliver_webhooks.enqueue()
        return True
    except Exception:  # noqa: BLE001 - the scheduler's periodic check delivers anyway
        log.exception("could not enqueue webhook delivery")
        return False


def send_test(hook: Webhook, actor: User | None) -> Delivery:
    rows = emit(None, WebhookEvent.TEST, {"message": "Uji webhook Warta", "by": actor.username if actor else None},
                only=hook)
    audit.record("api.webhook_test_sent", hook, actor=actor, unit=hook.unit)
    return rows[0]


# -- delivery ------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A receiver that redirects is answered as given (3xx: not delivered), never followed:
    # following would send a signed body to wherever the redirect points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def backoff(attempts: int) -> float:
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _private_target(url: str) -> bool:
    """True when ``url``'s host resolves to a loopback, private or link-local address."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the request itself will fail and say so
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_loopback or addr.is_private or addr.is_link_local or addr.is_reserved:
            return True
    return False


def post(hook: Webhook, delivery: Delivery, now: datetime | None = None) -> tuple[int | None, str]:
    """One HTTP POST; (status, error)."""
    if not conf.get("WEBHOOK_ALLOW_PRIVATE") and _private_target(hook.url):
        # Installs that expose Warta to outside receivers can keep webhooks off the internal network.
        return None, "alamat privat ditolak (WARTA_WEBHOOK_ALLOW_PRIVATE=0)"
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int((now or timezone.now()).timestamp())
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Warta-Webhook/1",
        "Warta-Event": delivery.event, "Warta-Delivery": delivery.event_id,
        "Warta-Signature": signature_header(hook, timestamp, body, now),
    })
    try:
        with _opener.open(request, timeout=float(conf.get("WEBHOOK_TIMEOUT"))) as response:
            response.read(4096)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, str(exc.reason)[:300]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:300]


def claim(now: datetime, limit: int = 50) -> list[Delivery]:
    """Due deliveries this worker now owns (see the module docstring)."""
    ids = list(Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
    mine = []
    for pk in ids:
        if Delivery.objects.filter(pk=pk, state=Delivery.State.PENDING, next_attempt_at__lte=now).update(
                next_attempt_at=now + LEASE):
            mine.append(pk)
    return list(Delivery.objects.filter(pk__in=mine).select_related("webhook__unit").order_by("id"))


def attempt(delivery: Delivery, now: datetime | None = None) -> Delivery:
    now = now or timezone.now()
    hook = delivery.webhook
    started = time.monotonic()
    if not hook.is_active:
        status, error = None, "webhook dinonaktifkan"
    else:
        status, error = post(hook, delivery, now)
    took = int((time.monotonic() - started) * 1000)
    DeliveryAttempt.objects.create(delivery=delivery, at=now, status=status, error=error, duration_ms=took)
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, error
    if status is not None and 200 <= status < 300:
        delivery.state, delivery.delivered_at = Delivery.State.DELIVERED, now
    elif now - delivery.created_at >= timedelta(hours=int(conf.get("WEBHOOK_RETRY_HOURS"))):
        delivery.state = Delivery.State.FAILED
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
    delivery.save(update_fields=["attempts", "last_status", "last_error", "state", "delivered_at", "next_attempt_at"])
    return delivery


def deliver_due(now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send every due delivery once; the worker's job and the scheduler's tick."""
    done = {"delivered": 0, "retry": 0, "failed": 0}
    while limit > 0:
        batch = claim(now or timezone.now(), min(50, limit))
        if not batch:
            break
        limit -= len(batch)
        for d in batch:
            d = attempt(d, now)
            done[{"delivered": "delivered", "failed": "failed"}.get(d.state, "retry")] += 1
    return done


def purge(now: datetime | None = None, keep_days: int = 90) -> dict[str, int]:
    """Housekeeping: deliveries (and their attempts) older than ``keep_days`` and idempotency keys
    past their window. Run daily by the scheduler."""
    from .models import IdempotencyKey

    now = now or timezone.now()
    _n, deleted = Delivery.objects.filter(created_at__lt=now - timedelta(days=keep_days)).exclude(
        state=Delivery.State.PENDING).delete()
    keys, _k = IdempotencyKey.objects.filter(
        created_at__lt=now - timedelta(hours=int(conf.get("API_IDEMPOTENCY_HOURS")))).delete()
    return {"deliveries": deleted.get("api.Delivery", 0), "idempotency_keys": keys}


def due_exists(now: datetime | None = None) -> bool:
    return Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now or timezone.now()).exists()


# -- payloads ------------------------------------------------------------------------------------


def ticket_data(ticket_id: int, **extra: Any) -> dict[str, Any] | None:
    from warta.inbox.models import Ticket
    from warta.inbox.services import masked_address

    t = Ticket.objects.select_related("unit", "conversation", "topic", "region").filter(pk=ticket_id).first()
    if t is None:
        return None
    return {"ticket": {"id": t.pk, "number": t.number, "status": t.status, "subject": t.subject,
                       "topic": t.topic.code if t.topic_id else None, "urgent": t.urgent,
                       "region": t.region.code if t.region_id else None, "unit": t.unit.code if t.unit_id else None,
                       "citizen": masked_address(t.conversation.address),
                       "updated_at": t.updated_at, "url": f"/api/v1/tickets/{t.pk}"}, **extra}


def blast_data(blast: Any) -> tuple[int | None, dict[str, Any]]:
    from warta.blasts import outbox
    from warta.blasts import services as blasts
    from warta.blasts.models import Draft

    # A blast without a draft (a test send, citizens' replies) belongs to no unit: no event.
    draft = Draft.objects.select_related("materi").filter(blast_id=blast.pk).first()
    unit_id = draft.materi.unit_id if draft is not None and draft.materi_id else None
    s = blasts.summarise(outbox.status_counts(blast.pk))
    return unit_id, {"blast": {"id": blast.pk, "name": blast.name, "state": blast.state,
                               "draft_id": draft.pk if draft is not None else None,
                               "counts": {k: s[k] for k in ("total", "delivered", "failed", "cancelled")},
                               "by_state": s["counts"], "url": f"/api/v1/blasts/{blast.pk}"}}


def poll_data(kwargs: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """The insights app's ``poll_closed(poll=…, results=…)`` as an event for the unit whose materi
    the poll's draft was made from (a poll without a unit's materi is the SMS Center's own)."""
    from warta.blasts.models import Draft

    poll = kwargs.get("poll")
    if poll is None:
        return None, {}
    draft = Draft.objects.select_related("materi").filter(pk=getattr(poll, "draft_id", None)).first()
    unit_id = draft.materi.unit_id if draft is not None and draft.materi_id else None
    results = kwargs.get("results")
    data = {"poll": {"id": poll.pk, "question": poll.question, "state": poll.state,
                     "closed_at": poll.closed_at, "responses": poll.responses,
                     "draft_id": draft.pk if draft else None, "blast_id": draft.blast_id if draft else None,
                     "results": json.loads(json.dumps(results, cls=DjangoJSONEncoder))}}
    return unit_id, data
