"""The citizen inbox: what arrived, conversations, tickets, and the tables administrators edit.

Theory of operation
-------------------
``InboundPart`` is one deliver_sm (or one Kannel/Gammu message) exactly as it came, raw octets
and metadata kept, unique per (connection, dedup_key) so a redelivered PDU is stored once.
Parts of a concatenated SMS wait (``message`` is null) until the last part arrives or the
reassembly time-out passes; then one ``Message`` is written. A ``Message`` belongs to the
``Conversation`` of its number (one per citizen number) and, when it is a complaint rather than
a keyword or a flood, to that conversation's open ``Ticket``. Outgoing SMS (acknowledgements,
keyword answers, replies) are ``Message`` rows too, with ``direction = out`` and the outbox id.

The rate limits live on the conversation row (a window counter and a per-day auto-reply
counter), so ingest decides "flood or not" and "may we answer" without a ``COUNT(*)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SenderKind(models.TextChoices):
    MOBILE = "mobile", _("ponsel Indonesia")  # may receive auto-replies
    FIXED = "fixed", _("telepon tetap/lainnya")  # Indonesian, not a handset: no auto-reply
    FOREIGN = "foreign", _("nomor luar negeri")  # stored; no auto-reply (cost, abuse)
    SHORTCODE = "shortcode", _("kode pendek")  # operator services: never auto-reply (loops)
    ALPHANUMERIC = "alnum", _("alfanumerik")  # a mask like "TSEL-INFO": never auto-reply
    INVALID = "invalid", _("tidak dikenal")  # unparseable address: stored only


class Conversation(models.Model):
    """Everything one citizen number sent and received. One row per address."""

    address = models.CharField(_("nomor"), max_length=32, unique=True)  # E.164 when parseable
    kind = models.CharField(_("jenis"), max_length=10, choices=SenderKind.choices)
    created_at = models.DateTimeField(_("dibuat"))
    last_message_at = models.DateTimeField(_("pesan terakhir"))
    # Flood window: messages counted since window_start (INBOX_FLOOD_WINDOW seconds).
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.IntegerField(default=0)
    # Auto-replies sent on autoreply_day (Asia/Jakarta date), at most INBOX_AUTOREPLY_PER_DAY.
    autoreply_day = models.DateField(null=True, blank=True)
    autoreply_count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("percakapan")
        verbose_name_plural = _("percakapan")

    def __str__(self) -> str:
        return self.address

    @property
    def can_receive_sms(self) -> bool:
        return self.kind == SenderKind.MOBILE


class TicketStatus(models.TextChoices):
    """The statuses of Jakarta's CRM, plus Spam."""

    MENUNGGU = "menunggu", _("Menunggu")  # new; the SMS Center has not verified it yet
    KOORDINASI = "koordinasi", _("Koordinasi")  # the SMS Center is verifying/coordinating
    DISPOSISI = "disposisi", _("Disposisi")  # forwarded to a unit, not yet taken up
    PROSES = "proses", _("Proses")  # the unit is following up
    SELESAI = "selesai", _("Selesai")  # answered and closed
    SPAM = "spam", _("Spam")  # not a complaint; closed without an answer


OPEN_STATUSES = (TicketStatus.MENUNGGU, TicketStatus.KOORDINASI, TicketStatus.DISPOSISI, TicketStatus.PROSES)
CLOSED_STATUSES = (TicketStatus.SELESAI, TicketStatus.SPAM)


