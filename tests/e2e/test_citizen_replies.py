"""Replies to citizens in Chromium: the composer's counter on the ticket page (issue 12, item 6)."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD


def sign_in(page: Any, username: str) -> None:
    page.goto("/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("ul.areas")


def type_reply(page: Any, text: str) -> None:
    box = page.locator("#reply-form textarea[name=text]")
    box.fill(text)
    box.press("End")  # a key, as a person types: the counter listens to typing and pasting


def test_a_long_reply_with_an_emoji_shows_parts_encoding_and_cost(page: Any, actors: dict[str, Any]) -> None:
    from tests.inbox.conftest import create_ticket

    ticket = create_ticket("Sampah menumpuk di Kemayoran")  # from a Telkomsel number (0812…)
    sign_in(page, "operator")
    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    text = ("Mohon maaf atas keterlambatan penanganan. " * 13)[:499] + "🙏"  # 500 characters
    type_reply(page, text)
    page.wait_for_selector("#c-segments:text-is('8')")
    assert page.inner_text("#c-encoding") == "UCS-2"
    cost = page.inner_text("[data-testid=reply-cost]")
    assert "Rp 2.800" in cost and "Telkomsel" in cost and "8 segmen" in cost
    assert page.locator("#c-forcing").is_visible()  # which character forces UCS-2
    # No personalisation in a reply: no "unknown field" or justification warnings, no phone mock-up.
    assert page.locator("#c-unknown, #c-justify, .phone").count() == 0


def test_the_replacement_hint_fixes_a_curly_apostrophe_in_one_click(page: Any, actors: dict[str, Any]) -> None:
    from tests.inbox.conftest import create_ticket

    ticket = create_ticket("Lampu jalan mati")
    sign_in(page, "operator")
    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    type_reply(page, "Petugas datang hari Jum’at pagi.")
    page.wait_for_selector("#c-encoding:text-is('UCS-2')")
    page.click("#c-forcing button.replace")
    page.wait_for_selector("#c-encoding:text-is('GSM-7')")
    assert page.input_value("#reply-form textarea[name=text]") == "Petugas datang hari Jum'at pagi."
    assert "Rp 350" in page.inner_text("[data-testid=reply-cost]")
    page.click("#reply-form button[type=submit]")
    page.wait_for_selector(".timeline li[data-disposition=reply]")
    assert "Jum'at" in page.inner_text(".timeline li[data-disposition=reply]")


def test_a_unit_liaison_gets_the_counter_too(page: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    from tests.inbox.conftest import create_ticket
    from warta.inbox import services

    ticket = create_ticket("Genangan di Cawang")
    services.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    sign_in(page, "penghubung")
    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    type_reply(page, "a" * 161)
    page.wait_for_selector("#c-segments:text-is('2')")
    assert "Rp 700" in page.inner_text("[data-testid=reply-cost]")


def test_a_canned_reply_fills_the_box_and_the_counter_follows(page: Any, actors: dict[str, Any]) -> None:
    from tests.inbox.conftest import create_ticket
    from warta.inbox.models import CannedReply

    CannedReply.objects.create(title="Sudah diteruskan", text="Laporan Anda sudah kami teruskan ke dinas terkait. " * 4)
    ticket = create_ticket("Pohon tumbang di Jl. Kenanga")
    sign_in(page, "operator")
    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    page.select_option("#reply-form select[data-fill]", label="Sudah diteruskan")
    assert page.input_value("#reply-form textarea[name=text]").startswith("Laporan Anda sudah kami teruskan")
    page.wait_for_selector("#c-segments:text-is('2')")  # 204 GSM-7 characters: two parts
