"""Contacts, DKI Jakarta regions, groups, segments, the suppression list, imports and
data-subject requests.

Theory of operation
-------------------
* A :class:`Contact` is one mobile number in E.164 (unique), valid by construction: every path
  that creates one (import, form, inbox opt-in) goes through :func:`warta.sms.parse_number` and
  accepts only mobile numbers. Its operator is derived from the number, never typed.
* The **suppression list** is :class:`OptOut`, keyed by E.164 and independent of contacts, so
  that a citizen who texts BERHENTI without being a contact is still never messaged. The
  ``opted_out_at``/``opt_out_channel`` pair on a contact is a copy for display and filtering,
  kept in step by ``services.opt_out``/``opt_in`` in the same transaction; audiences and the
  delivery engine read ``OptOut`` itself.
* **Personal data.** ``__str__`` of a contact is its *masked* number, because strings of models
  land in the audit trail, which is append-only and must never hold a full number (an erased
  person could not be erased from it). An erased contact keeps its row (region, operator, groups:
  the aggregate counts stay right) with the number replaced by a random pseudonym starting with
  ``~`` and the name, tags and proof of consent cleared.
* Tags are stored as one string ``",warga,rt05,"`` so that "has tag X" is a portable
  ``LIKE '%,X,%'`` on SQLite and PostgreSQL and an import writes one column, not a join table.

Import lifecycle (``ImportJob.state``)::

    uploaded ──map──▶ mapped ──dry run──▶ checking ──▶ checked ──run──▶ queued ──▶ running ──▶ done
                                  ▲          │                                      │  ▲
                                  └──────────┴───────── failed ◀────────────────────┘  │ resume from
                                                                                        └ checkpoint
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from warta.sms.numbers import mask


class RegionLevel(models.TextChoices):
    PROVINCE = "provinsi", _("Provinsi")
    CITY = "kota_kabupaten", _("Kota/Kabupaten Administrasi")
    DISTRICT = "kecamatan", _("Kecamatan")
    VILLAGE = "kelurahan", _("Kelurahan")


class Region(models.Model):
    """A node of the DKI Jakarta administrative tree, with its Kemendagri code (``31.71.01.1001``).

    Codes are hierarchical, so a subtree is every code that starts with ``code + "."``."""

    code = models.CharField(_("kode Kemendagri"), max_length=20, unique=True)
    level = models.CharField(_("tingkat"), max_length=16, choices=RegionLevel.choices)
    name = models.CharField(_("nama"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("induk"),
    )
    population = models.PositiveIntegerField(_("penduduk"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("wilayah")
        verbose_name_plural = _("wilayah")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display()})"

    def subtree_ids(self) -> list[int]:
        return list(
            Region.objects.filter(Q(pk=self.pk) | Q(code__startswith=self.code + ".")).values_list("pk", flat=True)
        )


class LawfulBasis(models.TextChoices):
    PUBLIC_TASK = "public_task", _("Pelaksanaan tugas pemerintahan (kepentingan umum)")
    CONSENT = "consent", _("Persetujuan (consent) pemilik data")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS (kata kunci)")
    OPERATOR = "operator", _("Tindakan operator")
    IMPORT = "import", _("Impor")
    API = "api", _("API")
    DSR = "dsr", _("Permintaan subjek data")


class ContactGroup(models.Model):
    """A static list of contacts. Every list names its lawful basis; consent lists hold the proof."""

    name = models.CharField(_("nama"), max_length=120, unique=True)
    description = models.TextField(_("keterangan"), blank=True)
    lawful_basis = models.CharField(_("dasar pemrosesan"), max_length=16, choices=LawfulBasis.choices)
    # e.g. "formulir pendaftaran kelurahan 2025, arsip no. …" or a URL to the signed form
    consent_proof = models.TextField(_("bukti persetujuan"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("grup kontak")
        verbose_name_plural = _("grup kontak")
        constraints = [
            models.CheckConstraint(
                condition=~Q(lawful_basis="consent") | ~Q(consent_proof=""),
                name="consent_group_has_proof",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """One recipient. Valid mobile E.164 only; see the module docstring for erasure."""

    e164 = models.CharField(_("nomor (E.164)"), max_length=16, unique=True)
    name = models.CharField(_("nama"), max_length=200, blank=True)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="contacts",
        verbose_name=_("wilayah"),
    )
    tags = models.CharField(_("label"), max_length=500, blank=True, default="")
    groups = models.ManyToManyField(ContactGroup, through="Membership", related_name="contacts", blank=True)
    operator = models.CharField(_("operator"), max_length=12, default="unknown")
    language = models.CharField(_("bahasa"), max_length=5, default="id")
    source = models.CharField(_("sumber"), max_length=60, blank=True)
    consent_basis = models.CharField(
        _("dasar pemrosesan"), max_length=16, choices=LawfulBasis.choices, default=LawfulBasis.PUBLIC_TASK
    )
    consent_at = models.DateTimeField(_("waktu persetujuan"), null=True, blank=True)
    consent_proof = models.CharField(_("bukti persetujuan"), max_length=300, blank=True)
    opted_out_at = models.DateTimeField(_("berhenti berlangganan sejak"), null=True, blank=True)
    opt_out_channel = models.CharField(_("kanal berhenti"), max_length=10, choices=Channel.choices, blank=True)
    # Processing restricted by a data-subject request: kept, but never messaged.
    restricted_at = models.DateTimeField(_("pemrosesan dibatasi sejak"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("dianonimkan"), null=True, blank=True)
    # Last sign of life: created, imported again, texted in, opted in. Retention counts from here.
    last_active_at = models.DateTimeField(_("terakhir aktif"), default=timezone.now)
    created_at = models.DateTimeField(_("bergabung"), default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("kontak")
        verbose_name_plural = _("kontak")
        indexes = [
            # used by segments and the list filter "wilayah"
            models.Index(fields=["region", "id"], name="contact_region_idx"),
            # used by the retention job
            models.Index(fields=["last_active_at"], name="contact_retention_idx"),
        ]

    def __str__(self) -> str:
        return self.masked

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None

    @property
    def masked(self) -> str:
        if self.e164.startswith("~"):
            return str(_("(dianonimkan)"))
        return mask(self.e164)

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


def tags_to_field(tags: list[str] | set[str]) -> str:
    clean = sorted({normalise_tag(t) for t in tags if normalise_tag(t)})
    return "," + ",".join(clean) + "," if clean else ""


def normalise_tag(tag: str) -> str:
    return "".join(ch for ch in tag.strip().lower().replace(" ", "-") if ch.isalnum() or ch in "-_")[:40]


class Membership(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(ContactGroup, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "contact"], name="membership_unique")]
        indexes = [
            # used by audiences resolved by group (EXISTS … WHERE contact_id = …)
            models.Index(fields=["contact", "group"], name="membership_contact_idx"),
        ]


class OptOut(models.Model):
    """The one suppression list: a number here is never messaged, contact or not."""

    e164 = models.CharField(_("nomor (E.164)"), max_length=16, unique=True)
    at = models.DateTimeField(_("waktu"), default=timezone.now)
    channel = models.CharField(_("kanal"), max_length=10, choices=Channel.choices)
    reason = models.CharField(_("alasan"), max_length=200, blank=True)  # e.g. the keyword "BERHENTI"
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-at"]
        verbose_name = _("berhenti berlangganan")
        verbose_name_plural = _("daftar berhenti berlangganan")

    def __str__(self) -> str:
        return mask(self.e164)


class Segment(models.Model):
    """A saved dynamic filter. ``filters`` keys (all optional, ANDed; values within a key ORed):
    ``regions`` (Kemendagri codes), ``tags``, ``operators``, ``groups`` (ids), ``joined_since``
    (ISO date), ``replied_to_blast`` (blast id; answered by the inbox's hook)."""

    name = models.CharField(_("nama"), max_length=120, unique=True)
    description = models.TextField(_("keterangan"), blank=True)
    filters = models.JSONField(_("filter"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segmen")
        verbose_name_plural = _("segmen")

    def __str__(self) -> str:
        return self.name


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Diunggah")  # file stored, columns not mapped yet
    MAPPED = "mapped", _("Kolom dipetakan")
    CHECKING = "checking", _("Uji coba berjalan")  # dry run in progress
    CHECKED = "checked", _("Uji coba selesai")
    QUEUED = "queued", _("Menunggu giliran")
    RUNNING = "running", _("Sedang mengimpor")  # processed_rows is the committed checkpoint
    DONE = "done", _("Selesai")
    FAILED = "failed", _("Gagal")  # error says why; run again resumes from the checkpoint


class ImportJob(models.Model):
    """One uploaded file and its way through mapping, dry run and import. See the module docstring."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    file_path = models.CharField(max_length=500)
    filename = models.CharField(_("nama berkas"), max_length=255)
    size = models.BigIntegerField(_("ukuran"), default=0)
    format = models.CharField(max_length=5)  # csv | xlsx
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    has_header = models.BooleanField(default=True)
    columns = models.JSONField(default=list)  # header cells (or "Kolom 1"…), for the mapping form
    mapping = models.JSONField(default=dict)  # field -> column index
    group = models.ForeignKey(ContactGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    add_tags = models.CharField(max_length=200, blank=True)
    consent_basis = models.CharField(max_length=16, choices=LawfulBasis.choices, default=LawfulBasis.PUBLIC_TASK)
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.UPLOADED)
    dry_run = models.BooleanField(default=False)  # the phase in progress or last finished
    total_rows = models.PositiveIntegerField(null=True, blank=True)  # estimate, for the progress bar
    processed_rows = models.PositiveIntegerField(default=0)  # checkpoint: data rows committed
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict)
    # Rows imported with a caveat, by reason (a valid number whose region is unknown is imported
    # without a region): {"unknown_region": n}. Their lines are in ``rejects`` too, for the download.
    warnings = models.JSONField(default=dict)
    dry_run_report = models.JSONField(default=dict)  # the last dry run's counts, kept for the run page
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("impor")
        verbose_name_plural = _("impor")

    def __str__(self) -> str:
        return f"#{self.pk} {self.filename}"

    @property
    def progress_percent(self) -> int:
        if self.state in (ImportState.DONE, ImportState.CHECKED):
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(self.processed_rows * 100 / self.total_rows))

    @property
    def is_active(self) -> bool:
        return self.state in (ImportState.CHECKING, ImportState.QUEUED, ImportState.RUNNING)


class RejectReason(models.TextChoices):
    INVALID = "invalid_number", _("Nomor tidak valid")
    NOT_MOBILE = "not_mobile", _("Bukan nomor seluler")
    DUPLICATE = "duplicate", _("Duplikat dalam berkas")
    OPTED_OUT = "opted_out", _("Sudah berhenti berlangganan")
    UNKNOWN_REGION = "unknown_region", _("Wilayah tidak dikenal")
    MALFORMED = "malformed_row", _("Baris rusak")


class ImportReject(models.Model):
    """One rejected row, written in the same transaction as its batch's checkpoint."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejects")
    dry_run = models.BooleanField(default=False)
    line = models.PositiveIntegerField()
    raw = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=16, choices=RejectReason.choices)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["job", "dry_run", "line"], name="import_reject_download_idx")]


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Akses (salinan data)")
    CORRECTION = "correction", _("Perbaikan")
    RESTRICTION = "restriction", _("Pembatasan pemrosesan")
    ERASURE = "erasure", _("Penghapusan")


