"""Views of the blast workflow: parse a form, call one service, render. Rights are checked here
(area, capability) and again in the services; unit liaisons reach materi only through
``services.visible_materi``, so another unit's materi is a 404, not a 403 that confirms it exists."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from warta.accounts.models import Role
from warta.accounts.permissions import area_required, can_open, capability_required, has_capability
from warta.lib.ids import parse_id

from . import composer, longlists, ownership, services, testsends
from .forms import (
    BlackoutForm,
    ChainForm,
    DecisionForm,
    DelegationForm,
    DraftForm,
    HistoryFilter,
    MateriForm,
    OwnerForm,
    ReceiptWaitForm,
    RegistrationForm,
    RejectForm,
    TariffForm,
    TemplateForm,
    WatchWordForm,
)
from .models import (
    BlackoutPeriod,
    Blast,
    Draft,
    Materi,
    MateriAttachment,
    SenderDelegation,
    SenderID,
    SenderRegistration,
    Tariff,
    Template,
    WatchWord,
)


def _fail(request: HttpRequest, exc: services.WorkflowError) -> None:
    for err in exc.errors:
        messages.error(request, err)


# -- index, history, approvals -------------------------------------------------------------------


@area_required("blasts")
def index(request: HttpRequest) -> HttpResponse:
    f = HistoryFilter(request.GET or None)
    filters: dict[str, Any] = {}
    if f.is_valid():
        d = f.cleaned_data
        filters = {"sender": d["sender"], "unit": d["unit"], "date_from": d["date_from"], "date_to": d["date_to"],
                   "text": d["q"]}
    page = Paginator(services.history(request.user, **filters), 25).get_page(request.GET.get("page"))
    return render(request, "blasts/index.html", {
        "filter": f, "page": page, "pending": services.pending_for(request.user),
        "notices": services.unread_notices(request.user)[:10],
        "can_compose": has_capability(request.user, "blasts.compose"),
        "sender_ids": SenderID.objects.select_related("owner"),
    })


@area_required("blasts")
def approvals(request: HttpRequest) -> HttpResponse:
    return render(request, "blasts/approvals.html", {
        "pending": services.pending_for(request.user),
        "test_sends": testsends.recent_test_sends() if testsends.can_see_test_sends(request.user) else None,
        "owned": SenderID.objects.filter(owner=request.user) if request.user.is_authenticated else [],
    })


@area_required("blasts")
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    services.unread_notices(request.user).update(read_at=timezone.now())
    return redirect("blasts:index")


# -- materi --------------------------------------------------------------------------------------


@area_required("materi")
def materi(request: HttpRequest) -> HttpResponse:
    qs = services.visible_materi(request.user)
    status = request.GET.get("status", "")
    if status in Materi.Status.values:
        qs = qs.filter(status=status)
    queue = None
    if has_capability(request.user, "blasts.compose"):
        queue = services.visible_materi(request.user).filter(
            status__in=[Materi.Status.RECEIVED, Materi.Status.PROCESSING]).order_by("created_at")
    return render(request, "blasts/materi.html", {
        "page": Paginator(qs, 25).get_page(request.GET.get("page")), "queue": queue, "status": status,
        "statuses": Materi.Status.choices, "can_submit": has_capability(request.user, "materi.submit"),
    })


@area_required("materi")
@capability_required("materi.submit")
def materi_new(request: HttpRequest) -> HttpResponse:
    form = MateriForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            m = services.submit_materi(request.user, files=form.cleaned_data["attachments"],
                                       **{k: v for k, v in form.cleaned_data.items() if k != "attachments"})
        except services.WorkflowError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Materi diterima. Status dapat dipantau di halaman ini."))
            return redirect("blasts:materi_detail", pk=m.pk)
    return render(request, "blasts/materi_form.html", {"form": form})


@area_required("materi")
def materi_detail(request: HttpRequest, pk: int) -> HttpResponse:
    m = get_object_or_404(services.visible_materi(request.user), pk=pk)
    return render(request, "blasts/materi_detail.html", {
        "m": m, "figures": services.materi_figures(m), "reject_form": RejectForm(),
        "can_handle": has_capability(request.user, "blasts.compose"),
        "drafts": m.drafts.select_related("sender") if request.user.role != Role.LIAISON else [],
    })


@area_required("materi")
def materi_attachment(request: HttpRequest, pk: int, att: int) -> FileResponse:
    m = get_object_or_404(services.visible_materi(request.user), pk=pk)
    a = get_object_or_404(MateriAttachment, pk=att, materi=m)
    return FileResponse(a.file.open("rb"), as_attachment=True, filename=a.name)


@area_required("materi")
@require_POST
def materi_reject(request: HttpRequest, pk: int) -> HttpResponse:
    m = get_object_or_404(services.visible_materi(request.user), pk=pk)
    form = RejectForm(request.POST)
    try:
        if not form.is_valid():
            raise services.WorkflowError(_("Tuliskan alasan penolakan."))
        services.reject_materi(m, request.user, form.cleaned_data["reason"])
        messages.success(request, _("Materi ditolak; unit diberi tahu alasannya."))
    except services.WorkflowError as exc:
        _fail(request, exc)
    return redirect("blasts:materi_detail", pk=m.pk)


# -- drafts --------------------------------------------------------------------------------------


def _draft(request: HttpRequest, pk: int) -> Draft:
    return get_object_or_404(Draft.objects.select_related("sender", "author", "materi__unit", "blast")
                             .defer("audience_set"), pk=pk)


def _draft_context(request: HttpRequest, form: DraftForm, draft: Draft | None, materi: Materi | None) -> dict[str, Any]:
    text = form["text"].value() or ""
    return {"form": form, "draft": draft, "m": materi, "comp": composer.compose(text),
            "templates": Template.objects.all(), "fields": composer.FIELDS, "staff_numbers": _staff_numbers(request)}


@area_required("blasts")
@capability_required("blasts.compose")
def draft_new(request: HttpRequest) -> HttpResponse:
    m = None
    if request.GET.get("materi") or request.POST.get("materi"):
        # parse_id: "?materi='" or a 20-digit id is "not found", not a 500.
        m = get_object_or_404(Materi, pk=parse_id(request.GET.get("materi") or request.POST.get("materi")))
    senders = services.usable_senders(request.user)
    initial: dict[str, Any] = {}
    if m is not None:
        initial = {"title": m.title, "window_end": m.window_end, "send_at": None}
    tpl = parse_id(request.GET.get("template"))
    if tpl:
        t = Template.objects.filter(pk=tpl).first()
        if t:
            initial["text"] = t.text
    form = DraftForm(request.POST or None, request.FILES or None, senders=senders, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            d = services.create_draft(request.user, materi=m, **form.service_fields())
        except services.WorkflowError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Naskah disimpan."))
            if d.import_job_id:
                messages.info(request, _("Daftar nomor yang panjang diimpor ke grup baru; periksa laporan uji cobanya "
                                         "di bawah, lalu lanjutkan impornya."))
            return redirect("blasts:draft", pk=d.pk)
    return render(request, "blasts/draft_form.html", _draft_context(request, form, None, m))


@area_required("blasts")
@capability_required("blasts.compose")
def draft_edit(request: HttpRequest, pk: int) -> HttpResponse:
    d = _draft(request, pk)
    form = DraftForm(request.POST or None, request.FILES or None, senders=services.usable_senders(request.user),
                     initial=DraftForm.initial_for(d))
    if request.method == "POST" and form.is_valid():
        try:
            was = d.state
            d = services.update_draft(d, request.user, **form.service_fields())
        except services.WorkflowError as exc:
            _fail(request, exc)
        else:
            if was != d.state:
                messages.warning(request, _("Isi yang sudah disetujui berubah: naskah kembali menjadi konsep dan "
                                            "perlu diajukan serta disetujui lagi."))
            else:
                messages.success(request, _("Naskah disimpan."))
            return redirect("blasts:draft", pk=d.pk)
    return render(request, "blasts/draft_form.html", _draft_context(request, form, d, d.materi))


@area_required("blasts")
def draft_detail(request: HttpRequest, pk: int) -> HttpResponse:
    d = _draft(request, pk)
    counts = d.audience_counts if d.state != Draft.State.DRAFT and d.audience_counts else \
        services.audience_counts(d.audience)
    return render(request, "blasts/draft_detail.html", {
        "d": d, "comp": composer.compose(d.text), "chain": services.chain_status(d),
        "flags": services.content_flags(d),
        "errors": services.draft_errors(d, for_submit=True) if d.state == Draft.State.DRAFT else [],
        "cannot_decide": services.why_cannot_decide(request.user, d),
        "decision_form": DecisionForm(initial={"seen_hash": d.content_hash}),
        "counts": counts, "cost": services.cost_estimate(d.text, counts.get("by_operator", {})),
        "history": d.approvals.select_related("by"), "versions": d.versions.select_related("created_by"),
        "can_compose": has_capability(request.user, "blasts.compose"),
        "blocker": services.release_blocker(d, timezone.now()) if d.state == Draft.State.APPROVED else None,
        "preview": composer.render(d.text, {}),
        "needs_totp": d.state == Draft.State.REVIEW and services.final_step_needs_totp(request.user, d),
        "too_many": services.too_many_numbers(d.audience),
        "import_job": d.import_job, "import_report": _import_report(d),
        "test_sends": d.test_sends.select_related("by"),
        "tests_left": testsends.remaining_today(request.user),
    })


def _import_report(d: Draft) -> dict[str, Any] | None:
    from warta.contacts import imports

    job = d.import_job
    if job is None:
        return None
    return {"dry": job.dry_run_report or None, "now": imports.report(job),
            "labels": [(str(label), n) for label, n in _reject_labels(job.dry_run_report or {})]}


def _reject_labels(report: dict[str, Any]) -> list[tuple[Any, int]]:
    from warta.contacts.models import RejectReason

    labels = dict(RejectReason.choices)
    return [(labels.get(reason, reason), n) for reason, n in (report.get("rejected_by_reason") or {}).items()]


@area_required("blasts")
@require_POST
def draft_convert(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(request, pk, lambda d: longlists.convert_numbers(d, request.user),
                        _("Daftar nomor diimpor ke grup baru; periksa laporan uji cobanya."))


@area_required("blasts")
@require_POST
def draft_import(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(request, pk, lambda d: longlists.start_draft_import(d, request.user),
                        _("Impor dimulai; naskah dapat diajukan setelah impor selesai."))


def _post_action(request: HttpRequest, pk: int, fn: Any, ok: str) -> HttpResponse:
    d = _draft(request, pk)
    try:
        fn(d)
        messages.success(request, ok)
    except services.WorkflowError as exc:
        _fail(request, exc)
    return redirect("blasts:draft", pk=d.pk)


@area_required("blasts")
@require_POST
def draft_submit(request: HttpRequest, pk: int) -> HttpResponse:
    d = _draft(request, pk)
    try:
        services.submit_for_review(d, request.user)
    except services.WorkflowError as exc:
        if len(exc.errors) > 1 or exc.errors == services.draft_errors(d, for_submit=True)[:1]:
            # The draft page lists each of these once; the message only points there.
            messages.error(request, _("Naskah belum dapat diajukan: perbaiki yang tercantum di bawah."))
        else:
            _fail(request, exc)
    else:
        messages.success(request, _("Naskah diajukan untuk persetujuan."))
    return redirect("blasts:draft", pk=d.pk)


@area_required("blasts")
@require_POST
def draft_approve(request: HttpRequest, pk: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    form.is_valid()

    def act(d: Draft) -> None:
        d = services.approve(d, request.user, form.cleaned_data.get("comment", ""),
                             seen_hash=form.cleaned_data.get("seen_hash") or None)
        if d.state == Draft.State.RELEASED:
            messages.info(request, _("Semua langkah disetujui; blast masuk antrean."))

    return _post_action(request, pk, act, _("Persetujuan dicatat."))


@area_required("blasts")
@require_POST
def draft_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    form.is_valid()
    return _post_action(request, pk, lambda d: services.send_back(
        d, request.user, form.cleaned_data.get("comment", ""), seen_hash=form.cleaned_data.get("seen_hash") or None),
        _("Naskah dikembalikan ke penyusun."))


@area_required("blasts")
@require_POST
def draft_comment(request: HttpRequest, pk: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    form.is_valid()
    return _post_action(request, pk, lambda d: services.add_comment(d, request.user, form.cleaned_data.get("comment", "")),
                        _("Komentar dicatat."))


@area_required("blasts")
@require_POST
def draft_test(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(request, pk, lambda d: testsends.test_send(d, request.user),
                        _("Kirim uji bertanda [UJI] masuk antrean ke nomor staf."))


@area_required("blasts")
@require_POST
def draft_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(request, pk, lambda d: services.withdraw(d, request.user), _("Naskah dibatalkan."))


def _staff_numbers(request: HttpRequest) -> list[tuple[str, str]]:
    from warta.sms.numbers import mask, to_national

    full = has_capability(request.user, "numbers.view_full")
    return [(p.user.display_name(), to_national(p.e164) if full else mask(p.e164))
            for p in testsends.verified_phones().order_by("user__username")]


@area_required("blasts")
def staff_phone(request: HttpRequest) -> HttpResponse:
    """The signed-in staff member's own number for test sends: register, receive a code, confirm."""
    from .models import StaffPhone

    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "register":
                testsends.register_phone(request.user, request.POST.get("number", ""))
                messages.success(request, _("Kode verifikasi dikirim lewat SMS; masukkan di bawah dalam 10 menit."))
            elif action == "verify":
                testsends.verify_phone(request.user, request.POST.get("code", ""))
                messages.success(request, _("Nomor terverifikasi: kini dapat menerima kirim uji."))
            elif action == "remove":
                testsends.remove_phone(request.user)
                messages.success(request, _("Nomor uji Anda dihapus."))
        except testsends.TestSendError as exc:
            messages.error(request, str(exc))
        return redirect("blasts:staff_phone")
    return render(request, "blasts/staff_phone.html", {
        "phone": StaffPhone.objects.filter(user=request.user).first(),
        "staff": _staff_numbers(request),
    })


