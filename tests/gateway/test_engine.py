"""The delivery engine against the SMSC simulator over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import transaction

from .engine_harness import Rig, create_blast, db, numbers, states, wait_until

FINAL = {"delivered", "undelivered", "expired", "rejected", "failed", "cancelled", "suppressed"}

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


def _submitted_to(rig) -> list[str]:
    return ["+" + r["destination_addr"] for r in rig.submits() if r.get("response_status") == 0]


def test_it_retries_throttled_messages_with_back_off_and_sends_each_once(transactional_db):
    async def scenario():
        async with Rig(tps=100) as rig:
            blast = await db(create_blast, numbers(250))
            await wait_until(lambda: states(blast.pk) == {"delivered": 250}, timeout=40)
            assert rig.sim.counters["throttled"] > 0
            accepted = _submitted_to(rig)
            assert sorted(accepted) == sorted(numbers(250))  # every recipient exactly once

    asyncio.run(scenario())


def test_a_text_the_smsc_could_never_take_fails_permanently_with_its_reason(transactional_db):
    from warta.blasts.models import OutboundMessage

    async def scenario():
        async with Rig() as rig:
            blast = await db(create_blast, numbers(3), text="x" * 40000)
            await wait_until(lambda: states(blast.pk) == {"failed": 3})
            assert rig.submits() == []
            return blast

    blast = asyncio.run(scenario())
    msg = OutboundMessage.objects.filter(blast=blast).first()
    assert msg.error and msg.done_at is not None


def test_messages_past_their_validity_expire_and_are_never_sent_late(transactional_db):
    import time as _time
    from datetime import timedelta

    from django.utils import timezone

    valid_until = timezone.now() + timedelta(seconds=1.5)

    async def scenario():
        async with Rig(query="window=4&tps=20") as rig:
            blast = await db(create_blast, numbers(200), valid_until=valid_until)
            await wait_until(lambda: "queued" not in states(blast.pk) and "sending" not in states(blast.pk)
                             and "submitted" not in states(blast.pk), timeout=30)
            result = await db(states, blast.pk)
            assert set(result) <= {"delivered", "expired"} and result["expired"] > 100
            late = [r for r in rig.submits() if r["t"] > valid_until.timestamp() + 0.05]
            assert late == []
            assert len(_submitted_to(rig)) == result["delivered"]

    t0 = _time.monotonic()
    asyncio.run(scenario())
    assert _time.monotonic() - t0 < 30


def test_pause_stops_sending_within_a_second_and_resume_finishes_the_blast(transactional_db):
    from warta.blasts import outbox
    from warta.blasts.models import Blast

    async def scenario():
        async with Rig(query="window=8&tps=200") as rig:
            blast = await db(create_blast, numbers(1200))
            await wait_until(lambda: len(rig.submits()) > 100)
            await db(lambda: outbox.pause(Blast.objects.get(pk=blast.pk)))
            await asyncio.sleep(1.0)
            at_pause = len(rig.submits())
            await asyncio.sleep(1.0)
            assert len(rig.submits()) == at_pause  # nothing left after the first second
            assert at_pause < 1200
            await db(lambda: outbox.resume(Blast.objects.get(pk=blast.pk)))
            await wait_until(lambda: states(blast.pk) == {"delivered": 1200}, timeout=40)
            assert sorted(_submitted_to(rig)) == sorted(numbers(1200))

    asyncio.run(scenario())


def test_cancel_stops_the_blast_and_accounts_every_message(transactional_db):
    from warta.blasts import outbox
    from warta.blasts.models import Blast

    async def scenario():
        async with Rig(query="window=8&tps=200") as rig:
            blast = await db(create_blast, numbers(1000))
            await wait_until(lambda: len(rig.submits()) > 50)
            await db(lambda: outbox.cancel(Blast.objects.get(pk=blast.pk)))
            await wait_until(lambda: set(states(blast.pk)) <= {"delivered", "cancelled"}, timeout=20)
            await asyncio.sleep(0.5)
            final = await db(states, blast.pk)
            assert final["cancelled"] > 500
            assert final["delivered"] == len(_submitted_to(rig))
            counts = await db(outbox.status_counts, blast.pk)
            assert counts["cancelled"] == final["cancelled"] and counts["queued"] == 0

    asyncio.run(scenario())


def test_numbers_that_opt_out_after_the_blast_was_queued_are_suppressed_at_send_time(transactional_db):
    """Opted out, or a contact whose processing was restricted (UU 27/2022), after the blast was
    queued: never sent. On PostgreSQL the claim statement itself says so, elsewhere a lookup."""
    from warta.blasts import outbox
    from warta.contacts.models import Contact
    from warta.contacts.services import opt_out, restrict

    recipients = numbers(40)
    opted = recipients[::4]
    restricted = recipients[1::8]

    def restrict_some() -> None:
        for n in restricted:
            Contact.objects.create(e164=n, operator="telkomsel", source="manual")
            restrict(n)

    async def scenario():
        blast = await db(create_blast, recipients, )
        for n in opted:
            await db(opt_out, n, "sms")
        await db(restrict_some)
        async with Rig() as rig:
            await wait_until(lambda: set(states(blast.pk)) <= FINAL and sum(states(blast.pk).values()) == 40)
            assert await db(states, blast.pk) == {"delivered": 25, "suppressed": 15}
            assert not set(_submitted_to(rig)) & (set(opted) | set(restricted))
            # Suppressed after the claim's COMMIT on PostgreSQL (``suppress_claimed``): still counted exactly.
            counts = await db(outbox.status_counts, blast.pk)
            assert {s: n for s, n in counts.items() if n} == {"delivered": 25, "suppressed": 15}

    asyncio.run(scenario())


def test_an_emergency_blast_overtakes_a_normal_one_already_sending(transactional_db):
    from warta.blasts.models import Blast

    async def scenario():
        async with Rig(query="window=8&tps=300") as rig:
            normal = await db(create_blast, numbers(1500))
            await wait_until(lambda: len(rig.submits()) > 100)
            urgent = await db(create_blast, numbers(30, start=50000), sender="GubDKI",
                              priority=Blast.Priority.EMERGENCY, text="Peringatan dini banjir")
            await wait_until(lambda: states(urgent.pk) == {"delivered": 30}, timeout=20)
            assert "queued" in await db(states, normal.pk)  # the normal blast is still waiting

    asyncio.run(scenario())


def test_a_citizens_acknowledgement_overtakes_a_running_normal_blast(transactional_db):
    """An acknowledgement queued by the inbox during a large blast is sent at once, not after it."""
    from warta.inbox import outbound

    async def scenario():
        async with Rig(query="window=8&tps=300") as rig:
            normal = await db(create_blast, numbers(1500))
            await wait_until(lambda: len(rig.submits()) > 100)
            ack_id = await db(outbound.queue_sms, "+6281377778888", "Terima kasih, tiket 1.", sender="+622132881818",
                              purpose="ack")

            def ack_delivered() -> bool:
                from warta.blasts.models import OutboundMessage

                return OutboundMessage.objects.get(pk=ack_id).state == "delivered"

            await wait_until(ack_delivered, timeout=20)
            assert "queued" in await db(states, normal.pk)  # the blast had not finished

    asyncio.run(scenario())


def test_a_citizens_sms_on_the_same_bind_reaches_the_inbox(transactional_db):
    from warta.inbox.models import Message

    async def scenario():
        async with Rig() as rig:
            await wait_until(lambda: True)
            for _ in range(100):
                if rig.sim.bound_receivers:
                    break
                await asyncio.sleep(0.05)
            rig.sim.inject_mo("6281234567890", "02132881818", "Banjir di Kampung Melayu, mohon bantuan")
            await wait_until(lambda: Message.objects.filter(direction="in").exists())

    asyncio.run(scenario())
    msg = Message.objects.get(direction="in")
    assert "Kampung Melayu" in msg.text


def test_a_receipt_that_arrives_before_its_response_is_saved_is_matched_later(transactional_db):
    from django.utils import timezone

    from warta.blasts.models import OutboundMessage, Receipt
    from warta.gateway.engine import Engine, InReceipt, Outcome
    from warta.gateway.smppclient import SubmitResult

    from .engine_harness import create_connection

    conn = create_connection(1)
    blast = create_blast(numbers(2))
    engine = Engine()
    engine.register()
    engine.load_routes()
    items = engine.claim_batch(10)
    marked, _dropped = engine.mark_sending({conn.pk: items})
    assert len(marked) == 2
    # The receipt for the first message comes first (another engine's bind, say) …
    unmatched = engine.apply_receipts([InReceipt(conn.pk, "abc1", "DELIVRD", "", timezone.now())])
    assert len(unmatched) == 1 and Receipt.objects.filter(matched_at__isnull=True).count() == 1
    # … then the responses are saved, and the stored receipt finds its part.
    engine.apply_responses([Outcome(items[0], conn.pk, [SubmitResult(1, 1, "abc1", 0)]),
                            Outcome(items[1], conn.pk, [SubmitResult(1, 1, None, 0x0B, permanent=True,
                                                                     error="ESME_RINVDSTADR")])])
    engine.match_pending_receipts()
    engine._write_deltas()
    first, second = OutboundMessage.objects.filter(blast=blast).order_by("id")
    assert first.state == "delivered" and Receipt.objects.get().matched_at is not None
    assert second.state == "failed" and second.status == 0x0B
    assert second.status_meaning["id"] == "Nomor tujuan tidak valid"
    assert second.status_meaning["en"] == "Invalid destination address"


def test_a_dead_engines_sending_rows_become_unknown_and_its_claims_go_back(transactional_db):
    from datetime import timedelta

    from django.utils import timezone

    from warta.blasts.models import OutboundMessage
    from warta.blasts.outbox import status_counts
    from warta.gateway.engine import Engine
    from warta.gateway.models import EngineLease

    from .engine_harness import create_connection

    conn = create_connection(1)
    keep = create_blast(numbers(5), resend_unknown=False)
    resend = create_blast(numbers(5, start=100), resend_unknown=True)
    dead = Engine()
    dead.register()
    dead.load_routes()
    items = dead.claim_batch(20)
    dead.mark_sending({conn.pk: [i for i in items if i.to in numbers(3) or i.to in numbers(3, start=100)]})
    dead._write_deltas()
    EngineLease.objects.filter(engine_id=dead.engine_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    heir = Engine()
    heir.register()
    totals = heir.reap_expired_leases()
    assert totals == {"engines": 1, "released": 4, "unknown": 3, "requeued_unknown": 3}
    assert OutboundMessage.objects.filter(blast=keep, state="unknown").count() == 3
    assert OutboundMessage.objects.filter(blast=resend, state="queued", unknown_count=1).count() == 3
    assert not OutboundMessage.objects.filter(engine_id=dead.engine_id).exists()
    assert status_counts(keep.pk)["unknown"] == 3 and status_counts(resend.pk)["queued"] == 5


def test_it_sends_a_long_text_as_concatenated_parts_with_a_receipt_each(transactional_db):
    long_text = "Peringatan dini banjir: " + "tinggi muka air Katulampa naik, warga bantaran Ciliwung waspada. " * 4

    async def scenario():
        async with Rig() as rig:
            blast = await db(create_blast, numbers(20), text=long_text)
            await wait_until(lambda: states(blast.pk) == {"delivered": 20})
            return blast, rig.submits()

    blast, submits = asyncio.run(scenario())
    from warta.blasts.models import MessagePart
    from warta.sms import measure

    parts = measure(long_text).segments
    assert parts > 1
    assert len(submits) == 20 * parts
    assert MessagePart.objects.filter(message__blast=blast).count() == 20 * parts


@pytest.mark.parametrize("fault", ["disconnect", "unbind"])
def test_outbox_stays_exact_when_the_smsc_drops_the_link_mid_window(transactional_db, fault):
    """The SMSC drops the socket (or unbinds) every 40 submits: the engine reconnects with
    back-off and finishes the blast; with resend_unknown off, each recipient is accepted by the
    SMSC at most once, and only messages caught in a dropped window may be left ``unknown``."""
    recipients = numbers(200)

    async def scenario():
        async with Rig(tcp=True, query="window=16&reconnect_min=0.05&reconnect_max=0.2", faults=frozenset({fault}),
                       fault_after=40) as rig:
            blast = await db(create_blast, recipients, resend_unknown=False)
            await wait_until(lambda: set(states(blast.pk)) <= {"delivered", "unknown"}
                             and sum(states(blast.pk).values()) == 200, timeout=60)
            return blast, rig.submits(), rig.sim.counters

    blast, submits, counters = asyncio.run(scenario())
    accepted = [r["destination_addr"] for r in submits if r.get("response_status") == 0]
    from collections import Counter

    from warta.blasts.models import OutboundMessage

    assert counters["fault_disconnects"] + counters["fault_unbinds"] >= 3  # the link really dropped
    assert counters["binds"] >= 4  # ...and the engine bound again each time
    assert max(Counter(accepted).values()) == 1  # never sent twice
    final = dict(OutboundMessage.objects.filter(blast=blast).values_list("to", "state"))
    delivered = {n for n, s in final.items() if s == "delivered"}
    assert delivered <= {"+" + a for a in accepted}
    unknown = [n for n, s in final.items() if s == "unknown"]
    drops = counters["fault_disconnects"] + counters["fault_unbinds"]
    assert len(unknown) <= drops * 16  # at most one window per dropped link
    assert len(delivered) + len(unknown) == 200


def test_a_rejected_bind_is_reported_and_nothing_is_lost_until_the_password_is_fixed(transactional_db):
    """The SMSC refuses the bind (wrong password): the engine records the cause on the bind,
    keeps every message queued, and sends them all once the SMSC accepts the password."""

    async def scenario():
        async with Rig(tcp=True, accounts={"warta": "lain"}, query="window=16&reconnect_min=0.05&reconnect_max=0.2") as rig:
            blast = await db(create_blast, numbers(30))

            def bind_error() -> str:
                return " ".join(b.last_error for b in rig.connection.bind_leases.all())

            await wait_until(lambda: bind_error() != "", timeout=20)
            assert await db(states, blast.pk) == {"queued": 30}
            assert rig.sim.counters["bind_failures"] >= 1 and rig.sim.counters["submit_sm"] == 0
            error = await db(bind_error)
            # The SMSC now accepts the engine's password: the bind succeeds on a later retry.
            rig.sim.config = type(rig.sim.config)(**{**rig.sim.config.__dict__, "accounts": {"warta": "secret"}})
            await wait_until(lambda: states(blast.pk) == {"delivered": 30}, timeout=30)
            return error, rig.submits()

    error, submits = asyncio.run(scenario())
    assert error  # the cause is shown in the settings UI
    assert sorted("+" + r["destination_addr"] for r in submits if r.get("response_status") == 0) == sorted(numbers(30))


def test_a_claim_that_is_the_mark_sends_within_the_slots_and_unmark_gives_rows_back(transactional_db):
    from warta.blasts import outbox
    from warta.blasts.models import Blast, OutboundMessage
    from warta.gateway.engine import Engine

    from .engine_harness import create_connection

    conn = create_connection(1)
    blast = create_blast(numbers(5))
    engine = Engine()
    engine.register()
    engine.load_routes()
    # Three free window slots: three rows claimed straight into ``sending``, the rest untouched.
    items = engine.claim_batch(3, mark_conn=conn.pk)
    engine._write_deltas()
    assert len(items) == 3 and all(i.attempts == 0 for i in items)
    rows = OutboundMessage.objects.filter(blast=blast)
    assert sorted(rows.values_list("state", flat=True)) == ["queued", "queued", "sending", "sending", "sending"]
    assert {r.connection_id for r in rows.filter(state="sending")} == {conn.pk}
    # One of them finds no slot after all: back to the queue, its attempt not counted.
    engine.unmark(items[:1])
    back = OutboundMessage.objects.get(pk=items[0].id)
    assert (back.state, back.engine_id, back.attempts) == ("queued", None, 0)
    assert outbox.status_counts(blast.pk)["sending"] == 2 and outbox.status_counts(blast.pk)["queued"] == 3
    # A paused blast is not claimed into ``sending``.
    Blast.objects.filter(pk=blast.pk).update(state=Blast.State.PAUSED)
    assert engine.claim_batch(5, mark_conn=conn.pk) == []


def test_in_memory_late_answers_and_lost_answers_are_counted_and_settled(transactional_db):
    """The same promises as the TCP fault suite, on the in-memory transport: answers after the
    bind's time-out settle their message (its id kept), lost ones are settled by their receipt,
    every resend is counted, nothing fails."""
    from collections import Counter

    from warta.blasts.models import OutboundMessage

    async def scenario():
        async with Rig(query="window=8&timeout=0.2", answer_delay=0.4, lose_responses=0.2,
                       engine_kw={"sweep_seconds": 0.3}) as rig:
            blast = await db(create_blast, numbers(60), resend_unknown=False)
            await wait_until(lambda: states(blast.pk) == {"delivered": 60}, timeout=60)
            return blast, Counter(rig.sim.accepted_by()), rig.sim.counters

    blast, accepted, counters = asyncio.run(scenario())
    rows = list(OutboundMessage.objects.filter(blast=blast))
    assert counters["responses_lost"] > 0 and set(accepted.values()) == {1}
    assert all(m.unknown_count >= accepted[m.to] - 1 for m in rows)
    assert sum(1 for m in rows if m.unknown_count) >= counters["responses_lost"]


def test_a_connection_the_smsc_slows_down_does_not_hold_back_the_others(transactional_db):
    """One blast over two operators' connections, each SMSC throttling at its own limit (50/s
    and 400/s, the engine is told neither). The slow one's messages wait their turn in the
    queue, not in the engine's buffer: the fast connection finishes at its own pace."""
    from warta.gateway import services
    from warta.gateway.transports import memory

    slow_numbers = [f"+6281210{i:06d}" for i in range(400)]
    fast_numbers = [f"+6281510{i:06d}" for i in range(400)]
    recipients = [n for pair in zip(slow_numbers, fast_numbers, strict=True) for n in pair]  # interleaved

    def connections() -> None:
        services.add_connection("lambat", "memory://lambat?window=16", operators=["telkomsel"])
        services.add_connection("cepat", "memory://cepat?window=16", operators=["indosat"])

    async def scenario():
        slow = memory.smsc("lambat", tps=50)
        fast = memory.smsc("cepat", tps=400)
        try:
            await db(connections)
            async with Rig() as rig:  # its own connection routes nothing of this blast's
                blast = await db(create_blast, recipients)

                def fast_done() -> bool:
                    return len(fast.accepted_by()) >= 400

                await wait_until(fast_done, timeout=60)
                slow_share = len(slow.accepted_by()) / 400
                await wait_until(lambda: states(blast.pk) == {"delivered": 800}, timeout=60)
                return slow_share, rig.engine.stats["released_paced"]
        finally:
            memory.forget("lambat")
            memory.forget("cepat")

    slow_share, released = asyncio.run(scenario())
    assert slow_share < 0.6, slow_share  # the fast one did not wait for the slow one
    # The claim per connection takes for the slow one only what it can send: nothing claimed
    # has to go back to the queue (before it, the buffer's overflow went back: released > 0).
    assert released == 0


