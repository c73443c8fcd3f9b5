"""Issue 11: approval means what it says — scheduled blasts go out (item 4), the approved audience
is frozen (item 5), sender-ID ownership (item 2) and test sends (item 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.blasts.helpers import approve_all, create_draft

WIB = ZoneInfo("Asia/Jakarta")
pytestmark = pytest.mark.django_db


def services() -> Any:
    from warta.blasts import services

    return services


# -- item 4: scheduled blasts go out ---------------------------------------------------------------


def test_a_blast_scheduled_in_wib_is_released_at_its_time(actors: dict[str, Any]) -> None:
    s = services()
    # What the form gives: an aware datetime in Asia/Jakarta (+07:00); the database keeps UTC.
    send_at = (timezone.now() + timedelta(hours=2)).astimezone(WIB).replace(microsecond=0)
    window_end = send_at + timedelta(hours=3)
    d = create_draft(actors["operator"], send_at=send_at, window_end=window_end)
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    assert d.state == "approved"
    released = s.release_due(now=send_at + timedelta(minutes=1))
    d.refresh_from_db()
    assert [b.pk for b in released] == [d.blast_id] and d.state == "released"


def test_the_hash_is_the_same_for_the_same_instant_in_any_zone(actors: dict[str, Any]) -> None:
    d = create_draft(actors["operator"], send_at=timezone.now() + timedelta(hours=2))
    utc_hash = d.compute_hash()
    d.send_at = d.send_at.astimezone(WIB)
    assert d.compute_hash() == utc_hash


def test_drafts_stuck_under_the_old_hash_are_moved_to_the_new_one(actors: dict[str, Any]) -> None:
    import importlib

    from django.apps import apps

    from warta.blasts.models import Approval, Draft

    s = services()
    send_at = (timezone.now() + timedelta(hours=2)).astimezone(WIB).replace(microsecond=0)
    d = create_draft(actors["operator"], send_at=send_at)
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    migration = importlib.import_module("warta.blasts.migrations.0007_approval_hash_utc")
    old = migration._hash(d, WIB, WIB)  # what the draft carried before the fix
    Approval.objects.filter(draft=d).update(content_hash=old)
    # Approved before the audience was frozen (migration 0008 came later).
    Draft.objects.filter(pk=d.pk).update(content_hash=old, approved_hash=old, audience_hash="", audience_set=None,
                                         audience_size=None)
    migration.forwards(apps, None)
    assert s.release_due(now=send_at + timedelta(minutes=1))
    d.refresh_from_db()
    assert d.state == "released"


# -- item 5: the approved audience is frozen -------------------------------------------------------


def _join(group: Any, n: int) -> None:
    from tests.blasts.helpers import mobile
    from warta.contacts.models import Contact, Membership
    from warta.sms import parse_number

    for _i in range(n):
        number = mobile()
        c = Contact.objects.create(e164=number, name="Baru", operator=str(parse_number(number).operator))
        Membership.objects.create(contact=c, group=group)


def test_release_refuses_an_audience_that_grew_after_approval(actors: dict[str, Any], client: Any) -> None:
    from tests.blasts.helpers import create_group_with
    from tests.conftest import login
    from warta.accounts.models import AuditEvent
    from warta.blasts.models import OutboundMessage

    s = services()
    group = create_group_with(35)
    later = timezone.now() + timedelta(hours=1)
    d = create_draft(actors["operator"], group=group, send_at=later)
    d = s.submit_for_review(d, actors["operator"])
    assert d.audience_size == 35 and len(d.audience_hash) == 64
    d = approve_all(d, actors)
    assert d.state == "approved"
    _join(group, 40)  # 35 deliverable at approval, 75 at release (the reported case)
    assert s.release_due(now=later + timedelta(minutes=1)) == []
    d.refresh_from_db()
    assert d.state == "review" and d.blast_id is None and not OutboundMessage.objects.exists()
    assert d.audience_change["added"] == 40 and d.audience_change["removed"] == 0
    assert d.audience_size == 75 and s.next_step(d).position == 1  # the whole chain again
    assert AuditEvent.objects.filter(action="blasts.audience_changed", object_id=str(d.pk)).exists()
    assert actors["operator"].blast_notices.filter(text__contains="40 baru").exists()
    # The approver sees the difference.
    page = login(client, actors["verifier"]).get(f"/blast/naskah/{d.pk}/").content.decode()
    assert 'id="audience-change"' in page and 'data-added="40"' in page
    # Approved again, the new set goes out.
    d = approve_all(d, actors)
    assert s.release_due(now=later + timedelta(minutes=2))
    assert OutboundMessage.objects.count() == 75


def test_release_sends_exactly_the_frozen_set(actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_group_with
    from warta.blasts.models import OutboundMessage
    from warta.contacts import services as contacts

    s = services()
    group = create_group_with(40)
    d = create_draft(actors["operator"], group=group, send_at=timezone.now() + timedelta(hours=1))
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    frozen = s.frozen_numbers(d)
    gone = sorted(frozen)[0]
    contacts.opt_out(gone, "sms")  # one opt-out (2.5%): inside the 5% tolerance
    assert s.release_due(now=timezone.now() + timedelta(hours=2))
    sent = set(OutboundMessage.objects.values_list("to", flat=True))
    assert sent == frozen - {gone}
    d.refresh_from_db()
    assert d.release_summary["approved_audience"] == 40 and d.release_summary["no_longer_deliverable"] == 1


def test_shrinking_beyond_the_tolerance_also_asks_for_reapproval(actors: dict[str, Any], settings: Any) -> None:
    from tests.blasts.helpers import create_group_with
    from warta.contacts.models import Membership

    settings.WARTA = {**settings.WARTA, "AUDIENCE_REMOVED_TOLERANCE_PERCENT": 10}
    s = services()
    group = create_group_with(10)
    d = create_draft(actors["operator"], group=group, send_at=timezone.now() + timedelta(hours=1))
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    Membership.objects.filter(group=group).order_by("pk")[:1].get().delete()  # 10%: inside
    first = Membership.objects.filter(group=group).order_by("pk").first()
    assert first is not None
    first.delete()  # 20%: beyond
    with pytest.raises(s.WorkflowError, match="2 tidak lagi"):
        s.release(d, now=timezone.now() + timedelta(hours=2))
    d.refresh_from_db()
    assert d.state == "review" and d.audience_change["removed"] == 2