# -- composer (htmx) -----------------------------------------------------------------------------


def _composer_allowed(view: Any) -> Any:
    """The counter serves blast drafts and the inbox's replies to citizens (``purpose=reply``:
    no personalisation, the cost for one recipient of ``operator``), so those who compose either
    may use it; it only measures text."""
    from functools import wraps

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            raise PermissionDenied
        if not (has_capability(request.user, "blasts.compose") or has_capability(request.user, "inbox.work")):
            raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))
        return view(request, *args, **kwargs)

    return wrapped


def _composer_context(request: HttpRequest, text: str) -> dict[str, Any]:
    sender = SenderID.objects.filter(pk=request.POST.get("sender") or 0).first()
    reply = request.POST.get("purpose") == "reply"
    ctx: dict[str, Any] = {"text": text, "comp": composer.compose(text), "sender": sender,
                           "preview": composer.render(text, {}), "fields": composer.FIELDS, "reply": reply}
    if reply:
        operator = request.POST.get("operator") or "unknown"
        ctx["cost"] = services.cost_estimate(text, {operator: 1})
    return ctx


@_composer_allowed
@require_POST
def composer_measure(request: HttpRequest) -> HttpResponse:
    return render(request, "blasts/_composer.html", _composer_context(request, request.POST.get("text", "")))


