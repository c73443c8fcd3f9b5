"""What the reports app does through other apps' seams (``warta.contacts.hooks``).

* ``anonymise_number(e164, pseudonym)``: erasure reaches the monthly reports' quoted examples
  (``services.redact_sender``), archived revisions and their files included. Matched by the
  masked sender, the form in which a report quotes a citizen, so it does not matter whether the
  inbox has already anonymised the messages themselves."""

from __future__ import annotations


def anonymise_number(e164: str, pseudonym: str) -> int:
    from warta.inbox.services import masked_address

    from .services import redact_sender

    return redact_sender(masked_address(e164), reason="erasure")
