"""A strict Content-Security-Policy, and the pages still work under it, in Chromium (#11, 15)."""

from __future__ import annotations

from typing import Any

from tests.contacts.conftest import create_contact
from tests.e2e.test_login_and_navigation import sign_in
from tests.inbox.conftest import create_ticket


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_pages_work_under_the_policy_and_injected_script_does_not_run(strict_page: Any, actors: dict[str, Any]) -> None:
    page = strict_page
    ticket = create_ticket()
    contact = create_contact(name="Siti")
    problems = _watch(page)
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    for path in ["/", "/kotak-masuk/", f"/kotak-masuk/tiket/{ticket.pk}/", "/kontak/", f"/kontak/{contact.pk}/",
                 "/blast/", "/blast/naskah/baru/", "/kontak/impor/", "/api/v1/docs"]:
        response = page.goto(path)
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
        page.wait_for_load_state("networkidle") if path == "/api/v1/docs" else None
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == [], problems

    # What an escaping bug would let in: an inline handler and an inline script. Neither runs.
    page.goto("/")
    page.evaluate("""() => {
        document.body.insertAdjacentHTML('beforeend', '<img src="/nope.png" onerror="window.__xss = 1">');
        const s = document.createElement('script'); s.textContent = 'window.__xss2 = 1'; document.body.appendChild(s);
    }""")
    page.wait_for_timeout(500)
    assert page.evaluate("() => [window.__xss, window.__xss2]") == [None, None]


def test_the_language_switch_works_without_an_inline_handler(strict_page: Any, actors: dict[str, Any]) -> None:
    page = strict_page
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    assert page.locator("html").get_attribute("lang") == "id"
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_inbox_poll_says_it_is_a_poll(strict_page: Any, actors: dict[str, Any]) -> None:
    page = strict_page
    create_ticket()
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    page.goto("/kotak-masuk/")
    with page.expect_request(lambda r: r.headers.get("x-warta-poll") == "1", timeout=12000) as poll:
        pass
    assert poll.value.url.split("?")[0].endswith("/kotak-masuk/")


def test_canned_replies_fill_the_reply_without_an_inline_handler(strict_page: Any, actors: dict[str, Any]) -> None:
    page = strict_page
    from warta.inbox.models import CannedReply

    CannedReply.objects.create(title="Terima kasih", text="Terima kasih, laporan Anda kami teruskan.")
    ticket = create_ticket()
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    page.goto(f"/kotak-masuk/tiket/{ticket.pk}/")
    page.select_option("#reply-form select[data-fill]", label="Terima kasih")  # data-fill names a CSS selector (citizen)
    assert page.input_value("textarea[name=text]") == "Terima kasih, laporan Anda kami teruskan."


def test_a_confirm_question_still_guards_a_form(strict_page: Any, actors: dict[str, Any]) -> None:
    page = strict_page
    sign_in(page, "operator")
    page.wait_for_selector("ul.areas")
    page.goto("/")
    # A form with data-confirm: refusing the question keeps the page, accepting submits.
    page.evaluate("""() => document.body.insertAdjacentHTML('beforeend',
        '<form id=f method=get action="/kontak/" data-confirm="Yakin?"><button id=b>Kirim</button></form>')""")
    page.once("dialog", lambda d: d.dismiss())
    page.click("#b")
    page.wait_for_timeout(300)
    assert page.url.endswith("/")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.click("#b")
    assert "/kontak/" in page.url