@_composer_allowed
@require_POST
def composer_replace(request: HttpRequest) -> HttpResponse:
    """One-click replacement: the textarea with ``char`` (or every forcing character) replaced."""
    text = request.POST.get("text", "")
    char = request.POST.get("char", "")
    new = composer.compose(text).suggested_text if char == "*" else composer.replace_char(text, char)
    return render(request, "blasts/_composer_block.html", _composer_context(request, new))


@area_required("blasts")
@capability_required("blasts.compose")
@require_POST
def audience_count(request: HttpRequest) -> HttpResponse:
    form = DraftForm(request.POST, request.FILES or None, senders=services.usable_senders(request.user))
    form.is_valid()  # counting works on whatever parsed; text errors do not matter here
    if not hasattr(form, "cleaned_data"):
        form.cleaned_data = {}
    fields = {k: form.cleaned_data.get(k) for k in ("groups", "segments", "regions", "number_list")}
    audience: dict[str, Any] = {}
    if fields["groups"]:
        audience["groups"] = [g.pk for g in fields["groups"]]
    if fields["segments"]:
        audience["segments"] = [s.pk for s in fields["segments"]]
    if fields["regions"]:
        audience["regions"] = [r.code for r in fields["regions"]]
    if fields["number_list"]:
        audience["numbers"] = fields["number_list"]
    counts = services.audience_counts(audience)  # a list too long is reported, not counted
    if form.cleaned_data.get("numbers_upload") is not None:
        counts["large_file"] = form.cleaned_data["numbers_upload"].size
    return render(request, "blasts/_audience.html", {
        "counts": counts, "cost": services.cost_estimate(request.POST.get("text", ""), counts["by_operator"])})


