"""Keywords: the first word of an SMS that is answered by the machine instead of a person.

Theory of operation: ``match`` is pure (text in, ``(keyword, argument)`` out) so ingest can call
it on thousands of messages with a table loaded once per batch. The table itself is the
``Keyword`` model, seeded by migration 0002 with BERHENTI/STOP/UNREG, DAFTAR/REG, INFO and
STATUS, and edited by administrators. Opt-out and opt-in are the contacts app's business; we call
its functions (``_contacts``) and never write its tables.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

# Citizens write "stop", "Stop.", "BERHENTI!", "status #123", "status: 123".
_FIRST_WORD = re.compile(r"^\s*([A-Za-z]+)[\s.,:;!#-]*(.*)$", re.DOTALL)
_TICKET_NUMBER = re.compile(r"#?\s*(\d{1,12})")


def match(text: str, table: dict[str, Any]) -> tuple[Any, str] | None:
    """The active keyword ``text`` starts with, and the rest of the text, or None."""
    m = _FIRST_WORD.match(text)
    if m is None:
        return None
    keyword = table.get(m.group(1).upper())
    if keyword is None:
        return None
    return keyword, m.group(2).strip()


def ticket_number(argument: str) -> int | None:
    m = _TICKET_NUMBER.match(argument)
    return int(m.group(1)) if m else None


def active_table() -> dict[str, Any]:
    from .models import Keyword

    return {k.word: k for k in Keyword.objects.filter(is_active=True)}


class ContactsUnavailable(Exception):
    """The contacts app does not offer opt-out/opt-in (yet): the keyword cannot be honoured."""


def _contacts() -> Any:
    try:
        from warta.contacts import services
    except ImportError as exc:
        raise ContactsUnavailable(str(exc)) from exc
    return services


def opt_out(e164: str) -> None:
    services = _contacts()
    if not hasattr(services, "opt_out"):
        raise ContactsUnavailable("warta.contacts.services.opt_out is missing")
    services.opt_out(e164, "sms", reason="SMS BERHENTI/STOP/UNREG")


def opt_in(e164: str, kelurahan: str | None) -> str:
    """Opt in; a kelurahan named in the SMS must be one we know (ValueError otherwise).
    Returns the region's name as we spell it ("" when none was given)."""
    services = _contacts()
    if not hasattr(services, "opt_in"):
        raise ContactsUnavailable("warta.contacts.services.opt_in is missing")
    region_id = None
    name = ""
    if kelurahan:
        from warta.contacts.models import Region
        from warta.contacts.regions import RegionMatcher

        region_id = RegionMatcher().match(kelurahan)
        if region_id is None:
            raise ValueError(f"unknown region {kelurahan!r}")
        name = Region.objects.values_list("name", flat=True).get(pk=region_id)
    services.opt_in(e164, "sms", kelurahan=region_id)
    return name