@pytest.mark.parametrize("by_operator", [False, True], ids=["interleaved", "by-operator"])
def test_each_connection_claims_the_rows_it_can_carry_at_its_own_pace(transactional_db, by_operator):
    """#13 item 3: the claim is per connection. Two operators' connections, each SMSC throttling
    at its own limit the engine is not told (50/s and 400/s); the fast operator has one and a half
    times the slow one's recipients, and with ``by_operator`` the slow operator's rows all come first
    in the queue. The fast connection is fed rows it can carry at its own pace — not its share
    of a claim in id order, and not only after the slow operator's rows — so it finishes while
    the slow one has done little, and no row is claimed for a connection that cannot take it."""
    from warta.gateway import services
    from warta.gateway.transports import memory

    slow_numbers = [f"+6281210{i:06d}" for i in range(300)]
    # 450, not 900: on a slow machine the engine itself feeds the fast connection at ~225/s, and
    # 900 rows took long enough for the slow one to pass the line while being fed correctly.
    fast_numbers = [f"+6281510{i:06d}" for i in range(450)]
    if by_operator:
        recipients = slow_numbers + fast_numbers
    else:
        recipients = [n for k in range(150) for n in (*slow_numbers[2 * k: 2 * k + 2], *fast_numbers[3 * k: 3 * k + 3])]

    def connections() -> None:
        services.add_connection("lambat", "memory://lambat?window=16", operators=["telkomsel"])
        services.add_connection("cepat", "memory://cepat?window=16", operators=["indosat"])

    async def scenario():
        slow = memory.smsc("lambat", tps=50)
        fast = memory.smsc("cepat", tps=400)
        try:
            await db(connections)
            async with Rig() as rig:
                blast = await db(create_blast, recipients)
                await wait_until(lambda: len(fast.accepted_by()) >= 450, timeout=60)
                slow_done = len(slow.accepted_by())
                await wait_until(lambda: states(blast.pk) == {"delivered": 750}, timeout=60)
                return slow_done, rig.engine.stats
        finally:
            memory.forget("lambat")
            memory.forget("cepat")

    slow_done, stats = asyncio.run(scenario())
    assert slow_done < 300 * 0.6, slow_done  # the fast one did not wait for the slow one's rows
    assert stats["released_paced"] == 0, stats  # nothing claimed for a connection that cannot take it