# -- blast console -------------------------------------------------------------------------------


def _blast(pk: int) -> Blast:
    return get_object_or_404(Blast.objects.select_related("sender"), pk=pk)


def unit_blasts(request: HttpRequest) -> HttpResponse:
    """Liaisons and analysts: their unit's sent blasts, read-only (central roles have the console)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if can_open(request.user, "blasts"):
        return redirect("blasts:index")
    if not has_capability(request.user, "blasts.view_unit"):
        raise PermissionDenied(_("Peran Anda tidak membuka area ini."))
    page = Paginator(services.unit_drafts(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "blasts/unit_blasts.html", {
        "page": page, "rows": [(d, services.unit_figures(d)) for d in page]})


def blast_console(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_open(request.user, "blasts"):
        if not has_capability(request.user, "blasts.view_unit"):
            raise PermissionDenied(_("Peran Anda tidak membuka area ini."))
        # Read-only, and only their unit's: another unit's blast is a 404, as its materi is.
        d = get_object_or_404(services.unit_drafts(request.user), blast_id=pk)
        return render(request, "blasts/blast_readonly.html", {
            "d": d, "blast": d.blast, "c": services.unit_figures(d),
            "can_see_materi": d.materi is not None and services.visible_materi(request.user).filter(
                pk=d.materi_id).exists() and can_open(request.user, "materi")})
    blast = _blast(pk)
    draft = Draft.objects.filter(blast=blast).select_related("materi__unit").first()
    return render(request, "blasts/console.html", {"blast": blast, "draft": draft, "c": services.console(blast),
                                                     "failures": services.recent_failures(blast),
                                                     "can_control": has_capability(request.user, "blasts.compose")})


@area_required("blasts")
def blast_progress(request: HttpRequest, pk: int) -> HttpResponse:
    blast = _blast(pk)
    return render(request, "blasts/_progress.html", {"blast": blast, "c": services.console(blast),
                                                       "can_control": has_capability(request.user, "blasts.compose")})


@area_required("blasts")
@require_POST
def blast_control(request: HttpRequest, pk: int) -> HttpResponse:
    blast = _blast(pk)
    try:
        services.control(blast, request.POST.get("action", ""), request.user)
        messages.success(request, _("Perintah dijalankan."))
    except services.WorkflowError as exc:
        _fail(request, exc)
    return redirect("blasts:console", pk=blast.pk)


@area_required("blasts")
def blast_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    from warta.lib.spreadsheet import csv_rows, neutralise

    if fmt not in ("csv", "xlsx"):
        raise Http404
    blast = _blast(pk)
    services.record_export(blast, request.user, fmt)
    rows = services.recipient_rows(blast, request.user)
    name = f"blast-{blast.pk}-penerima"
    if fmt == "csv":
        resp = StreamingHttpResponse(csv_rows(services.RECIPIENT_HEADER, rows), content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return resp
    import tempfile

    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet("Penerima")
    sheet.append(services.RECIPIENT_HEADER)
    for row in rows:
        sheet.append([neutralise(c) for c in row])
    out = tempfile.TemporaryFile()
    wb.save(out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{name}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# -- settings: sender IDs, registry, chains, blackouts, watch words ------------------------------


@area_required("settings")
def sender_ids(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not has_capability(request.user, "blasts.configure"):
            raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))
        kind = request.POST.get("form")
        if kind == "watch_delete":
            word = get_object_or_404(WatchWord, pk=request.POST.get("pk"))
            from warta.accounts import audit

            audit.record("blasts.watch_deleted", word, actor=request.user, changes={"word": word.word})
            word.delete()
            messages.success(request, _("Kata pantauan dihapus."))
            return redirect("blasts:sender_ids")
        form_cls = {"registration": RegistrationForm, "blackout": BlackoutForm, "watch": WatchWordForm,
                    "chain": ChainForm, "tariff": TariffForm, "owner": OwnerForm,
                    "receipt_wait": ReceiptWaitForm}.get(kind or "")
        if form_cls is None:
            messages.error(request, _("Formulir tidak dikenal."))
            return redirect("blasts:sender_ids")
        if kind == "tariff":
            # One price per operator: saving an operator again changes its price.
            existing = Tariff.objects.filter(operator=request.POST.get("operator", "")).first()
            form = form_cls(request.POST, instance=existing)
        else:
            form = form_cls(request.POST)
        if form.is_valid():
            _save_setting(request, kind or "", form)
            return redirect("blasts:sender_ids")
        for errs in form.errors.values():
            for e in errs:
                messages.error(request, e)
        return redirect("blasts:sender_ids")
    senders = list(SenderID.objects.select_related("owner"))
    rows = [{"s": s, "policy": services.policy_for(s), "regs": s.registrations.all()} for s in senders]
    return render(request, "blasts/sender_ids.html", {
        "rows": rows, "sender_ids": senders, "blackouts": BlackoutPeriod.objects.prefetch_related("senders"),
        "watch_words": WatchWord.objects.all(), "reg_form": RegistrationForm(), "blackout_form": BlackoutForm(),
        "watch_form": WatchWordForm(), "chain_form": ChainForm(), "tariffs": services.tariffs(),
        "tariff_form": TariffForm(), "owner_form": OwnerForm(),
        "receipt_wait_form": ReceiptWaitForm(),
        "can_configure": has_capability(request.user, "blasts.configure"),
    })


def _save_setting(request: HttpRequest, kind: str, form: Any) -> None:
    from warta.accounts import audit

    if kind == "chain":
        d = form.cleaned_data
        labels = {"verifier": _("Verifikator"), "approver": _("Kepala Dinas")}
        try:
            services.set_chain(d["sender"], [(r, u.display_name() if u else str(labels[r]), u) for r, u in d["steps"]],
                               request.user)
        except services.WorkflowError as exc:
            _fail(request, exc)
            return
        policy = services.policy_for(d["sender"])
        policy.require_opt_out_line = d["require_opt_out_line"]
        policy.save()
        messages.success(request, _("Rantai persetujuan disimpan."))
        return
    if kind == "receipt_wait":
        try:
            services.set_receipt_wait(form.cleaned_data["sender"], form.cleaned_data["hours"], request.user)
        except services.WorkflowError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Batas tunggu laporan disimpan."))
        return
    if kind == "owner":
        try:
            ownership.set_owner(form.cleaned_data["sender"], form.cleaned_data["owner"], request.user)
        except services.WorkflowError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Pemilik sender ID disimpan."))
        return
    if kind == "registration":
        d = form.cleaned_data
        obj, _created = SenderRegistration.objects.update_or_create(
            sender=d["sender"], operator=d["operator"],
            defaults={k: d[k] for k in ("status", "since", "expires_on", "note")})
    else:
        obj = form.save()
    audit.record(f"blasts.{kind}_saved", obj, actor=request.user, changes={k: str(v) for k, v in form.cleaned_data.items()})
    messages.success(request, _("Disimpan."))


@area_required("blasts")
def delegations(request: HttpRequest, pk: int) -> HttpResponse:
    """A sender ID's delegates for its final approval: the owner or an administrator manages them."""
    sender = get_object_or_404(SenderID.objects.select_related("owner"), pk=pk)
    if not ownership.can_manage_delegations(request.user, sender):
        raise PermissionDenied(_("Hanya administrator atau pemilik sender ID yang mengatur wakilnya."))
    form = DelegationForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("revoke"):
            d = get_object_or_404(SenderDelegation, pk=request.POST["revoke"], sender=sender)
            ownership.revoke_delegation(d, request.user)
            messages.success(request, _("Delegasi kepada %(u)s dicabut.") % {"u": d.delegate.display_name()})
            return redirect("blasts:delegations", pk=sender.pk)
        if form.is_valid():
            c = form.cleaned_data
            try:
                ownership.delegate(sender, request.user, to=c["delegate"], starts_on=c["starts_on"],
                                  ends_on=c["ends_on"], reason=c["reason"])
            except services.WorkflowError as exc:
                form.add_error("delegate", str(exc))
            else:
                messages.success(request, _("%(u)s menjadi wakil untuk %(s)s.") % {
                    "u": c["delegate"].display_name(), "s": sender.name})
                return redirect("blasts:delegations", pk=sender.pk)
    return render(request, "blasts/delegations.html", {
        "sender": sender, "form": form, "today": timezone.localdate(),
        "rows": SenderDelegation.objects.filter(sender=sender).select_related("delegate", "created_by", "revoked_by"),
        "active": set(ownership.active_delegations(sender).values_list("pk", flat=True)),
    })


@area_required("blasts")
def templates(request: HttpRequest) -> HttpResponse:
    """The template library: operators keep their recurring messages here (flood, vaccination…)."""
    from warta.accounts import audit

    can_edit = has_capability(request.user, "blasts.compose")
    form = TemplateForm()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))
        if request.POST.get("delete"):
            template = get_object_or_404(Template, pk=request.POST["delete"])
            audit.record("blasts.template_deleted", template, actor=request.user, changes={"name": template.name})
            template.delete()
            messages.success(request, _("Templat dihapus."))
            return redirect("blasts:templates")
        form = TemplateForm(request.POST)
        if form.is_valid():
            template = form.save(commit=False)
            template.created_by = request.user
            template.save()
            audit.record("blasts.template_saved", template, actor=request.user, changes={"name": template.name})
            messages.success(request, _("Templat %(n)s disimpan.") % {"n": template.name})
            return redirect("blasts:templates")
    return render(request, "blasts/templates.html", {
        "templates": Template.objects.order_by("name"), "form": form, "can_edit": can_edit, "can_compose": can_edit})
