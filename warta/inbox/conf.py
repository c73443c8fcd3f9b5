"""The inbox's settings: ``settings.WARTA["INBOX_…"]`` wins, then the environment, then the default.

Read at call time (not import time) so tests can override them with ``settings`` fixtures.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # SP4N-LAPOR!: 3 working days for the SMS Center to verify and forward, 5 for the unit.
    "INBOX_SLA_VERIFY_DAYS": 3,
    "INBOX_SLA_FOLLOWUP_DAYS": 5,
    # Acknowledgement; {ticket} is the ticket number, {center} the SMS Center number.
    "INBOX_ACK_TEMPLATE": (
        "Terima kasih, pesan Anda diterima SMS Center Pemprov DKI Jakarta dengan nomor tiket {ticket}. "
        "Cek status: kirim STATUS {ticket} ke {center}."
    ),
    # A follow-up on an open ticket: no second acknowledgement, this note at most once a day.
    "INBOX_FOLLOWUP_TEMPLATE": "Pesan Anda ditambahkan ke tiket {ticket}. Cek status: kirim STATUS {ticket} ke {center}.",
    # Auto-replies (acknowledgements and keyword answers) per number per day (WIB).
    "INBOX_AUTOREPLY_PER_DAY": 5,
    # Flood: more than LIMIT messages within WINDOW seconds from one number are stored as a flood.
    "INBOX_FLOOD_LIMIT": 20,
    "INBOX_FLOOD_WINDOW": 600,
    # A concatenated message whose parts are still missing after this many seconds is shown as is.
    "INBOX_REASSEMBLY_TIMEOUT": 300,
    # Redeliveries of the same deliver_sm within this many seconds are one message.
    "INBOX_DEDUP_WINDOW": 3600,
    # Longest message kept (characters); longer ones are cut with a marker (2,000 fit easily).
    "INBOX_MAX_TEXT": 10_000,
}


def get(name: str) -> Any:
    warta = getattr(settings, "WARTA", {})
    if name in warta:
        return warta[name]
    default = DEFAULTS[name]
    raw = os.environ.get(f"WARTA_{name}")
    if raw is None or raw == "":
        return default
    return type(default)(raw)


def center_number() -> str:
    return str(getattr(settings, "WARTA", {}).get("SMS_CENTER_NUMBER", "+622132881818"))


def center_display() -> str:
    """The SMS Center number as citizens write it: 02132881818."""
    number = center_number()
    return "0" + number[3:] if number.startswith("+62") else number
