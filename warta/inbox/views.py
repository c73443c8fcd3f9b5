"""Inbox pages. Thin: parse a form, call one service, render; permissions checked server-side.

A liaison asking for another unit's ticket gets 404 (``tickets_for`` does not contain it), so the
page does not even confirm that the ticket exists; an action the role may not take is 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from warta.accounts import audit
from warta.accounts.models import Role, Unit
from warta.accounts.permissions import area_required, has_capability

from . import forms, services
from .models import (
    BlockedNumber,
    CannedReply,
    Holiday,
    Keyword,
    Message,
    Notification,
    RoutingRule,
    Ticket,
)

PAGE_SIZE = 50


def _context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "view_full": has_capability(user, "numbers.view_full"),
        "can_dispatch": services.can_dispatch(user),  # type: ignore[arg-type]
        "can_configure": has_capability(user, "inbox.configure"),
        "can_block": has_capability(user, "inbox.block"),
        "unread": Notification.objects.filter(user=user, read_at__isnull=True).count(),  # type: ignore[misc]
        "now": timezone.now(),
    }


@area_required("inbox")
def index(request: HttpRequest) -> HttpResponse:
    units = Unit.visible_to(request.user)  # type: ignore[arg-type]
    form = forms.FilterForm(request.GET or None, units=units)
    data = form.cleaned_data if form.is_valid() else {}
    tickets = services.search_tickets(request.user, data)  # type: ignore[arg-type]
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {**_context(request), "form": form, "page": page, "units": units,
           "statuses": services.TicketStatus.choices, "query": request.GET.urlencode()}
    if request.headers.get("HX-Request"):
        return render(request, "inbox/_rows.html", ctx)
    return render(request, "inbox/index.html", ctx)


def _ticket_or_404(request: HttpRequest, pk: int) -> Ticket:
    return get_object_or_404(services.tickets_for(request.user), pk=pk)  # type: ignore[arg-type]


@area_required("inbox")
def ticket(request: HttpRequest, pk: int) -> HttpResponse:
    t = _ticket_or_404(request, pk)
    user = request.user
    msgs = Message.objects.filter(models.Q(ticket=t) | models.Q(conversation=t.conversation, ticket__isnull=True,
                                                                   at__gte=t.created_at))
    timeline = sorted([("m", m.at, m) for m in msgs.select_related("author")[:500]]
                      + [("e", e.at, e) for e in t.events.select_related("actor")[:500]], key=lambda x: (x[1], x[0]))
    canned = CannedReply.objects.filter(is_active=True).filter(models.Q(unit__isnull=True) | models.Q(unit=user.unit))  # type: ignore[misc]
    ctx = {
        **_context(request), "t": t, "timeline": timeline, "canned": canned,
        "can_work": services.can_work(user, t),  # type: ignore[arg-type]
        "reply_form": forms.ReplyForm(), "note_form": forms.NoteForm(),
        "status_form": forms.StatusForm(initial={"status": t.status}),
        "assign_form": forms.AssignForm(initial={"unit": t.unit_id, "assignee": t.assignee_id}),
        "details_form": forms.DetailsForm(initial={"topic": t.topic.code if t.topic else "",
                                                   "region": t.region.name if t.region else ""}),
        "liaison": user.role == Role.LIAISON,  # type: ignore[union-attr]
        "overdue": t.overdue_clock(timezone.now()),
        "other_tickets": services.tickets_for(user).filter(conversation=t.conversation).exclude(pk=t.pk)[:20],  # type: ignore[arg-type]
        "blocked": BlockedNumber.objects.filter(address=t.conversation.address).exists(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "inbox/_timeline.html", ctx)
    return render(request, "inbox/ticket.html", ctx)


def _act(request: HttpRequest, pk: int, form_class: type[forms.forms.Form], action: Any, done: str) -> HttpResponse:
    t = _ticket_or_404(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _("Isian tidak valid: %(e)s") % {"e": form.errors.as_text()})
        return redirect("inbox:ticket", pk=t.pk)
    try:
        action(t, form.cleaned_data)
    except services.TicketError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    # Someone who just gave the ticket away may no longer see it.
    if not services.tickets_for(request.user).filter(pk=t.pk).exists():  # type: ignore[arg-type]
        return redirect("inbox:index")
    return redirect("inbox:ticket", pk=t.pk)


@area_required("inbox")
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, forms.ReplyForm,
                lambda t, d: services.reply(t, d["text"], actor=request.user, close=d["close"]),  # type: ignore[arg-type]
                _("Balasan diantrekan untuk dikirim."))


@area_required("inbox")
@require_POST
def note(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, forms.NoteForm, lambda t, d: services.add_note(t, d["text"], actor=request.user),  # type: ignore[arg-type]
                _("Catatan disimpan."))


@area_required("inbox")
@require_POST
def status(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, forms.StatusForm,
                lambda t, d: services.set_status(t, d["status"], actor=request.user, note=d["note"]),  # type: ignore[arg-type]
                _("Status diubah."))


@area_required("inbox")
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.can_dispatch(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(_("Peran Anda tidak dapat meneruskan tiket."))
    return _act(request, pk, forms.AssignForm,
                lambda t, d: services.assign(t, actor=request.user, unit=d["unit"], assignee=d["assignee"]),  # type: ignore[arg-type]
                _("Tiket diteruskan."))


@area_required("inbox")
@require_POST
def details(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, forms.DetailsForm,
                lambda t, d: services.update_details(t, actor=request.user, topic=d["topic"], region=d["region"]),  # type: ignore[arg-type]
                _("Data tiket disimpan."))


@area_required("inbox")
@require_POST
def block(request: HttpRequest, pk: int) -> HttpResponse:
    t = _ticket_or_404(request, pk)
    services.block_number(t.conversation.address, actor=request.user, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
    messages.success(request, _("Nomor diblokir: pesannya disimpan tetapi tidak dibuatkan tiket atau dibalas."))
    return redirect("inbox:ticket", pk=t.pk)


@area_required("inbox")
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    if not services.can_dispatch(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(_("Peran Anda tidak dapat melakukan tindakan massal."))
    form = forms.BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pilih tiket dan tindakannya."))
    else:
        d = form.cleaned_data
        done, errors = services.bulk_action(d["ids"], d["action"], actor=request.user, unit=d["unit"],  # type: ignore[arg-type]
                                            status=d["status"] or None)
        messages.success(request, _("%(n)d tiket diproses.") % {"n": done})
        for error in errors[:10]:
            messages.error(request, error)
    # Back to the list the user came from, never to another site (an open redirect).
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return redirect("inbox:index")
    return redirect(target)


@area_required("inbox")
def notifications(request: HttpRequest) -> HttpResponse:
    qs = Notification.objects.filter(user=request.user).select_related("ticket")  # type: ignore[misc]
    if request.method == "POST":
        qs.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("inbox:notifications")
    return render(request, "inbox/notifications.html", {**_context(request), "items": qs[:200]})


# ----------------------------------------------------------------------------- configuration tables

CONFIG: dict[str, tuple[type[models.Model], type[forms.forms.ModelForm], str, str]] = {  # type: ignore[type-arg]
    "kata-kunci": (Keyword, forms.KeywordForm, "inbox.configure", gettext_lazy("Kata kunci & balasan otomatis")),
    "aturan-rute": (RoutingRule, forms.RoutingRuleForm, "inbox.configure", gettext_lazy("Aturan rute ke unit")),
    "balasan": (CannedReply, forms.CannedReplyForm, "inbox.configure", gettext_lazy("Balasan siap pakai")),
    "hari-libur": (Holiday, forms.HolidayForm, "inbox.configure", gettext_lazy("Hari libur (kalender SLA)")),
    "blokir": (BlockedNumber, forms.BlockForm, "inbox.block", gettext_lazy("Nomor diblokir")),
}


def _snapshot(obj: models.Model) -> dict[str, Any]:
    """``audit.snapshot`` with a blocked number masked: the audit trail never holds a full number."""
    data = audit.snapshot(obj)
    if isinstance(obj, BlockedNumber):
        data["address"] = services.masked_address(obj.address)
    return data


def _audit_repr(obj: models.Model) -> str:
    return services.masked_address(obj.address) if isinstance(obj, BlockedNumber) else ""


@area_required("inbox")
def config(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if kind not in CONFIG:
        raise PermissionDenied
    model, form_class, capability, title = CONFIG[kind]
    if not has_capability(request.user, capability):
        raise PermissionDenied(_("Peran Anda tidak dapat mengubah tabel ini."))
    instance = get_object_or_404(model, pk=pk) if pk else None
    if request.method == "POST":
        if request.POST.get("delete") and instance is not None:
            audit.record(f"inbox.{kind}.delete", instance, changes=_snapshot(instance),
                         object_repr=_audit_repr(instance))
            instance.delete()
            messages.success(request, _("Dihapus."))
            return redirect("inbox:config", kind=kind)
        form = form_class(request.POST, instance=instance)
        if form.is_valid():
            before = _snapshot(instance) if instance is not None else {}
            obj = form.save(commit=False)
            if isinstance(obj, BlockedNumber) and obj.created_by_id is None:
                obj.created_by = request.user  # type: ignore[assignment]
            obj.save()
            audit.record(f"inbox.{kind}.{'edit' if instance else 'create'}", obj,
                         changes=audit.diff(before, _snapshot(obj)), object_repr=_audit_repr(obj))
            messages.success(request, _("Disimpan."))
            return redirect("inbox:config", kind=kind)
    else:
        form = form_class(instance=instance)
    return render(request, "inbox/config.html", {
        **_context(request), "kind": kind, "title": title, "form": form, "instance": instance,
        "rows": model.objects.all()[:500], "kinds": [(k, v[3]) for k, v in CONFIG.items()
                                                     if has_capability(request.user, v[2])],
    })
