"""What the citizen hears back, and in which words: acknowledgements and ticket news by SMS.

Theory of operation: a citizen who texted 021 3288 1818 hears from the SMS Center when the
ticket is opened (one acknowledgement per ticket, ``ingest``), when it is forwarded to a unit
("diteruskan ke Dinas …") and when it is closed, with the answer, as SP4N-LAPOR! does. The words
are ``NoticeTemplate`` rows that administrators edit in the inbox settings (audited like every
inbox table); a kind without a row falls back to ``DEFAULTS`` (the acknowledgement's default is
still ``INBOX_ACK_TEMPLATE`` for installations that set it in the environment). ``texts()`` reads
all of them in one query, so ingest pays one query per batch, not per message.
"""

from __future__ import annotations

from . import conf
from .models import NoticeKind, NoticeTemplate

# SMS to citizens are in Indonesian whatever the staff's language: not marked for translation.
DEFAULTS: dict[str, str] = {
    NoticeKind.FORWARDED: ("Tiket {ticket} Anda diteruskan ke {unit} untuk ditindaklanjuti. "
                           "Cek status: kirim STATUS {ticket} ke {center}."),
    NoticeKind.CLOSED: "Tiket {ticket} selesai. {answer}",
}


def defaults() -> dict[str, str]:
    """``{kind: template}`` before any edit (no query: migrations seed the rows from it)."""
    return {
        NoticeKind.ACK.value: str(conf.get("INBOX_ACK_TEMPLATE")),
        NoticeKind.FOLLOWUP.value: str(conf.get("INBOX_FOLLOWUP_TEMPLATE")),
        **{str(k): v for k, v in DEFAULTS.items()},
    }


def texts() -> dict[str, str]:
    """``{kind: template}`` for every kind: the edited row, else the default."""
    out = defaults()
    out.update({kind: text for kind, text in NoticeTemplate.objects.values_list("kind", "text") if text.strip()})
    return out
