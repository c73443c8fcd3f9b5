"""The delivery engine against the SMSC simulator over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from .engine_harness import Rig, create_blast, db, numbers, states, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_it_sends_a_blast_and_applies_every_receipt(transactional_db):
    async def scenario():
        async with Rig() as rig:
            blast = await db(create_blast, numbers(300))
            await wait_until(lambda: states(blast.pk) == {"delivered": 300})
            assert len(rig.submits()) == 300
            assert sorted(r["destination_addr"] for r in rig.submits()) == sorted(n[1:] for n in numbers(300))
        return blast

    blast = asyncio.run(scenario())
    from warta.blasts.models import MessagePart
    from warta.blasts.outbox import status_counts

    assert MessagePart.objects.filter(message__blast=blast).count() == 300
    assert status_counts(blast.pk)["delivered"] == 300
    assert sum(status_counts(blast.pk).values()) == 300
