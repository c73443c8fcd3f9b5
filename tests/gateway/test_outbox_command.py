"""``warta outbox``: status with the no-report count, and the receipt wait per sender ID."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from .engine_harness import create_sender

pytestmark = pytest.mark.django_db


def test_an_administrator_sets_how_long_a_sender_waits_for_receipts_and_it_is_audited():
    from warta.accounts.models import AuditEvent

    create_sender("GubDKI")
    out = io.StringIO()
    call_command("outbox", "receipt-wait", "gubdki", "72", stdout=out)
    from warta.blasts.models import SenderID

    assert SenderID.objects.get(name="GubDKI").receipt_wait_hours == 72
    event = AuditEvent.objects.filter(action="blasts.receipt_wait_changed").get()
    assert event.changes == {"receipt_wait_hours": [48, 72]}


def test_a_receipt_wait_out_of_range_or_for_an_unknown_sender_is_refused_with_the_fix():
    create_sender("GubDKI")
    with pytest.raises(CommandError, match="1–720"):
        call_command("outbox", "receipt-wait", "GubDKI", "0")
    with pytest.raises(CommandError, match="warta outbox receipt-wait"):
        call_command("outbox", "receipt-wait", "Nope")


def test_status_shows_messages_expired_without_a_receipt():
    import json

    from warta.blasts.models import OutboxCount

    from .engine_harness import create_blast, numbers

    blast = create_blast(numbers(2))
    OutboxCount.add({(blast.pk, "no_report"): 1})
    out = io.StringIO()
    call_command("outbox", "status", "--json", "--blast", str(blast.pk), stdout=out)
    assert json.loads(out.getvalue())["expired_no_report"] == 1
