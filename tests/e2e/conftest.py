"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium).

Playwright cannot download its own browser here, so the suite uses the Debian package, which
`scripts/system-deps` installs with apt-get when it is missing. The browser talks only to the
live server on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("WARTA_CHROMIUM", "/usr/bin/chromium")

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make for
# setup are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/system-deps (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield _CspBypassingByDefault(browser)
        browser.close()


class _CspBypassingByDefault:
    """The browser, whose contexts bypass the Content-Security-Policy unless asked not to:
    Playwright's ``wait_for_function`` evaluates its predicate in the page, which Warta's policy
    (no eval) refuses. The policy itself, and the pages under it, are tested with ``strict_page``
    (``bypass_csp=False``, as a real browser; tests/e2e/test_csp.py)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options: Any) -> Any:
        options.setdefault("bypass_csp", True)
        return self._browser.new_context(**options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta")
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def strict_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A page that obeys the Content-Security-Policy, as a real browser does."""
    context = browser.new_context(base_url=live_server.url, locale="id-ID", timezone_id="Asia/Jakarta",
                                  bypass_csp=False)
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()
