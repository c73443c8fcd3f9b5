"""Behind the documented reverse proxy: one client address for lockout, audit and rate limits.

The proxy (nginx ``proxy_add_x_forwarded_for``) connects from 10.0.0.1 and appends the address it
saw to whatever X-Forwarded-For the client sent; the client controls everything left of that.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from tests.conftest import PASSWORD
from warta.accounts.models import AuditEvent
from warta.lib.clientaddr import client_address

PROXY = "10.0.0.1"
LOGIN = "/akun/masuk/"


def via_proxy(client: Client, real: str, spoofed: str = "", **data: Any) -> Any:
    forwarded = f"{spoofed}, {real}" if spoofed else real
    return client.post(LOGIN, data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.fixture(autouse=True)
def _reset_axes(db: Any) -> None:
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "192.0.2.50"),  # no proxy configured: the header is the client's own words
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # spoofed leftmost entry ignored
        (1, "not-an-address, 203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, [2001:db8::1]:4711", "2001:db8::1"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "192.0.2.50"),  # shorter than configured: the socket's address, never the header's
        (1, "", "192.0.2.50"),
    ],
)
def test_client_is_the_entry_proxy_count_from_the_right(settings: Any, proxies: int, forwarded: str, expected: str) -> None:
    settings.WARTA_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_bad_logins_from_one_client_do_not_lock_out_the_office(settings: Any, actors: dict[str, Any]) -> None:
    settings.WARTA_PROXY_COUNT = 1
    for i in range(settings.AXES_FAILURE_LIMIT + 1):
        via_proxy(Client(), "203.0.113.9", username=f"tebakan-{i}", password="salah")
    # The attacker's own address is locked, whatever it writes in the header…
    locked = via_proxy(Client(), "203.0.113.9", spoofed="198.51.100.99", username="analis", password=PASSWORD)
    assert locked.status_code == 429
    # …while a colleague behind the same proxy still logs in.
    ok = via_proxy(Client(), "198.51.100.7", username="operator", password=PASSWORD)
    assert ok.status_code == 302


def test_audit_records_the_address_the_proxy_saw_not_the_spoofed_one(settings: Any, actors: dict[str, Any]) -> None:
    settings.WARTA_PROXY_COUNT = 1
    via_proxy(Client(), "203.0.113.9", spoofed="1.2.3.4", username="operator", password="salah")
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.ip_address == "203.0.113.9"
