"""Login, second factor, users, units and the audit trail screens (thin: parse, call, render)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from warta.lib.clientaddr import client_address
from warta.lib.spreadsheet import csv_rows

from . import audit
from .forms import AuditFilterForm, LoginForm, OTPTokenForm, UnitForm, UserForm
from .models import AuditEvent, Unit, User
from .permissions import area_required


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def locked_out(request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes calls this when the account or the address is locked out."""
    return render(request, "accounts/locked_out.html", status=429)


# Password reset: every request is audited, and the audit trail is also the rate limit's counter
# (shared by every web worker, no cache service to run): at most RESET_PER_ADDRESS requests per
# hour from one client address and RESET_PER_EMAIL for one e-mail address, whether or not an
# account has it, so the limit itself reveals nothing. The address is warta.lib.clientaddr's.
RESET_WINDOW = timedelta(hours=1)


def _email_key(email: str) -> str:
    """A keyed digest of the e-mail address: the trail can count requests per address without
    holding a list of the addresses people typed."""
    return hmac.new(settings.SECRET_KEY.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _masked_email(email: str) -> str:
    local, _at, domain = email.strip().partition("@")
    return f"{local[:2]}***@{domain}"[:200]


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"]
        key = _email_key(email)
        address = client_address(self.request)
        recent = AuditEvent.objects.filter(action="auth.password_reset_requested",
                                           at__gte=timezone.now() - RESET_WINDOW)
        per_address = settings.WARTA["PASSWORD_RESET_PER_ADDRESS"]
        per_email = settings.WARTA["PASSWORD_RESET_PER_EMAIL"]
        limited = ("address" if recent.filter(ip_address=address).count() >= per_address
                   else "email" if recent.filter(changes__email=key).count() >= per_email else "")
        if limited:
            audit.record("auth.password_reset_throttled", object_type="accounts.user",
                         object_repr=_masked_email(email), changes={"email": key, "limit": limited})
            return render(self.request, "accounts/password_reset_throttled.html", status=429)
        matched = User.objects.filter(email__iexact=email, is_active=True).count()
        audit.record("auth.password_reset_requested", object_type="accounts.user",
                     object_repr=_masked_email(email), changes={"email": key, "accounts": matched})
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.record("auth.password_reset_done", form.user, actor=form.user)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("core:home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.record("auth.password_changed", self.request.user)  # type: ignore[arg-type]
        messages.success(self.request, _("Kata sandi berhasil diubah."))
        return response


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.GET.get("next") or request.POST.get("next") or default
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].strip())
        if device is not None:
            otp_login(request, device)
            audit.record("auth.otp_verified", request.user)  # type: ignore[arg-type]
            return redirect(_safe_next(request))
        audit.record("auth.otp_failed", request.user)  # type: ignore[arg-type]
        form.add_error("token", _("Kode salah atau sudah kedaluwarsa. Coba kode yang baru."))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _safe_next(request)})


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect("accounts:otp_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Autentikator", confirmed=False)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit.record("auth.otp_enrolled", user)  # type: ignore[arg-type]
            messages.success(request, _("Verifikasi dua langkah aktif."))
            return redirect("core:home")
        form.add_error("token", _("Kode salah. Pastikan jam ponsel Anda tepat lalu coba lagi."))
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    secret = device.bin_key.hex()
    import base64

    b32 = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "accounts/otp_setup.html", {"form": form, "qr_svg": qr_svg, "secret": b32, "hex": secret})


# --- Pengaturan: users --------------------------------------------------------------------------


@area_required("settings")
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.select_related("unit").order_by("username")
    return render(request, "accounts/user_list.html", {"users": users})


@area_required("settings")
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(User, pk=pk) if pk else None
    before = audit.snapshot(instance) if instance else {}
    form = UserForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            after = audit.snapshot(user)
            audit.record("user.created" if instance is None else "user.updated", user,
                         changes=audit.diff(before, after))
        messages.success(request, _("Pengguna %(name)s disimpan.") % {"name": user.username})
        return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form, "object": instance})


@area_required("settings")
@require_http_methods(["POST"])
def user_reset_otp(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    with transaction.atomic():
        count, _details = TOTPDevice.objects.filter(user=user).delete()
        audit.record("user.otp_reset", user, changes={"devices_removed": count})
    messages.success(request, _("Perangkat dua langkah %(name)s dihapus; ia harus mendaftar ulang.") % {"name": user.username})
    return redirect("accounts:user_list")


# --- Pengaturan: units ---------------------------------------------------------------------------


@area_required("settings")
def unit_list(request: HttpRequest) -> HttpResponse:
    roots = Unit.objects.filter(parent__isnull=True).prefetch_related("children__children")
    return render(request, "accounts/unit_list.html", {"roots": roots})


@area_required("settings")
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(Unit, pk=pk) if pk else None
    before = audit.snapshot(instance) if instance else {}
    form = UnitForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            unit = form.save()
            audit.record("unit.created" if instance is None else "unit.updated", unit,
                         changes=audit.diff(before, audit.snapshot(unit)))
        messages.success(request, _("Unit %(name)s disimpan.") % {"name": unit.name})
        return redirect("accounts:unit_list")
    return render(request, "accounts/unit_form.html", {"form": form, "object": instance})


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit's profile. A liaison of another unit gets 404: the page must not confirm it exists."""
    try:
        unit = Unit.visible_to(request.user).get(pk=pk)  # type: ignore[arg-type]
    except Unit.DoesNotExist:
        raise Http404 from None
    members = unit.members.filter(is_active=True).order_by("username")
    return render(request, "accounts/unit_detail.html", {"unit": unit, "members": members})


# --- Pengaturan: audit trail ---------------------------------------------------------------------


def _filtered_audit(form: AuditFilterForm) -> Any:
    events = AuditEvent.objects.select_related("unit")
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            events = events.filter(actor_name__icontains=data["actor"])
        if data["action"]:
            events = events.filter(action__icontains=data["action"])
        if data["object_type"]:
            events = events.filter(object_type__icontains=data["object_type"])
        if data["date_from"]:
            events = events.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            events = events.filter(at__date__lte=data["date_to"])
    return events


@area_required("settings")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = _filtered_audit(form)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accounts/audit_list.html", {"form": form, "page": page, "query": query.urlencode()})


@area_required("settings")
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = _filtered_audit(form)
    audit.record("audit.exported", object_type="accounts.auditevent", changes={"filters": request.GET.dict()})
    local = timezone.get_current_timezone()
    header = ["waktu_wib", "pelaku", "alamat_ip", "tindakan", "jenis_objek", "id_objek", "objek", "unit", "perubahan"]
    rows = (
        [
            e.at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.ip_address or "",
            e.action, e.object_type, e.object_id, e.object_repr, e.unit.name if e.unit else "",
            e.changes,
        ]
        for e in events.iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="jejak-audit-{timezone.localdate():%Y%m%d}.csv"'
    return response
