"""The blast workflow: materi from the units, drafts, approval per sender ID, and the tables that
govern them (templates, blackout periods, watch words, tariffs, sender registrations).

Theory of operation
-------------------
A unit hands in ``Materi``; an operator writes a ``Draft`` (the SMS, its sender ID, audience and
schedule) from it. The draft goes up its sender ID's approval chain (``ApprovalStep``); every
``Approval`` records the *content hash* of what was approved — text, sender, audience, schedule,
emergency flag. A step counts only while its hash equals the draft's current hash, so any change
after an approval silently voids it and the service sends the draft back. At release the hash is
checked once more, then the draft is frozen into the outbox as exactly one ``Blast`` (one-to-one
link plus a conditional UPDATE on the draft's state: a double click never makes a second blast).

The engine's ``Blast`` (models.py) knows nothing of this module; the link lives on ``Draft``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from warta.accounts.models import Role


def _utc_iso(at: datetime | None) -> str | None:
    """An instant as the hash sees it: UTC, ISO 8601, whatever zone it arrived in."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat()


def _attachment_path(instance: Any, filename: str) -> str:
    return f"materi/{instance.materi_id}/{filename}"


class Materi(models.Model):
    """Information a unit (SKPD/UKPD) hands in to be broadcast.

    Lifecycle (the status the unit sees)::

        received ──operator takes it──▶ processing ──draft approved──▶ scheduled ──released──▶ sent
            │                              │
            └──────────reject (reason)─────┴──▶ rejected
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Diterima")  # handed in, nobody works on it yet
        PROCESSING = "processing", _("Diproses")  # an operator is drafting the SMS
        SCHEDULED = "scheduled", _("Terjadwal")  # a draft from it is approved and waits for its time
        SENT = "sent", _("Terkirim")  # a blast from it was released into the outbox
        REJECTED = "rejected", _("Ditolak")  # will not be broadcast; see reject_reason

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="materi", verbose_name=_("unit"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("diajukan oleh"))
    title = models.CharField(_("judul"), max_length=200)
    content = models.TextField(_("isi informasi"))
    background = models.TextField(_("latar belakang"), blank=True)
    window_start = models.DateTimeField(_("kirim paling cepat"), null=True, blank=True)
    window_end = models.DateTimeField(_("kirim paling lambat"), null=True, blank=True)
    audience_note = models.TextField(_("sasaran penerima"), blank=True)
    contact_person = models.CharField(_("narahubung"), max_length=120)
    contact_phone = models.CharField(_("telepon narahubung"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    reject_reason = models.TextField(_("alasan penolakan"), blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("ditangani oleh"))
    created_at = models.DateTimeField(_("diajukan"), auto_now_add=True)
    updated_at = models.DateTimeField(_("diperbarui"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("materi")
        verbose_name_plural = _("materi")
        indexes = [
            # used by the operators' queue: open materi, oldest first
            models.Index(fields=["created_at"], name="materi_open_queue",
                         condition=Q(status__in=["received", "processing"])),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(status="rejected") | ~Q(reject_reason=""),
                                   name="materi_rejected_has_reason"),
        ]

    def __str__(self) -> str:
        return self.title


class MateriAttachment(models.Model):
    materi = models.ForeignKey(Materi, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path)
    name = models.CharField(_("nama berkas"), max_length=200)
    size = models.PositiveIntegerField(_("ukuran"))
    content_type = models.CharField(max_length=100)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Draft(models.Model):
    """An SMS on its way to a blast: text, sender ID, audience, schedule — and its approvals.

    Lifecycle::

        draft ──submit──▶ review ──every step approved──▶ approved ──release (time, quiet hours)──▶ released
          ▲                 │                                │
          └──send back──────┘                                │
          └──any change of the frozen content────────────────┘
        draft / review / approved ──withdraw──▶ withdrawn

    ``content_hash`` is recomputed on every save; approvals carry the hash they approved.
    ``released`` is reached exactly once, by a conditional UPDATE, and sets ``blast``.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Konsep")  # being written; editable
        REVIEW = "review", _("Menunggu persetujuan")  # going up the sender ID's chain
        APPROVED = "approved", _("Disetujui, menunggu jadwal")  # frozen; released at its time
        RELEASED = "released", _("Dikirim ke antrean")  # the blast exists; see the console
        WITHDRAWN = "withdrawn", _("Dibatalkan")  # will not be sent

    materi = models.ForeignKey(Materi, on_delete=models.PROTECT, null=True, blank=True, related_name="drafts",
                               verbose_name=_("materi"))
    sender = models.ForeignKey("blasts.SenderID", on_delete=models.PROTECT, related_name="drafts",
                               verbose_name=_("sender ID"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("penyusun"))
    title = models.CharField(_("judul"), max_length=200)
    text = models.TextField(_("teks SMS"))
    justification = models.TextField(_("alasan lebih dari dua segmen"), blank=True)
    audience = models.JSONField(_("penerima"), default=dict, blank=True)  # groups/segments/regions/numbers
    test_numbers = models.TextField(_("nomor uji"), blank=True)
    send_at = models.DateTimeField(_("waktu kirim"), null=True, blank=True)  # None: as soon as approved
    window_end = models.DateTimeField(_("batas akhir kirim"), null=True, blank=True)  # unsent then: expired
    emergency = models.BooleanField(_("darurat"), default=False)
    emergency_reason = models.TextField(_("alasan darurat"), blank=True)
    state = models.CharField(_("status"), max_length=10, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(_("versi"), default=1)
    content_hash = models.CharField(max_length=64, blank=True)
    approved_hash = models.CharField(max_length=64, blank=True)  # hash the full chain approved
    audience_counts = models.JSONField(default=dict, blank=True)  # last counted, for lists and cost
    # The deliverable set frozen at submit (issue 11 item 5): its size, the SHA-256 of the sorted
    # numbers (part of the content hash, so approvals approve these people), and the numbers
    # themselves, zlib-compressed, so release can send exactly them and say what changed.
    audience_size = models.PositiveIntegerField(null=True, blank=True)
    audience_hash = models.CharField(max_length=64, blank=True)
    audience_set = models.BinaryField(null=True, blank=True, editable=False)
    # The last time release found the audience changed: {"added", "removed", "approved", "now", "at"}.
    audience_change = models.JSONField(default=dict, blank=True)
    release_summary = models.JSONField(default=dict, blank=True)  # what the freeze queued and skipped
    blast = models.OneToOneField("blasts.Blast", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="draft")  # one draft, at most one blast — ever
    # An uploaded list too long for the composer became this contacts import into a new group,
    # which the audience targets (issue 12 item 3); submit waits for it to finish.
    import_job = models.ForeignKey("contacts.ImportJob", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("naskah")
        verbose_name_plural = _("naskah")
        indexes = [
            # used by the scheduler: approved drafts waiting for their time
            models.Index(fields=["send_at"], name="draft_due", condition=Q(state="approved")),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(emergency=True) | ~Q(emergency_reason=""),
                                   name="draft_emergency_has_reason"),
            models.CheckConstraint(condition=~Q(state="released") | Q(blast__isnull=False),
                                   name="draft_released_has_blast"),
        ]

    def __str__(self) -> str:
        return self.title

    def frozen_content(self) -> dict[str, Any]:
        """What an approval approves: change any of it and the approval no longer counts."""
        content = {
            "sender": self.sender_id,
            "text": self.text,
            "audience": self.audience or {},
            # In UTC: the form gives +07:00, the database gives back UTC; the same instant must
            # hash the same or release() refuses every approved scheduled draft (issue 11 item 4).
            "send_at": _utc_iso(self.send_at),
            "window_end": _utc_iso(self.window_end),
            "emergency": bool(self.emergency),
            "emergency_reason": self.emergency_reason if self.emergency else "",
        }
        if self.audience_hash:  # absent on drafts never submitted since the freeze came in
            content["audience_set"] = self.audience_hash
        return content

    def compute_hash(self) -> str:
        blob = json.dumps(self.frozen_content(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.content_hash = self.compute_hash()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "content_hash"}
        super().save(*args, **kwargs)


class DraftVersion(models.Model):
    """A draft as it was when submitted (or changed in review): the history an auditor reads."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["draft", "number"]
        constraints = [models.UniqueConstraint(fields=["draft", "number"], name="draftversion_unique_number")]


class ApprovalPolicy(models.Model):
    """How drafts under one sender ID are approved, and what content the policy asks for."""

    sender = models.OneToOneField("blasts.SenderID", on_delete=models.CASCADE, related_name="policy")
    require_opt_out_line = models.BooleanField(
        _("wajib baris berhenti berlangganan"), default=False,
        help_text=_("Naskah harus memuat cara berhenti, mis. 'Balas BERHENTI untuk berhenti'."))
    opt_out_words = models.CharField(_("kata penanda berhenti"), max_length=100, default="BERHENTI,STOP")

    def __str__(self) -> str:
        return f"{self.sender}"


class ApprovalStep(models.Model):
    """One step of a sender ID's chain: who (a role, optionally one named user) approves, in order."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("urutan"))
    role = models.CharField(_("peran"), max_length=12, choices=[(Role.VERIFIER, Role.VERIFIER.label),
                                                                  (Role.APPROVER, Role.APPROVER.label)])
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("pejabat tertentu"))
    label = models.CharField(_("nama langkah"), max_length=80)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="approvalstep_unique_position")]

    def __str__(self) -> str:
        return self.label


