"""Sender IDs (masks) and, in later issues, materi, drafts, approvals, blasts and the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Operators accept alphanumeric masks of at most 11 GSM characters (TON 5).
sender_name_validator = RegexValidator(
    r"^[A-Za-z0-9 .\-]{1,11}$",
    _("Sender ID maksimal 11 karakter: huruf, angka, spasi, titik atau tanda hubung."),
)


class SenderID(models.Model):
    name = models.CharField(_("nama"), max_length=11, unique=True, validators=[sender_name_validator])
    description = models.CharField(_("keterangan"), max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="owned_sender_ids", verbose_name=_("pemilik (penyetuju)"),
    )
    is_active = models.BooleanField(_("aktif"), default=True)
    # How long a message accepted by the SMSC may wait for its receipt before it is ``expired``
    # with "tidak ada laporan" (the SMSC lost the receipt, or the message): its validity.
    receipt_wait_hours = models.PositiveSmallIntegerField(
        _("batas tunggu laporan (jam)"), default=48,
        help_text=_("Pesan tanpa laporan terkirim setelah sekian jam dianggap kedaluwarsa."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("sender ID")
        verbose_name_plural = _("sender ID")

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------------------------
# Blasts and the outbox: ``Blast`` holds what the engine needs to send, pause, cancel and account;
# materi, drafts and approvals (the SOP's workflow) are in ``workflow.py`` and lead to a Blast.
# --------------------------------------------------------------------------------------------


class Blast(models.Model):
    """One text from one sender ID to many recipients, sent through the outbox.

    Lifecycle::

        active ──pause──▶ paused ──resume──▶ active ──(all final)──▶ done
          │  ▲               │                  ▲
          │  └─quiet hours end┐                 │ (all final, e.g. paused after the last send)
          ├──quiet hours──▶ quiet ──────────────┘
          │                  │
          └──────cancel──────┴──▶ cancelled   (queued messages become ``cancelled``)

    ``quiet`` is the system's own pause: a normal-priority blast still sending when quiet hours
    begin (``WARTA['QUIET_HOURS']``) waits in ``quiet`` and goes back to ``active`` when they end;
    emergencies and citizens' replies are never held. ``outbox.sweep`` makes these moves and
    finishes blasts: ``done`` (and ``finished_at``) once no message is queued, sending or awaiting
    its receipt; a cancelled blast keeps its state and gets its ``finished_at`` the same way.

    Engines claim only messages of ``active`` blasts, and re-check the blast's state in the same
    statement that marks a message ``sending``; pause and cancel therefore take effect on the next
    engine loop (well under a second), without engines having to be told.
    """

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("normal")  # queued behind earlier blasts
        # Answers to citizens (acknowledgements, keyword replies, operators' replies): a few
        # messages that must not wait behind a million-recipient blast, yet are no emergency.
        REPLY = 5, _("balasan warga")
        EMERGENCY = 10, _("darurat")  # overtakes every normal blast in every engine's claim

    class State(models.TextChoices):
        ACTIVE = "active", _("berjalan")  # engines claim its queued messages
        PAUSED = "paused", _("dijeda")  # nothing new leaves; in-flight messages finish
        QUIET = "quiet", _("ditahan jam tenang")  # paused by the system until quiet hours end
        CANCELLED = "cancelled", _("dibatalkan")  # queued messages were cancelled
        DONE = "done", _("selesai")  # every message reached a final state

    name = models.CharField(_("nama"), max_length=200)
    sender = models.ForeignKey(SenderID, on_delete=models.PROTECT, related_name="blasts", verbose_name=_("sender ID"))
    text = models.TextField(_("teks"))
    priority = models.SmallIntegerField(_("prioritas"), choices=Priority.choices, default=Priority.NORMAL)
    state = models.CharField(_("status"), max_length=12, choices=State.choices, default=State.ACTIVE)
    valid_until = models.DateTimeField(
        _("berlaku sampai"), null=True, blank=True,
        help_text=_("Pesan yang belum terkirim saat waktu ini lewat menjadi kedaluwarsa, tidak dikirim terlambat."),
    )
    resend_unknown = models.BooleanField(
        _("kirim ulang pesan tak pasti"), default=True,
        help_text=_("Pesan yang nasibnya tidak pasti (mesin mati setelah PDU keluar) dikirim ulang: "
                    "mungkin ganda, tidak hilang. Matikan bila lebih baik hilang daripada ganda."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    control_changed_at = models.DateTimeField(null=True, blank=True)
    # The sending window, for the rate the console shows: first message accepted by an SMSC …
    started_at = models.DateTimeField(_("mulai terkirim"), null=True, blank=True)
    # … and the moment every message was final (set with ``done``; also on a cancelled blast).
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    # Per-operator figures, taken once from the outbox after the blast finished (the running
    # console does not GROUP BY the blast's rows every refresh).
    final_by_operator = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("blast")
        verbose_name_plural = _("blast")
        indexes = [
            # used by the engine's claim: the few active blasts, emergency first
            models.Index(fields=["-priority", "id"], name="blast_claim_active",
                         condition=models.Q(state="active")),
            # used by outbox.sweep (finish and quiet hours): blasts not finished yet, however
            # many finished ones history holds
            models.Index(fields=["state"], name="blast_unfinished",
                         condition=models.Q(finished_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(state="done") | models.Q(finished_at__isnull=False),
                                   name="blast_done_has_finished_at"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sender})"

    def counts(self) -> dict[str, int]:
        """Messages per state, from the squashed counter table (cheap at a million messages)."""
        return OutboxCount.totals(blast_id=self.pk)


_OUTBOX_STATES = ["queued", "sending", "submitted", "delivered", "undelivered", "expired", "rejected",
                  "failed", "cancelled", "suppressed", "unknown"]


class OutboundMessage(models.Model):
    """One SMS to one recipient: a row of the outbox, which is the send queue.

    Lifecycle (DESIGN.md, "Outbound message states")::

        queued ──claim+mark──▶ sending ──submit_sm_resp OK──▶ submitted ──receipt──▶ delivered
          │  ▲                   │  │                                      ├──────▶ undelivered
          │  └──transient error──┘  │ (engine died: lease reaped)          ├──────▶ expired
          │     (back-off)          ▼                                      └──────▶ rejected
          │                      unknown ──(blast.resend_unknown)──▶ queued
          ├──▶ failed      permanent error before the SMSC took it (status + meaning kept)
          ├──▶ cancelled   the blast was cancelled
          ├──▶ suppressed  the number opted out (checked again at send time)
          └──▶ expired     validity ended before it could be sent

    ``engine_id`` is the lease: the engine that claimed the row (queued) or sent it (sending).
    An engine whose lease row in ``gateway.EngineLease`` expired is dead; its queued rows are
    released and its sending rows become ``unknown`` (at most one window per bind). A multipart
    message's state is the worst of its parts (``MessagePart``).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("antre")  # waiting (or claimed by an engine, not yet sent)
        SENDING = "sending", _("dikirim")  # committed just before its PDU(s) left
        SUBMITTED = "submitted", _("diterima SMSC")  # SMSC answered with message id(s)
        DELIVERED = "delivered", _("terkirim")  # receipt: on the handset
        UNDELIVERED = "undelivered", _("tidak terkirim")  # receipt: the network gave up
        EXPIRED = "expired", _("kedaluwarsa")  # validity ended (before sending, or at the SMSC)
        REJECTED = "rejected", _("ditolak")  # receipt: the SMSC or network refused it
        FAILED = "failed", _("gagal")  # permanent error before acceptance; see status
        CANCELLED = "cancelled", _("dibatalkan")  # blast cancelled while queued
        SUPPRESSED = "suppressed", _("diblokir")  # number opted out (BERHENTI) at send time
        UNKNOWN = "unknown", _("tak pasti")  # engine died between PDU out and response saved

    FINAL = frozenset({State.DELIVERED, State.UNDELIVERED, State.EXPIRED, State.REJECTED,
                       State.FAILED, State.CANCELLED, State.SUPPRESSED})
    # How bad a part's state is, for "a multipart message's state is the worst of its parts".
    SEVERITY = {State.DELIVERED: 0, State.SUBMITTED: 1, State.EXPIRED: 2, State.UNDELIVERED: 3,
                State.REJECTED: 4}

    blast = models.ForeignKey(Blast, on_delete=models.CASCADE, related_name="messages")
    to = models.CharField(_("nomor tujuan"), max_length=16)  # E.164
    operator = models.CharField(_("operator"), max_length=12, blank=True)  # for routing
    text = models.TextField(blank=True)  # empty: the blast's text (the common case, saves space)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    engine_id = models.CharField(max_length=64, null=True, blank=True)
    # db_index=False: set on every send; no job looks messages up by connection.
    connection = models.ForeignKey("gateway.Connection", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", db_index=False)
    attempts = models.SmallIntegerField(default=0)
    unknown_count = models.SmallIntegerField(default=0)  # times its fate was unknown after a crash
    next_attempt_at = models.DateTimeField()  # not before: back-off after transient errors
    valid_until = models.DateTimeField(null=True, blank=True)  # copied from the blast
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)  # last time marked sending
    submitted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)  # reached a final state
    status = models.IntegerField(null=True, blank=True)  # SMPP command_status of the last error
    error = models.CharField(max_length=300, blank=True)  # receipt stat/err or transport error
    # Rupiah: segments × the tariff of its operator at the moment an SMSC accepted it, written by
    # the statement that marks it ``submitted`` (None: never submitted, or submitted before costs
    # were recorded).
    cost = models.DecimalField(_("biaya"), max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("pesan keluar")
        verbose_name_plural = _("pesan keluar")
        indexes = [
            # used by the engine's claim: due, unclaimed messages of one blast, oldest first
            models.Index(fields=["blast", "next_attempt_at", "id"], name="outbox_claim",
                         condition=models.Q(state="queued", engine_id__isnull=True)),
            # used by the lease reaper and engine start: rows held by an engine
            models.Index(fields=["engine_id"], name="outbox_engine_held",
                         condition=models.Q(engine_id__isnull=False)),
            # used by the validity sweep: queued messages with an end of validity
            models.Index(fields=["valid_until"], name="outbox_validity_sweep",
                         condition=models.Q(state="queued", valid_until__isnull=False)),
            # used by the engine's orphan-receipt matcher: messages whose fate was ever in doubt
            models.Index(fields=["to"], name="outbox_in_doubt", condition=models.Q(unknown_count__gt=0)),
            # used by the engine's no-receipt sweep: messages waiting for a receipt (or in doubt).
            # "sent_at IS NOT NULL" (always true there) is for the planner: the sweep's
            # "sent_at < …" implies it, the receipt UPDATE's "state = 'submitted'" alone does not.
            # Without it, statistics from before a big blast ("nothing is submitted") made every
            # batch of receipts read every message still waiting through this index (20,000 rows
            # for 72 receipts: 17.7 ms instead of 1.0) instead of its own 72 by primary key.
            models.Index(fields=["sent_at"], name="outbox_awaiting_receipt",
                         condition=models.Q(state__in=["submitted", "unknown"], sent_at__isnull=False)),
            # used by the console's "why it did not arrive" list: a blast's messages that ended in a
            # failure. Partial, so only the (few) rows entering a failure state pay for it.
            models.Index(fields=["blast", "id"], name="outbox_console_failures",
                         condition=models.Q(state__in=["undelivered", "rejected", "failed", "expired"])),
            # No general (blast, state) index: every index costs a write on each of a message's four
            # state changes, and counts come from OutboxCount, not from scanning the outbox.
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=_OUTBOX_STATES),
                                   name="outbox_state_valid"),
            models.CheckConstraint(
                condition=~models.Q(state="sending") | models.Q(sent_at__isnull=False, engine_id__isnull=False),
                name="outbox_sending_has_engine_and_time"),
            models.CheckConstraint(
                condition=~models.Q(state__in=["submitted", "delivered", "undelivered", "rejected"])
                | models.Q(submitted_at__isnull=False),
                name="outbox_accepted_has_submitted_at"),
            models.CheckConstraint(
                condition=~models.Q(state__in=["delivered", "undelivered", "expired", "rejected", "failed",
                                               "cancelled", "suppressed"]) | models.Q(done_at__isnull=False),
                name="outbox_final_has_done_at"),
            models.CheckConstraint(condition=~models.Q(state="failed") | ~models.Q(error=""),
                                   name="outbox_failed_has_error"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} → {self.to} [{self.state}]"

    @property
    def status_meaning(self) -> dict[str, str] | None:
        """The SMPP status of the last error in Indonesian and English, or None."""
        if self.status is None:
            return None
        from warta.smpp.constants import describe_status

        info = describe_status(self.status)
        return {"code": f"0x{self.status:08X}", "name": info.name, "id": info.id, "en": info.en}