def test_concurrent_send_transactions_send_each_message_once_within_the_window(transactional_db):
    """Several send transactions at once (PostgreSQL's ``send_lanes``; SQLite runs one): the
    slots a claim will fill are reserved while it runs, so two claims never count the same free
    slot — no more rows in ``sending`` than the window, and each recipient exactly once."""
    from warta.blasts.models import OutboundMessage

    def sending() -> int:
        return OutboundMessage.objects.filter(state="sending").count()

    async def scenario():
        async with Rig(query="window=8", engine_kw={"send_lanes": 3}, answer_delay=0.01) as rig:
            blast = await db(create_blast, numbers(400))
            most = 0
            deadline = asyncio.get_running_loop().time() + 60
            while await db(states, blast.pk) != {"delivered": 400}:
                most = max(most, await db(sending))
                assert asyncio.get_running_loop().time() < deadline, "blast did not finish"
                await asyncio.sleep(0.005)
            assert 0 < most <= 8
            accepted = _submitted_to(rig)
            assert sorted(accepted) == sorted(numbers(400))  # every recipient exactly once
            return rig.engine

    engine = asyncio.run(scenario())
    from django.db import connection

    assert engine.send_lanes == (3 if connection.vendor == "postgresql" else 1)


def test_the_receipt_latency_gauge_measures_submit_to_receipt(transactional_db):
    """/metrics' receipt latency: one observation per final receipt, the time from the submit
    to its receipt — here the simulator's receipt delay (0.3 s), not zero and not hours (a time
    zone slip would show as 25,200 s)."""
    async def scenario():
        async with Rig(receipt_delay=0.3):
            blast = await db(create_blast, numbers(40))
            await wait_until(lambda: states(blast.pk) == {"delivered": 40})

    asyncio.run(scenario())
    from django.db.models import Sum

    from warta.gateway.models import GatewayCount

    def total(metric):
        return GatewayCount.objects.filter(metric=metric).aggregate(v=Sum("value"))["v"]

    assert total("receipt_latency_count") == 40
    mean = total("receipt_latency_seconds_sum") / 40
    assert 0.25 <= mean < 3.0, mean


