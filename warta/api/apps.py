from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

log = logging.getLogger("warta.api.webhooks")


class ApiConfig(AppConfig):
    name = "warta.api"
    verbose_name = _("API")

    def ready(self) -> None:
        # The events webhooks carry. Each receiver only writes Delivery rows (no network: see
        # webhooks.py) and never lets its own failure break the sender's work.
        from warta.blasts.signals import blast_finished
        from warta.inbox.signals import ticket_routed, ticket_updated

        ticket_routed.connect(_ticket_routed, dispatch_uid="api.webhooks.ticket_routed")
        ticket_updated.connect(_ticket_updated, dispatch_uid="api.webhooks.ticket_updated")
        blast_finished.connect(_blast_finished, dispatch_uid="api.webhooks.blast_finished")
        from warta.insights.signals import poll_closed

        poll_closed.connect(_poll_closed, dispatch_uid="api.webhooks.poll_closed")


def _safely(fn: Any) -> Any:
    def wrapped(**kwargs: Any) -> None:
        try:
            fn(**kwargs)
        except Exception:  # noqa: BLE001 - a webhook must never break a ticket or a blast
            log.exception("webhook event not queued")

    return wrapped


@_safely
def _ticket_routed(ticket_id: int, unit_id: int, by: str = "", **_kw: Any) -> None:
    from . import webhooks

    data = webhooks.ticket_data(ticket_id, routed_by=by)
    if data is not None:
        webhooks.emit(unit_id, "ticket.routed", data)


@_safely
def _ticket_updated(ticket_id: int, unit_id: int, change: str = "", status: str = "", **_kw: Any) -> None:
    from . import webhooks

    data = webhooks.ticket_data(ticket_id, change=change)
    if data is not None:
        webhooks.emit(unit_id, "ticket.updated", data)


@_safely
def _blast_finished(blast: Any, **_kw: Any) -> None:
    from . import webhooks

    unit_id, data = webhooks.blast_data(blast)
    if unit_id is not None:
        webhooks.emit(unit_id, "blast.completed", data)


@_safely
def _poll_closed(**kwargs: Any) -> None:
    from . import webhooks

    unit_id, data = webhooks.poll_data(kwargs)
    if unit_id is not None:
        webhooks.emit(unit_id, "poll.closed", data)
