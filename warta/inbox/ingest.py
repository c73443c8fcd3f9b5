"""Ingest: citizens' SMS from every transport become messages, tickets and acknowledgements.

Theory of operation
-------------------
Transports call ``receive_mo_batch`` (or ``receive_mo`` for one) with ``MO`` values: the raw
short_message with its UDH, or the decoded text plus concatenation info for transports that
decode (Kannel, Gammu). One batch is one transaction and a fixed number of queries whatever its
size, which is what makes 2,000 messages/s on SQLite possible:

1. **Once only, by identity, never by content.** An SMSC redelivers a deliver_sm whose answer it
   did not get; a citizen who sends the same text twice means it twice (#10 item 8). So each MO's
   ``dedup_key`` names the delivery, not the words: the message id when the transport has one
   (Kannel's ``%I``, gammu's inbox row ``ID``, the gateway table's row), else for SMPP the
   deliver_sm's ``sequence_number`` with (source, destination, coding, octets — UDH and so the
   part included) in a time bucket of ``INBOX_DEDUP_WINDOW`` seconds; the previous bucket is
   checked too, so a redelivery less than one window later is always caught, and
   ``unique(connection, dedup_key)`` makes it true under races. A redelivery carries the
   sequence number of the PDU it repeats; a citizen's second SMS is a new PDU with a new one.
   An MO with no identity at all is stored every time: a duplicate is visible, a lost
   complaint is not.
2. **Reassembly.** Single-part messages become a ``Message`` at once. Parts of a concatenated
   message (8- or 16-bit reference, any order) wait as ``InboundPart`` rows until the last one
   arrives; a group still incomplete after ``INBOX_REASSEMBLY_TIMEOUT`` is written with the missing
   parts marked ``[…bagian N tidak diterima…]`` (``flush_incomplete``, also run by ingest itself
   every few seconds and by ``warta inbox tick``). UCS-2 bodies are joined before decoding, so an
   emoji split across two parts survives.
3. **Rules, in this order:** a blocked number's message is stored, nothing else; a number past
   ``INBOX_FLOOD_LIMIT`` messages in ``INBOX_FLOOD_WINDOW`` seconds floods: stored, not ticketed,
   not answered; an empty message is stored only; a keyword (first word) is answered by its rule;
   everything else goes to the conversation's open ticket, or opens one (routing rules may send it
   straight to a unit).
4. **Answers never storm.** Acknowledgements and keyword answers go only to Indonesian mobile
   numbers (never to alphanumeric senders, short codes, fixed lines or foreign numbers), at most
   ``INBOX_AUTOREPLY_PER_DAY`` per number per WIB day, counted on the conversation row. Flooded and
   blocked messages are never answered at all.
5. **One acknowledgement per ticket.** A new ticket is acknowledged with its number; a follow-up
   on an open ticket is added silently, except for one short "added to ticket N" note
   (``INBOX_FOLLOWUP_TEMPLATE``) on a later WIB day. ``Ticket.acked_on`` holds the day of the
   last one, so the rule costs no query; the per-number cap above still applies.

Ticket creation by ingest is recorded in the ticket's own history (``TicketEvent``), not in the
audit trail, which records what people and the keyword rules change.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from warta.lib import fastsql
from warta.sms.gsm import decode_gsm7, decode_ucs2
from warta.sms.numbers import NumberKind, mask, parse_number
from warta.sms.segments import UdhError, parse_udh

from . import conf, hooks, keywords, notices, outbound, routing, sla
from .models import (
    OPEN_STATUSES,
    BlockedNumber,
    Conversation,
    Direction,
    Disposition,
    EventKind,
    InboundPart,
    KeywordAction,
    Message,
    SenderKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from .signals import announce, ticket_routed

log = logging.getLogger(__name__)


def _log_number(address: str) -> str:
    """Logs are read by whoever runs the servers: numbers in them are masked (DESIGN.md)."""
    info = parse_number(address)
    return mask(info.e164) if info.e164 is not None else address


__all__ = ["MO", "flush_incomplete", "from_smpp", "intake_gateway", "receive_mo", "receive_mo_batch"]

MAX_SEARCH_TEXT = 20_000
_SWEEP_EVERY = 5.0
_last_sweep = 0.0


@dataclass(frozen=True, slots=True)
class MO:
    """One mobile-originated SMS (or one part of a concatenated one) as a transport received it.

    Give ``short_message`` (raw octets, UDH included when ``udhi``) or ``text`` (already decoded;
    then ``concat`` carries the concatenation info as ``(reference, total, sequence, ref_bits)``).
    """

    connection: str
    source: str
    destination: str
    short_message: bytes | None = None
    text: str | None = None
    data_coding: int = 0
    udhi: bool = False
    concat: tuple[int, int, int, int] | None = None
    smsc_message_id: str = ""
    source_ton: int | None = None
    received_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def from_smpp(item: Any, connection: str, received_at: datetime | None = None) -> MO:
    """An ``MO`` from ``warta.gateway.smppclient.MobileOriginated`` (duck-typed: no import).

    Items without a ``pdu`` (transports that decode for us) keep their text and concat info.
    """
    pdu = getattr(item, "pdu", None)
    if pdu is None:
        c = getattr(item, "concat", None)
        gammu_id = getattr(item, "gammu_id", None)  # gammu's inbox row: the delivery's identity
        return MO(connection=connection, source=item.source_addr, destination=item.destination_addr,
                  text=item.text, data_coding=getattr(item, "data_coding", 0),
                  smsc_message_id=f"gammu:{gammu_id}" if gammu_id is not None else "",
                  concat=(c.reference, c.total, c.sequence, getattr(c, "ref_bits", 8)) if c else None,
                  received_at=received_at, metadata={"transport": type(item).__name__})
    meta = {
        "transport": "smpp",
        "source_addr_ton": pdu.source_addr_ton,
        "source_addr_npi": getattr(pdu, "source_addr_npi", None),
        "dest_addr_ton": getattr(pdu, "dest_addr_ton", None),
        "esm_class": pdu.esm_class,
        "protocol_id": getattr(pdu, "protocol_id", None),
        "priority_flag": getattr(pdu, "priority_flag", None),
        "sequence_number": pdu.sequence_number,
        "service_type": getattr(pdu, "service_type", ""),
    }
    return MO(
        connection=connection,
        source=item.source_addr,
        destination=item.destination_addr,
        short_message=bytes(pdu.payload),
        data_coding=item.data_coding,
        udhi=bool(pdu.esm_class & 0x40),
        source_ton=item.source_addr_ton,
        received_at=received_at,
        metadata=meta,
    )


# ----------------------------------------------------------------------------- decoding


def is_binary(data_coding: int) -> bool:
    """8-bit data (SMPP data_coding 2 or 4, or the 0xF_ message class group with bit 2 set)."""
    if data_coding in (2, 4):
        return True
    return data_coding & 0xF0 == 0xF0 and bool(data_coding & 0x04)


def _clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL; a citizen's stray 0x00 must not lose the message."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _clean_meta(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {_clean(str(k)): _clean_meta(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_meta(v) for v in value]
    return value


def decode_body(body: bytes, data_coding: int) -> str:
    return _clean(_decode_body(body, data_coding))


def _decode_body(body: bytes, data_coding: int) -> str:
    if is_binary(data_coding):
        return f"[data biner, {len(body)} oktet] {body[:64].hex()}"
    coding = data_coding & 0x0F if data_coding & 0xF0 == 0xF0 else data_coding
    if coding == 8:
        return decode_ucs2(body, errors="replace")
    if coding == 0:
        return decode_gsm7(body)
    if coding == 1:
        return body.decode("ascii", errors="replace")
    # Latin-1 maps every octet: the honest rendering of codings we cannot interpret.
    return body.decode("latin-1")


@dataclass(slots=True)
class _Part:
    mo: MO
    body: bytes | None
    text: str
    concat: tuple[int, int, int, int] | None
    udh_len: int
    key: str
    prev_key: str
    received_at: datetime


def _fingerprint(mo: MO, bucket: int, sequence: int) -> str:
    """The identity of one deliver_sm: its sequence number with what it carried, per bucket."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"{sequence}\x00{mo.source}\x00{mo.destination}\x00{mo.data_coding}\x00{mo.concat}\x00".encode())
    h.update(mo.short_message if mo.short_message is not None else (mo.text or "").encode("utf-8", "surrogatepass"))
    return f"sq:{h.hexdigest()[:32]}:{bucket}"