class Ticket(models.Model):
    """A citizen's matter, from the first message to its answer.

    Lifecycle (``services.TRANSITIONS`` is the table)::

        Menunggu ──verify──▶ Koordinasi ──forward to unit──▶ Disposisi ──unit takes it──▶ Proses
           │  │                 │  │                           │  ▲                        │
           │  └──forward────────┼──┼──────────────────────────▶┘  └──────return────────────┤
           │                    │  └──────────answer─────────────────────────────────┐      │
           ├──▶ Spam ◀──────────┘                                                    ▼      ▼
           └──────────────────────────────answer────────────────────────────────▶ Selesai

    Every open status may be closed (Selesai) by answering; Spam only before forwarding. A message
    on a closed ticket opens a new ticket in the same conversation (at most one open ticket per
    conversation: a partial unique constraint).

    SLA clocks (``warta.inbox.sla``): ``verify_due_at`` is set at creation (N working days to
    verify and forward) and is met when the ticket is forwarded or closed; ``followup_due_at`` is
    set when forwarded (M working days for the unit) and met when it is closed. Overdue tickets are
    escalated once per clock (``escalated_verify_at`` / ``escalated_followup_at``).
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(_("status"), max_length=12, choices=TicketStatus.choices,
                              default=TicketStatus.MENUNGGU)
    subject = models.CharField(_("ringkasan"), max_length=200, blank=True)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="tickets", verbose_name=_("unit"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="inbox_tickets", verbose_name=_("petugas"))
    # Set at ingest by the classifier (warta.insights), corrected by people; see docs/insights.md.
    topic = models.ForeignKey("insights.Topic", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("topik"))
    region = models.ForeignKey("contacts.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("wilayah"))
    urgent = models.BooleanField(_("darurat"), default=False)  # immediate danger: shown first in the inbox
    created_at = models.DateTimeField(_("dibuat"))
    updated_at = models.DateTimeField(_("diperbarui"))
    last_message_at = models.DateTimeField(_("pesan terakhir"))
    message_count = models.IntegerField(default=0)
    verify_due_at = models.DateTimeField(_("batas verifikasi"))
    forwarded_at = models.DateTimeField(_("diteruskan"), null=True, blank=True)
    followup_due_at = models.DateTimeField(_("batas tindak lanjut"), null=True, blank=True)
    closed_at = models.DateTimeField(_("ditutup"), null=True, blank=True)
    escalated_verify_at = models.DateTimeField(null=True, blank=True)
    escalated_followup_at = models.DateTimeField(null=True, blank=True)
    # Plain text of the ticket's messages and notes, for search (FTS5/PostgreSQL or icontains).
    search_text = models.TextField(blank=True)

    class Meta:
        ordering = ["-urgent", "-last_message_at", "-id"]  # urgent (immediate danger) first
        verbose_name = _("tiket")
        verbose_name_plural = _("tiket")
        constraints = [
            models.UniqueConstraint(fields=["conversation"], condition=Q(status__in=[s.value for s in OPEN_STATUSES]),
                                    name="ticket_one_open_per_conversation"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in TicketStatus]), name="ticket_status_valid"),
            models.CheckConstraint(condition=~Q(status__in=["selesai", "spam"]) | Q(closed_at__isnull=False),
                                   name="ticket_closed_has_closed_at"),
            models.CheckConstraint(condition=~Q(status__in=["disposisi", "proses"]) | Q(unit__isnull=False),
                                   name="ticket_forwarded_has_unit"),
        ]
        indexes = [
            # used by the inbox list: newest first within a status
            models.Index(fields=["status", "-last_message_at"], name="ticket_inbox_list"),
            # used by the inbox list: urgent tickets first
            models.Index(fields=["status", "-last_message_at"], name="ticket_inbox_urgent", condition=Q(urgent=True)),
            # used by a liaison's inbox: their unit's tickets
            models.Index(fields=["unit", "-last_message_at"], name="ticket_unit_list"),
            # used by the escalation job: open tickets by deadline
            models.Index(fields=["verify_due_at"], name="ticket_sla_verify",
                         condition=Q(forwarded_at__isnull=True, closed_at__isnull=True, escalated_verify_at__isnull=True)),
            models.Index(fields=["followup_due_at"], name="ticket_sla_followup",
                         condition=Q(closed_at__isnull=True, escalated_followup_at__isnull=True,
                                     followup_due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def number(self) -> str:
        """The ticket number a citizen sees and texts back (STATUS 123)."""
        return str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue_clock(self, now: datetime) -> str | None:
        """"verify" or "followup" when that SLA clock has run out, else None."""
        if self.closed_at is not None:
            return None
        if self.forwarded_at is None and self.verify_due_at and now > self.verify_due_at:
            return "verify"
        if self.followup_due_at is not None and now > self.followup_due_at:
            return "followup"
        return None


class Direction(models.TextChoices):
    IN = "in", _("masuk")
    OUT = "out", _("keluar")


class Disposition(models.TextChoices):
    """What ingest decided about an incoming message; outgoing ones say why they were sent."""

    TICKET = "ticket", _("tiket")  # a complaint/question, attached to a ticket
    KEYWORD = "keyword", _("kata kunci")  # BERHENTI, DAFTAR, INFO, STATUS… answered automatically
    FLOOD = "flood", _("banjir pesan")  # beyond the per-number rate limit: stored, not ticketed
    BLOCKED = "blocked", _("diblokir")  # from a blocked number: stored, not ticketed
    EMPTY = "empty", _("kosong")  # no text at all: stored, not ticketed
    POLL = "poll", _("jawaban jajak pendapat")  # a reply inside an open poll's window: counted, not ticketed
    # outgoing
    ACK = "ack", _("tanda terima")
    KEYWORD_REPLY = "keyword_reply", _("balasan kata kunci")
    REPLY = "reply", _("balasan petugas")


class Message(models.Model):
    """One whole SMS, in or out (a concatenated message is one row)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="messages")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    disposition = models.CharField(max_length=14, choices=Disposition.choices)
    text = models.TextField(blank=True)
    at = models.DateTimeField(_("waktu"))
    # incoming
    connection = models.CharField(max_length=50, blank=True)
    destination = models.CharField(max_length=32, blank=True)
    data_coding = models.SmallIntegerField(null=True, blank=True)
    is_binary = models.BooleanField(default=False)  # 8-bit data: text shows a hex excerpt
    parts_total = models.SmallIntegerField(default=1)
    parts_missing = models.JSONField(default=list, blank=True)  # sequence numbers never received
    keyword = models.CharField(max_length=20, blank=True)
    # outgoing
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    outbox_id = models.BigIntegerField(null=True, blank=True)  # the outbox row that carries it

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["conversation", "at"], name="message_conversation"),  # used by the ticket page
            models.Index(fields=["ticket", "at"], name="message_ticket"),  # used by the ticket page
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.conversation} {self.text[:30]}"

    @property
    def is_incomplete(self) -> bool:
        return bool(self.parts_missing)


