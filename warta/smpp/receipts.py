"""Delivery receipts: parse them (text of SMPP 3.4 appendix B and/or TLVs) and build them.

Theory of operation
-------------------
The appendix-B text is only "an example" in the specification, so every SMSC varies it::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...

Seen in the field: upper-case keys, ``submit_date``, extra or missing spaces, fields missing or
reordered, dates with seconds (12 digits) or a 4-digit year (14), long stat words
(``DELIVERED``, ``UNDELIVERABLE``), numeric stats, hex ids where the submit_sm_resp had decimal
(or the reverse). The parser looks for ``key:`` markers anywhere, takes each value up to the next
marker, and stops at ``text:`` (which may contain anything, including "id:").

SMPP 3.4 also carries the id and state in the TLVs receipted_message_id and message_state; when a
receipt has both, the TLVs win (they are typed and the text is free-form), and ``Receipt`` keeps
both pieces so a mismatch can be logged.

Stat codes normalise to ``MessageState``. Final states: DELIVERED, EXPIRED, DELETED,
UNDELIVERABLE, ACCEPTED, REJECTED (per the spec). ENROUTE and UNKNOWN are not final: the
outbox keeps waiting (until its validity period) for a later receipt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .constants import DataCoding, EsmClass, MessageState, Tag
from .pdu import DataSm, DeliverSm, Tlvs, tlv_bytes, tlv_cstring, tlv_u8

__all__ = [
    "FINAL_STATES",
    "Receipt",
    "format_receipt",
    "message_ids_match",
    "normalise_stat",
    "parse_receipt",
    "parse_receipt_text",
    "receipt_tlvs",
]

FINAL_STATES = frozenset(
    {
        MessageState.DELIVERED,
        MessageState.EXPIRED,
        MessageState.DELETED,
        MessageState.UNDELIVERABLE,
        MessageState.ACCEPTED,
        MessageState.REJECTED,
    }
)

#: The 7-letter codes of appendix B, used when we build receipts.
SHORT_STAT: dict[MessageState, str] = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}

_STAT_WORDS: dict[str, MessageState] = {
    "ENROUTE": MessageState.ENROUTE,
    "EN_ROUTE": MessageState.ENROUTE,
    "BUFFERED": MessageState.ENROUTE,
    "SENT": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "DELIVERED": MessageState.DELIVERED,
    "DELIVER": MessageState.DELIVERED,
    "DELIVRED": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "EXPIRD": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "UNDELIVRD": MessageState.UNDELIVERABLE,
    "FAILED": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "ACCEPTED": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "REJECTED": MessageState.REJECTED,
}

_KEY = re.compile(
    r"(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt. ``message_id``/``stat`` are the answer (TLV first, then text)."""

    message_id: str | None
    stat: MessageState
    err: str | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    sub: str | None = None
    dlvrd: str | None = None
    text: str | None = None
    #: The two sources, as found (None when absent).
    text_message_id: str | None = None
    text_stat: str | None = None
    tlv_message_id: str | None = None
    tlv_message_state: int | None = None
    #: (network type, error code) from the network_error_code TLV.
    network_error: tuple[int, int] | None = None

    @property
    def is_final(self) -> bool:
        return self.stat in FINAL_STATES

    @property
    def delivered(self) -> bool:
        return self.stat is MessageState.DELIVERED

    @property
    def err_code(self) -> int | None:
        """``err`` as a number (decimal if it reads as one, else hex), or None."""
        if not self.err:
            return None
        try:
            return int(self.err, 10)
        except ValueError:
            try:
                return int(self.err, 16)
            except ValueError:
                return None


def normalise_stat(value: str | int | None) -> MessageState:
    """Any vendor's stat (``DELIVRD``, ``delivered``, ``2``...) → ``MessageState`` (UNKNOWN if unsure)."""
    if value is None:
        return MessageState.UNKNOWN
    if isinstance(value, int):
        try:
            return MessageState(value)
        except ValueError:
            return MessageState.UNKNOWN
    word = value.strip().upper()
    if word.isdigit():
        return normalise_stat(int(word))
    return _STAT_WORDS.get(word, MessageState.UNKNOWN)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    digits = value.strip()
    try:
        if len(digits) == 10 and digits.isdigit():
            return datetime.strptime(digits, "%y%m%d%H%M")
        if len(digits) == 12 and digits.isdigit():
            return datetime.strptime(digits, "%y%m%d%H%M%S")
        if len(digits) == 14 and digits.isdigit():
            return datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return None