class Approval(models.Model):
    """One decision on one step of one draft: a comment, an approval, or a send back.

    The partial unique constraint makes a double click on "Setujui" harmless: one approval per
    (draft, step, content hash)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("disetujui")
        SENT_BACK = "sent_back", _("dikembalikan")
        COMMENT = "comment", _("komentar")

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="approvals")
    step = models.PositiveSmallIntegerField(null=True, blank=True)  # position; None for free comments
    step_label = models.CharField(max_length=80, blank=True)
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "step", "content_hash"], condition=Q(decision="approved"),
                                    name="approval_once_per_step_and_content"),
        ]


class Template(models.Model):
    name = models.CharField(_("nama"), max_length=120, unique=True)
    text = models.TextField(_("teks"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BlackoutPeriod(models.Model):
    """A period in which the chosen sender IDs may send emergency blasts only (e.g. a campaign)."""

    name = models.CharField(_("nama"), max_length=120)
    starts_at = models.DateTimeField(_("mulai"))
    ends_at = models.DateTimeField(_("selesai"))
    senders = models.ManyToManyField("blasts.SenderID", related_name="blackouts", verbose_name=_("sender ID"))
    reason = models.TextField(_("alasan"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                              name="blackout_ends_after_start")]

    def __str__(self) -> str:
        return self.name


class WatchWord(models.Model):
    """A word or phrase a verifier should look at twice (SARA, political campaigning, hoax-prone)."""

    word = models.CharField(_("kata/frasa"), max_length=80, unique=True)
    category = models.CharField(_("kategori"), max_length=40, blank=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class Tariff(models.Model):
    """Price of one SMS segment per operator (rupiah); overrides ``settings.WARTA['TARIFFS']``."""

    operator = models.CharField(_("operator"), max_length=12, unique=True)
    price_per_segment = models.DecimalField(_("harga per segmen"), max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["operator"]


class SenderRegistration(models.Model):
    """A sender ID's registration (LOA) with one operator through the aggregator."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("terdaftar")  # the operator delivers under this mask
        PENDING = "pending", _("menunggu")  # LOA sent, not yet active: do not send there
        EXPIRED = "expired", _("LOA kedaluwarsa")  # must be renewed before sending there

    sender = models.ForeignKey("blasts.SenderID", on_delete=models.CASCADE, related_name="registrations")
    operator = models.CharField(_("operator"), max_length=12)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    since = models.DateField(_("tanggal"))
    expires_on = models.DateField(_("berlaku sampai"), null=True, blank=True)
    note = models.CharField(_("catatan"), max_length=200, blank=True)

    class Meta:
        ordering = ["sender", "operator"]
        constraints = [models.UniqueConstraint(fields=["sender", "operator"], name="senderreg_unique_operator")]