_ONCE = "once:"  # prefix of the keys of MOs without identity: unique, never looked up


def _prepare(mo: MO, now: datetime, window: int) -> _Part:
    received = mo.received_at or now
    body: bytes | None = None
    concat = mo.concat
    udh_len = 0
    if mo.short_message is not None:
        body = bytes(mo.short_message)
        if mo.udhi:
            try:
                udh, body = parse_udh(body)
            except UdhError as exc:
                # A broken header: keep every octet as the body rather than drop the message.
                log.info("inbox: bad UDH from %s: %s", _log_number(mo.source), exc)
            else:
                udh_len = udh.length
                if udh.concat is not None:
                    c = udh.concat
                    concat = (c.reference, c.total, c.sequence, c.ref_bits)
        text = decode_body(body, mo.data_coding)
    else:
        text = _clean(mo.text or "")
    if concat is not None and not (1 <= concat[2] <= concat[1] and concat[1] > 1):
        concat = None  # "part 1 of 1" or nonsense: a single message
    sequence = mo.metadata.get("sequence_number")
    if mo.smsc_message_id:
        key = prev = f"id:{mo.smsc_message_id[:70]}"
    elif mo.metadata.get("gateway_row") is not None:
        key = prev = f"gw:{mo.metadata['gateway_row']}"
    elif sequence is not None:
        bucket = int(received.timestamp()) // window
        key, prev = _fingerprint(mo, bucket, int(sequence)), _fingerprint(mo, bucket - 1, int(sequence))
    else:
        key = prev = _ONCE + uuid.uuid4().hex
    return _Part(mo, body, text, concat, udh_len, key, prev, received)


