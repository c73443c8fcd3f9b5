"""Two-factor enforcement and the audit context."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from .audit import current_request

# Paths a half-logged-in user may still reach: login, the second factor itself, logout, the
# password reset (which ends at the login page), static files, language choice and health checks.
# Not the password change: a stolen password alone must not be enough to take the account over.
TWO_FACTOR_EXEMPT_PREFIXES = ("/akun/masuk/", "/akun/keluar/", "/akun/dua-langkah/", "/akun/lupa-kata-sandi/",
                              "/akun/atur-ulang/", "/static/", "/i18n/", "/healthz", "/metrics")


class TwoFactorMiddleware:
    """Users whose role requires TOTP, or who have a confirmed device, must pass the second
    factor before anything else; roles that require it and have no device must enrol first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(TWO_FACTOR_EXEMPT_PREFIXES)
            and not user.is_verified()  # type: ignore[union-attr]
        ):
            from django_otp import user_has_device

            if user_has_device(user, confirmed=True):
                return redirect(f"{reverse('accounts:otp_verify')}?next={request.get_full_path()}")
            if user.requires_two_factor:  # type: ignore[union-attr]
                return redirect(reverse("accounts:otp_setup"))
        return self.get_response(request)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
