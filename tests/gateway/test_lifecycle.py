"""Blasts that finish, opt-out that spares the citizen's own service messages, quiet hours while
sending, and a claim whose cost does not grow with history: through the engine and the
simulator over real sockets (and the engine's database steps called one by one)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .engine_harness import Rig, create_blast, create_connection, db, numbers, states, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

CITIZEN = "+6281234567890"


def _blast(pk: int) -> Any:
    from warta.blasts.models import Blast

    return Blast.objects.get(pk=pk)


# -- A: a blast finishes -----------------------------------------------------------------------


def test_a_blast_whose_messages_are_all_final_becomes_done_once_with_its_sending_window(transactional_db):
    from warta.blasts.models import Blast
    from warta.blasts.signals import blast_finished

    seen: list[tuple[int, str]] = []

    def on_finished(sender: Any, blast: Any, **kw: Any) -> None:
        seen.append((blast.pk, blast.state))

    blast_finished.connect(on_finished, dispatch_uid="test-finished")
    try:
        async def scenario() -> Any:
            async with Rig():
                blast = await db(create_blast, numbers(120))
                await wait_until(lambda: _blast(blast.pk).state == Blast.State.DONE)
                await asyncio.sleep(1.5)  # more sweeps: the signal must not come again
                return blast

        blast = asyncio.run(scenario())
    finally:
        blast_finished.disconnect(dispatch_uid="test-finished")
    blast = _blast(blast.pk)
    assert states(blast.pk) == {"delivered": 120}
    assert blast.finished_at is not None and blast.started_at is not None
    assert blast.started_at <= blast.finished_at
    assert seen == [(blast.pk, "done")]

    from warta.blasts import services

    data = services.console(blast, now=blast.finished_at + timedelta(hours=5))
    window = max((blast.finished_at - blast.started_at).total_seconds(), 1.0)
    # The rate covers the sending window, not "until now": five hours later it is the same.
    assert data["rate"] == round(120 / window, 1)
    assert data["finished"] and not (data["can_pause"] or data["can_cancel"] or data["can_resume"])
    assert data["by_operator"]["telkomsel"]["delivered"] == 120


def test_a_cancelled_blast_keeps_its_state_and_gets_its_finished_at_when_nothing_is_in_flight(transactional_db):
    from warta.blasts import outbox
    from warta.blasts.models import Blast

    blast = create_blast(numbers(5))
    outbox.cancel(blast)
    assert outbox.finish_blasts() == [blast.pk]
    blast = _blast(blast.pk)
    assert blast.state == Blast.State.CANCELLED and blast.finished_at is not None
    assert outbox.finish_blasts() == []


def test_a_blast_with_a_message_awaiting_its_receipt_is_not_finished(transactional_db):
    from warta.blasts import outbox
    from warta.blasts.models import Blast, OutboundMessage, OutboxCount

    blast = create_blast(numbers(2))
    # One delivered, one still waiting for its receipt.
    ids = list(OutboundMessage.objects.filter(blast=blast).values_list("pk", flat=True))
    OutboxCount.add({(blast.pk, "queued"): -2, (blast.pk, "delivered"): 1, (blast.pk, "submitted"): 1})
    OutboundMessage.objects.filter(pk=ids[0]).update(state="delivered", submitted_at=blast.created_at,
                                                     done_at=blast.created_at)
    OutboundMessage.objects.filter(pk=ids[1]).update(state="submitted", submitted_at=blast.created_at)
    assert outbox.finish_blasts() == []
    assert _blast(blast.pk).state == Blast.State.ACTIVE
    OutboxCount.add({(blast.pk, "submitted"): -1, (blast.pk, "delivered"): 1})
    assert outbox.finish_blasts() == [blast.pk]


# -- E: opt-out stops blasts, never the citizen's own service messages --------------------------


def _opt_out(e164: str) -> None:
    from warta.contacts import services

    services.opt_out(e164, "sms", reason="uji")


def test_opt_out_suppresses_blasts_but_not_the_replies_to_the_citizen(transactional_db):
    from warta.blasts.models import Blast

    async def scenario() -> tuple[Any, Any]:
        async with Rig(tcp=True) as rig:
            await db(_opt_out, CITIZEN)
            reply = await db(create_blast, [CITIZEN], text="Balasan petugas untuk tiket 7",
                             priority=Blast.Priority.REPLY)
            normal = await db(create_blast, [CITIZEN], text="Info banjir")
            await wait_until(lambda: states(reply.pk) == {"delivered": 1} and states(normal.pk) == {"suppressed": 1})
            texts = [r.get("short_message_text", r.get("text", "")) for r in rig.submits()]
            assert len(rig.submits()) == 1, texts
            return reply, normal

    asyncio.run(scenario())


def test_a_citizen_who_texts_berhenti_gets_the_confirmation_and_then_the_staff_reply(transactional_db):
    """End to end: MO over SMPP → inbox (opt-out, confirmation) → engine → handset, then an
    officer's reply to the citizen's earlier ticket is delivered too; a blast is not."""
    from warta.blasts.models import OutboundMessage
    from warta.inbox import services as inbox
    from warta.inbox.models import Ticket

    async def scenario() -> None:
        async with Rig(tcp=True) as rig:
            for _ in range(100):
                if rig.sim.bound_receivers:
                    break
                await asyncio.sleep(0.05)
            rig.sim.inject_mo(CITIZEN[1:], "02132881818", "Lampu jalan mati di Jl. Kenanga")
            await wait_until(lambda: Ticket.objects.exists())
            rig.sim.inject_mo(CITIZEN[1:], "02132881818", "BERHENTI")
            await wait_until(lambda: _suppressed_now(CITIZEN))
            # The confirmation of the opt-out reaches the handset.
            await wait_until(lambda: _delivered_texts(CITIZEN, "BERHENTI") or _delivered_texts(CITIZEN, "berhenti"))
            blast = await db(create_blast, [CITIZEN], text="Info vaksinasi")
            ticket = await db(lambda: Ticket.objects.get())
            officer = await db(_officer)
            await db(inbox.reply, ticket, "Lampu sudah diperbaiki petugas hari ini.", actor=officer)
            await wait_until(lambda: _delivered_texts(CITIZEN, "Lampu sudah diperbaiki"))
            await wait_until(lambda: states(blast.pk) == {"suppressed": 1})
            sent = [r["destination_addr"] for r in rig.submits()]
            assert CITIZEN[1:] in sent

    asyncio.run(scenario())
    assert not OutboundMessage.objects.filter(to=CITIZEN, blast__priority=5, state="suppressed").exists()


def _suppressed_now(e164: str) -> bool:
    from warta.contacts.services import is_suppressed

    return e164 in is_suppressed([e164])


def _delivered_texts(e164: str, needle: str) -> bool:
    from warta.blasts.models import OutboundMessage

    for text, blast_text in OutboundMessage.objects.filter(to=e164, state="delivered").values_list(
            "text", "blast__text"):
        if needle in (text or blast_text):
            return True
    return False


def _officer() -> Any:
    from warta.accounts.models import Role, User

    return User.objects.create_user("petugas-uji", password="x-Warta-2026-uji", role=Role.ADMIN)


# -- B: the claim's cost does not grow with history ---------------------------------------------


def test_a_claim_on_an_empty_queue_takes_a_few_queries_however_many_blasts_history_holds(transactional_db):
    from warta.blasts import outbox
    from warta.blasts.models import Blast
    from warta.gateway.engine import Engine

    create_connection(1)
    for i in range(60):
        blast = create_blast(numbers(1, start=i))
        outbox.cancel(blast)  # history: blasts with nothing left to send
    # ... and some still "active" with nothing queued (the state every blast kept before #10)
    for i in range(40):
        blast = create_blast(numbers(1, start=100 + i))
        outbox.cancel_queued(blast.pk)
    assert Blast.objects.filter(state="active").count() == 40
    engine = Engine()
    engine.register()
    engine.load_routes()
    engine._next_blast_clock = float("inf")  # the sweep is measured apart below
    with CaptureQueriesContext(connection) as ctx:
        assert engine.claim_batch(100) == []
    assert len(ctx.captured_queries) <= 2, [q["sql"][:120] for q in ctx.captured_queries]
    engine._next_blast_clock = 0.0
    engine.claim_batch(100)  # the sweep finishes the 100 blasts
    assert Blast.objects.filter(finished_at__isnull=True).count() == 0
    with CaptureQueriesContext(connection) as ctx:
        engine._next_blast_clock = 0.0
        assert engine.claim_batch(100) == []
    assert len(ctx.captured_queries) <= 3, [q["sql"][:120] for q in ctx.captured_queries]


def test_the_claim_still_takes_emergencies_first_and_sees_a_new_blast_after_an_empty_claim(transactional_db):
    from warta.blasts.models import Blast
    from warta.gateway.engine import Engine

    create_connection(1)
    engine = Engine()
    engine.register()
    engine.load_routes()
    assert engine.claim_batch(10) == []
    normal = create_blast(numbers(3))
    urgent = create_blast(numbers(2, start=50), priority=Blast.Priority.EMERGENCY)
    items = engine.claim_batch(4)
    assert [i.blast_id for i in items] == [urgent.pk, urgent.pk, normal.pk, normal.pk]


# -- C: quiet hours while sending ---------------------------------------------------------------


def _wib(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 3, hour - 7, minute, tzinfo=UTC) if hour >= 7 else \
        datetime(2026, 12, 3, hour + 17, minute, tzinfo=UTC) - timedelta(days=1)


def test_normal_blasts_are_held_through_quiet_hours_and_emergencies_are_not(transactional_db, settings):
    from warta.blasts import outbox, services
    from warta.blasts.models import Blast
    from warta.gateway.engine import Engine

    settings.WARTA = {**settings.WARTA, "QUIET_HOURS": "21:00-06:00"}
    create_connection(1)
    with time_machine.travel(_wib(20, 58), tick=False) as clock:
        normal = create_blast(numbers(20))
        urgent = create_blast(numbers(20, start=100), priority=Blast.Priority.EMERGENCY)
        reply = create_blast(numbers(1, start=300), priority=Blast.Priority.REPLY)
        engine = Engine()
        engine.register()
        engine.load_routes()
        assert {i.blast_id for i in engine.claim_batch(2)} == {urgent.pk}
        clock.move_to(_wib(21, 0))
        engine._next_blast_clock = 0.0
        items = engine.claim_batch(100)
        assert {i.blast_id for i in items} == {urgent.pk, reply.pk}
        assert _blast(normal.pk).state == Blast.State.QUIET
        data = services.console(_blast(normal.pk))
        assert data["quiet_until"] is not None and services.in_quiet_hours(data["quiet_until"]) is False
        # The operator may still pause or cancel a held blast; resuming at night keeps it held.
        outbox.pause(_blast(normal.pk))
        outbox.resume(_blast(normal.pk))
        assert _blast(normal.pk).state == Blast.State.QUIET
        clock.move_to(_wib(6, 0) + timedelta(days=1))
        engine._next_blast_clock = 0.0
        engine.heartbeat()
        items = engine.claim_batch(100)
        assert _blast(normal.pk).state == Blast.State.ACTIVE
        assert {i.blast_id for i in items} == {normal.pk}
    from warta.accounts.models import AuditEvent

    actions = list(AuditEvent.objects.filter(object_id=str(normal.pk), object_type="blasts.blast")
                   .values_list("action", flat=True))
    assert "blasts.blast_quiet_hours_held" in actions and "blasts.blast_quiet_hours_resumed" in actions


# -- F: the cost of each message, recorded when it is submitted ---------------------------------


def test_each_submitted_message_records_segments_times_its_operators_tariff(transactional_db):
    from decimal import Decimal

    from warta.blasts.models import OutboundMessage, OutboxCount, Tariff

    Tariff.objects.create(operator="telkomsel", price_per_segment=Decimal("400"))
    text = "Informasi banjir: " + "air naik di pintu air Manggarai, warga diminta waspada. " * 3  # 2 segments

    async def scenario() -> Any:
        async with Rig():
            long = await db(create_blast, numbers(10), text=text)
            short = await db(create_blast, numbers(5, start=50), text="Uji singkat")
            await wait_until(lambda: states(long.pk) == {"delivered": 10} and states(short.pk) == {"delivered": 5})
            return long, short

    long, short = asyncio.run(scenario())
    assert set(OutboundMessage.objects.filter(blast=long).values_list("cost", flat=True)) == {Decimal("800")}
    assert set(OutboundMessage.objects.filter(blast=short).values_list("cost", flat=True)) == {Decimal("400")}
    assert OutboxCount.cost_total(long.pk) == Decimal("8000")
    assert OutboxCount.cost_total(short.pk) == Decimal("2000")