@lru_cache(maxsize=65_536)
def classify_address(source: str, ton: int | None) -> tuple[str, str]:
    """(address to key the conversation on, SenderKind) for a source address."""
    raw = source.strip()
    if not raw:
        return "(kosong)", SenderKind.INVALID
    if ton == 5 or any(ch.isalpha() for ch in raw):
        return raw[:32], SenderKind.ALPHANUMERIC
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not digits.isascii():
        return raw[:32], SenderKind.INVALID
    if len(digits) <= 6 and not raw.startswith("+"):
        return digits, SenderKind.SHORTCODE
    if raw.startswith("+"):
        candidate = raw
    elif ton == 1 or (digits.startswith("62") and len(digits) >= 10):
        candidate = "+" + digits
    else:
        candidate = digits
    info = parse_number(candidate, allow_foreign=True)
    if info.e164 is None:
        return digits[:32], SenderKind.INVALID
    if info.region != "ID":
        return info.e164, SenderKind.FOREIGN
    if info.kind is NumberKind.MOBILE:
        return info.e164, SenderKind.MOBILE
    return info.e164, SenderKind.FIXED


# ----------------------------------------------------------------------------- reassembly


@dataclass(slots=True)
class _Whole:
    """One whole incoming message, ready for the rules."""

    connection: str
    source: str
    source_ton: int | None
    destination: str
    data_coding: int
    text: str
    binary: bool
    parts_total: int
    missing: list[int]
    received_at: datetime
    part_ids: list[int] = field(default_factory=list)
    part_objs: list[InboundPart] = field(default_factory=list)


def _join(parts: list[InboundPart], total: int) -> tuple[str, list[int]]:
    by_seq: dict[int, InboundPart] = {}
    for p in sorted(parts, key=lambda p: p.pk):
        by_seq.setdefault(int(p.concat_seq or 0), p)
    missing = [s for s in range(1, total + 1) if s not in by_seq]
    dc = parts[0].data_coding
    # Join raw bodies of each run of consecutive parts, then decode: a UCS-2 surrogate pair or a
    # GSM escape may straddle two parts.
    can_join = not is_binary(dc) and all(p.payload is not None and p.data_coding == dc for p in parts)
    pieces: list[str] = []
    run: list[bytes] = []
    for seq in range(1, total + 1):
        p = by_seq.get(seq)
        if p is None:
            if run:
                pieces.append(decode_body(b"".join(run), dc))
                run = []
            pieces.append(f"[…bagian {seq} dari {total} tidak diterima…]")
            continue
        if can_join:
            run.append(bytes(p.payload)[int(p.metadata.get("udh_len", 0)):])
        else:
            pieces.append(p.text)
    if run:
        pieces.append(decode_body(b"".join(run), dc))
    return "".join(pieces), missing


def _group_key(p: InboundPart) -> tuple[Any, ...]:
    return (p.connection, p.source, p.destination, p.concat_ref, p.concat_total, p.concat_bits)


def _assemble(groups: dict[tuple[Any, ...], list[InboundPart]], *, force: bool) -> list[_Whole]:
    wholes = []
    for key, parts in groups.items():
        total = int(key[4])
        seqs = {p.concat_seq for p in parts}
        if not force and not all(s in seqs for s in range(1, total + 1)):
            continue
        text, missing = _join(parts, total)
        first = min(parts, key=lambda p: p.received_at)
        wholes.append(_Whole(
            connection=first.connection, source=first.source,
            source_ton=first.metadata.get("source_addr_ton"), destination=first.destination,
            data_coding=first.data_coding, text=text, binary=is_binary(first.data_coding),
            parts_total=total, missing=missing, received_at=first.received_at,
            part_ids=[p.pk for p in parts], part_objs=parts,
        ))
    return wholes


