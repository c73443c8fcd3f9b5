"""What the inbox tells other apps about tickets (the API's webhooks listen).

Both are sent *after* the transaction that changed the ticket commits (``announce``), so a
listener never sees a change that was rolled back, and a slow listener never holds a row lock.

``ticket_routed(sender=Ticket, ticket_id, unit_id, by)``: the ticket was given to ``unit_id``
(a routing rule at intake or on editing, or a dispatcher's forward). ``by`` is "rule" or "user".

``ticket_updated(sender=Ticket, ticket_id, unit_id, change, status)``: a status change, a reply
or a note on a ticket of ``unit_id`` (the unit it belonged to *before* the change: a ticket the
unit returns to the SMS Center is still news to that unit). ``change`` is "status", "reply" or
"note".
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

ticket_routed = Signal()
ticket_updated = Signal()


def announce(signal: Signal, **kwargs: Any) -> None:
    from .models import Ticket

    transaction.on_commit(lambda: signal.send(sender=Ticket, **kwargs))
