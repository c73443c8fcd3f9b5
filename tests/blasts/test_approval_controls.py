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
    Draft.objects.filter(pk=d.pk).update(content_hash=old, approved_hash=old)
    migration.forwards(apps, None)
    assert s.release_due(now=send_at + timedelta(minutes=1))
    d.refresh_from_db()
    assert d.state == "released"
