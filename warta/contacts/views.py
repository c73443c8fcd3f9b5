"""The contacts pages. Thin: parse with a form, call a service, render.

Every view checks the area (``contacts``: administrators and operators) and, for actions and
personal data, a capability, on the server. Numbers are masked everywhere except the contact
page's "show number" action, which is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from warta.accounts import audit
from warta.accounts.permissions import area_required, has_capability
from warta.lib.spreadsheet import csv_rows

from . import conf, exports, hooks, imports, services
from .audience import resolve
from .forms import (
    CloseRequestForm,
    ContactFilterForm,
    CorrectionForm,
    GroupForm,
    MappingForm,
    OptInForm,
    OptOutForm,
    RequestForm,
    SegmentFilterForm,
    SegmentForm,
    UploadForm,
)
from .models import (
    Channel,
    Contact,
    ContactGroup,
    DataSubjectRequest,
    ImportJob,
    ImportState,
    OptOut,
    Region,
    RequestKind,
    RequestState,
    Segment,
    tags_to_field,
)

PAGE_SIZE = 50


def _require(request: HttpRequest, capability: str) -> None:
    if not has_capability(request.user, capability):
        raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))


def _filtered(form: ContactFilterForm) -> tuple[QuerySet[Contact], str]:
    qs = Contact.objects.all()
    if not form.is_valid():
        return qs, ""
    d = form.cleaned_data
    parts = []
    if d.get("q"):
        q = d["q"].strip()
        try:
            qs = qs.filter(e164=services.normalise(q))
            parts.append("nomor")
        except services.ContactError:
            qs = qs.filter(name__icontains=q)
            # The audit trail holds no citizen's name (docs/privacy.md): record that a name
            # search narrowed the export, not the name.
            parts.append("nama")
    if d.get("region"):
        region = Region.objects.filter(code=d["region"]).first()
        if region:
            qs = qs.filter(region_id__in=region.subtree_ids())
            parts.append(f"wilayah={region.code}")
    if d.get("group"):
        qs = qs.filter(memberships__group=d["group"])
        parts.append(f"grup={d['group'].pk}")
    if d.get("tag") and tags_to_field([d["tag"]]):
        qs = qs.filter(tags__contains=tags_to_field([d["tag"]]))
        parts.append(f"label={d['tag']}")
    if d.get("operator"):
        qs = qs.filter(operator=d["operator"])
        parts.append(f"operator={d['operator']}")
    status = d.get("status")
    opted = Exists(OptOut.objects.filter(e164=OuterRef("e164")))
    if status == "active":
        qs = qs.filter(~opted, restricted_at__isnull=True, anonymised_at__isnull=True)
    elif status == "opted_out":
        qs = qs.filter(opted)
    elif status == "restricted":
        qs = qs.filter(restricted_at__isnull=False)
    elif status == "anonymised":
        qs = qs.filter(anonymised_at__isnull=False)
    if status:
        parts.append(f"status={status}")
    return qs, " ".join(parts) or "semua"


@area_required("contacts")
def index(request: HttpRequest) -> HttpResponse:
    form = ContactFilterForm(request.GET or None)
    qs, _description = _filtered(form)
    page = Paginator(qs.select_related("region").order_by("-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # Names and regions on screen (numbers masked): noted once per contact, session and hour.
    audit.record_views(request, "contacts.contact", [c.pk for c in page], what="contact_list")
    return render(request, "contacts/list.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "can_export": has_capability(request.user, "contacts.export"),
        "can_manage": has_capability(request.user, "contacts.manage"),
    })


@area_required("contacts")
def export(request: HttpRequest) -> HttpResponse:
    _require(request, "contacts.export")
    qs, description = _filtered(ContactFilterForm(request.GET or None))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if request.GET.get("format") == "xlsx":
        handle = exports.export_xlsx(qs, description=description)
        return FileResponse(handle, as_attachment=True, filename=f"kontak-{stamp}.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response = StreamingHttpResponse(exports.export_csv(qs, description=description), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kontak-{stamp}.csv"'
    return response


def _contact(pk: int) -> Contact:
    return get_object_or_404(Contact.objects.select_related("region"), pk=pk)


@area_required("contacts")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(pk)
    audit.record_views(request, "contacts.contact", [contact.pk], what="contact_page")
    return render(request, "contacts/detail.html", {
        "contact": contact,
        "opt_out": OptOut.objects.filter(e164=contact.e164).first(),
        "groups": contact.memberships.select_related("group"),
        "can_reveal": has_capability(request.user, "numbers.view_full") and not contact.is_anonymised,
        "can_manage": has_capability(request.user, "contacts.manage") and not contact.is_anonymised,
        "opt_in_form": OptInForm(),
    })


@require_POST
@area_required("contacts")
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full number, once, on purpose: recorded in the audit trail."""
    _require(request, "numbers.view_full")
    contact = _contact(pk)
    if contact.is_anonymised:
        raise Http404
    audit.record("contacts.reveal_number", contact)
    return render(request, "contacts/_number.html", {"contact": contact})