def _sent_with_parts(n: int, state: str) -> tuple[Any, list[int], Any]:
    """A blast of ``n`` messages already sent on a connection, each with its part (SMSC id
    ``smsc-<message id>``), in ``state``. Returns (connection, message ids, the time)."""
    from datetime import UTC, datetime

    from warta.blasts.models import MessagePart, OutboundMessage

    from .engine_harness import create_connection

    conn = create_connection(2775)
    blast = create_blast(numbers(n))
    now = datetime.now(UTC)
    mine = OutboundMessage.objects.filter(blast=blast)
    mine.update(state=state, sent_at=now, submitted_at=now, done_at=None if state == "submitted" else now,
                connection=conn)
    ids = list(mine.order_by("id").values_list("id", flat=True))
    MessagePart.objects.bulk_create(
        MessagePart(message_id=mid, connection=conn, smsc_message_id=f"smsc-{mid}", submitted_at=now) for mid in ids)
    return conn, ids, now


def _reading(model: Any, fn: Any) -> tuple[Any, int]:
    """``fn()`` in a transaction rolled back after; returns its result and how many rows of
    ``model``'s table it read (PostgreSQL's counters of the current transaction)."""
    from django.db import connection, transaction

    def read() -> int:
        with connection.cursor() as cur:
            cur.execute("SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) "
                        "FROM pg_stat_xact_user_tables WHERE relname = %s", [model._meta.db_table])
            return int(cur.fetchone()[0])

    with transaction.atomic():
        before = read()
        out = fn()
        n = read() - before
        transaction.set_rollback(True)
    return out, n


