"""What blasts tell the contacts app through ``warta.contacts.hooks`` (registered in apps.py).

* ``subject_records(e164)``: the messages sent to a number, for a data-subject access export.
* ``anonymise_number(e164, pseudonym)``: erasure and retention. The outbox row stays (a blast's
  counts and the monthly report's figures stay right); its number becomes the pseudonym and a text
  of its own (a reply to a citizen, an acknowledgement) is removed. A blast's shared text is the
  province's public announcement, not personal data, and stays on the blast.
"""

from __future__ import annotations

from typing import Any

ERASED_TEXT = "[dihapus]"


def subject_records(e164: str) -> dict[str, list[dict[str, Any]]]:
    from .models import OutboundMessage

    rows = OutboundMessage.objects.filter(to=e164).select_related("blast").order_by("created_at")
    return {"messages_sent": [
        {"at": m.created_at.isoformat(), "blast": m.blast.name, "text": m.text or m.blast.text,
         "state": m.state}
        for m in rows[:10_000]
    ]}


def anonymise_number(e164: str, pseudonym: str) -> int:
    from .models import OutboundMessage

    rows = OutboundMessage.objects.filter(to=e164)
    changed = rows.exclude(text="").update(to=pseudonym[:16], text=ERASED_TEXT)
    changed += rows.update(to=pseudonym[:16])
    return changed
