"""A blast's end on the console: finished blasts offer no controls and refuse them on the server;
the cost recorded at submit and the sending window's rate are shown; quiet hours show a note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.blasts.test_views import as_, released_draft

pytestmark = pytest.mark.django_db


def _deliver_all(blast: Any, *, cost: Decimal = Decimal("350")) -> None:
    """What the engine does to every message, with its counter deltas."""
    from warta.blasts.models import OutboundMessage, OutboxCount

    rows = OutboundMessage.objects.filter(blast=blast)
    n = rows.count()
    now = blast.created_at + timedelta(seconds=1)
    rows.update(state="delivered", submitted_at=now, done_at=now + timedelta(seconds=9), cost=cost)
    OutboxCount.add({(blast.pk, "queued"): -n, (blast.pk, "delivered"): n, (blast.pk, OutboxCount.COST): cost * n})
    type(blast).objects.filter(pk=blast.pk).update(started_at=now)


def test_a_finished_blast_offers_no_controls_and_refuses_them_in_indonesian(client: Client,
                                                                            actors: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts import outbox

    d = released_draft(actors)
    _deliver_all(d.blast)
    assert outbox.finish_blasts(now=d.blast.created_at + timedelta(seconds=11)) == [d.blast_id]
    as_(client, actors["operator"])
    page = client.get(reverse("blasts:console", args=[d.blast_id])).content.decode()
    assert 'data-state="done"' in page and 'id="controls"' in page
    assert 'value="pause"' not in page and 'value="cancel"' not in page
    assert 'id="finished-note"' in page
    # The rate is over the 10-second sending window: 3 messages / 10 s, however late we look.
    assert 'id="rate">0,3<' in page or 'id="rate">0.3<' in page
    assert "Rp 1.050" in page or "Rp 1,050" in page
    for action in ("pause", "cancel"):
        r = client.post(reverse("blasts:control", args=[d.blast_id]), {"action": action}, follow=True)
        assert "sudah selesai" in r.content.decode()
    d.blast.refresh_from_db()
    assert d.blast.state == "done"
    assert not AuditEvent.objects.filter(action__in=["blasts.blast_cancelled", "blasts.blast_paused"]).exists()
    assert AuditEvent.objects.filter(action="blasts.blast_finished", object_id=str(d.blast_id)).exists()


def test_a_blast_held_by_quiet_hours_shows_when_it_resumes(client: Client, actors: dict[str, Any],
                                                           settings: Any) -> None:
    from warta.blasts import outbox

    d = released_draft(actors)
    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": "21:00-06:00"}
    with time_machine.travel(datetime(2026, 12, 3, 14, 30, tzinfo=UTC), tick=False):  # 21:30 WIB
        assert outbox.apply_quiet_hours() == {"held": 1, "resumed": 0}
        as_(client, actors["operator"])
        page = client.get(reverse("blasts:progress", args=[d.blast_id])).content.decode()
    assert 'data-state="quiet"' in page and 'id="quiet-note"' in page
    assert "04-12-2026 06:00" in page
    assert 'value="pause"' in page and 'value="cancel"' in page


def test_cost_counters_survive_squash_and_the_counts_move_on(db: Any) -> None:
    from tests.gateway.engine_harness import create_blast, numbers
    from warta.blasts.models import OutboxCount

    blast = create_blast(numbers(4))
    OutboxCount.add({(blast.pk, "queued"): -4, (blast.pk, "submitted"): 4, (blast.pk, OutboxCount.COST): Decimal("1400")})
    OutboxCount.add({(blast.pk, "submitted"): -4, (blast.pk, "delivered"): 4})
    OutboxCount.squash()
    assert OutboxCount.totals(blast.pk) == {"delivered": 4}
    assert OutboxCount.cost_total(blast.pk) == Decimal("1400")
    # A second squash touches nothing: one row per key already.
    assert OutboxCount.squash() == 0