def flush_incomplete(now: datetime | None = None) -> int:
    """Write the concatenated messages whose missing parts did not come in time; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(conf.get("INBOX_REASSEMBLY_TIMEOUT")))
    with transaction.atomic():
        stale = list(InboundPart.objects.filter(assembled=False, received_at__lt=cutoff)
                     .values_list("source", "concat_ref").distinct())
        if not stale:
            return 0
        parts = InboundPart.objects.filter(assembled=False, source__in={s for s, _ in stale},
                                           concat_ref__in={r for _, r in stale})
        groups: dict[tuple[Any, ...], list[InboundPart]] = defaultdict(list)
        for p in parts:
            groups[_group_key(p)].append(p)
        # Only the groups whose oldest part is past the time-out; a young group sharing the source
        # and reference (a new message reusing the reference) keeps waiting.
        groups = {k: v for k, v in groups.items() if min(p.received_at for p in v) < cutoff}
        wholes = _assemble(groups, force=True)
        _apply_rules(wholes, now)
    return len(wholes)


def intake_gateway(limit: int = 2000) -> int:
    """Take the gateway's ``InboundMessage`` rows not yet processed (the engine's own MO table,
    used while the engine does not call ``receive_mo_batch`` itself); returns how many.

    Those rows keep text and concatenation info but not the raw octets or data_coding; a row's
    id is its identity (``gw:<id>``), and 16-bit references are told from 8-bit ones by their value.
    """
    from warta.gateway.models import Connection, InboundMessage

    with transaction.atomic():
        rows = list(InboundMessage.objects.select_for_update(skip_locked=True)
                    .filter(processed_at__isnull=True).order_by("received_at", "id")[:limit])
        if not rows:
            return 0
        names = dict(Connection.objects.filter(pk__in={r.connection_id for r in rows}).values_list("pk", "name"))
        mos = [MO(connection=names.get(r.connection_id, str(r.connection_id or "")), source=r.source,
                  destination=r.destination, text=r.text, received_at=r.received_at,
                  concat=(r.concat_ref, r.concat_total, r.concat_seq, 16 if r.concat_ref > 255 else 8)
                  if r.concat_ref is not None and r.concat_total and r.concat_seq else None,
                  metadata={"transport": "gateway.InboundMessage", "gateway_row": r.pk})
               for r in rows]
        receive_mo_batch(mos)
        InboundMessage.objects.filter(pk__in=[r.pk for r in rows]).update(processed_at=timezone.now())
    return len(rows)


def _maybe_sweep(now: datetime) -> None:
    global _last_sweep
    mono = time.monotonic()
    if mono - _last_sweep < _SWEEP_EVERY:
        return
    _last_sweep = mono
    flush_incomplete(now)


# ----------------------------------------------------------------------------- entry points


def receive_mo(mo: MO, *, now: datetime | None = None) -> str:
    """Store one MO; see ``receive_mo_batch``."""
    return receive_mo_batch([mo], now=now)[0]


def receive_mo_batch(mos: list[MO], *, now: datetime | None = None) -> list[str]:
    """Store MOs, reassemble, ticket, acknowledge. Idempotent per deliver_sm; never raises for
    what a citizen or an SMSC sent (only for a database failure, after which the transport should
    ask for redelivery: ESME_RX_T_APPN).

    Returns one outcome per input: ``"stored"`` (a whole message was written), ``"part"`` (a
    part waits for its siblings, or completed a message), ``"duplicate"`` (seen before).
    """
    if not mos:
        return []
    now = now or timezone.now()
    for attempt in range(3):
        try:
            with transaction.atomic():
                outcomes = _receive(mos, now)
            break
        except IntegrityError:
            # Another engine stored one of these (or opened the same ticket) at the same moment:
            # the retry sees its rows and treats them as duplicates or existing tickets.
            if attempt == 2:
                raise
    _maybe_sweep(now)
    return outcomes


@dataclass(slots=True)
class _NewPart:
    """An ``InboundPart`` row about to be inserted (attribute names as on the model)."""

    connection: str
    dedup_key: str
    source: str
    destination: str
    data_coding: int
    payload: bytes | None
    text: str
    concat_ref: int | None
    concat_total: int | None
    concat_seq: int | None
    concat_bits: int | None
    smsc_message_id: str
    metadata: dict[str, Any]
    received_at: datetime
    assembled: bool
    message_id: int | None = None
    pk: None = None

    def row(self) -> tuple[Any, ...]:
        return (self.connection, self.dedup_key, self.source, self.destination, self.data_coding, self.payload,
                self.text, self.concat_ref, self.concat_total, self.concat_seq, self.concat_bits,
                self.smsc_message_id, self.metadata, self.received_at, self.assembled, self.message_id)


_PART_FIELDS = ("connection", "dedup_key", "source", "destination", "data_coding", "payload", "text", "concat_ref",
                "concat_total", "concat_seq", "concat_bits", "smsc_message_id", "metadata", "received_at",
                "assembled", "message")


def _seen_keys(keys_by_conn: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The (connection, dedup_key) pairs already stored: one query per connection in the batch."""
    table = connection.ops.quote_name(InboundPart._meta.db_table)
    seen: set[tuple[str, str]] = set()
    with connection.cursor() as cur:
        for conn, keys in keys_by_conn.items():
            where, params = fastsql.in_list("dedup_key", sorted(keys))
            cur.execute(f"SELECT dedup_key FROM {table} WHERE connection = %s AND {where}",  # noqa: S608
                        [conn, *params])
            seen.update((conn, k) for (k,) in cur.fetchall())
    return seen


