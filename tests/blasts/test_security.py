"""Security review: what the blast workflow writes into the audit trail."""

from __future__ import annotations

import json

import pytest

from tests.blasts.helpers import create_draft, mobile

pytestmark = pytest.mark.django_db


def test_editing_a_drafts_numbers_keeps_them_out_of_the_audit_trail(actors):
    from warta.accounts.models import AuditEvent
    from warta.blasts import services

    typed, tester = mobile(), mobile()
    d = create_draft(actors["operator"])
    services.update_draft(d, actors["operator"], audience={"numbers": [typed]}, test_numbers=tester)
    services.update_draft(d, actors["operator"], audience={"groups": d.audience["groups"]}, test_numbers="")
    events = AuditEvent.objects.filter(action="blasts.draft_changed")
    assert events.count() == 2
    trail = " ".join(json.dumps(e.changes) + e.object_repr for e in AuditEvent.objects.all())
    for number in (typed, tester):
        assert number not in trail and number[3:] not in trail
    # The event still says what changed.
    assert all({"audience", "test_numbers"} <= set(e.changes) for e in events)
