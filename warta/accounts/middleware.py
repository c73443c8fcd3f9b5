"""Two-factor enforcement, the audit context and the idle timeout.

Theory of operation (idle timeout): the session ends ``WARTA_SESSION_IDLE_MINUTES`` after the
user last *did* something, so every ordinary request renews it (``SESSION_SAVE_EVERY_REQUEST``).
Pages that poll (the inbox every 5 s, a ticket every 5 s, the blast console every 2 s) would renew
it forever on a screen nobody watches. Their requests are marked ``X-Warta-Poll: 1`` by
``warta.js`` (any htmx element whose trigger is ``every …``), and ``IdleSessionMiddleware`` never
saves the session for them, so its expiry in the database stays where the last real action put
it. The mark can only *spare* a renewal, so a client forging or omitting it gains nothing it could
not get by clicking. When a poll finds the session expired, htmx is told to load the login page
(``HX-Redirect``) instead of pasting the login form into the polled element.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
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


POLL_HEADER = "HTTP_X_WARTA_POLL"


def is_poll(request: HttpRequest) -> bool:
    return request.META.get(POLL_HEADER) == "1"


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware, except that polls do not count as activity (see above)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.headers.get("HX-Request") == "true" and response.status_code == 302:
            login_url = resolve_url(settings.LOGIN_URL)
            if response["Location"].startswith(login_url):
                # Back to the page (path only: never another host) after logging in again.
                page = urlsplit(request.headers.get("HX-Current-URL", ""))
                target = f"{login_url}?{urlencode({'next': page.path + (f'?{page.query}' if page.query else '')})}" \
                    if page.path.startswith("/") else login_url
                redirected = HttpResponse(status=200)
                redirected["HX-Redirect"] = target
                response = redirected
        if is_poll(request) and hasattr(request, "session"):
            return response  # not saved: the idle clock keeps running
        return super().process_response(request, response)