def _receive(mos: list[MO], now: datetime) -> list[str]:
    window = int(conf.get("INBOX_DEDUP_WINDOW"))
    prepared = [_prepare(mo, now, window) for mo in mos]
    keys_by_conn: dict[str, set[str]] = defaultdict(set)
    for p in prepared:
        if not p.key.startswith(_ONCE):
            keys_by_conn[p.mo.connection].update((p.key, p.prev_key))
    seen = _seen_keys(keys_by_conn)

    outcomes: list[str] = []
    fresh: list[_Part] = []
    for p in prepared:
        conn = p.mo.connection
        if (conn, p.key) in seen or (conn, p.prev_key) in seen:
            outcomes.append("duplicate")
            continue
        seen.add((conn, p.key))
        fresh.append(p)
        outcomes.append("part" if p.concat else "stored")

    part_rows = [
        _NewPart(
            connection=_clean(p.mo.connection)[:50], dedup_key=p.key, source=_clean(p.mo.source)[:32],
            destination=_clean(p.mo.destination)[:32], data_coding=p.mo.data_coding,
            payload=p.mo.short_message, text=p.text,
            concat_ref=p.concat[0] if p.concat else None, concat_total=p.concat[1] if p.concat else None,
            concat_seq=p.concat[2] if p.concat else None, concat_bits=p.concat[3] if p.concat else None,
            smsc_message_id=_clean(p.mo.smsc_message_id)[:65],
            metadata=_clean_meta({**p.mo.metadata, "source_addr_ton": p.mo.source_ton, "udh_len": p.udh_len}),
            received_at=p.received_at, assembled=p.concat is None,
        )
        for p in fresh
    ]
    # Whole single-part messages are inserted after their Message exists (message_id set at
    # insert, no UPDATE); parts of concatenations now, to wait for their siblings.
    fastsql.insert_rows(InboundPart, _PART_FIELDS, [row.row() for row in part_rows if not row.assembled])

    wholes: list[_Whole] = []
    touched: set[tuple[str, int]] = set()
    for p, row in zip(fresh, part_rows, strict=True):
        if p.concat is None:
            wholes.append(_Whole(
                connection=row.connection, source=row.source, source_ton=p.mo.source_ton,
                destination=row.destination, data_coding=row.data_coding, text=p.text,
                binary=is_binary(row.data_coding), parts_total=1, missing=[], received_at=p.received_at,
                part_ids=[], part_objs=[row],  # type: ignore[list-item]
            ))
        else:
            touched.add((row.source, p.concat[0]))
    if touched:
        waiting = InboundPart.objects.filter(assembled=False, source__in={s for s, _ in touched},
                                             concat_ref__in={r for _, r in touched})
        groups: dict[tuple[Any, ...], list[InboundPart]] = defaultdict(list)
        for part in waiting:
            if (part.source, part.concat_ref) in touched:
                groups[_group_key(part)].append(part)
        wholes.extend(_assemble(groups, force=False))
    _apply_rules(wholes, now)
    return outcomes


# ----------------------------------------------------------------------------- rules


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_template(template: str, **values: Any) -> str:
    """An administrator-edited template: unknown or broken placeholders stay as typed."""
    try:
        return template.format_map(_SafeDict(values, center=conf.center_display()))
    except (ValueError, IndexError, AttributeError):
        return template


def _wib_day(at: datetime) -> date:
    return at.astimezone(sla.WIB).date()


@dataclass(slots=True)
class _In:
    """An incoming ``Message`` row about to be inserted."""

    conv: Conversation
    text: str
    at: datetime
    connection: str
    destination: str
    data_coding: int
    is_binary: bool
    parts_total: int
    parts_missing: list[int]
    disposition: Any = ""
    keyword: str = ""
    ticket: Ticket | None = None
    analysis: Any = None  # hooks.Analysis from the insights app
    routed_new: bool = False


_MESSAGE_FIELDS = ("conversation", "ticket", "direction", "disposition", "text", "at", "connection", "destination",
                   "data_coding", "is_binary", "parts_total", "parts_missing", "keyword", "author", "outbox_id")
_CONV_STATE = ("last_message_at", "window_start", "window_count", "autoreply_day", "autoreply_count")
_TICKET_FIELDS = tuple(f.name for f in Ticket._meta.concrete_fields if not f.primary_key)


def _where_in(model: Any, column: str, values: Any, db_type: str = "text") -> tuple[str, str, list[Any]]:
    table = connection.ops.quote_name(model._meta.db_table)
    where, params = fastsql.in_list(column, list(values), db_type)
    return table, where, params


