"""Monthly reports: generation, narrative, sign-off, archive and revisions; deadlines and
reminders; spend and budgets per unit; the public archive.

Theory of operation
-------------------
* **Generation** computes the figures (``figures.compute``) and stores them on the draft; the files
  are rendered from that snapshot. A draft may be refreshed any time; at *submit* the figures are
  computed once more and frozen, so the approver signs what the operator narrated.
* **Sign-off** re-confirms the approver with a TOTP code (``django_otp.match_token``), renders
  the final PDF (signature block: name, NIP) and XLSX. *Archive* stores both files' SHA-256 and
  freezes the row (``MonthlyReport.save`` refuses changes). ``check_revisions`` recomputes
  archived months; when the data changed it opens a new revision (draft) that supersedes the
  archived one and says why — never a silent overwrite.
* **Deadline**: due on ``DUE_DAY`` of the next month at ``DUE_TIME`` WIB, moved past weekends and
  the holiday calendar (the inbox's ``Holiday`` table, the same one the SLA clocks use). The
  scheduler's ``scheduler_tick`` makes the draft on the 1st and sends reminders (in-app and
  e-mail, once per kind) to the responsible operator and approver.
* **Budgets**: ``budget_blocker`` is the one call the blasts release path makes. It measures the
  unit's spend this month (recorded or estimated cost of what was sent, plus the estimate of
  what is still queued) against its budget; at 80% the unit's operators are warned once, at 100%
  non-emergency blasts of the unit are held (the draft stays approved and the scheduler tries
  again) until an approver raises the budget. Warnings, holds and raises are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import Role, Unit, User

from . import conf, figures, render
from .figures import WIB, bounds, month_label, next_month, previous_month
from .models import BudgetAlert, MonthlyReport, Publication, ReportNotice, UnitBudget

log = logging.getLogger("warta.reports")

State = MonthlyReport.State


class ReportError(Exception):
    """A request on a report that cannot be done; the message says why and what to do."""


# -- who ---------------------------------------------------------------------------------------

WRITERS = {Role.ADMIN, Role.OPERATOR}
SIGNERS = {Role.APPROVER}
BUDGET_RAISERS = {Role.APPROVER, Role.ADMIN}
PUBLISHERS = {Role.ADMIN, Role.APPROVER}


def can_write(user: Any) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in WRITERS


def can_sign(user: Any) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in SIGNERS


def can_raise_budget(user: Any) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in BUDGET_RAISERS


def can_publish(user: Any) -> bool:
    return getattr(user, "is_authenticated", False) and user.role in PUBLISHERS


def _require(ok: bool) -> None:
    if not ok:
        raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))


def responsible(role: str) -> User | None:
    """The responsible operator/approver: the SMS Center's (unit of kind "dinas") first."""
    users = User.objects.filter(role=role, is_active=True).order_by("-unit__kind", "pk")
    return users.filter(unit__kind="dinas").first() or users.first()


# -- deadline ------------------------------------------------------------------------------------


def holidays() -> frozenset[dt.date]:
    from warta.inbox.sla import holidays as inbox_holidays

    return inbox_holidays()


def due_at(month: dt.date) -> dt.datetime:
    """The report of ``month`` is due on DUE_DAY of the next month at DUE_TIME WIB, moved to the
    next working day when that day is a weekend or in the holiday calendar."""
    day = next_month(month).replace(day=conf.due_day())
    off = holidays()
    while day.weekday() >= 5 or day in off:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, conf.due_time(), tzinfo=WIB)


def reportable_month(now: dt.datetime | None = None) -> dt.date:
    """The month whose report is being made now: last month (WIB)."""
    now = now or timezone.now()
    return previous_month(now.astimezone(WIB).date().replace(day=1))


def current(month: dt.date) -> MonthlyReport | None:
    """The latest revision of ``month``'s report."""
    return MonthlyReport.objects.filter(month=month).order_by("-revision").first()