class MessagePart(models.Model):
    """One submit_sm the SMSC accepted: its message id, by which receipts find the message.

    The database enforces unique (connection, smsc_message_id): a receipt matches at most one part,
    and an SMSC that repeats an id is noticed, not silently mis-attributed.
    """

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="parts")
    # No index of its own. Receipts find their parts by (SMSC id, connection): the unique index
    # leads with the SMSC id so that a batch's ``smsc_message_id = ANY(…)`` is the index's own
    # condition, one probe per receipt, whatever the statistics say. With the id second (and an
    # index on the connection), PostgreSQL on a young table (statistics: "a connection has a few
    # parts") looked them up by connection alone and filtered every part ever sent on it, per
    # batch. Deleting a connection (rare, an administrator's) now scans the parts instead.
    connection = models.ForeignKey("gateway.Connection", on_delete=models.CASCADE, related_name="+",
                                   db_index=False)
    smsc_message_id = models.CharField(max_length=65)
    part = models.SmallIntegerField(default=1)
    parts = models.SmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=OutboundMessage.State.choices,
                             default=OutboundMessage.State.SUBMITTED)
    submitted_at = models.DateTimeField()
    receipt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["smsc_message_id", "connection"], name="part_unique_smsc_id"),
        ]


class Receipt(models.Model):
    """A delivery receipt not (yet) matched to a part: it came before the submit_sm_resp was saved
    (another engine's bind, or the same flush), or names an id we never saved. Matched later by the
    engine's ``match_pending_receipts``, or by handset and sender (``match_orphan_receipts``) when
    the submit_sm_resp was lost; ``matched_at`` is also set when one is given up after an hour
    (counted as ``receipts_orphaned``). Rows are kept (for the audit)."""

    connection = models.ForeignKey("gateway.Connection", on_delete=models.CASCADE, related_name="+")
    smsc_message_id = models.CharField(max_length=65)
    stat = models.CharField(max_length=12)  # DELIVRD, UNDELIV, EXPIRED, REJECTD, …
    error = models.CharField(max_length=16, blank=True)
    # The handset (deliver_sm source_addr) and our sender (destination_addr): a receipt whose id
    # matches no part (its submit_sm_resp was lost) is matched by them to the message in doubt.
    source = models.CharField(max_length=21, blank=True, default="")
    destination = models.CharField(max_length=21, blank=True, default="")
    # The receipt's ``text:`` field (the message's first characters, 20 in SMPP 3.4 appendix B):
    # of two messages to one handset from one sender both in doubt, it tells which one it is.
    text = models.CharField(max_length=40, blank=True, default="")
    received_at = models.DateTimeField()
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # used by the engine's receipt matcher: only receipts still waiting for their part
            models.Index(fields=["connection", "smsc_message_id"], name="receipt_pending",
                         condition=models.Q(matched_at__isnull=True)),
        ]


