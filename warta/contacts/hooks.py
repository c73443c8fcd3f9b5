"""Seams through which later apps (inbox, blasts) add what only they know.

Theory of operation: contacts must answer questions whose data lives elsewhere: "who replied to
blast X", "what messages were sent to this number", "forget this number in the message history".
Rather than import those apps (which import contacts), each app registers a function here in its
``AppConfig.ready()``::

    from warta.contacts import hooks
    hooks.register("replied_to_blast", inbox.services.numbers_that_replied)

Until an app registers, the hook answers "nothing" (and :func:`is_provided` says so, which the UI
shows). Hooks, their signatures and who fills them:

``replied_to_blast(blast_id: int) -> QuerySet | Iterable[str]``  — **inbox** (single provider)
    E.164 numbers that sent an inbound message attributed to the blast. A ``values_list("number",
    flat=True)`` queryset is best: it becomes a subquery, so a segment stays one SQL statement.
``subject_records(e164: str) -> dict[str, list[dict]]``  — **blasts** and **inbox** (many)
    Everything the app holds on one number, for a data-subject access export, e.g.
    ``{"messages_sent": [...]}`` / ``{"messages_received": [...]}``; JSON-serialisable values.
``anonymise_number(e164: str, pseudonym: str) -> int``  — **blasts** and **inbox** (many)
    Replace the number (and texts from it) everywhere the app stores it; keep the rows, so counts
    stay right. Returns how many rows changed. Called by erasure and retention.
``retention_anonymise(cutoff: datetime, dry_run: bool) -> int``  — **inbox** (many)
    Anonymise inbound message texts older than ``cutoff``; returns how many (would) change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warta.lib.hooks import Hooks

HOOKS = ("replied_to_blast", "subject_records", "anonymise_number", "retention_anonymise")
SINGLE = {"replied_to_blast"}

_hooks = Hooks("contacts", HOOKS, SINGLE)
_registry = _hooks.providers  # name → providers (tests swap them)


register = _hooks.register
unregister = _hooks.unregister
is_provided = _hooks.is_provided


def replied_to_blast(blast_id: int) -> Any:
    providers = _registry["replied_to_blast"]
    return providers[0](blast_id) if providers else []


def subject_records(e164: str) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {}
    for function in _registry["subject_records"]:
        records.update(function(e164))
    return records


def anonymise_number(e164: str, pseudonym: str) -> int:
    return sum(int(function(e164, pseudonym)) for function in _registry["anonymise_number"])


def retention_anonymise(cutoff: datetime, dry_run: bool) -> int:
    return sum(int(function(cutoff, dry_run)) for function in _registry["retention_anonymise"])