def _fields(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for i, m in enumerate(matches):
        key = m.group(1).lower().replace("_", " ")
        if key in ("submitdate", "donedate"):
            key = key[:-4] + " date"
        if key == "text":
            found["text"] = text[m.end() :]
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        found.setdefault(key, text[m.end() : end].strip())
    return found


def parse_receipt_text(text: str | bytes) -> Receipt | None:
    """Parse appendix-B receipt text; None when it has neither an id nor a stat."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    f = _fields(text)
    raw_id = f.get("id")
    message_id = raw_id.split()[0] if raw_id else None
    raw_stat = f.get("stat")
    stat_word = raw_stat.split()[0] if raw_stat else None
    if message_id is None and stat_word is None:
        return None
    err = f.get("err")
    return Receipt(
        message_id=message_id,
        stat=normalise_stat(stat_word),
        err=err.split()[0] if err else None,
        submit_date=_parse_date(f.get("submit date")),
        done_date=_parse_date(f.get("done date")),
        sub=f.get("sub") or None,
        dlvrd=f.get("dlvrd") or None,
        text=f.get("text"),
        text_message_id=message_id,
        text_stat=stat_word,
    )


def parse_receipt(pdu: DeliverSm | DataSm) -> Receipt | None:
    """The receipt in a deliver_sm/data_sm, from its TLVs and/or text; None if it is not one.

    A PDU is a receipt when esm_class says so (delivery receipt / intermediate notification) or
    it carries receipted_message_id.
    """
    tlv_id = pdu.receipted_message_id
    tlv_state = pdu.message_state
    is_receipt_class = bool(
        pdu.esm_class & (EsmClass.TYPE_DELIVERY_RECEIPT | EsmClass.TYPE_INTERMEDIATE_NOTIFICATION)
    )
    if not is_receipt_class and tlv_id is None:
        return None
    raw = pdu.payload if isinstance(pdu, DeliverSm) else (pdu.message_payload or b"")
    if pdu.data_coding == DataCoding.UCS2:
        body = raw.decode("utf-16-be", errors="replace")
    else:
        body = raw.decode("latin-1")
    from_text = parse_receipt_text(body) if body else None
    if from_text is None and tlv_id is None and tlv_state is None:
        return None
    base = from_text or Receipt(message_id=None, stat=MessageState.UNKNOWN)
    stat = normalise_stat(tlv_state) if tlv_state is not None else base.stat
    return Receipt(
        message_id=tlv_id if tlv_id else base.message_id,
        stat=stat,
        err=base.err,
        submit_date=base.submit_date,
        done_date=base.done_date,
        sub=base.sub,
        dlvrd=base.dlvrd,
        text=base.text,
        text_message_id=base.text_message_id,
        text_stat=base.text_stat,
        tlv_message_id=tlv_id,
        tlv_message_state=tlv_state,
        network_error=pdu.network_error_code,
    )


_HEX = frozenset("0123456789abcdef")


def _canonical_id(message_id: str) -> str:
    return message_id.strip().lower().lstrip("0") or "0"


def message_ids_match(submit_resp_id: str, receipt_id: str) -> bool:
    """Whether a receipt's id names the message of a submit_sm_resp id.

    Equal ignoring case and leading zeros, or the same number written in hex on one side and in
    decimal on the other (a habit of several SMSCs: the appendix only says the id "may" match).
    """
    a, b = _canonical_id(submit_resp_id), _canonical_id(receipt_id)
    if a == b:
        return True
    if len(a) > 32 or len(b) > 32:
        return False
    if set(a) <= _HEX and b.isdigit() and int(a, 16) == int(b):
        return True
    return set(b) <= _HEX and a.isdigit() and int(b, 16) == int(a)


def _fmt_date(value: datetime | None, seconds: bool) -> str:
    if value is None:
        return "0000000000" + ("00" if seconds else "")
    return value.strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M")


def format_receipt(
    message_id: str,
    stat: MessageState | str,
    *,
    submit_date: datetime | None = None,
    done_date: datetime | None = None,
    sub: int = 1,
    dlvrd: int | None = None,
    err: int | str = 0,
    text: str = "",
    seconds: bool = False,
) -> str:
    """Appendix-B receipt text, e.g. for the simulator's deliver_sm.

    ``dlvrd`` defaults to 1 when ``stat`` is DELIVERED, else 0; ``text`` is cut to 20 characters
    as the appendix shows; ``seconds`` adds ss to the dates (12 digits).
    """
    state = normalise_stat(stat) if isinstance(stat, str) else stat
    if dlvrd is None:
        dlvrd = 1 if state is MessageState.DELIVERED else 0
    err_text = f"{err:03d}" if isinstance(err, int) else err
    return (
        f"id:{message_id} sub:{sub:03d} dlvrd:{dlvrd:03d} "
        f"submit date:{_fmt_date(submit_date, seconds)} done date:{_fmt_date(done_date, seconds)} "
        f"stat:{SHORT_STAT[state]} err:{err_text} text:{text[:20]}"
    )


def receipt_tlvs(
    message_id: str,
    state: MessageState,
    *,
    network_error: tuple[int, int] | None = None,
    extra: Iterable[tuple[int, bytes]] = (),
) -> Tlvs:
    """The receipted_message_id / message_state (/ network_error_code) TLVs of a receipt."""
    tlvs = [tlv_cstring(Tag.RECEIPTED_MESSAGE_ID, message_id), tlv_u8(Tag.MESSAGE_STATE, state)]
    if network_error is not None:
        kind, code = network_error
        tlvs.append(tlv_bytes(Tag.NETWORK_ERROR_CODE, bytes([kind]) + code.to_bytes(2, "big")))
    tlvs.extend(extra)
    return tuple(tlvs)