class OutboxCount(models.Model):
    """Messages per (blast, state), as insert-only deltas squashed now and then.

    Theory of operation: every state change the engine (or a service) makes inserts ``(blast,
    state, ±n)`` rows in the same transaction; nobody updates a shared counter row, so engines
    never contend. ``squash`` folds the rows into one per key (``DELETE … RETURNING`` makes each
    row folded by exactly one squasher). Readers sum a handful of rows: /metrics and ``outbox
    status`` never run ``COUNT(*)`` over millions of messages (rapidpro's squashed counts).
    """

    blast = models.ForeignKey(Blast, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=12)
    count = models.BigIntegerField()
    # Rupiah recorded at submit (on rows of state ``submitted``; kept when the count moves on).
    cost = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["blast", "state"], name="outboxcount_key")]

    #: Pseudo-state of a delta key whose value is Rupiah, not messages: ``(blast, COST)``.
    COST = "$cost"

    @classmethod
    def add(cls, deltas: dict[tuple[int, str], Any], costs: dict[int, Any] | None = None) -> None:
        """Insert delta rows; costs (blast → Rupiah submitted now, given in ``costs`` or as
        ``(blast, COST)`` keys of ``deltas``) ride on the blast's ``submitted`` row."""
        costs = dict(costs or {})
        for (b, s), v in list(deltas.items()):
            if s == cls.COST:
                costs[b] = costs.get(b, 0) + v
        deltas = {k: v for k, v in deltas.items() if k[1] != cls.COST}
        costs = {b: c for b, c in costs.items() if c}
        rows = [cls(blast_id=b, state=s, count=n,
                    cost=costs.pop(b, 0) if s == OutboundMessage.State.SUBMITTED else 0)
                for (b, s), n in deltas.items() if n or (s == OutboundMessage.State.SUBMITTED and b in costs)]
        rows.extend(cls(blast_id=b, state=OutboundMessage.State.SUBMITTED, count=0, cost=c) for b, c in costs.items())
        if not rows:
            return
        from django.db import connection

        if connection.vendor == "postgresql":
            # One INSERT … unnest without RETURNING (bulk_create returns the ids): inside the
            # engine's pipelined flush it needs no round trip of its own, it goes with the COMMIT.
            from warta.lib.fastsql import bound_cursor, prepared

            with bound_cursor() as cur:
                prepared(  # an INSERT of an unnest: one plan whatever the values
                    cur, f"INSERT INTO {cls._meta.db_table} (blast_id, state, count, cost) "  # noqa: S608
                    "SELECT * FROM unnest(%b::bigint[], %b::text[], %b::bigint[], %b::numeric[])",
                    [[r.blast_id for r in rows], [r.state for r in rows], [int(r.count) for r in rows],
                     [Decimal(r.cost) for r in rows]])
            return
        cls.objects.bulk_create(rows)

    @classmethod
    def totals(cls, blast_id: int | None = None) -> dict[str, int]:
        qs = cls.objects.all()
        if blast_id is not None:
            qs = qs.filter(blast_id=blast_id)
        out: dict[str, int] = {}
        for state, n in qs.values_list("state").annotate(n=models.Sum("count")).values_list("state", "n"):
            if n:
                out[state] = int(n)
        return out

    @classmethod
    def cost_total(cls, blast_id: int) -> Decimal:
        """Rupiah recorded for the blast's submitted messages."""
        total = cls.objects.filter(blast_id=blast_id).aggregate(c=models.Sum("cost"))["c"]
        return Decimal(total or 0)

    @classmethod
    def per_blast(cls, blast_ids: list[int], states: Iterable[str]) -> dict[int, int]:
        """Messages in ``states`` per blast, for a few blasts: one query over their counter rows."""
        if not blast_ids:
            return {}
        out = {b: 0 for b in blast_ids}
        for b, n in (cls.objects.filter(blast_id__in=blast_ids, state__in=list(states))
                     .values_list("blast_id").annotate(n=models.Sum("count")).values_list("blast_id", "n")):
            out[b] = int(n or 0)
        return out

    @classmethod
    def squash(cls) -> int:
        """Fold the delta rows into one row per (blast, state); returns rows removed.

        Only keys with more than one row are touched: a finished blast's rows are already one per
        key, so the cost of a squash follows the traffic since the last one, not the history
        (the idle engine's cost must stay flat with 10,000 past blasts)."""
        from django.db import connection, transaction

        table = cls._meta.db_table
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(
                    f"DELETE FROM {table} WHERE (blast_id, state) IN (SELECT blast_id, state FROM {table} "  # noqa: S608
                    f"GROUP BY blast_id, state HAVING COUNT(*) > 1) RETURNING blast_id, state, count, cost")
                rows = cur.fetchall()
            sums: dict[tuple[int, str], list[Any]] = {}
            for blast_id, state, n, cost in rows:
                acc = sums.setdefault((blast_id, state), [0, Decimal(0)])
                acc[0] += n
                acc[1] += Decimal(str(cost or 0))
            kept = [cls(blast_id=b, state=s, count=n, cost=c) for (b, s), (n, c) in sums.items() if n or c]
            cls.objects.bulk_create(kept)
        return len(rows) - len(kept)


from .workflow import *  # noqa: E402,F401,F403