def _receipts_reading(model: Any, conn: Any, smsc_ids: list[str], now: Any) -> tuple[list[Any], int]:
    """Apply ``smsc_ids``' DELIVRD receipts (rolled back); the rows moved and the rows of
    ``model``'s table read."""
    from warta.blasts.transitions import Outbox

    return _reading(model, lambda: Outbox().receipt_by_part(conn.pk, smsc_ids, "delivered", "", now))


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="PostgreSQL's planner; SQLite looks parts up through the same unique index")
def test_a_batch_of_receipts_reads_only_its_own_parts_on_a_young_table(transactional_db):
    """The receipt UPDATE finds parts by (SMSC id, connection) through the unique index, one
    probe per receipt. On a table without statistics yet (a new installation's first big
    blast) PostgreSQL used to look them up by the connection alone and read every part ever sent
    on it, per batch of receipts: 3,000 here, millions in a year."""
    from warta.blasts.models import MessagePart

    conn, ids, now = _sent_with_parts(3000, "submitted")
    some = [f"smsc-{mid}" for mid in ids[1000:1005]]
    moved, read = _receipts_reading(MessagePart, conn, some, now)
    assert sorted(r[0] for r in moved) == sorted(some)
    assert read <= 20, f"{read} parts read for 5 receipts"


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="PostgreSQL's planner and statistics")
def test_a_batch_of_receipts_reads_only_its_own_messages_when_the_statistics_are_old(transactional_db):
    """Statistics taken before a big blast say no message is waiting for a receipt (on a table of
    a year of blasts, autovacuum may not analyse it again during the blast). The receipt UPDATE
    must still take its own messages by primary key, not read every waiting message through the
    no-receipt sweep's partial index: 2,000 here, hundreds of thousands in a big blast — per
    batch of receipts."""
    from django.db import connection

    from warta.blasts.models import MessagePart, OutboundMessage

    conn, ids, now = _sent_with_parts(4000, "delivered")
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {OutboundMessage._meta.db_table}")
        cur.execute(f"ANALYZE {MessagePart._meta.db_table}")
    waiting = ids[:2000]
    OutboundMessage.objects.filter(id__in=waiting).update(state="submitted", done_at=None)  # after the statistics
    some = [f"smsc-{mid}" for mid in waiting[1000:1005]]
    moved, read = _receipts_reading(OutboundMessage, conn, some, now)
    assert sorted(r[0] for r in moved) == sorted(some)
    assert read <= 20, f"{read} messages read for 5 receipts"


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="PostgreSQL's planner and statistics")
@pytest.mark.parametrize("refreshed", [True, False], ids=["statistics refreshed", "statistics old"])
def test_a_large_blast_is_claimed_through_the_claim_index_whatever_the_statistics_said(transactional_db,
                                                                                       monkeypatch, refreshed):
    """Statistics taken before a large blast was queued do not know it: the claim then read the
    whole blast through the plain blast index and sorted it, for every batch (all 2,000 rows here
    for 64; a million per claim in a million-recipient blast, 42 ms per claim at 100,000). Queuing a
    large blast refreshes the statistics once it is committed; and the claim now runs its generic
    plan, which walks the claim index whatever the statistics say — so a claim reads about what
    it takes even before the refresh (old statistics: the claim of the buffer, not the send
    lane's)."""
    from datetime import UTC, datetime

    from django.db import connection

    from warta.blasts import outbox
    from warta.blasts.models import OutboundMessage
    from warta.blasts.transitions import Outbox

    monkeypatch.setattr(outbox, "ANALYZE_AFTER", 2000 if refreshed else 10**9)
    history = create_blast(numbers(30_000))  # last month's blasts (enough that a scan costs)
    now = datetime.now(UTC)
    OutboundMessage.objects.filter(blast=history).update(state="delivered", sent_at=now, submitted_at=now, done_at=now)
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {OutboundMessage._meta.db_table}")
    blast = create_blast(numbers(2000, start=10_000))
    claimed, n = _reading(OutboundMessage,
                          lambda: Outbox().claim(blast.pk, 64, datetime.now(UTC), engine_id="uji"))
    assert len(claimed) == 64
    assert n <= 300, f"{n} outbox rows read to claim 64"
    operator = claimed[0][2]  # a connection routed by operator claims only its own
    claimed, n = _reading(OutboundMessage, lambda: Outbox().claim(
        blast.pk, 64, datetime.now(UTC), engine_id="uji", operators=[operator], not_operators=["tidak-ada"]))
    assert len(claimed) == 64 and {r[2] for r in claimed} == {operator}
    assert n <= 300, f"{n} outbox rows read to claim 64 of {operator}"


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="PostgreSQL's prepared statements and generic plans")
@pytest.mark.parametrize("statistics", ["none", "history", "all queued"])
def test_the_send_lanes_claim_is_planned_once_and_reads_only_what_it_takes(transactional_db, monkeypatch,
                                                                            statistics):
    """The send lane's claim (straight into ``sending``) runs every turn with a LIMIT of the free
    window slots: PostgreSQL planned it afresh every time (a generic plan costed for a tenth of
    the blast looked dearer), 0.47 ms a turn. It now always runs its generic plan — which must
    then be good whatever the statistics: no statistics yet, statistics of last month's history
    that do not know the blast, statistics saying every row is queued. Each claim of 64 reads
    about 64 rows (a generic plan that hash-joined the claimed ids read the whole outbox: 32,000
    here), the statement is planned once, and the session's plan mode is what it was before."""
    from datetime import UTC, datetime

    from django.db import connection

    from warta.blasts import outbox
    from warta.blasts.models import Blast, OutboundMessage
    from warta.gateway.engine import Engine

    from .engine_harness import create_connection

    monkeypatch.setattr(outbox, "ANALYZE_AFTER", 10**9)  # the statistics are the scenario's
    conn = create_connection(1)
    table = OutboundMessage._meta.db_table
    if statistics == "history":
        history = create_blast(numbers(30_000, start=50_000))
        now = datetime.now(UTC)
        OutboundMessage.objects.filter(blast=history).update(state="delivered", sent_at=now, submitted_at=now,
                                                             done_at=now)
        Blast.objects.filter(pk=history.pk).update(state=Blast.State.DONE, finished_at=now)
    blast = create_blast(numbers(2000 if statistics == "history" else 32_000))
    if statistics != "none":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {table}")
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_custom_plan")  # a DBA's choice, to be kept
    engine = Engine()
    engine.register()
    engine.load_routes()

    def read() -> int:
        with connection.cursor() as cur:
            cur.execute("SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) "
                        "FROM pg_stat_xact_user_tables WHERE relname = %s", [table])
            return int(cur.fetchone()[0])

    try:
        for turn in range(8):
            with transaction.atomic():
                before = read()
                res = engine.flush_send([], {}, 0, None, direct=(conn.pk, 64))
                n = read() - before
                with connection.cursor() as cur:
                    cur.execute("SHOW plan_cache_mode")
                    mode = cur.fetchone()[0]
            assert len(res.direct) == 64
            assert n <= 400, f"turn {turn}: {n} outbox rows read to claim 64 (statistics: {statistics})"
            assert mode == "force_custom_plan"
        with connection.cursor() as cur:
            cur.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                        "WHERE statement LIKE 'WITH c AS MATERIALIZED%%'")
            plans = cur.fetchall()
        assert plans == [(8, 0)], plans
        assert states(blast.pk)["sending"] == 8 * 64
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET plan_cache_mode")


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="PostgreSQL's prepared statements and generic plans")
def test_the_prepared_statements_read_only_their_own_rows_with_a_generic_plan(transactional_db):
    """The submit and receipt statements are prepared (planned once per connection); after five
    runs PostgreSQL may switch to a generic plan, made without the parameters' values. Forced
    generic here, with the engine holding 2,000 rows: the submit of 5 must take its 5 by primary
    key — with ``engine_id = $n`` the generic plan read every row the engine held through
    ``outbox_engine_held`` — and 5 receipts their 5 parts and 5 messages."""
    from django.db import connection

    from warta.blasts.models import MessagePart, OutboundMessage
    from warta.blasts.transitions import Outbox

    conn, ids, now = _sent_with_parts(2000, "submitted")
    with connection.cursor() as cur:  # statistics from before the engine held anything
        cur.execute(f"ANALYZE {OutboundMessage._meta.db_table}")
    held = OutboundMessage.objects.filter(id__in=ids)
    held.update(state="sending", engine_id="uji", submitted_at=None)
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_generic_plan")
    try:
        some = ids[1000:1005]
        moved, read = _reading(OutboundMessage, lambda: Outbox().submit([(i, 0) for i in some], conn.pk, now,
                                                                        engine_id="uji"))
        assert sorted(r[0] for r in moved) == some
        assert read <= 20, f"{read} messages read to submit 5"

        held.update(state="submitted", engine_id=None, submitted_at=now)
        smsc_ids = [f"smsc-{mid}" for mid in some]
        moved, read = _receipts_reading(OutboundMessage, conn, smsc_ids, now)
        assert sorted(r[0] for r in moved) == sorted(smsc_ids)
        assert read <= 20, f"{read} messages read for 5 receipts"
        _moved, read = _receipts_reading(MessagePart, conn, smsc_ids, now)
        assert read <= 20, f"{read} parts read for 5 receipts"
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET plan_cache_mode")


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="a claim read after the COMMIT: PostgreSQL's pipeline")
def test_opted_out_numbers_of_a_claim_read_after_the_commit_are_never_sent(transactional_db, monkeypatch):
    """The send lane's claim is read after its COMMIT, so the numbers it says are opted out are
    made ``suppressed`` in a short transaction of their own — and are not sent even when that
    transaction fails (the database gone between the two)."""
    from warta.blasts import outbox
    from warta.contacts.services import opt_out
    from warta.gateway.engine import Engine

    from .engine_harness import create_connection

    conn = create_connection(1)
    recipients = numbers(6)
    blast = create_blast(recipients)
    for n in recipients[:2]:
        opt_out(n, "sms")
    engine = Engine()
    engine.register()
    engine.load_routes()
    res = engine.flush_send([], {}, 0, None, direct=(conn.pk, 6))
    assert sorted(i.to for i in res.direct) == sorted(recipients[2:])
    assert states(blast.pk) == {"sending": 4, "suppressed": 2}
    assert {s: n for s, n in outbox.status_counts(blast.pk).items() if n} == {"sending": 4, "suppressed": 2}

    others = numbers(4, start=100)
    second = create_blast(others)
    opt_out(others[0], "sms")

    def database_gone(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("server closed the connection unexpectedly")

    heir = Engine()
    heir.register()
    heir.load_routes()
    monkeypatch.setattr(heir, "_suppress", database_gone)
    res = heir.flush_send([], {}, 0, None, direct=(conn.pk, 10))
    assert sorted(i.to for i in res.direct) == sorted(others[1:])
    assert [i.to for i in res.unsent] == others[:1]  # marked, not sent: the loop gives it back
    assert states(second.pk) == {"sending": 4}


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="a claim read after the COMMIT: PostgreSQL's pipeline")
def test_a_message_marked_but_not_sent_goes_back_to_the_queue_when_the_database_fails(transactional_db):
    """The database fails right after a claim's COMMIT — while suppressing an opted-out number,
    then while giving it back to the queue. The engine keeps it and tries again: the number is
    never sent, ends ``suppressed``, and the blast finishes; nothing stays ``sending``."""
    from warta.contacts.services import opt_out

    recipients = numbers(8)

    async def scenario() -> None:
        async with Rig() as rig:
            engine = rig.engine
            suppress, unmark = engine._suppress, engine.unmark
            failures = {"suppress": 1, "unmark": 1}

            def flaky(name: str, fn: Any) -> Any:
                def call(*args: Any, **kw: Any) -> Any:
                    if failures[name]:
                        failures[name] -= 1
                        raise RuntimeError("server closed the connection unexpectedly")
                    return fn(*args, **kw)
                return call

            engine._suppress = flaky("suppress", suppress)
            engine.unmark = flaky("unmark", unmark)
            await db(opt_out, recipients[0], "sms")
            blast = await db(create_blast, recipients)
            await wait_until(lambda: states(blast.pk) == {"delivered": 7, "suppressed": 1})
            assert failures == {"suppress": 0, "unmark": 0}
            assert recipients[0] not in _submitted_to(rig)

    asyncio.run(scenario())


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="a claim read after the COMMIT: PostgreSQL's pipeline")
def test_a_claim_whose_rows_cannot_be_read_after_its_commit_goes_back_to_the_queue(transactional_db, monkeypatch):
    """A send transaction commits its claim (rows marked ``sending``), then reading the rows
    fails — the connection breaking at that instant, or a bug. None of them was sent, and the
    engine does not know their ids: it finds them by the claim's name (engine, connection,
    ``sent_at``) and gives them back to the queue — retrying when that fails too. Every number
    is then sent exactly once, the blast finishes, nothing stays ``sending``, the counts agree."""
    from warta.blasts import outbox
    from warta.blasts.transitions import Later

    recipients = numbers(40)
    run = Later.run
    failures = {"run": 1, "unmark_claim": 1}

    def broken_run(later: Later) -> None:
        if failures["run"] and later._waiting:
            failures["run"] -= 1
            later.close()
            raise RuntimeError("server closed the connection unexpectedly")
        run(later)

    monkeypatch.setattr(Later, "run", broken_run)

    async def scenario() -> None:
        async with Rig() as rig:
            engine = rig.engine
            unmark_claim = engine.unmark_claim

            def flaky(*args: Any) -> Any:
                if failures["unmark_claim"]:
                    failures["unmark_claim"] -= 1
                    raise RuntimeError("server closed the connection unexpectedly")
                return unmark_claim(*args)

            engine.unmark_claim = flaky
            blast = await db(create_blast, recipients)
            await wait_until(lambda: states(blast.pk) == {"delivered": 40})
            assert failures == {"run": 0, "unmark_claim": 0}
            assert engine.stats["unread_given_back"] > 0  # the first claim's rows, once
            assert sorted(_submitted_to(rig)) == sorted(recipients)  # each exactly once
            counts = await db(outbox.status_counts, blast.pk)
            assert {s: n for s, n in counts.items() if n} == {"delivered": 40}

    asyncio.run(scenario())


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="PostgreSQL's prepared statements and generic plans")
def test_a_prepared_claim_reads_the_queue_in_order_with_a_generic_plan(transactional_db):
    """The claim is prepared, so after five runs PostgreSQL may plan it without the parameters'
    values. Forced generic here, on statistics of a history of small blasts and a large new blast
    they do not know: the claim must still read the blast's queue through the partial claim
    index in order (about what it takes), not the whole blast through the plain blast index and
    a sort — which is all a generic plan could do while the state was a parameter."""
    from datetime import UTC, datetime

    from django.db import connection

    from warta.blasts.models import OutboundMessage
    from warta.blasts.transitions import Outbox

    from .engine_harness import create_connection

    conn = create_connection(1)
    now = datetime.now(UTC)
    for i in range(30):  # last month's blasts
        past = create_blast(numbers(500, start=100_000 + 500 * i))
        OutboundMessage.objects.filter(blast=past).update(state="delivered", sent_at=now, submitted_at=now, done_at=now)
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {OutboundMessage._meta.db_table}")
    blast = create_blast(numbers(3000, start=10_000))
    now = datetime.now(UTC)
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_generic_plan")
    try:
        claimed, n = _reading(OutboundMessage, lambda: Outbox().claim(blast.pk, 64, now, engine_id="uji"))
        assert len(claimed) == 64
        assert n <= 300, f"{n} outbox rows read to claim 64"
        marked, n = _reading(OutboundMessage,
                             lambda: Outbox().claim(blast.pk, 64, now, engine_id="uji", mark_conn=conn.pk))
        assert len(marked) == 64
        assert n <= 300, f"{n} outbox rows read to claim and mark 64"
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET plan_cache_mode")