@require_POST
@area_required("contacts")
def contact_opt_out(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "contacts.manage")
    contact = _contact(pk)
    services.opt_out(contact.e164, Channel.OPERATOR, reason=request.POST.get("reason", "")[:200], by=request.user)
    messages.success(request, _("Nomor dimasukkan ke daftar berhenti berlangganan."))
    return redirect("contacts:detail", pk=pk)


@require_POST
@area_required("contacts")
def contact_opt_in(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "contacts.manage")
    contact = _contact(pk)
    form = OptInForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Isi bukti persetujuan untuk mengaktifkan kembali nomor ini."))
        return redirect("contacts:detail", pk=pk)
    services.opt_in(contact.e164, Channel.OPERATOR, proof=form.cleaned_data["proof"], by=request.user)
    messages.success(request, _("Nomor aktif kembali; persetujuan dicatat."))
    return redirect("contacts:detail", pk=pk)


@area_required("contacts")
def optouts(request: HttpRequest) -> HttpResponse:
    form = OptOutForm(request.POST or None)
    if request.method == "POST":
        _require(request, "contacts.manage")
        if form.is_valid():
            services.opt_out(form.cleaned_data["number"], Channel.OPERATOR, reason=form.cleaned_data["reason"], by=request.user)
            messages.success(request, _("Nomor dimasukkan ke daftar berhenti berlangganan."))
            return redirect("contacts:optouts")
    page = Paginator(OptOut.objects.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contacts/optouts.html", {"form": form, "page": page,
                                                     "can_manage": has_capability(request.user, "contacts.manage")})


# -- imports ----------------------------------------------------------------------------------