class InboundPart(models.Model):
    """One deliver_sm as it arrived: raw octets and metadata, stored once per redelivery key."""

    connection = models.CharField(max_length=50)
    dedup_key = models.CharField(max_length=80)
    source = models.CharField(max_length=32)
    destination = models.CharField(max_length=32)
    data_coding = models.SmallIntegerField(default=0)
    payload = models.BinaryField(null=True, blank=True)  # short_message, UDH included
    text = models.TextField(blank=True)  # decoded body of this part
    concat_ref = models.IntegerField(null=True, blank=True)
    concat_total = models.SmallIntegerField(null=True, blank=True)
    concat_seq = models.SmallIntegerField(null=True, blank=True)
    concat_bits = models.SmallIntegerField(null=True, blank=True)
    smsc_message_id = models.CharField(max_length=65, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="parts")
    assembled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "dedup_key"], name="inboundpart_once"),
        ]
        indexes = [
            # used by reassembly and the time-out sweep: parts still waiting for their siblings
            models.Index(fields=["source", "concat_ref"], name="inboundpart_waiting",
                         condition=Q(assembled=False)),
            models.Index(fields=["received_at"], name="inboundpart_waiting_age", condition=Q(assembled=False)),
        ]


class EventKind(models.TextChoices):
    CREATED = "created", _("tiket dibuat")
    STATUS = "status", _("status diubah")
    ASSIGNED = "assigned", _("ditugaskan")
    ROUTED = "routed", _("dirutekan otomatis")
    NOTE = "note", _("catatan internal")
    REPLY = "reply", _("balasan dikirim")
    ESCALATED = "escalated", _("dieskalasi")
    EDITED = "edited", _("data diubah")


