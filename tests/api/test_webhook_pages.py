"""The administrators' webhook pages: secret shown once, test event, delivery log with codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_webhooks_receiver import Receiver
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_admin_creates_a_webhook_sends_a_test_event_and_reads_the_log(client: Any, actors: dict[str, Any],
                                                                      units: dict[str, Any], receiver: Receiver,
                                                                      django_capture_on_commit_callbacks: Any) -> None:
    from warta.accounts.models import AuditEvent
    from warta.api import webhooks
    from warta.api.models import Webhook

    login(client, actors["admin"])
    r = client.post("/api/v1/pengaturan/webhook/baru", {"unit": units["bpbd"].pk, "url": receiver.url,
                                                         "events": ["ticket.routed", "blast.completed"]})
    secret = re.search(r"whsec_[A-Za-z0-9_-]{43}", r.content.decode()).group(0)
    assert r["Cache-Control"] == "no-store"
    hook = Webhook.objects.get()
    assert hook.events == ["ticket.routed", "blast.completed"] and hook.secret == secret
    assert secret not in client.get("/api/v1/pengaturan/webhook/").content.decode()  # shown once
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/v1/pengaturan/webhook/{hook.pk}/uji")
    assert r.status_code == 302
    webhooks.deliver_due()
    assert webhooks.verify(secret, receiver.requests[0]["headers"]["Warta-Signature"], receiver.requests[0]["body"])
    page = client.get(f"/api/v1/pengaturan/webhook/{hook.pk}/log").content.decode()
    assert "HTTP 204" in page and "test" in page
    r = client.post(f"/api/v1/pengaturan/webhook/{hook.pk}/rahasia-baru")
    new = re.search(r"whsec_[A-Za-z0-9_-]{43}", r.content.decode()).group(0)
    assert new != secret
    assert AuditEvent.objects.filter(action__in=["api.webhook_created", "api.webhook_test_sent",
                                                 "api.webhook_secret_rotated"]).count() == 3
    trail = str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert secret not in trail and new not in trail


@pytest.mark.parametrize("who", ["operator", "liaison", "approver"])
def test_webhook_pages_are_for_administrators_only(client: Any, actors: dict[str, Any], units: dict[str, Any],
                                                   who: str) -> None:
    from warta.api import webhooks
    from warta.api.models import Delivery, Webhook

    hook, _s = webhooks.create(units["bpbd"], "http://127.0.0.1:9/x", webhooks.EVENTS, None)
    login(client, actors[who])
    assert client.get("/api/v1/pengaturan/webhook/").status_code == 403
    assert client.get(f"/api/v1/pengaturan/webhook/{hook.pk}/log").status_code == 403
    assert client.post(f"/api/v1/pengaturan/webhook/{hook.pk}/uji").status_code == 403
    assert client.post(f"/api/v1/pengaturan/webhook/{hook.pk}/hapus").status_code == 403
    assert client.post("/api/v1/pengaturan/webhook/baru", {"unit": units["bpbd"].pk,
                                                           "url": "http://x.invalid", "events": ["test"]}).status_code == 403
    assert Webhook.objects.count() == 1 and not Delivery.objects.exists()