def _apply_rules(wholes: list[_Whole], now: datetime) -> None:
    if not wholes:
        return
    max_text = int(conf.get("INBOX_MAX_TEXT"))
    flood_limit = int(conf.get("INBOX_FLOOD_LIMIT"))
    flood_window = timedelta(seconds=int(conf.get("INBOX_FLOOD_WINDOW")))
    autoreply_max = int(conf.get("INBOX_AUTOREPLY_PER_DAY"))
    verify_days = int(conf.get("INBOX_SLA_VERIFY_DAYS"))
    followup_days = int(conf.get("INBOX_SLA_FOLLOWUP_DAYS"))
    templates = notices.texts()  # ack, followup, forwarded (an auto-routed ticket's ack)
    center = conf.center_number()
    today = _wib_day(now)

    wholes.sort(key=lambda w: w.received_at)
    addr: dict[int, tuple[str, str]] = {}
    for i, w in enumerate(wholes):
        addr[i] = classify_address(w.source, w.source_ton)
        if len(w.text) > max_text:
            w.text = w.text[:max_text] + "[…dipotong…]"

    # Conversations: the existing ones are fetched; the new ones are inserted after the rules
    # with their final counters (no UPDATE), and have no tickets yet.
    addresses = {a for a, _ in addr.values()}
    tbl, where, params = _where_in(Conversation, "address", addresses)
    convs = {c.address: c for c in Conversation.objects.raw(f"SELECT * FROM {tbl} WHERE {where}", params)}  # noqa: S608
    existing = list(convs.values())
    new_convs: list[Conversation] = []
    for i, w in enumerate(wholes):
        a, kind = addr[i]
        if a not in convs:
            convs[a] = c = Conversation(address=a, kind=kind, created_at=w.received_at, last_message_at=w.received_at)
            new_convs.append(c)
    open_tickets: dict[str, Ticket] = {}  # by address
    if existing:
        by_id = {c.pk: c for c in existing}
        tbl, where, params = _where_in(Ticket, "conversation_id", list(by_id), "bigint")
        statuses = ", ".join(f"'{s.value}'" for s in OPEN_STATUSES)
        for t in Ticket.objects.raw(f"SELECT * FROM {tbl} WHERE {where} AND status IN ({statuses})",  # noqa: S608
                                    params):
            t.conversation = by_id[t.conversation_id]
            open_tickets[t.conversation.address] = t
    blocked: set[str] = set()
    if BlockedNumber.objects.exists():
        tbl, where, params = _where_in(BlockedNumber, "address", addresses)
        with connection.cursor() as cur:
            cur.execute(f"SELECT address FROM {tbl} WHERE {where}", params)  # noqa: S608
            blocked = {a for (a,) in cur.fetchall()}
    table = keywords.active_table()
    rules = routing.compile_rules()
    holidays = sla.holidays()
    due_cache: dict[tuple[date, int], datetime] = {}

    # Keywords are matched once; the tickets STATUS asks about are fetched in one query.
    found_by_index: dict[int, tuple[Any, str]] = {}
    asked: set[int] = set()
    for i, w in enumerate(wholes):
        found = None if w.binary else keywords.match(w.text, table)
        if found is not None:
            found_by_index[i] = found
            if found[0].action == KeywordAction.STATUS:
                number = keywords.ticket_number(found[1])
                if number is not None and number < 2**63:
                    asked.add(number)
    status_tickets = {t.pk: t for t in Ticket.objects.filter(pk__in=asked).select_related("unit")
                      .annotate(last_event_at=Max("events__at"))} if asked else {}
    # Topic, place, urgency, poll answers (warta.insights), one call per batch.
    analyser = hooks.analyser()
    analyses: list[Any] = (analyser.analyse([(addr[i][0], w.text, w.received_at, w.binary)
                                             for i, w in enumerate(wholes)], now)
                           if analyser is not None else [None] * len(wholes))

    def due(at: datetime, days: int) -> datetime:
        k = (_wib_day(at), days)
        if k not in due_cache:
            due_cache[k] = sla.add_working_days(at, days, holidays)
        return due_cache[k]

    new_tickets: list[Ticket] = []
    touched_tickets: dict[int, Ticket] = {}
    incoming: list[_In] = []
    incoming_parts: list[list[Any]] = []
    # conv, ticket, text (or "" to render ``template`` once the ticket has its number), disposition, template
    replies: list[tuple[Conversation, Ticket | None, str, Any, str]] = []
    events: list[tuple[Ticket, datetime, Any, dict[str, Any]]] = []

    def may_autoreply(conv: Conversation) -> bool:
        if conv.kind != SenderKind.MOBILE:
            return False
        if conv.autoreply_day != today:
            conv.autoreply_day, conv.autoreply_count = today, 0
        if conv.autoreply_count >= autoreply_max:
            return False
        conv.autoreply_count += 1
        return True

    for i, w in enumerate(wholes):
        address, _kind = addr[i]
        conv = convs[address]
        conv.last_message_at = max(conv.last_message_at, w.received_at)
        if conv.window_start is None or w.received_at - conv.window_start > flood_window:
            conv.window_start, conv.window_count = w.received_at, 0
        conv.window_count += 1
        msg = _In(conv=conv, text=w.text, at=w.received_at, connection=w.connection, destination=w.destination,
                  data_coding=w.data_coding, is_binary=w.binary, parts_total=w.parts_total, parts_missing=w.missing)
        incoming.append(msg)
        incoming_parts.append(w.part_objs)
        if address in blocked:
            msg.disposition = Disposition.BLOCKED
            continue
        if conv.window_count > flood_limit:
            msg.disposition = Disposition.FLOOD
            continue
        if not w.text.strip():
            msg.disposition = Disposition.EMPTY
            continue
        found = found_by_index.get(i)
        if found is not None:
            keyword, argument = found
            msg.disposition = Disposition.KEYWORD
            msg.keyword = keyword.word
            answer = _run_keyword(keyword, argument, conv, status_tickets)
            if answer and may_autoreply(conv):
                replies.append((conv, None, answer, Disposition.KEYWORD_REPLY, ""))
            continue

        a = msg.analysis = analyses[i]
        if a is not None and a.poll is not None:
            msg.disposition = Disposition.POLL  # an answer to an open poll: counted, not ticketed
            continue
        msg.disposition = Disposition.TICKET
        ticket = open_tickets.get(address)
        if ticket is None:
            ticket = Ticket(conversation=conv, status=TicketStatus.MENUNGGU, subject=w.text[:200].strip(),
                            created_at=w.received_at, updated_at=now, last_message_at=w.received_at,
                            verify_due_at=due(w.received_at, verify_days), message_count=0, search_text="")
            if a is not None:
                ticket.topic_id, ticket.region_id, ticket.urgent = a.topic_id, a.region_id, a.urgent
            rule = routing.route(rules, text=w.text, topic=a.topic_code if a else "", region=a.region_name if a else "")
            msg.routed_new = rule is not None
            if rule is not None:
                ticket.unit_id = rule.unit_id
                ticket.status = TicketStatus.DISPOSISI
                ticket.forwarded_at = w.received_at
                ticket.followup_due_at = due(w.received_at, followup_days)
                events.append((ticket, now, EventKind.ROUTED, {"rule": rule.rule_id, "unit": rule.unit_id}))
            events.append((ticket, w.received_at, EventKind.CREATED, {}))
            open_tickets[address] = ticket
            new_tickets.append(ticket)
        elif ticket.pk is not None:
            touched_tickets[ticket.pk] = ticket
            if a is not None:
                if a.urgent:
                    ticket.urgent = True  # a later message about immediate danger raises the ticket
                if a.topic_code not in ("", "lainnya") and ticket.topic_id in (None, a.lainnya_id):
                    ticket.topic_id = a.topic_id  # "halo" first, the complaint next: the complaint's topic
                if ticket.region_id is None and a.region_id is not None:
                    ticket.region_id = a.region_id
        ticket.last_message_at = max(ticket.last_message_at, w.received_at)
        ticket.updated_at = now
        ticket.message_count += 1
        if len(ticket.search_text) < MAX_SEARCH_TEXT:
            ticket.search_text = (ticket.search_text + "\n" + w.text)[:MAX_SEARCH_TEXT]
        msg.ticket = ticket
        # One acknowledgement per ticket; a follow-up gets at most one short note a day.
        if ticket.acked_on != today and may_autoreply(conv):
            kind = "followup" if ticket.pk is not None else "forwarded" if ticket.unit_id else "ack"
            replies.append((conv, ticket, "", Disposition.ACK, kind))
            ticket.acked_on = today

    # If another engine created one of these conversations meanwhile, unique(address) raises
    # IntegrityError and receive_mo_batch retries the batch, which then counts floods and
    # auto-replies on the stored row.
    conv_ids = fastsql.insert_rows(
        Conversation, ("address", "kind", "created_at", *_CONV_STATE),
        [(c.address, c.kind, c.created_at, *(getattr(c, f) for f in _CONV_STATE)) for c in new_convs],
        returning=True)
    for c, pk in zip(new_convs, conv_ids, strict=True):
        c.pk = pk
    for t in new_tickets:
        t.conversation_id = t.conversation.pk
    attnames = [Ticket._meta.get_field(f).attname for f in _TICKET_FIELDS]
    ids = fastsql.insert_rows(Ticket, _TICKET_FIELDS, [tuple(getattr(t, a) for a in attnames) for t in new_tickets],
                              returning=True)
    for t, pk in zip(new_tickets, ids, strict=True):
        t.pk = pk
        if t.unit_id is not None:  # routed by a rule at intake
            announce(ticket_routed, ticket_id=pk, unit_id=t.unit_id, by="rule")
    if touched_tickets:
        fastsql.update_rows(Ticket, ("last_message_at", "updated_at", "message_count", "search_text", "acked_on",
                                     "urgent", "topic", "region"),
                            [(t.last_message_at, t.updated_at, t.message_count, t.search_text, t.acked_on, t.urgent,
                              t.topic_id, t.region_id, t.pk) for t in touched_tickets.values()])
    fastsql.insert_rows(TicketEvent, ("ticket", "at", "actor", "kind", "text", "data"),
                        [(t.pk, at, None, kind, "", data) for t, at, kind, data in events])
    message_ids = fastsql.insert_rows(Message, _MESSAGE_FIELDS, [
        (m.conv.pk, m.ticket.pk if m.ticket is not None else None, Direction.IN, m.disposition, m.text, m.at,
         m.connection, m.destination, m.data_coding, m.is_binary, m.parts_total, m.parts_missing, m.keyword,
         None, None)
        for m in incoming
    ], returning=True)

    if analyser is not None:
        analyser.record([(mid, m.ticket.pk if m.ticket is not None else None,
                          m.ticket.unit_id if m.ticket is not None else None, m.analysis, m.at, m.routed_new)
                         for mid, m in zip(message_ids, incoming, strict=True)
                         if m.analysis is not None and m.disposition in (Disposition.TICKET, Disposition.POLL)], now)

    # Link parts to their message: new single parts are inserted with it; the (few) parts of
    # concatenations are updated, one statement for the batch.
    new_parts: list[tuple[Any, ...]] = []
    linked: list[tuple[int, bool, int]] = []
    for message_id, parts in zip(message_ids, incoming_parts, strict=True):
        if parts and parts[0].pk is None:
            parts[0].message_id = message_id
            new_parts.append(parts[0].row())
        else:
            linked.extend((message_id, True, p.pk) for p in parts)
    fastsql.insert_rows(InboundPart, _PART_FIELDS, new_parts)
    fastsql.update_rows(InboundPart, ("message", "assembled"), linked)

    if replies:
        units = _unit_names({t.unit_id for _c, t, _x, _d, tpl in replies if t is not None and tpl == "forwarded"})
        texts = [text or render_template(templates[tpl], ticket=t.number if t else "",
                                         unit=units.get(t.unit_id, "") if t is not None else "")
                 for _c, t, text, _d, tpl in replies]
        outbox_ids = outbound.queue_sms_batch([
            outbound.Outgoing(c.address, text, center, "ack" if d == Disposition.ACK else "keyword",
                              t.pk if t else None)
            for (c, t, _x, d, _tpl), text in zip(replies, texts, strict=True)
        ], now=now)
        fastsql.insert_rows(Message, _MESSAGE_FIELDS, [
            (c.pk, t.pk if t is not None else None, Direction.OUT, d, text, now, "", c.address, None, False, 1, [],
             "", None, oid)
            for (c, t, _x, d, _tpl), text, oid in zip(replies, texts, outbox_ids, strict=True)
        ])
    fastsql.update_rows(Conversation, _CONV_STATE, [(*(getattr(c, f) for f in _CONV_STATE), c.pk) for c in existing])