class TicketEvent(models.Model):
    """The ticket's own history (notes included), shown on its page; the audit trail has the rest."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class KeywordAction(models.TextChoices):
    OPT_OUT = "opt_out", _("berhenti berlangganan")
    OPT_IN = "opt_in", _("daftar berlangganan")
    INFO = "info", _("informasi")
    STATUS = "status", _("status tiket")
    REPLY = "reply", _("balasan tetap")


class Keyword(models.Model):
    """A word that, as the first word of an SMS, is answered automatically instead of ticketed.

    The reply may use ``{ticket}``, ``{status}``, ``{kelurahan}`` and ``{center}``.
    """

    word = models.CharField(_("kata kunci"), max_length=20, unique=True)
    action = models.CharField(_("tindakan"), max_length=10, choices=KeywordAction.choices)
    reply = models.TextField(_("balasan"), blank=True)
    # A second reply for when the action fails (unknown ticket, unknown kelurahan…).
    reply_error = models.TextField(_("balasan bila gagal"), blank=True)
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        ordering = ["word"]
        verbose_name = _("kata kunci")
        verbose_name_plural = _("kata kunci")

    def __str__(self) -> str:
        return self.word

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.word = self.word.strip().upper()
        super().save(*args, **kwargs)


class RuleKind(models.TextChoices):
    KEYWORD = "keyword", _("kata dalam pesan")
    TOPIC = "topic", _("topik")
    REGION = "region", _("wilayah")


class RoutingRule(models.Model):
    """Send tickets to a unit: by a word in the message, by topic, or by region (kelurahan, kota)."""

    kind = models.CharField(_("jenis"), max_length=10, choices=RuleKind.choices)
    pattern = models.CharField(_("pola"), max_length=100,
                               help_text=_("Kata (tanpa membedakan huruf besar), kode topik, atau nama wilayah."))
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    priority = models.SmallIntegerField(_("prioritas"), default=100, help_text=_("Angka lebih kecil diperiksa lebih dulu."))
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("aturan rute")
        verbose_name_plural = _("aturan rute")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.pattern} → {self.unit}"


class CannedReply(models.Model):
    title = models.CharField(_("judul"), max_length=100)
    text = models.TextField(_("teks"))
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name=_("unit"), help_text=_("Kosong: untuk semua."))
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("balasan siap pakai")
        verbose_name_plural = _("balasan siap pakai")

    def __str__(self) -> str:
        return self.title


class Holiday(models.Model):
    """A public holiday or collective leave day (cuti bersama): not a working day for SLA clocks."""

    date = models.DateField(_("tanggal"), unique=True)
    name = models.CharField(_("nama"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("hari libur")
        verbose_name_plural = _("hari libur")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class BlockedNumber(models.Model):
    """An abusive number: its messages are stored, never ticketed, never answered."""

    address = models.CharField(_("nomor"), max_length=32, unique=True)
    reason = models.CharField(_("alasan"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["address"]
        verbose_name = _("nomor diblokir")
        verbose_name_plural = _("nomor diblokir")

    def __str__(self) -> str:
        return self.address


class Notification(models.Model):
    """An in-app notice for one user (SLA escalations to a unit's head)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_notifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # used by the inbox header's unread count
            models.Index(fields=["user"], name="notification_unread", condition=Q(read_at__isnull=True)),
        ]