def countdown(now: dt.datetime | None = None) -> dict[str, Any] | None:
    """For the home page, from the 1st until last month's report is approved: days and hours left
    (negative: late)."""
    now = now or timezone.now()
    month = reportable_month(now)
    report = current(month)
    if report is not None and report.state in (State.APPROVED, State.ARCHIVED):
        return None
    due = report.due_at if report else due_at(month)
    left = due - now
    return {"month": month, "label": month_label(month), "due_at": due, "late": left.total_seconds() < 0,
            "days": int(abs(left.total_seconds()) // 86400), "hours": int(abs(left.total_seconds()) % 86400 // 3600),
            "report": report, "state": report.get_state_display() if report else _("belum dibuat")}


def is_late(report: MonthlyReport, now: dt.datetime | None = None) -> bool:
    if report.late:
        return True
    if report.state in (State.APPROVED, State.ARCHIVED):
        return False
    return (now or timezone.now()) > report.due_at


# -- generation ----------------------------------------------------------------------------------


def _hash(data: Any) -> str:
    import json

    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _previous_summary(month: dt.date) -> dict[str, Any] | None:
    prev = (MonthlyReport.objects.filter(month=previous_month(month), state=State.ARCHIVED)
            .order_by("-revision").first())
    return prev.figures.get("summary") if prev else None


def compute(month: dt.date, now: dt.datetime | None = None) -> dict[str, Any]:
    """The month's figures with spend against budgets filled in per unit."""
    fig = figures.compute(month, now=now, previous_summary=_previous_summary(month))
    for row in fig["outbound"]["by_unit"]:
        budget = budget_for(row["unit_id"], month) if row["unit_id"] else None
        row["budget"] = figures.money(budget) if budget is not None else None
        row["budget_pct"] = figures.pct(float(row["cost"]), float(budget)) if budget else None
    return fig


def _figures_for_hash(fig: dict[str, Any]) -> dict[str, Any]:
    # Last month's comparison figures are not this month's data: a change there is no revision.
    return {k: v for k, v in fig.items() if k != "month_over_month"}


def generate(month: dt.date, *, actor: User | None = None, now: dt.datetime | None = None) -> MonthlyReport:
    """The month's draft with fresh figures: creates it, refreshes an open draft, or — when the
    latest revision is past draft — returns it unchanged (``check_revisions`` handles archived
    months whose data changed)."""
    now = now or timezone.now()
    month = month.replace(day=1)
    if month >= now.astimezone(WIB).date().replace(day=1):
        raise ReportError(_("Bulan %(m)s belum selesai; laporan dibuat setelah bulan berakhir.") % {"m": month_label(month)})
    with transaction.atomic():
        report = current(month)
        if report is not None and report.state != State.DRAFT:
            return report
        fig = compute(month, now=now)
        if report is None:
            report = MonthlyReport(month=month, due_at=due_at(month), operator=responsible(Role.OPERATOR),
                                   approver=responsible(Role.APPROVER))
            created = True
        else:
            created = False
        report.figures, report.figures_hash, report.generated_at = fig, _hash(_figures_for_hash(fig)), now
        report.save()
        audit.record("reports.generated" if created else "reports.refreshed", report, actor=actor,
                     changes={"month": f"{month:%Y-%m}", "revision": report.revision, "figures_hash": report.figures_hash})
    if created:
        notify_responsible(report, "created", _("Konsep laporan bulanan %(m)s sudah dibuat; batas waktu %(d)s WIB.")
                           % {"m": month_label(month), "d": timezone.localtime(report.due_at).strftime("%d-%m-%Y %H:%M")},
                           now=now)
    return report


def files(report: MonthlyReport) -> tuple[bytes, bytes]:
    """The PDF and XLSX of ``report``: the stored files once final, else rendered afresh."""
    if report.is_final and report.pdf and report.xlsx:
        with report.pdf.open("rb") as f1, report.xlsx.open("rb") as f2:
            return f1.read(), f2.read()
    return render.pdf_bytes(report.figures, report), render.xlsx_bytes(report.figures, report)


def file_name(report: MonthlyReport, ext: str) -> str:
    rev = f"-revisi-{report.revision}" if report.revision > 1 else ""
    return f"laporan-sms-center-{report.month:%Y-%m}{rev}.{ext}"


def verify_files(report: MonthlyReport) -> bool | None:
    """Whether the stored files still have the stored hashes (None: not archived yet)."""
    if not report.pdf_sha256:
        return None
    try:
        pdf, xlsx = files(report)
    except (OSError, ValueError):
        return False
    return hashlib.sha256(pdf).hexdigest() == report.pdf_sha256 and hashlib.sha256(xlsx).hexdigest() == report.xlsx_sha256


# -- erasure reaches the quotes ------------------------------------------------------------------

#: What a withdrawn quote becomes in every revision's figures and files. The report is an
#: Indonesian document, so the marker is too (not translated).
REDACTED_QUOTE = "[kutipan dihapus atas permintaan penghapusan data pribadi]"


def redact_sender(masked_from: str, *, reason: str = "erasure", actor: User | None = None) -> int:
    """Withdraw every quoted example of the sender ``masked_from`` (``0812****7890``) from every
    revision of every report, archived ones included; returns how many quotes went.

    Why archived ones too: UU 27/2022 erasure reaches every copy, and an archived report (and its
    PDF/XLSX) quotes a citizen's words. Figures never change — the person's ticket still counts —
    only the quote's text and sender become ``REDACTED_QUOTE`` and "—". The stored files are
    rendered again from the redacted figures (signature, dates and narrative as they were), the
    old files are deleted once the transaction commits, and the new SHA-256 replace the old ones;
    the audit trail records both hashes, so the archive's integrity check names the redaction
    instead of failing on it. This is the one change an archived report accepts.

    The quotes keep no link to their message (the figures are a snapshot), so they are matched by
    the masked sender: another citizen whose number masks the same way loses a quote too —
    privacy errs that way; counts are untouched."""
    if not masked_from:
        return 0
    total = 0
    # Retention calls this once per stale contact (thousands a day): the database says which
    # reports hold the string at all, usually none, before any figures are parsed.
    for report in MonthlyReport.objects.filter(figures__icontains=masked_from).order_by("pk"):
        fig = report.figures or {}
        n = 0
        for issue in (fig.get("inbound") or {}).get("top_issues") or []:
            for example in issue.get("examples") or []:
                if example.get("from") == masked_from:
                    example.update({"from": "—", "text": REDACTED_QUOTE})
                    n += 1
        if n:
            _store_redacted(report, fig, n, reason=reason, actor=actor)
            total += n
    return total


def _store_redacted(report: MonthlyReport, fig: dict[str, Any], n: int, *, reason: str, actor: User | None) -> None:
    before = {"figures_hash": report.figures_hash, "pdf_sha256": report.pdf_sha256, "xlsx_sha256": report.xlsx_sha256}
    values: dict[str, Any] = {"figures": fig, "figures_hash": _hash(_figures_for_hash(fig))}
    old_files = [f.name for f in (report.pdf, report.xlsx) if f]
    if report.is_final and old_files:
        report.figures = fig  # rendered from the redacted figures; the row is updated below
        pdf, xlsx = render.pdf_bytes(fig, report), render.xlsx_bytes(fig, report)
        values["pdf"] = report.pdf.storage.save(file_name(report, "pdf"), ContentFile(pdf))
        values["xlsx"] = report.xlsx.storage.save(file_name(report, "xlsx"), ContentFile(xlsx))
        if report.pdf_sha256:
            values["pdf_sha256"] = hashlib.sha256(pdf).hexdigest()
            values["xlsx_sha256"] = hashlib.sha256(xlsx).hexdigest()
        storage = report.pdf.storage

        def delete_old() -> None:
            for name in old_files:
                storage.delete(name)

        # The old files hold the quote: gone once the new ones are the record (a rollback keeps
        # them, and the new files are then unreferenced copies without the quote).
        transaction.on_commit(delete_old)
    # A queryset update: ``MonthlyReport.save`` refuses any change to an archived report.
    MonthlyReport.objects.filter(pk=report.pk).update(**values)
    after = {k: values.get(k, before[k]) for k in before}
    audit.record("reports.redacted", report, actor=actor,
                 changes={"reason": reason, "quotes": n, "state": report.state,
                          **{k: [before[k], after[k]] for k in before if before[k] != after[k]}})


# -- narrative and sign-off ----------------------------------------------------------------------

NARRATIVE_FIELDS = ("highlights", "problems", "recommendations", "public_summary")


def update_narrative(report: MonthlyReport, actor: User, **fields: str) -> MonthlyReport:
    _require(can_write(actor))
    if report.state != State.DRAFT:
        raise ReportError(_("Narasi hanya dapat diubah selama laporan berstatus konsep."))
    before = audit.snapshot(report, list(NARRATIVE_FIELDS))
    for key in NARRATIVE_FIELDS:
        if key in fields:
            setattr(report, key, (fields[key] or "").strip())
    report.save(update_fields=list(NARRATIVE_FIELDS))
    changes = audit.diff(before, audit.snapshot(report, list(NARRATIVE_FIELDS)))
    if changes:
        audit.record("reports.narrative_edited", report, actor=actor, changes={k: "diubah" for k in changes})
    return report


def _transition(report: MonthlyReport, from_state: str, **values: Any) -> None:
    n = MonthlyReport.objects.filter(pk=report.pk, state=from_state).update(**values)
    if not n:
        report.refresh_from_db()
        raise ReportError(_("Laporan ini sekarang berstatus %(s)s; muat ulang halaman.") % {"s": report.get_state_display()})
    report.refresh_from_db()


def submit(report: MonthlyReport, actor: User, now: dt.datetime | None = None) -> MonthlyReport:
    """Operator: freeze the figures (computed once more) and send the report for signature."""
    _require(can_write(actor))
    now = now or timezone.now()
    if report.state != State.DRAFT:
        raise ReportError(_("Hanya konsep yang dapat diajukan."))
    missing = [label for key, label in (("highlights", _("hal menonjol")), ("problems", _("kendala")),
                                         ("recommendations", _("rekomendasi"))) if not getattr(report, key).strip()]
    if missing:
        raise ReportError(_("Lengkapi narasi sebelum mengajukan: %(f)s.") % {"f": ", ".join(missing)})
    fig = compute(report.month, now=now)
    with transaction.atomic():
        _transition(report, State.DRAFT, state=State.SUBMITTED, submitted_at=now, figures=fig,
                    figures_hash=_hash(_figures_for_hash(fig)), generated_at=now, operator=actor)
        audit.record("reports.submitted", report, actor=actor, changes={"figures_hash": report.figures_hash})
    targets = [u for u in [report.approver or responsible(Role.APPROVER)] if u]
    notify(targets, report, "submitted", _("Laporan bulanan %(m)s menunggu persetujuan Anda.") % {"m": month_label(report.month)}, now=now)
    return report


def send_back(report: MonthlyReport, actor: User, comment: str, now: dt.datetime | None = None) -> MonthlyReport:
    _require(can_sign(actor))
    if not comment.strip():
        raise ReportError(_("Tulis alasan pengembalian agar operator tahu apa yang harus diperbaiki."))
    with transaction.atomic():
        _transition(report, State.SUBMITTED, state=State.DRAFT, submitted_at=None)
        audit.record("reports.sent_back", report, actor=actor, changes={"comment": comment.strip()[:500]})
    notify([u for u in [report.operator] if u], report, f"sent_back_{timezone.now():%H%M%S}",
           _("Laporan %(m)s dikembalikan: %(c)s") % {"m": month_label(report.month), "c": comment.strip()[:200]}, now=now)
    return report


def _check_totp(user: User, token: str) -> None:
    from django_otp import match_token

    if not token or match_token(user, token.strip()) is None:
        raise ReportError(_("Kode TOTP salah atau kedaluwarsa. Buka aplikasi autentikator dan masukkan kode yang sedang tampil."))


def approve(report: MonthlyReport, actor: User, *, token: str, name: str, nip: str,
            now: dt.datetime | None = None) -> MonthlyReport:
    """Approver: re-confirm with TOTP, sign (name, NIP), render the final files."""
    _require(can_sign(actor))
    now = now or timezone.now()
    if report.state != State.SUBMITTED:
        raise ReportError(_("Hanya laporan yang sudah diajukan yang dapat disetujui."))
    _check_totp(actor, token)
    name, nip = name.strip(), "".join(nip.split())
    if not name:
        raise ReportError(_("Tulis nama penanda tangan seperti di blok tanda tangan."))
    if not (nip.isdigit() and len(nip) == 18):
        raise ReportError(_("NIP terdiri atas 18 angka; periksa kembali."))
    late = now > report.due_at
    with transaction.atomic():
        _transition(report, State.SUBMITTED, state=State.APPROVED, approved_at=now, approver=actor,
                    approver_name=name[:150], approver_nip=nip, late=late)
        pdf, xlsx = render.pdf_bytes(report.figures, report), render.xlsx_bytes(report.figures, report)
        report.pdf.save(file_name(report, "pdf"), ContentFile(pdf), save=False)
        report.xlsx.save(file_name(report, "xlsx"), ContentFile(xlsx), save=False)
        report.save(update_fields=["pdf", "xlsx"])
        audit.record("reports.approved", report, actor=actor, changes={"late": late, "totp": True,
                                                                       "figures_hash": report.figures_hash})
    notify([u for u in [report.operator] if u], report, "approved",
           _("Laporan %(m)s disetujui%(late)s.") % {"m": month_label(report.month),
                                                   "late": _(" (terlambat)") if late else ""}, now=now)
    return report


def archive(report: MonthlyReport, actor: User, now: dt.datetime | None = None) -> MonthlyReport:
    """Freeze an approved report: store the files' SHA-256; nothing changes it afterwards."""
    _require(can_write(actor) or can_sign(actor))
    now = now or timezone.now()
    if report.state != State.APPROVED:
        raise ReportError(_("Hanya laporan yang sudah disetujui yang dapat diarsipkan."))
    pdf, xlsx = files(report)
    pdf_hash, xlsx_hash = hashlib.sha256(pdf).hexdigest(), hashlib.sha256(xlsx).hexdigest()
    with transaction.atomic():
        _transition(report, State.APPROVED, state=State.ARCHIVED, archived_at=now, pdf_sha256=pdf_hash,
                    xlsx_sha256=xlsx_hash)
        audit.record("reports.archived", report, actor=actor, changes={"pdf_sha256": pdf_hash, "xlsx_sha256": xlsx_hash})
    return report


def check_revisions(months_back: int = 3, now: dt.datetime | None = None) -> list[MonthlyReport]:
    """Recompute recently archived months; where the data changed since archiving (late receipts,
    tickets closed later, an erased subject's texts), open a new marked revision."""
    now = now or timezone.now()
    made = []
    month = reportable_month(now)
    for _i in range(months_back):
        report = current(month)
        if report is not None and report.state == State.ARCHIVED:
            fig = compute(month, now=now)
            if _hash(_figures_for_hash(fig)) != report.figures_hash:
                made.append(new_revision(report, fig, now=now))
        month = previous_month(month)
    return made


def new_revision(archived: MonthlyReport, fig: dict[str, Any], *, reason: str = "", actor: User | None = None,
                 now: dt.datetime | None = None) -> MonthlyReport:
    now = now or timezone.now()
    changed = [k for k, v in fig["summary"].items() if archived.figures.get("summary", {}).get(k) != v]
    reason = reason or (_("Data berubah setelah diarsipkan: %(f)s.") % {"f": ", ".join(changed) or _("rincian")})
    with transaction.atomic():
        report = MonthlyReport.objects.create(
            month=archived.month, revision=archived.revision + 1, supersedes=archived, revision_reason=reason,
            figures=fig, figures_hash=_hash(_figures_for_hash(fig)), generated_at=now, due_at=archived.due_at,
            highlights=archived.highlights, problems=archived.problems, recommendations=archived.recommendations,
            public_summary=archived.public_summary, operator=archived.operator, approver=archived.approver)
        audit.record("reports.revision_opened", report, actor=actor,
                     changes={"supersedes": archived.pk, "reason": reason, "changed": changed})
    notify_responsible(report, "created", _("Revisi %(r)d laporan %(m)s dibuka: %(why)s")
                       % {"r": report.revision, "m": month_label(report.month), "why": reason}, now=now)
    return report


# -- notices and reminders -----------------------------------------------------------------------


def notify(users: Iterable[User], report: MonthlyReport, kind: str, text: str, *, email: bool = True,
           now: dt.datetime | None = None) -> int:
    """An in-app notice (and an e-mail) to each user, once per (report, user, kind)."""
    from django.core.mail import send_mail

    now = now or timezone.now()
    sent = 0
    for user in {u.pk: u for u in users}.values():
        notice, created = ReportNotice.objects.get_or_create(
            report=report, user=user, kind=kind[:20], defaults={"text": text[:300], "created_at": now})
        if not created:
            continue
        sent += 1
        if email and user.email:
            try:
                send_mail(_("[Warta] %(t)s") % {"t": text[:80]}, text, None, [user.email])
                ReportNotice.objects.filter(pk=notice.pk).update(emailed=True)
            except OSError:  # an SMTP outage must not stop the reminder job; the in-app notice stands
                log.warning("report notice e-mail to %s failed", user.pk, exc_info=True)
    return sent


def notify_responsible(report: MonthlyReport, kind: str, text: str, now: dt.datetime | None = None) -> int:
    return notify([u for u in (report.operator, report.approver) if u], report, kind, text, now=now)


def send_reminders(now: dt.datetime | None = None) -> int:
    """Due-soon and overdue reminders for the open reports (once per kind and person)."""
    now = now or timezone.now()
    sent = 0
    for report in MonthlyReport.objects.exclude(state__in=[State.APPROVED, State.ARCHIVED]).select_related(
            "operator", "approver"):
        left = report.due_at - now
        label = month_label(report.month)
        due = timezone.localtime(report.due_at).strftime("%d-%m-%Y %H:%M")
        if left.total_seconds() < 0:
            sent += notify_responsible(report, "overdue", _("Laporan bulanan %(m)s TERLAMBAT: batas waktu %(d)s WIB sudah lewat.")
                                       % {"m": label, "d": due}, now=now)
            continue
        for days in sorted(conf.remind_days()):  # the nearest threshold crossed, once
            if left <= dt.timedelta(days=days):
                sent += notify_responsible(report, f"due_{days}d", _("Laporan bulanan %(m)s jatuh tempo %(d)s WIB (%(n)d hari lagi).")
                                           % {"m": label, "d": due, "n": max(0, left.days)}, now=now)
                break
    return sent


def unread_notices(user: User) -> QuerySet[ReportNotice]:
    return ReportNotice.objects.filter(user=user, read_at__isnull=True).select_related("report")


def scheduler_tick(now: dt.datetime | None = None) -> dict[str, Any]:
    """The scheduler's job: last month's draft from the 1st, reminders, budget alerts, revisions."""
    now = now or timezone.now()
    month = reportable_month(now)
    made = None
    if current(month) is None:
        made = generate(month, now=now).pk
    return {"generated": made, "reminders": send_reminders(now)}


def daily_tick(now: dt.datetime | None = None) -> dict[str, Any]:
    return {"revisions": [r.pk for r in check_revisions(now=now)]}


# -- spend and budgets ---------------------------------------------------------------------------


def budget_for(unit: Unit | int | None, month: dt.date) -> Decimal | None:
    """The unit's budget for ``month``: that month's own amount, else the standing amount."""
    if unit is None:
        return None
    unit_id = getattr(unit, "pk", unit)
    rows = dict(UnitBudget.objects.filter(unit_id=unit_id).filter(Q(month=month) | Q(month__isnull=True))
                .values_list("month", "amount"))
    if month in rows:
        return rows[month]
    return rows.get(None)


def _unit_blasts(unit_id: int, since: dt.datetime) -> list[int]:
    from warta.blasts.models import Blast

    return list(Blast.objects.filter(created_at__gte=since).filter(
        Q(draft__materi__unit_id=unit_id)
        | Q(draft__materi__isnull=True, draft__author__unit_id=unit_id)
        | Q(draft__isnull=True, created_by__unit_id=unit_id)).values_list("pk", flat=True))


def unit_spend(unit: Unit | int, month: dt.date) -> dict[str, Decimal]:
    """The unit's spend in ``month`` for the budget check: the cost of what its blasts sent this
    month plus the estimated cost of their messages still queued. Looks at the unit's blasts of
    the last two months only (through the outbox's blast index), so it is cheap at release time."""
    from warta.blasts.models import OutboundMessage

    unit_id = getattr(unit, "pk", unit)
    start, end = bounds(month)
    ids = _unit_blasts(unit_id, start - dt.timedelta(days=31))
    if not ids:
        return {"spent": Decimal(0), "queued": Decimal(0), "total": Decimal(0)}
    info = figures.blast_info(ids)
    prices = figures.tariffs()
    spent = sum((figures.group_cost(g, info[g["blast_id"]]["text"], prices)
                 for g in figures.outbox_groups(start, end, ids)), Decimal(0))
    queued = Decimal(0)
    for row in (OutboundMessage.objects.order_by().filter(blast_id__in=ids, state__in=["queued", "sending"])
                .values("blast_id", "operator", "text").annotate(n=Count("id"))):
        g = {**row, "billable": 1, "state": "queued"}
        queued += figures.group_cost(g, info[row["blast_id"]]["text"], prices)
    return {"spent": spent, "queued": queued, "total": spent + queued}


def draft_unit_id(draft: Any) -> int | None:
    if getattr(draft, "materi_id", None):
        return draft.materi.unit_id  # type: ignore[no-any-return]
    return getattr(draft.author, "unit_id", None)


def budget_status(unit: Unit | int, month: dt.date) -> dict[str, Any] | None:
    budget = budget_for(unit, month)
    if budget is None:
        return None
    spend = unit_spend(unit, month)
    used = figures.pct(float(spend["total"]), float(budget)) if budget else (100.0 if spend["total"] else 0.0)
    return {"budget": budget, **spend, "pct": used, "warn": used is not None and used >= 80,
            "hold": spend["total"] >= budget}


def budget_blocker(draft: Any, now: dt.datetime) -> str | None:
    """Called by the blasts release path for every non-emergency draft about to be released:
    the reason the draft is held (its unit's budget is used up), or None."""
    if getattr(draft, "emergency", False):
        return None
    unit_id = draft_unit_id(draft)
    if unit_id is None:
        return None
    month = now.astimezone(WIB).date().replace(day=1)
    status = budget_status(unit_id, month)
    if status is None:
        return None
    if status["warn"]:
        _alert(unit_id, month, 80, status, now, draft)
    if not status["hold"]:
        return None
    _alert(unit_id, month, 100, status, now, draft)
    return _("Anggaran SMS unit bulan ini habis (%(s)s dari %(b)s); blast non-darurat ditahan sampai penyetuju "
             "menaikkan anggaran di Laporan → Anggaran.") % {"s": render.rupiah(status["total"]), "b": render.rupiah(status["budget"])}


def _alert(unit_id: int, month: dt.date, level: int, status: dict[str, Any], now: dt.datetime, draft: Any) -> None:
    """Record and announce the 80% warning / 100% hold once per unit, month, level and budget."""
    alert, created = BudgetAlert.objects.get_or_create(
        unit_id=unit_id, month=month, level=level, budget=status["budget"],
        defaults={"spent": status["total"], "at": now})
    if not created:
        return
    unit = Unit.objects.get(pk=unit_id)
    audit.record("reports.budget_hold" if level >= 100 else "reports.budget_warning", alert,
                 object_repr=f"{unit.name} {month:%Y-%m}", unit=unit,
                 changes={"level": level, "spent": str(status["total"]), "budget": str(status["budget"])})
    text = (_("Anggaran SMS %(u)s bulan %(m)s habis: blast non-darurat ditahan sampai penyetuju menaikkan anggaran.")
            if level >= 100 else _("Anggaran SMS %(u)s bulan %(m)s sudah terpakai %(p)s%%."))
    text = text % {"u": unit.name, "m": month_label(month), "p": render.number(status["pct"])}
    roles = [Role.OPERATOR, Role.APPROVER] if level >= 100 else [Role.OPERATOR]
    users = list(User.objects.filter(is_active=True, role__in=roles)
                 .filter(Q(unit_id=unit_id) | Q(unit__kind="dinas")))
    # The blast workflow's own notices (in the application, and e-mail when SMTP is set): the
    # operator sees them beside the draft that was held.
    from warta.blasts.services import notify as blast_notify

    blast_notify(users, text, draft)


def set_budget(unit: Unit, amount: Decimal, actor: User, *, month: dt.date | None = None, note: str = "") -> UnitBudget:
    """Set a unit's standing budget (administrator) or raise one month's (approver). Audited."""
    _require(can_raise_budget(actor))
    if amount < 0:
        raise ReportError(_("Anggaran tidak boleh negatif."))
    month = month.replace(day=1) if month else None
    old = budget_for(unit, month) if month else UnitBudget.objects.filter(unit=unit, month__isnull=True).values_list(
        "amount", flat=True).first()
    row, _created = UnitBudget.objects.update_or_create(unit=unit, month=month, defaults={
        "amount": amount, "note": note[:200], "updated_by": actor})
    audit.record("reports.budget_set", row, actor=actor, object_repr=f"{unit.name} {month:%Y-%m}" if month else unit.name,
                 unit=unit, changes={"month": f"{month:%Y-%m}" if month else "setiap bulan",
                                     "amount": [str(old) if old is not None else None, str(amount)], "note": note[:200]})
    return row


def remove_budget(budget: UnitBudget, actor: User) -> None:
    _require(can_raise_budget(actor))
    audit.record("reports.budget_removed", budget, actor=actor, object_repr=budget.unit.name, unit=budget.unit,
                 changes={"month": f"{budget.month:%Y-%m}" if budget.month else "setiap bulan", "amount": str(budget.amount)})
    budget.delete()


# -- public archive ------------------------------------------------------------------------------


def publish(report: MonthlyReport, actor: User, now: dt.datetime | None = None) -> Publication:
    """Publish an archived month on the public page (a decision in the audit trail)."""
    _require(can_publish(actor))
    if report.state != State.ARCHIVED:
        raise ReportError(_("Hanya laporan yang sudah diarsipkan yang dapat dipublikasikan."))
    if not report.public_summary.strip():
        raise ReportError(_("Tulis ringkasan untuk publik pada laporan sebelum dipublikasikan (buat revisi bila perlu)."))
    now = now or timezone.now()
    pub, _created = Publication.objects.update_or_create(
        month=report.month, defaults={"report": report, "published_by": actor, "published_at": now, "withdrawn_at": None})
    audit.record("reports.published", report, actor=actor, changes={"month": f"{report.month:%Y-%m}",
                                                                   "revision": report.revision})
    return pub


def withdraw_publication(pub: Publication, actor: User, now: dt.datetime | None = None) -> Publication:
    _require(can_publish(actor))
    pub.withdrawn_at = now or timezone.now()
    pub.save(update_fields=["withdrawn_at"])
    audit.record("reports.unpublished", pub.report, actor=actor, changes={"month": f"{pub.month:%Y-%m}"})
    return pub


def public_months() -> list[dict[str, Any]]:
    """What the public page shows: each published month's summary and its released blasts (date,
    sender ID, text, unit — never recipients)."""
    out = []
    for pub in Publication.objects.filter(withdrawn_at__isnull=True).select_related("report").order_by("-month"):
        fig = pub.report.figures
        out.append({"month": pub.month, "label": month_label(pub.month), "report": pub.report,
                    "summary": pub.report.public_summary, "figures": fig.get("summary", {}),
                    "blasts": public_blasts(pub.month)})
    return out


def public_blasts(month: dt.date) -> list[dict[str, Any]]:
    from warta.blasts.workflow import Draft

    start, end = bounds(month)
    rows = (Draft.objects.filter(state=Draft.State.RELEASED, released_at__gte=start, released_at__lt=end)
            .select_related("sender", "materi__unit", "author__unit").order_by("released_at"))
    return [{"at": d.released_at, "sender": d.sender.name, "text": d.text,
             "unit": (d.materi.unit.name if d.materi_id else (d.author.unit.name if d.author.unit_id else ""))}
            for d in rows]