def _unit_names(ids: set[Any]) -> dict[int, str]:
    from warta.accounts.models import Unit

    ids.discard(None)
    return {pk: str(u) for pk, u in ((u.pk, u) for u in Unit.objects.filter(pk__in=ids))} if ids else {}


def format_wib(at: datetime | None) -> str:
    """A time as an SMS says it: 03/12/2026 14:05 WIB."""
    return at.astimezone(sla.WIB).strftime("%d/%m/%Y %H:%M WIB") if at is not None else ""


def _run_keyword(keyword: Any, argument: str, conv: Conversation,
                 status_tickets: dict[int, Ticket] | None = None) -> str:
    """Do what the keyword says; the answer to send (may be empty)."""
    action = keyword.action
    ok_reply, err_reply = keyword.reply, keyword.reply_error or keyword.reply
    if action == KeywordAction.STATUS:
        number = keywords.ticket_number(argument)
        # Only the citizen's own tickets: a ticket number is not a secret, a complaint's status is.
        ticket = None
        if number is not None and status_tickets is not None:
            ticket = status_tickets.get(number)
            if ticket is not None and ticket.conversation_id != conv.pk:
                ticket = None
        elif number is not None and conv.pk is not None:
            ticket = (Ticket.objects.filter(pk=number, conversation=conv).select_related("unit")
                      .annotate(last_event_at=Max("events__at")).first())
        if ticket is None:
            return render_template(err_reply, ticket=number or argument[:12], status="")
        # Who has it and when it last moved: the unit (the SMS Center until it is forwarded)
        # and the time of the ticket's latest history event.
        updated = getattr(ticket, "last_event_at", None) or ticket.updated_at
        return render_template(ok_reply, ticket=ticket.number, status=str(ticket.get_status_display()),
                               unit=str(ticket.unit or "SMS Center"), updated=format_wib(updated))
    if action in (KeywordAction.OPT_OUT, KeywordAction.OPT_IN):
        if conv.kind not in (SenderKind.MOBILE, SenderKind.FOREIGN, SenderKind.FIXED):
            return ""
        try:
            region = ""
            if action == KeywordAction.OPT_OUT:
                keywords.opt_out(conv.address)
            else:
                region = keywords.opt_in(conv.address, argument[:100] or None)
        except keywords.ContactsUnavailable as exc:
            log.error("inbox: keyword %s from %s not honoured: %s", keyword.word, _log_number(conv.address), exc)
            return render_template(err_reply, kelurahan=argument[:100])
        except ValueError as exc:  # e.g. an unknown kelurahan
            log.info("inbox: keyword %s refused: %s", keyword.word, exc)
            return render_template(err_reply, kelurahan=argument[:100])
        # The contacts service audits the opt-out/opt-in itself.
        return render_template(ok_reply, kelurahan=region or argument[:100])
    return render_template(ok_reply)