def test_the_gateway_counters_count_every_submit_receipt_and_error_once(transactional_db):
    """/metrics' per-connection counters (``GatewayCount``) against what happened: the send lane
    counts submit results in its thread, the results lane receipts in its own and writes both.
    Every accepted submit, receipt and throttled answer is counted exactly once — a dict both
    threads added to while one wrote and cleared it lost some and doubled others (``submits``
    1.9 % short in a 60,000-message run on PostgreSQL)."""
    from warta.gateway.models import GatewayCount

    recipients = numbers(8000)

    async def scenario() -> tuple[dict[Any, float], int, int]:
        async with Rig(query="window=64&tps=2500") as rig:
            blast = await db(create_blast, recipients)
            await wait_until(lambda: states(blast.pk) == {"delivered": 8000}, timeout=60)
            await asyncio.sleep(0.3)  # the last results transaction
            conn_id = rig.connection.pk
            throttled = rig.sim.counters["throttled"]
        totals = await db(GatewayCount.totals)
        return {k[1:]: v for k, v in totals.items() if k[0] == conn_id}, throttled, len(_submitted_to(rig))

    counts, throttled, accepted = asyncio.run(scenario())
    assert accepted == 8000
    assert counts[("submits", "")] == 8000
    assert counts[("receipts", "DELIVRD")] == 8000
    assert counts.get(("throttled", ""), 0) == throttled


