"""Every role's main pages on a phone (390×844) and through axe-core (issue 12, items 12 and 14).

On a 390-pixel screen no page may scroll sideways (wide tables scroll inside their own
container), the navigation collapses behind a button, the inbox filters fold behind "Saring" and
a whole inbox row opens its ticket. axe-core (``axe-playwright-python``, which ships axe.min.js,
so nothing is fetched) finds no serious or critical violation on the same pages, on a phone and
on a laptop. The skip link is the first thing the keyboard reaches and the focus ring is visible.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def world(actors: dict[str, Any], units: dict[str, Any]) -> dict[str, Any]:
    """A ticket forwarded to BPBD with a reply, a draft in review, a released blast."""
    from tests.blasts.helpers import create_draft, create_group_with, create_materi, verified
    from tests.inbox.conftest import create_ticket
    from warta.blasts import services as blasts
    from warta.inbox import services as inbox

    ticket = create_ticket("Banjir setinggi lutut di RT 05 RW 02 Kampung Melayu, mohon bantuan pompa air segera")
    inbox.assign(ticket, actor=actors["operator"], unit=units["bpbd"])
    inbox.reply(ticket, "Tim BPBD menuju lokasi.", actor=actors["liaison"])
    create_ticket("Sampah belum diangkut", source="+6285711110002")
    create_materi(actors["liaison"])
    group = create_group_with(3)
    review = create_draft(actors["operator"], group=group, title="Imbauan siaga banjir")
    blasts.submit_for_review(review, actors["operator"])
    released = create_draft(actors["operator"], sender="HumasDKI", group=group, title="Car Free Day")
    blasts.submit_for_review(released, actors["operator"])
    blasts.approve(released, verified(actors["verifier"]))  # the final approval needs TOTP
    released.refresh_from_db()
    return {"ticket": ticket, "draft": review, "released": released}


def sign_in(page: Any, username: str) -> None:
    from django_otp.oath import totp

    from warta.accounts.models import User

    page.goto("/akun/masuk/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    user = User.objects.get(username=username)
    if user.requires_two_factor:
        from tests.conftest import confirm_totp

        device = user.totpdevice_set.filter(confirmed=True).first() or confirm_totp(user)
        page.wait_for_selector("input[name=token]")
        page.fill("input[name=token]", f"{totp(device.bin_key):06d}")
        page.click("main form button[type=submit]")
    page.wait_for_selector("#nav-areas", state="attached")


def pages_for(role: str, world: dict[str, Any]) -> list[str]:
    t, d = world["ticket"].pk, world["draft"].pk
    blast = world["released"].blast_id
    common = {
        "operator": ["/", "/kotak-masuk/", f"/kotak-masuk/tiket/{t}/", "/blast/", "/blast/naskah/baru/",
                     f"/blast/naskah/{d}/", "/blast/materi/", "/kontak/", "/kontak/impor/", "/kontak/grup/"]
        + ([f"/blast/konsol/{blast}/"] if blast else []),
        "penghubung": ["/", "/kotak-masuk/", f"/kotak-masuk/tiket/{t}/", "/blast/materi/", "/blast/materi/baru/"],
        "verifikator": ["/", "/blast/persetujuan/", f"/blast/naskah/{d}/", "/kotak-masuk/"],
        "penyetuju": ["/", "/blast/persetujuan/", "/blast/"],
        "analis": ["/", "/kotak-masuk/", f"/kotak-masuk/tiket/{t}/", "/analisis/", "/laporan/"],
        "admin": ["/", "/pengaturan/", "/pengaturan/pengguna/", "/pengaturan/unit/", "/pengaturan/audit/",
                  "/pengaturan/gateway/", "/kotak-masuk/pengaturan/templat-sms/", "/blast/sender-id/"],
    }
    return common[role]


def axe_problems(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


ROLES = ["operator", "penghubung", "verifikator", "penyetuju", "analis", "admin"]


@pytest.mark.parametrize("username", ROLES)
def test_no_page_scrolls_sideways_on_a_phone_and_axe_finds_nothing_serious(
        browser: Any, live_server: Any, world: dict[str, Any], username: str) -> None:
    problems: dict[str, Any] = {}
    for viewport in (PHONE, LAPTOP):
        context = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta",
                                      viewport=viewport)
        context.set_default_timeout(15000)
        page = context.new_page()
        try:
            sign_in(page, username)
            for path in pages_for(username, world):
                response = page.goto(path)
                assert response is not None and response.status == 200, (path, response and response.status)
                if viewport is PHONE and overflow(page) > 0:
                    problems[f"{path} @390"] = f"scrolls sideways by {overflow(page)} px"
                found = axe_problems(page)
                if found:
                    problems[f"{path} @{viewport['width']}"] = found
        finally:
            context.close()
    assert problems == {}


def test_the_login_page_on_a_phone(browser: Any, live_server: Any) -> None:
    context = browser.new_context(base_url=live_server.url, locale="id-ID", viewport=PHONE)
    page = context.new_page()
    page.goto("/akun/masuk/")
    assert overflow(page) <= 0
    assert axe_problems(page) == []
    context.close()


def test_on_a_phone_the_menu_collapses_the_filters_fold_and_a_whole_row_opens_the_ticket(
        browser: Any, live_server: Any, world: dict[str, Any]) -> None:
    context = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta",
                                  viewport=PHONE)
    page = context.new_page()
    sign_in(page, "operator")
    page.goto("/kotak-masuk/")
    # The navigation is one button until opened.
    assert not page.locator("#nav-areas").is_visible()
    toggle = page.locator("button[aria-controls=nav-areas]")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert page.locator("#nav-areas").is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#nav-areas a[data-area=contacts]").is_visible()
    toggle.click()
    # The filters are folded behind "Saring".
    filters = page.locator("details.inbox-filters")
    assert filters.locator("summary").inner_text().strip().startswith("Saring")
    assert not page.locator("input[name=q]").is_visible()
    filters.locator("summary").click()
    assert page.locator("input[name=q]").is_visible()
    # A tap anywhere on a row (here: the subject) opens the ticket.
    ticket = world["ticket"]
    page.locator(f"tr[data-ticket='{ticket.pk}'] td.subject").click()
    page.wait_for_url(f"**/kotak-masuk/tiket/{ticket.pk}/")
    # The ticket page's wide parts stay inside the screen.
    assert overflow(page) <= 0
    context.close()


def test_on_a_laptop_the_menu_shows_without_a_button(page: Any, world: dict[str, Any]) -> None:
    page.set_viewport_size(LAPTOP)
    sign_in(page, "operator")
    assert page.locator("#nav-areas").is_visible()
    assert not page.locator("button[aria-controls=nav-areas]").is_visible()


def test_the_skip_link_comes_first_and_the_focus_ring_is_visible(page: Any, world: dict[str, Any]) -> None:
    sign_in(page, "operator")
    page.goto("/kotak-masuk/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    assert page.locator("a.skip-link").is_visible()  # shown when focused
    style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert style[0] != "none" and style[1] >= 2
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    # The next Tab goes into the content, past the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('main')")
