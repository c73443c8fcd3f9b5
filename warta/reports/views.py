"""Views of the monthly report: parse a form, call one service, render. Rights are checked here
(the "reports" area) and again in the services (who may write, sign, raise budgets, publish)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from warta.accounts.models import AuditEvent, Unit
from warta.accounts.permissions import area_required

from . import conf, figures, services
from .forms import ApproveForm, BudgetForm, GenerateForm, NarrativeForm, SendBackForm
from .models import MonthlyReport, Publication, UnitBudget


def _fail(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, str(exc))


@area_required("reports")
def index(request: HttpRequest) -> HttpResponse:
    notices = list(services.unread_notices(request.user)[:20])  # type: ignore[arg-type]
    services.unread_notices(request.user).filter(pk__in=[n.pk for n in notices]).update(read_at=timezone.now())  # type: ignore[arg-type]
    now = timezone.now()
    reports = list(MonthlyReport.objects.select_related("operator", "approver")[:60])
    for r in reports:
        r.is_late_now = services.is_late(r, now)  # type: ignore[attr-defined]
    return render(request, "reports/index.html", {
        "reports": reports, "countdown": services.countdown(now), "notices": notices,
        "form": GenerateForm(initial={"month": f"{services.reportable_month(now):%Y-%m}"}),
        "can_write": services.can_write(request.user), "public_enabled": conf.public_archive_enabled(),
    })


@area_required("reports")
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    if not services.can_write(request.user):
        raise PermissionDenied(_("Hanya operator atau administrator yang membuat laporan."))
    form = GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tulis bulan sebagai TTTT-BB, mis. 2026-11."))
        return redirect("reports:index")
    try:
        report = services.generate(figures.parse_month(form.cleaned_data["month"]), actor=request.user)  # type: ignore[arg-type]
    except (services.ReportError, ValueError) as exc:
        _fail(request, exc)
        return redirect("reports:index")
    return redirect("reports:detail", report.pk)


def _report(pk: int) -> MonthlyReport:
    return get_object_or_404(MonthlyReport.objects.select_related("operator", "approver", "supersedes"), pk=pk)


@area_required("reports")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    user = request.user
    history = AuditEvent.objects.filter(object_type="reports.monthlyreport", object_id=str(report.pk))[:50]
    newer = MonthlyReport.objects.filter(month=report.month, revision__gt=report.revision).order_by("revision").first()
    return render(request, "reports/detail.html", {
        "report": report, "fig": report.figures, "s": report.figures.get("summary", {}),
        "late": services.is_late(report), "newer": newer, "history": history,
        "narrative_form": NarrativeForm(initial={k: getattr(report, k) for k in services.NARRATIVE_FIELDS}),
        "approve_form": ApproveForm(initial={"name": user.get_full_name() or user.username,  # type: ignore[union-attr]
                                             "nip": _last_nip(user)}),
        "send_back_form": SendBackForm(),
        "can_write": services.can_write(user), "can_sign": services.can_sign(user),
        "can_publish": services.can_publish(user), "public_enabled": conf.public_archive_enabled(),
        "publication": Publication.objects.filter(month=report.month, withdrawn_at__isnull=True).first(),
        "files_ok": services.verify_files(report) if report.state == MonthlyReport.State.ARCHIVED else None,
    })


def _last_nip(user: Any) -> str:
    return MonthlyReport.objects.filter(approver=user).exclude(approver_nip="").order_by("-approved_at").values_list(
        "approver_nip", flat=True).first() or ""


@area_required("reports")
@require_POST
def narrative(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    form = NarrativeForm(request.POST)
    if form.is_valid():
        try:
            services.update_narrative(report, request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, _("Narasi disimpan."))
        except services.ReportError as exc:
            _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
@require_POST
def refresh(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    if not services.can_write(request.user):
        raise PermissionDenied(_("Hanya operator atau administrator yang memperbarui angka."))
    try:
        services.generate(report.month, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Angka dihitung ulang dari data."))
    except services.ReportError as exc:
        _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    try:
        services.submit(report, request.user)  # type: ignore[arg-type]
        messages.success(request, _("Laporan diajukan kepada penyetuju."))
    except services.ReportError as exc:
        _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
@require_POST
def send_back(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    form = SendBackForm(request.POST)
    try:
        services.send_back(report, request.user, form.data.get("comment", ""))  # type: ignore[arg-type]
        messages.success(request, _("Laporan dikembalikan kepada operator."))
    except services.ReportError as exc:
        _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Isi nama, NIP dan kode TOTP."))
        return redirect("reports:detail", report.pk)
    try:
        services.approve(report, request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, _("Laporan disetujui dan ditandatangani."))
    except services.ReportError as exc:
        _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
@require_POST
def archive(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    try:
        services.archive(report, request.user)  # type: ignore[arg-type]
        messages.success(request, _("Laporan diarsipkan; hash berkas disimpan."))
    except services.ReportError as exc:
        _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report(pk)
    try:
        if request.POST.get("action") == "withdraw":
            pub = get_object_or_404(Publication, month=report.month, withdrawn_at__isnull=True)
            services.withdraw_publication(pub, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Publikasi ditarik dari arsip publik."))
        else:
            services.publish(report, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Bulan ini dipublikasikan di arsip publik."))
    except services.ReportError as exc:
        _fail(request, exc)
    return redirect("reports:detail", report.pk)


@area_required("reports")
def download(request: HttpRequest, pk: int, ext: str) -> HttpResponse:
    if ext not in ("pdf", "xlsx"):
        raise Http404
    report = _report(pk)
    pdf, xlsx = services.files(report)
    content_type = "application/pdf" if ext == "pdf" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(pdf if ext == "pdf" else xlsx, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{services.file_name(report, ext)}"'
    return response


@area_required("reports")
def budgets(request: HttpRequest) -> HttpResponse:
    month = timezone.localtime().date().replace(day=1)
    if request.method == "POST":
        form = BudgetForm(request.POST)
        if not services.can_raise_budget(request.user):
            raise PermissionDenied(_("Hanya penyetuju atau administrator yang menetapkan anggaran."))
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.set_budget(d["unit"], d["amount"], request.user,  # type: ignore[arg-type]
                                    month=figures.parse_month(d["month"]) if d["month"] else None, note=d["note"])
                messages.success(request, _("Anggaran disimpan."))
                return redirect("reports:budgets")
            except services.ReportError as exc:
                _fail(request, exc)
    else:
        form = BudgetForm(initial={"month": f"{month:%Y-%m}"})
    unit_ids = set(UnitBudget.objects.values_list("unit_id", flat=True))
    rows = []
    for unit in Unit.objects.filter(pk__in=unit_ids).order_by("name"):
        rows.append({"unit": unit, "status": services.budget_status(unit, month),
                     "budgets": UnitBudget.objects.filter(unit=unit).order_by("month")})
    return render(request, "reports/budgets.html", {"rows": rows, "form": form, "month": month,
                                                    "label": figures.month_label(month),
                                                    "can_raise": services.can_raise_budget(request.user)})


def public_archive(request: HttpRequest) -> HttpResponse:
    """No login: the published months (UU 14/2008). Off unless WARTA_PUBLIC_ARCHIVE=1."""
    if not conf.public_archive_enabled():
        raise Http404
    return render(request, "reports/public.html", {"months": services.public_months(), "head": conf.letterhead()})
