"""Seams through which apps above the gateway take what it receives (as ``contacts/hooks.py``).

Theory of operation: the gateway sits below the inbox — the inbox queues its replies through
the outbox and reads connection names — so the gateway must not import the inbox. A citizen's
SMS leaves the gateway through the hook below, which the inbox fills in its
``AppConfig.ready()``::

    from warta.gateway import hooks
    hooks.register("mobile_originated", inbox_hooks.receive_from_gateway)

Until an app registers, ``mobile_originated`` stores the messages in the gateway's own
``InboundMessage`` table (``is_provided`` says so), from which an inbox can take them later.
Hooks, their signatures and who fills them:

``mobile_originated(batch: list[InboundSms]) -> None``  — **inbox** (single provider)
    Store citizens' messages, in the caller's transaction: the engine answers the SMSC's
    deliver_sm (and Kannel's request) only after that commit, so nothing is lost and a
    redelivery is the provider's to recognise (``smsc_message_id``, the transport's ``item``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warta.lib.hooks import Hooks

HOOKS = ("mobile_originated",)
SINGLE = {"mobile_originated"}

_hooks = Hooks("gateway", HOOKS, SINGLE)
_registry = _hooks.providers  # name → providers (tests swap them)


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A citizen's SMS (or one part of it) as a transport received it.

    ``item`` is the transport's own object when it has one (``smppclient.MobileOriginated``,
    with the PDU's raw octets and UDH); otherwise the decoded ``text`` (Kannel, Gammu)."""

    connection: str  # the connection's name
    connection_id: int | None
    source: str
    destination: str
    text: str
    received_at: datetime
    item: Any = None
    data_coding: int = 0
    smsc_message_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


register = _hooks.register
unregister = _hooks.unregister
is_provided = _hooks.is_provided


def mobile_originated(batch: list[InboundSms]) -> None:
    if not batch:
        return
    providers = _registry["mobile_originated"]
    if providers:
        providers[0](batch)
        return
    _store_locally(batch)


def _store_locally(batch: list[InboundSms]) -> None:
    from .models import InboundMessage

    rows = []
    for sms in batch:
        concat = getattr(sms.item, "concat", None)
        rows.append(InboundMessage(
            connection_id=sms.connection_id, source=sms.source[:21], destination=sms.destination[:21],
            text=sms.text, received_at=sms.received_at,
            concat_ref=getattr(concat, "reference", None), concat_total=getattr(concat, "total", None),
            concat_seq=getattr(concat, "sequence", None)))
    InboundMessage.objects.bulk_create(rows)