class RequestState(models.TextChoices):
    OPEN = "open", _("Terbuka")  # the 3×24-hour clock runs
    DONE = "done", _("Selesai")
    REJECTED = "rejected", _("Ditolak")  # e.g. identity not verified; the reason is in notes


# UU 27/2022 (Pelindungan Data Pribadi): the controller answers a data subject within 3×24 hours.
RESPONSE_DEADLINE = timedelta(hours=72)


class DataSubjectRequest(models.Model):
    """A request from a person about the data held on their number, with the law's clock."""

    kind = models.CharField(_("jenis"), max_length=12, choices=RequestKind.choices)
    # Masked once the request is closed; the full number is only needed while handling it.
    e164 = models.CharField(_("nomor"), max_length=16)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    requester = models.CharField(_("pemohon"), max_length=200, blank=True)
    details = models.TextField(_("rincian permintaan"), blank=True)
    received_at = models.DateTimeField(_("diterima"), default=timezone.now)
    due_at = models.DateTimeField(_("batas waktu"))
    state = models.CharField(_("status"), max_length=10, choices=RequestState.choices, default=RequestState.OPEN)
    escalated_at = models.DateTimeField(_("dieskalasi"), null=True, blank=True)
    completed_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    notes = models.TextField(_("catatan penanganan"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("permintaan subjek data")
        verbose_name_plural = _("permintaan subjek data")
        indexes = [
            # used by the DSR list and the escalation job (open requests by deadline)
            models.Index(fields=["state", "due_at"], name="dsr_open_due_idx"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.due_at is None:
            self.due_at = self.received_at + RESPONSE_DEADLINE
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def masked(self) -> str:
        return self.e164 if "*" in self.e164 or self.e164.startswith("~") else mask(self.e164)

    @property
    def remaining(self) -> timedelta:
        return self.due_at - timezone.now()

    @property
    def is_overdue(self) -> bool:
        return self.state == RequestState.OPEN and timezone.now() > self.due_at

    @property
    def is_due_soon(self) -> bool:
        return self.state == RequestState.OPEN and not self.is_overdue and self.remaining < timedelta(hours=24)
