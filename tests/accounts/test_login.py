"""Login that a government can trust: generic errors, lockout, TOTP, sessions, CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, confirm_totp, create_user, login, totp_now
from warta.accounts.models import AuditEvent

LOGIN = "/akun/masuk/"


def post_login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def unthrottle(device: Any) -> None:
    """A wrong code makes django-otp wait before the next try; tests need not sleep it out."""
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()


@pytest.fixture(autouse=True)
def _reset_axes(db: Any) -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def test_login_page_is_in_indonesian(client: Client, db: Any) -> None:
    html = client.get(LOGIN).content.decode()
    assert "Masuk ke Warta" in html and "Kata sandi" in html


def test_operator_logs_in_with_password(client: Client, actors: dict[str, Any]) -> None:
    response = post_login(client, "operator", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", actor=actors["operator"]).exists()


def test_wrong_password_and_unknown_account_get_the_same_message(client: Client, actors: dict[str, Any]) -> None:
    wrong = post_login(client, "operator", "salah-sekali").content.decode()
    unknown = post_login(Client(), "tidak-ada-orang", "salah-sekali").content.decode()
    message = "Nama pengguna atau kata sandi salah."
    assert message in wrong and message in unknown
    strip = lambda html: html.replace("tidak-ada-orang", "X").replace("operator", "X")  # noqa: E731
    # Same page apart from the echoed username and the CSRF token.
    import re

    token = re.compile(r"[A-Za-z0-9]{64}")
    assert token.sub("", strip(wrong)) == token.sub("", strip(unknown))


def test_failed_login_is_audited_without_the_password(client: Client, actors: dict[str, Any]) -> None:
    post_login(client, "operator", "rahasia-yang-salah")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.object_repr == "operator"
    assert "rahasia-yang-salah" not in str(event.changes)


def test_account_locks_after_repeated_failures(client: Client, actors: dict[str, Any], settings: Any) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        post_login(Client(), "operator", f"salah-{i}", ip=f"10.0.1.{i}")
    # Even the right password from a fresh address is refused now: the account is locked.
    response = post_login(client, "operator", PASSWORD, ip="10.0.9.9")
    assert response.status_code == 429
    assert "Akses dikunci sementara" in response.content.decode()


def test_address_locks_after_failures_on_many_accounts(client: Client, actors: dict[str, Any], settings: Any) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, f"tebakan-{i}", "salah", ip="10.0.2.2")
    response = post_login(Client(), "analis", PASSWORD, ip="10.0.2.2")
    assert response.status_code == 429
    # Another address is not affected.
    assert post_login(Client(), "analis", PASSWORD, ip="10.0.2.3").status_code == 302


def test_lockout_does_not_reveal_whether_the_account_exists(client: Client, db: Any, settings: Any) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        post_login(Client(), "hantu", "salah", ip=f"10.0.3.{i}")
    assert post_login(client, "hantu", "salah", ip="10.0.3.99").status_code == 429


def test_administrator_must_enrol_two_factor_before_anything_else(client: Client, actors: dict[str, Any]) -> None:
    post_login(client, "admin", PASSWORD)
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and response.url == reverse("accounts:otp_setup")
    assert client.get(reverse("accounts:user_list")).url == reverse("accounts:otp_setup")


def test_enrolment_confirms_the_device_with_a_valid_code(client: Client, actors: dict[str, Any]) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    post_login(client, "penyetuju", PASSWORD)
    page = client.get(reverse("accounts:otp_setup"))
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=actors["approver"])
    assert client.post(reverse("accounts:otp_setup"), {"token": "000000"}).status_code == 200
    unthrottle(device)
    response = client.post(reverse("accounts:otp_setup"), {"token": totp_now(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("core:home")).status_code == 200


def test_enrolled_user_must_give_a_code_after_the_password(client: Client, actors: dict[str, Any]) -> None:
    device = confirm_totp(actors["admin"])
    post_login(client, "admin", PASSWORD)
    assert client.get(reverse("accounts:user_list")).url.startswith(reverse("accounts:otp_verify"))
    bad = client.post(reverse("accounts:otp_verify"), {"token": "123456"})
    assert "Kode salah" in bad.content.decode()
    unthrottle(device)
    ok = client.post(reverse("accounts:otp_verify") + "?next=/pengaturan/pengguna/", {"token": totp_now(device)})
    assert ok.status_code == 302 and ok.url == "/pengaturan/pengguna/"
    assert client.get(reverse("accounts:user_list")).status_code == 200


def test_verify_refuses_an_offsite_next(client: Client, actors: dict[str, Any]) -> None:
    device = confirm_totp(actors["admin"])
    post_login(client, "admin", PASSWORD)
    ok = client.post(reverse("accounts:otp_verify") + "?next=https://evil.example/", {"token": totp_now(device)})
    assert ok.url == "/"


def test_operator_without_device_is_not_forced_to_enrol(client: Client, actors: dict[str, Any]) -> None:
    post_login(client, "operator", PASSWORD)
    assert client.get(reverse("core:home")).status_code == 200


def test_sessions_expire_after_inactivity(settings: Any) -> None:
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_idle_session_is_logged_out(client: Client, actors: dict[str, Any]) -> None:
    import datetime as dt

    import time_machine

    login(client, actors["operator"])
    assert client.get(reverse("core:home")).status_code == 200
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)):
        response = client.get(reverse("core:home"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_login_without_csrf_token_is_refused(actors: dict[str, Any]) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(LOGIN, {"username": "operator", "password": PASSWORD})
    assert response.status_code == 403


def test_logout_requires_post_and_is_audited(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("core:home")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout").exists()


def test_password_reset_does_not_reveal_accounts(client: Client, actors: dict[str, Any], mailoutbox: Any) -> None:
    known = client.post(reverse("accounts:password_reset"), {"email": actors["operator"].email})
    unknown = client.post(reverse("accounts:password_reset"), {"email": "siapa@example.invalid"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [actors["operator"].email]
    assert "/akun/atur-ulang/" in mailoutbox[0].body


def test_password_change_rejects_a_weak_password_naming_the_field(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"})
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors


def test_password_change_is_audited(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["operator"])
    new = "Sandi-Baru-Yang-Panjang-1"
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_new_liaison_without_unit_is_refused_with_the_field_named(client: Client, actors: dict[str, Any]) -> None:
    login(client, actors["admin"])
    response = client.post(reverse("accounts:user_create"), {
        "username": "baru", "role": "liaison", "password": "Sandi-Baru-Yang-Panjang-1", "is_active": "on",
    })
    assert response.status_code == 200
    assert "unit" in response.context["form"].errors
    assert "Penghubung unit harus memiliki unit." in response.content.decode()


def test_create_user_helper_makes_distinct_users(db: Any) -> None:
    assert create_user().pk != create_user().pk


def test_polls_do_not_keep_an_idle_session_alive(client: Client, actors: dict[str, Any]) -> None:
    import datetime as dt

    import time_machine

    login(client, actors["operator"])
    start = dt.datetime.now(dt.UTC)
    assert client.get(reverse("core:home")).status_code == 200
    # The inbox page left open: its rows are fetched again every 5 s (here: every 5 minutes).
    for minutes in range(5, 30, 5):
        with time_machine.travel(start + dt.timedelta(minutes=minutes)):
            poll = client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1")
            assert poll.status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=31)):
        poll = client.get(reverse("inbox:index"), HTTP_HX_REQUEST="true", HTTP_X_WARTA_POLL="1",
                          HTTP_HX_CURRENT_URL="http://testserver/kotak-masuk/?status=baru")
        # Expired: htmx is sent to the login page rather than pasting it into the table.
        assert poll.status_code == 200
        assert poll["HX-Redirect"] == LOGIN + "?next=%2Fkotak-masuk%2F%3Fstatus%3Dbaru"
        assert client.get(reverse("core:home")).status_code == 302


def test_a_real_action_still_renews_the_session(client: Client, actors: dict[str, Any]) -> None:
    import datetime as dt

    import time_machine

    login(client, actors["operator"])
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start + dt.timedelta(minutes=20)):
        assert client.get(reverse("inbox:index")).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=45)):
        assert client.get(reverse("core:home")).status_code == 200


def test_password_reset_requests_are_audited_without_the_address(client: Client, actors: dict[str, Any], mailoutbox: Any) -> None:
    email = actors["operator"].email
    client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR="10.9.9.9")
    event = AuditEvent.objects.get(action="auth.password_reset_requested")
    assert event.ip_address == "10.9.9.9" and event.changes["accounts"] == 1
    assert email not in str(event.changes) + event.object_repr


def test_password_reset_is_rate_limited_per_address(client: Client, actors: dict[str, Any], mailoutbox: Any, settings: Any) -> None:
    limit = settings.WARTA["PASSWORD_RESET_PER_ADDRESS"]
    for i in range(limit):
        response = client.post(reverse("accounts:password_reset"), {"email": f"orang{i}@example.invalid"}, REMOTE_ADDR="10.7.7.7")
        assert response.status_code == 302
    refused = client.post(reverse("accounts:password_reset"), {"email": actors["operator"].email}, REMOTE_ADDR="10.7.7.7")
    assert refused.status_code == 429 and "ditahan selama satu jam" in refused.content.decode()
    assert mailoutbox == []
    assert AuditEvent.objects.filter(action="auth.password_reset_throttled").count() == 1
    # Another address is not affected.
    assert client.post(reverse("accounts:password_reset"), {"email": actors["operator"].email},
                       REMOTE_ADDR="10.7.7.8").status_code == 302


def test_password_reset_mails_to_one_address_are_limited_and_the_window_passes(client: Client, actors: dict[str, Any], mailoutbox: Any, settings: Any) -> None:
    import datetime as dt

    import time_machine

    email = actors["operator"].email
    limit = settings.WARTA["PASSWORD_RESET_PER_EMAIL"]
    start = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for i in range(limit + 3):  # from many addresses, as a botnet would
            client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=f"10.8.0.{i}")
    assert len(mailoutbox) == limit
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR="10.8.1.1")
    assert len(mailoutbox) == limit + 1


def test_a_completed_password_reset_is_audited(client: Client, actors: dict[str, Any], mailoutbox: Any) -> None:
    import re

    client.post(reverse("accounts:password_reset"), {"email": actors["operator"].email})
    link = re.search(r"(/akun/atur-ulang/\S+/)", mailoutbox[0].body).group(1)  # type: ignore[union-attr]
    form_page = client.get(link, follow=True)
    new = "Sandi-Baru-Yang-Panjang-2"
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_reset_done", actor=actors["operator"]).exists()