class BlastNotice(models.Model):
    """An in-app notice about the workflow for one user (drafts waiting, sent back, released)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blast_notices")
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user"], name="blastnotice_unread", condition=Q(read_at__isnull=True))]


class SenderDelegation(models.Model):
    """The owner of a sender ID lets a named person give its final approval for a period
    (leave, official travel). Created and revoked by an administrator or the owner, audited.

    Lifecycle: scheduled (starts_on in the future) → active (starts_on ≤ today ≤ ends_on, WIB)
    → ended; ``revoked_at`` ends it early. Rows are never deleted: they are the record of who
    could speak for the sender ID when."""

    sender = models.ForeignKey("blasts.SenderID", on_delete=models.CASCADE, related_name="delegations",
                               verbose_name=_("sender ID"))
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("wakil"))
    starts_on = models.DateField(_("mulai"))
    ends_on = models.DateField(_("sampai"))
    reason = models.CharField(_("alasan"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["sender", "-starts_on", "-id"]
        verbose_name = _("delegasi sender ID")
        verbose_name_plural = _("delegasi sender ID")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="delegation_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.sender} → {self.delegate}"


class StaffPhone(models.Model):
    """A staff member's own mobile number, proven by a code sent to it through the outbox: the only
    kind of number a test send goes to (issue 11 item 1).

    Lifecycle::

        pending (code sent, ``verified_at`` empty) ──right code within 10 minutes──▶ verified
           ▲                                                                          │
           └────────────────────── registering another number ────────────────────────┘

    The code is kept only as a keyed hash; five wrong tries void it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_phone")
    e164 = models.CharField(_("nomor ponsel"), max_length=16)
    verified_at = models.DateTimeField(_("terverifikasi"), null=True, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    codes_sent_on = models.DateField(null=True, blank=True)  # WIB day of the count below
    codes_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("nomor ponsel staf")
        verbose_name_plural = _("nomor ponsel staf")
        constraints = [
            # A number proven by one account cannot be claimed by another.
            models.UniqueConstraint(fields=["e164"], condition=Q(verified_at__isnull=False),
                                    name="staffphone_verified_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.e164}"


class DraftTestSend(models.Model):
    """One test send of a draft: who sent what to which staff numbers (masked), and when. The
    verifiers see these on their queue, so a test send is never a quiet way around approval."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="test_sends")
    blast = models.OneToOneField("blasts.Blast", on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    recipients = models.JSONField(default=list)  # [{"name": …, "number": masked}]
    text = models.TextField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # used by the verifiers' queue (recent test sends) and the per-day limits
            models.Index(fields=["at"], name="testsend_recent"),
        ]



__all__ = ["Approval", "ApprovalPolicy", "ApprovalStep", "BlackoutPeriod", "BlastNotice", "Draft", "DraftVersion",
           "Materi", "MateriAttachment", "SenderDelegation", "SenderRegistration", "StaffPhone", "DraftTestSend", "Tariff", "Template", "WatchWord"]
