"""Security review: redirects after bulk actions, and full numbers kept out of the audit trail."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tests.conftest import login
from tests.inbox.conftest import CITIZEN, create_ticket
from warta.accounts.models import AuditEvent
from warta.inbox import services

pytestmark = pytest.mark.django_db


def _trail() -> str:
    return " ".join(f"{e.object_repr} {json.dumps(e.changes)}" for e in AuditEvent.objects.all())


def test_bulk_does_not_redirect_to_another_site(client, actors, units):
    t = create_ticket("satu")
    login(client, actors["operator"])
    r = client.post(reverse("inbox:bulk"), {"ids": [t.pk], "action": "spam", "next": "https://evil.example/x"})
    assert r.status_code == 302
    assert "evil.example" not in r["Location"]
    r = client.post(reverse("inbox:bulk"), {"ids": [t.pk], "action": "spam", "next": "//evil.example/x"})
    assert "evil.example" not in r["Location"]
    # A local next is still honoured (the list with its filters).
    r = client.post(reverse("inbox:bulk"), {"ids": [t.pk], "action": "spam", "next": "/kotak-masuk/?status=all"})
    assert r["Location"] == "/kotak-masuk/?status=all"


def test_blocking_a_number_keeps_the_full_number_out_of_the_audit_trail(actors, ticket):
    services.block_number(CITIZEN, actor=actors["operator"], reason="kasar")
    assert AuditEvent.objects.filter(action="inbox.block").exists()
    assert CITIZEN not in _trail() and CITIZEN[3:] not in _trail()


def test_blocklist_table_keeps_the_full_number_out_of_the_audit_trail(client, actors):
    login(client, actors["operator"])
    r = client.post(reverse("inbox:config", args=["blokir"]), {"address": CITIZEN, "reason": "spam"})
    assert r.status_code == 302
    from warta.inbox.models import BlockedNumber

    blocked = BlockedNumber.objects.get(address=CITIZEN)
    client.post(reverse("inbox:config_edit", args=["blokir", blocked.pk]), {"address": CITIZEN, "reason": "kasar"})
    client.post(reverse("inbox:config_edit", args=["blokir", blocked.pk]), {"delete": "1"})
    assert not BlockedNumber.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"inbox.blokir.create", "inbox.blokir.edit", "inbox.blokir.delete"} <= actions
    assert CITIZEN not in _trail() and CITIZEN[3:] not in _trail()


def test_ingest_logs_do_not_hold_the_full_number(caplog):
    import logging

    from tests.inbox.conftest import mo
    from warta.inbox.services import receive_mo

    with caplog.at_level(logging.DEBUG, logger="warta.inbox"):
        receive_mo(mo(b"\x09\x00\x03\x01", udhi=True))  # a broken UDH is logged
    assert "bad UDH" in caplog.text
    assert CITIZEN not in caplog.text and CITIZEN[3:] not in caplog.text
