"""Login, lockout, two-factor enrolment, role-based navigation and the language switch, in Chromium."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import PASSWORD


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def menu(page: Any) -> list[str]:
    return page.locator("ul.areas a").evaluate_all("els => els.map(e => e.dataset.area)")


def test_operator_signs_in_and_sees_the_operator_menu(page: Any, actors: dict[str, Any]) -> None:
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    assert menu(page) == ["materi", "blasts", "contacts", "inbox", "insights", "reports"]
    page.click("text=Kontak")
    assert page.url.endswith("/kontak/")


def test_liaison_sees_only_its_areas_and_is_refused_elsewhere(page: Any, actors: dict[str, Any]) -> None:
    sign_in(page, "penghubung")
    page.wait_for_selector("ul.areas")
    # Their unit's slice of the analysis (#14 item 8) and their unit's sent blasts, read-only (#12 item 11).
    assert menu(page) == ["materi", "inbox", "insights", "unit_blasts"]
    response = page.goto("/pengaturan/")
    assert response.status == 403
    assert page.locator("#error-403").is_visible()


def test_wrong_password_shows_a_clear_message_then_locks(page: Any, actors: dict[str, Any], settings: Any) -> None:
    sign_in(page, "analis", "bukan-sandinya")
    assert "Nama pengguna atau kata sandi salah" in page.locator("#login-error").inner_text()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(page, "analis", "bukan-sandinya")
    sign_in(page, "analis")  # the right password, too late
    assert page.locator("#locked-out").is_visible()


def test_administrator_enrols_totp_and_reaches_settings(page: Any, actors: dict[str, Any]) -> None:
    from django_otp.oath import totp

    sign_in(page, "admin")
    page.wait_for_selector("#otp-secret")
    secret = page.inner_text("#otp-secret")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("input[name=token]", f"{totp(key):06d}")
    page.click("button:has-text('Aktifkan')")
    page.wait_for_selector("ul.areas")
    assert "settings" in menu(page)
    page.click("a[data-area=settings]")
    page.click("text=Jejak audit")
    trail = page.locator("#audit-table").inner_text()
    # Labels, not codes (issue 12, "one voice"); the code stays in the row's data for filters.
    assert trail.count("Verifikasi dua langkah didaftarkan") == 1 and "auth.otp_enrolled" not in trail
    assert page.locator("[data-action='auth.otp_enrolled']").count() == 1


def test_language_switch_to_english_and_back(page: Any, actors: dict[str, Any]) -> None:
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    assert page.locator("a[data-area=inbox]").inner_text() == "Kotak Masuk"
    page.select_option("form.lang select", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("a[data-area=inbox]").inner_text() == "Inbox"
    page.select_option("form.lang select", "id")
    page.wait_for_function("document.documentElement.lang === 'id'")
    assert page.locator("a[data-area=inbox]").inner_text() == "Kotak Masuk"
