"""Monthly reports, their sign-off, reminders, unit budgets and public-archive publications.

Theory of operation
-------------------
A ``MonthlyReport`` is one *revision* of the report of one calendar month (WIB). Its figures are
computed from the raw data by ``warta.reports.figures`` and stored as JSON on the row
(``figures`` + ``figures_hash``), so what the operator narrates and the approver signs is exactly
what the files show. The PDF and XLSX are rendered from that snapshot. Once archived the row and
its files are frozen: ``save`` refuses any change, the files' SHA-256 is stored and shown, and
data that arrives later (a late receipt, a re-opened ticket) makes a *new* revision that points
at the one it supersedes — never a silent overwrite.

Budgets are plain rows (a standing monthly amount per unit, optionally one month's own amount);
the spend they are measured against is computed from the outbox by ``services.unit_spend``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ReportIsArchived(Exception):
    """An archived report cannot be changed; make a new revision instead."""


class MonthlyReport(models.Model):
    """One revision of one month's report.

    Lifecycle::

        draft ──submit (operator)──▶ submitted ──approve (approver, TOTP)──▶ approved ──archive──▶ archived
          ▲                             │                                                         │
          └──────send back (approver)───┘                    later data: new revision (draft) ◀───┘

    ``draft`` may be regenerated (figures refreshed) and its narrative edited; ``submitted`` waits
    for the approver; ``approved`` carries the signature (name, NIP) and the final files;
    ``archived`` is immutable, with the files' SHA-256 stored. ``late`` is recorded at approval
    when it came after ``due_at``.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Konsep")  # figures may be refreshed, narrative edited
        SUBMITTED = "submitted", _("Diajukan")  # waiting for the approver's signature
        APPROVED = "approved", _("Disetujui")  # signed; files final, not yet archived
        ARCHIVED = "archived", _("Diarsipkan")  # immutable; hash stored

    month = models.DateField(_("bulan"))  # the first day of the month
    revision = models.PositiveSmallIntegerField(_("revisi"), default=1)
    supersedes = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="superseded_by", verbose_name=_("menggantikan"))
    revision_reason = models.TextField(_("alasan revisi"), blank=True)
    state = models.CharField(_("status"), max_length=10, choices=State.choices, default=State.DRAFT)
    figures = models.JSONField(default=dict, blank=True)
    figures_hash = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(_("angka dihitung"), null=True, blank=True)
    # The operator's narrative, edited in the application before sign-off.
    highlights = models.TextField(_("hal menonjol"), blank=True)
    problems = models.TextField(_("kendala"), blank=True)
    recommendations = models.TextField(_("rekomendasi"), blank=True)
    public_summary = models.TextField(_("ringkasan untuk publik"), blank=True)
    due_at = models.DateTimeField(_("batas waktu"))
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("operator penanggung jawab"))
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("penyetuju"))
    approver_name = models.CharField(_("nama penanda tangan"), max_length=150, blank=True)
    approver_nip = models.CharField(_("NIP penanda tangan"), max_length=30, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(_("terlambat"), default=False)
    pdf = models.FileField(upload_to="laporan/", blank=True)
    xlsx = models.FileField(upload_to="laporan/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    xlsx_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "-revision"]
        verbose_name = _("laporan bulanan")
        verbose_name_plural = _("laporan bulanan")
        constraints = [
            models.UniqueConstraint(fields=["month", "revision"], name="report_unique_revision"),
            models.CheckConstraint(condition=Q(state__in=["draft", "submitted", "approved", "archived"]),
                                   name="report_state_valid"),
            models.CheckConstraint(condition=~Q(state__in=["approved", "archived"]) | Q(approved_at__isnull=False),
                                   name="report_approved_has_time"),
            models.CheckConstraint(condition=~Q(state="archived") | ~Q(pdf_sha256=""),
                                   name="report_archived_has_hash"),
        ]

    def __str__(self) -> str:
        label = f"{self.month:%Y-%m}"
        return label if self.revision == 1 else f"{label} r{self.revision}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = MonthlyReport.objects.filter(pk=self.pk).values_list("state", flat=True).first()
            if stored == self.State.ARCHIVED:
                raise ReportIsArchived(_("Laporan yang sudah diarsipkan tidak dapat diubah; buat revisi baru."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.state == self.State.ARCHIVED:
            raise ReportIsArchived(_("Laporan yang sudah diarsipkan tidak dapat dihapus."))
        return super().delete(*args, **kwargs)

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.DRAFT

    @property
    def is_final(self) -> bool:
        return self.state in (self.State.APPROVED, self.State.ARCHIVED)


class ReportNotice(models.Model):
    """An in-app notice about a report for one user (draft ready, due soon, overdue, sent back).

    Unique per (report, user, kind): the scheduler may run the reminder job as often as it likes."""

    report = models.ForeignKey(MonthlyReport, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_notices")
    kind = models.CharField(max_length=20)  # created | due_3d | due_1d | overdue | submitted | sent_back | approved
    text = models.CharField(max_length=300)
    emailed = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["report", "user", "kind"], name="reportnotice_once")]
        indexes = [
            # used by the home page and the reports page: a user's unread notices
            models.Index(fields=["user"], name="reportnotice_unread", condition=Q(read_at__isnull=True)),
        ]


class UnitBudget(models.Model):
    """A unit's SMS budget in rupiah: the standing monthly amount (``month`` empty) or one month's
    own amount (set when an approver raises it for that month). At 80% of it the unit's operators
    are warned; at 100% its non-emergency blasts are held until an approver raises it."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="sms_budgets",
                             verbose_name=_("unit"))
    month = models.DateField(_("bulan"), null=True, blank=True)  # first day; empty: every month
    amount = models.DecimalField(_("anggaran (Rp)"), max_digits=14, decimal_places=2)
    note = models.CharField(_("catatan"), max_length=200, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["unit__name", "month"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "month"], name="budget_unique_month"),
            models.UniqueConstraint(fields=["unit"], condition=Q(month__isnull=True), name="budget_unique_standing"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budget_not_negative"),
        ]


class BudgetAlert(models.Model):
    """The 80% warning and the 100% hold of one unit in one month, recorded (and audited) once."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    level = models.PositiveSmallIntegerField()  # 80 or 100
    spent = models.DecimalField(max_digits=14, decimal_places=2)
    budget = models.DecimalField(max_digits=14, decimal_places=2)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["unit", "month", "level", "budget"], name="budgetalert_once")]


class Publication(models.Model):
    """A month published on the public archive page (UU 14/2008): its released blasts (date,
    sender ID, text, unit; never recipients) and its archived report's public summary. Each
    publication and withdrawal is a decision in the audit trail."""

    month = models.DateField(_("bulan"), unique=True)
    report = models.ForeignKey(MonthlyReport, on_delete=models.PROTECT, related_name="publications")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]