@area_required("contacts")
def import_list(request: HttpRequest) -> HttpResponse:
    _require(request, "contacts.manage")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imports.detect_format(upload.name)
            imports.check_file("", "csv", upload.size)  # the size first, before writing anything
            path, size = imports.store_upload(upload.chunks(), upload.name)
            job = imports.create_job(path, upload.name, size, by=request.user)
        except imports.ImportRefused as exc:
            form.add_error("file", str(exc))
        else:
            audit.record("contacts.import_upload", job, changes={"size": size, "format": job.format})
            return redirect("contacts:import_job", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:30]
    return render(request, "contacts/imports.html", {"form": form, "jobs": jobs,
                                                     "max_mib": conf.get("WARTA_IMPORT_MAX_BYTES") // (1024 * 1024)})


def _job(request: HttpRequest, pk: int) -> ImportJob:
    _require(request, "contacts.manage")
    return get_object_or_404(ImportJob.objects.select_related("group"), pk=pk)


@area_required("contacts")
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    editable = job.state in (ImportState.UPLOADED, ImportState.MAPPED, ImportState.CHECKED)
    initial = {f"map_{k}": str(v) for k, v in job.mapping.items()}
    initial.update(has_header=job.has_header, group=job.group_id, add_tags=job.add_tags, consent_basis=job.consent_basis)
    form = MappingForm(request.POST or None, columns=job.columns, initial=initial)
    if request.method == "POST" and editable and form.is_valid():
        job.mapping = form.mapping()
        job.has_header = form.cleaned_data["has_header"]
        job.group = form.cleaned_data["group"]
        job.add_tags = form.cleaned_data["add_tags"]
        job.consent_basis = form.cleaned_data["consent_basis"]
        job.state = ImportState.MAPPED
        job.save()
        try:
            imports.start(job, dry_run=True)
        except imports.ImportRefused as exc:
            messages.error(request, str(exc))
        return redirect("contacts:import_job", pk=job.pk)
    rows = imports.preview(job, 11 if job.has_header else 10)
    preview_rows = rows[1:] if job.has_header else rows
    return render(request, "contacts/import_job.html", {
        "job": job, "form": form, "editable": editable, "preview": preview_rows,
        "stalled": imports.is_stalled(job), "report": imports.report(job),
    })


@area_required("contacts")
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    response = render(request, "contacts/_import_progress.html", {"job": job, "stalled": imports.is_stalled(job),
                                                                  "report": imports.report(job)})
    if not job.is_active:
        response["HX-Refresh"] = "true"  # reload the whole page to show the report and next step
    return response


@require_POST
@area_required("contacts")
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        if request.POST.get("action") == "resume":
            imports.resume(job)
        else:
            imports.start(job, dry_run=request.POST.get("action") == "dry_run")
    except imports.ImportRefused as exc:
        messages.error(request, str(exc))
    return redirect("contacts:import_job", pk=pk)


@area_required("contacts")
def import_rejects(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    _require(request, "contacts.export")
    dry_run = request.GET.get("phase", "dry") == "dry"
    audit.record("contacts.export_rejects", job, changes={"dry_run": dry_run, "rows": job.rejects.filter(dry_run=dry_run).count()})
    response = StreamingHttpResponse(csv_rows(imports.REJECTS_HEADER, imports.rejects_rows(job, dry_run)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="impor-{job.pk}-ditolak.csv"'
    return response


# -- groups and segments ----------------------------------------------------------------------


@area_required("contacts")
def groups(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST":
        _require(request, "contacts.manage")
        if form.is_valid():
            group = services.create_group(by=request.user, **form.cleaned_data)
            return redirect("contacts:group", pk=group.pk)
    return render(request, "contacts/groups.html", {"form": form, "groups": ContactGroup.objects.all(),
                                                    "can_manage": has_capability(request.user, "contacts.manage")})


@area_required("contacts")
def group(request: HttpRequest, pk: int) -> HttpResponse:
    grp = get_object_or_404(ContactGroup, pk=pk)
    return render(request, "contacts/group.html", {"group": grp, "counts": resolve(groups=[grp]).counts(),
                                                   "can_export": has_capability(request.user, "contacts.export")})


@area_required("contacts")
def segments(request: HttpRequest) -> HttpResponse:
    form = SegmentForm(request.POST or None)
    if request.method == "POST":
        _require(request, "contacts.manage")
        if form.is_valid():
            segment = Segment.objects.create(name=form.cleaned_data["name"], description=form.cleaned_data["description"],
                                             filters=form.filters(), created_by=request.user)
            audit.record("contacts.segment_create", segment, changes={"filters": segment.filters})
            return redirect("contacts:segment", pk=segment.pk)
    return render(request, "contacts/segments.html", {
        "form": form, "segments": Segment.objects.all(), "can_manage": has_capability(request.user, "contacts.manage"),
        "replies_hook": hooks.is_provided("replied_to_blast"),
    })


@area_required("contacts")
def segment_count(request: HttpRequest) -> HttpResponse:
    """htmx: the live count of the filters being edited."""
    form = SegmentFilterForm(request.GET)
    counts = resolve(segments=[form.filters()]).counts() if form.is_valid() else None
    return render(request, "contacts/_counts.html", {"counts": counts, "form": form})


@area_required("contacts")
def segment(request: HttpRequest, pk: int) -> HttpResponse:
    seg = get_object_or_404(Segment, pk=pk)
    return render(request, "contacts/segment.html", {"segment": seg, "counts": resolve(segments=[seg]).counts()})


# -- data-subject requests --------------------------------------------------------------------


@area_required("contacts")
def requests_list(request: HttpRequest) -> HttpResponse:
    _require(request, "privacy.handle_requests")
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        received = d.get("received_at") or timezone.now()
        dsr = services.open_request(d["kind"], d["number"], requester=d["requester"], details=d["details"],
                                    by=request.user, received_at=received)
        return redirect("contacts:request", pk=dsr.pk)
    open_requests = DataSubjectRequest.objects.filter(state=RequestState.OPEN).order_by("due_at")
    closed = DataSubjectRequest.objects.exclude(state=RequestState.OPEN).order_by("-completed_at")[:50]
    return render(request, "contacts/requests.html", {"form": form, "open": open_requests, "closed": closed,
                                                      "now": timezone.now()})


@area_required("contacts")
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "privacy.handle_requests")
    dsr = get_object_or_404(DataSubjectRequest.objects.select_related("contact", "contact__region"), pk=pk)
    is_open = dsr.state == RequestState.OPEN
    contact = dsr.contact
    correction = CorrectionForm(initial={"name": contact.name, "language": contact.language,
                                         "region": contact.region.code if contact.region else ""} if contact else None)
    if request.method == "POST" and is_open:
        action = request.POST.get("action")
        if action == "export":
            body = services.subject_export_json(dsr.e164, by=request.user)
            response = HttpResponse(body, content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="data-subjek-{dsr.pk}.json"'
            return response
        if action == "correct" and contact is not None:
            correction = CorrectionForm(request.POST)
            if correction.is_valid():
                d = correction.cleaned_data
                region = Region.objects.filter(code=d["region"]).first() if d["region"] else None
                services.update_contact(contact, by=request.user, name=d["name"], region=region, language=d["language"])
                messages.success(request, _("Data kontak diperbaiki."))
                return redirect("contacts:request", pk=pk)
        elif action in ("restrict", "lift"):
            services.restrict(dsr.e164, by=request.user, lift=action == "lift")
            messages.success(request, _("Status pembatasan diperbarui."))
            return redirect("contacts:request", pk=pk)
        elif action == "erase":
            counts = services.erase(dsr.e164, by=request.user)
            services.close_request(dsr, RequestState.DONE, notes=_("Dihapus (dianonimkan): %(c)s") % {"c": counts}, by=request.user)
            messages.success(request, _("Data subjek dianonimkan; angka agregat tetap."))
            return redirect("contacts:request", pk=pk)
        elif action == "close":
            close = CloseRequestForm(request.POST)
            if close.is_valid():
                services.close_request(dsr, close.cleaned_data["state"], notes=close.cleaned_data["notes"], by=request.user)
                return redirect("contacts:request", pk=pk)
    return render(request, "contacts/request.html", {
        "dsr": dsr, "is_open": is_open, "correction": correction, "close_form": CloseRequestForm(),
        "kinds": RequestKind, "contact": contact,
    })