def test_counts_booked_by_a_transaction_that_rolled_back_are_never_written(transactional_db, monkeypatch):
    """A transaction of the engine's moves rows and books their counts, then fails before its
    COMMIT (here: writing the counter rows). The rows did not move — and their counts are not
    written later by the next transaction either, so the counters keep matching the rows."""
    from warta.blasts import outbox
    from warta.blasts.models import OutboxCount
    from warta.gateway.engine import Engine

    from .engine_harness import create_connection

    conn = create_connection(1)
    blast = create_blast(numbers(6))
    engine = Engine()
    engine.register()
    engine.load_routes()
    res = engine.flush_send([], {}, 0, None, direct=(conn.pk, 6))
    assert len(res.direct) == 6 and states(blast.pk) == {"sending": 6}

    add = OutboxCount.add
    failures = {"left": 1}

    def flaky(deltas: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("server closed the connection unexpectedly")
        add(deltas)

    monkeypatch.setattr(OutboxCount, "add", flaky)
    with pytest.raises(RuntimeError):
        engine.unmark(res.direct[:3])
    assert states(blast.pk) == {"sending": 6}  # rolled back
    engine.unmark(res.direct[:3])
    assert states(blast.pk) == {"sending": 3, "queued": 3}
    assert {s: n for s, n in outbox.status_counts(blast.pk).items() if n} == {"sending": 3, "queued": 3}
