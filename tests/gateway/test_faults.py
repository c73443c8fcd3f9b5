"""The fault suite: the engine against the simulator's fault modes, over real sockets.

Each test asserts the outbox's promises under its fault (``assert_exact``): nothing lost (every
row final), every duplicate counted (a recipient the SMSC accepted n times has
``unknown_count >= n - 1``), no final failure for a message the SMSC accepted, a row said
delivered only when the SMSC took it, and the blast marked ``selesai``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from .engine_harness import Rig, create_blast, db, numbers, states, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

FINAL = {"delivered", "undelivered", "expired", "rejected", "failed", "cancelled", "suppressed"}


def accepted_by_smsc(rig: Rig) -> Counter[str]:
    """Recipients the SMSC took (answered or not), with how many times."""
    return Counter("+" + r["destination_addr"] for r in rig.submits() if r.get("message_id"))


def all_final(blast_id: int) -> bool:
    return set(states(blast_id)) <= FINAL


def assert_exact(blast_id: int, accepted: Counter[str], *, final: bool = True) -> dict[str, Any]:
    from warta.blasts.models import OutboundMessage
    from warta.blasts.outbox import status_counts

    rows = {m.to: m for m in OutboundMessage.objects.filter(blast_id=blast_id)}
    if final:
        assert {m.state for m in rows.values()} <= FINAL, Counter(m.state for m in rows.values())
    for to, n in accepted.items():
        m = rows[to]
        assert m.unknown_count >= n - 1, f"{to} accepted {n}× but unknown_count={m.unknown_count}"
        assert m.state not in ("failed", "rejected"), f"{to} accepted by the SMSC but {m.state}: {m.error}"
    for m in rows.values():
        if m.state == "delivered":
            assert accepted[m.to] >= 1, f"{m.to} delivered but never accepted"
    counts = status_counts(blast_id)
    assert {s: n for s, n in counts.items() if n} == dict(Counter(m.state for m in rows.values()))
    # Every message the SMSC is known to have taken carries its cost, however it became known
    # (its answer, a late answer, a receipt matched by number), and the blast's total adds them.
    from warta.blasts.models import OutboxCount

    unbilled = [m.to for m in rows.values() if m.submitted_at is not None and not m.cost]
    assert not unbilled, f"accepted without a cost: {unbilled[:5]}"
    assert OutboxCount.cost_total(blast_id) == sum((m.cost or 0) for m in rows.values())
    if final:
        # Every row final: the blasts' clock marks the blast ``selesai``.
        from warta.blasts import outbox
        from warta.blasts.models import Blast

        outbox.sweep()
        assert Blast.objects.get(pk=blast_id).state == Blast.State.DONE
    return {"rows": rows, "counts": counts}


async def each_taken_once_and_delivered(rig: Rig, blast_id: int, recipients: list[str]) -> None:
    """Every number taken by the SMSC exactly once, every message delivered, the counts exact."""
    accepted = accepted_by_smsc(rig)
    assert sorted(accepted) == sorted(recipients)
    assert set(accepted.values()) == {1}  # nobody twice
    result = await db(assert_exact, blast_id, accepted)
    assert {m.state for m in result["rows"].values()} == {"delivered"}


@pytest.mark.parametrize("query", ["window=64", "window=64&tps=3000"])
def test_a_throttling_smsc_slows_the_bind_down_without_failing_a_message(transactional_db, query):
    """The SMSC allows 150 submits/s and answers the rest ESME_RTHROTTLED; the connection says
    nothing of a limit (or a far higher one). The bind finds the SMSC's rate (AIMD): every
    message delivered once, no attempt burnt on a throttle, fewer throttles than accepts."""
    recipients = numbers(900)

    async def scenario():
        async with Rig(tcp=True, tps=150, query=query) as rig:
            blast = await db(create_blast, recipients)
            await wait_until(lambda: states(blast.pk) == {"delivered": 900}, timeout=60)
            return blast, accepted_by_smsc(rig), rig.sim.counters["throttled"]

    blast, accepted, throttled = asyncio.run(scenario())
    result = assert_exact(blast.pk, accepted)
    assert set(accepted.values()) == {1} and len(accepted) == 900
    assert all(m.attempts == 1 for m in result["rows"].values())  # throttles are not attempts
    assert 0 < throttled < 900 // 2  # the bind slowed down to what the SMSC takes


def test_answers_slower_than_the_timeout_settle_late_and_the_timeout_adapts(transactional_db):
    """submit_sm_resp comes after 1.2 s; the timeout is 0.3 s. The first window goes
    ``unknown`` (counted), its late answers keep their message ids and settle it, the timeout
    grows to the SMSC's latency, and nothing is sent twice (the blast does not resend unknowns)."""
    recipients = numbers(120)

    async def scenario():
        async with Rig(tcp=True, faults=frozenset({"slow"}), slow_ms=1200,
                       query="window=16&timeout=0.3&reconnect_min=0.05&reconnect_max=0.2") as rig:
            blast = await db(create_blast, recipients, resend_unknown=False)
            await wait_until(lambda: states(blast.pk) == {"delivered": 120}, timeout=90)
            bind = next(iter(rig.engine.binds.values())).bind
            return blast, accepted_by_smsc(rig), bind.client

    blast, accepted, client = asyncio.run(scenario())
    result = assert_exact(blast.pk, accepted)
    assert set(accepted.values()) == {1}  # not one duplicate
    assert client.stats["late_responses"] > 0 and client.timeout > 1.2
    assert any(m.unknown_count for m in result["rows"].values())  # the doubt was counted


def test_slow_answers_with_resends_are_counted_and_settled(transactional_db):
    recipients = numbers(80)

    async def scenario():
        async with Rig(tcp=True, faults=frozenset({"slow"}), slow_ms=1000,
                       query="window=16&timeout=0.3&reconnect_min=0.05&reconnect_max=0.2",
                       engine_kw={"sweep_seconds": 0.3}) as rig:
            blast = await db(create_blast, recipients, resend_unknown=True)
            await wait_until(lambda: all_final(blast.pk) and sum(states(blast.pk).values()) == 80, timeout=90)
            return blast, accepted_by_smsc(rig)

    blast, accepted = asyncio.run(scenario())
    result = assert_exact(blast.pk, accepted)
    assert result["counts"]["delivered"] == 80
    assert sum(accepted.values()) - len(accepted) <= sum(m.unknown_count for m in result["rows"].values())


def test_a_message_sent_again_before_its_late_answer_is_charged_for_both_submits(transactional_db):
    """Answers come 2.5 s late, the time-out is 0.3 s and the blast resends unknowns: messages go
    out again before their first answer arrives, and the SMSC accepts (and the operator bills)
    both. When every late answer is in, each message costs as many submits as the SMSC accepted
    — once for one, twice for two — and the blast's total is the rows' sum (``assert_exact``)."""
    recipients = numbers(30)

    async def scenario():
        async with Rig(tcp=True, faults=frozenset({"slow"}), slow_ms=2500,
                       query="window=16&timeout=0.3&reconnect_min=0.05&reconnect_max=0.2",
                       engine_kw={"sweep_seconds": 0.3}) as rig:
            blast = await db(create_blast, recipients, resend_unknown=True)
            await wait_until(lambda: all_final(blast.pk) and sum(states(blast.pk).values()) == 30, timeout=90)
            # The last late answers come up to 2.5 s after the last submit.
            with contextlib.suppress(AssertionError):  # wait_until's time-out; asserted below
                await wait_until(lambda: costs(blast) == billed(blast, accepted_by_smsc(rig)), timeout=20)
            return blast, accepted_by_smsc(rig)

    def costs(blast):
        from warta.blasts.models import OutboundMessage

        return dict(OutboundMessage.objects.filter(blast=blast).values_list("to", "cost"))

    def billed(blast, accepted):
        from warta.blasts.models import OutboundMessage
        from warta.blasts.outbox import message_cost, tariff_table

        table = tariff_table()
        return {to: message_cost(table, blast.sender.name, op, 1) * accepted[to]
                for to, op in OutboundMessage.objects.filter(blast=blast).values_list("to", "operator")}

    blast, accepted = asyncio.run(scenario())
    assert_exact(blast.pk, accepted)
    assert max(accepted.values()) >= 2  # the scenario did send messages twice
    assert costs(blast) == billed(blast, accepted)


@pytest.mark.parametrize("resend", [False, True])
def test_lost_responses_are_unknown_then_settled_by_their_receipts(transactional_db, resend):
    """A fifth of submit_sm_resps never come, but the SMSC took the messages and their
    receipts come: each such message is ``unknown`` (counted) until its receipt, matched by the
    handset and sender, settles it."""
    recipients = numbers(100)

    async def scenario():
        async with Rig(tcp=True, faults=frozenset({"lose-responses"}), lose_share=0.2,
                       query="window=16&timeout=0.3&reconnect_min=0.05&reconnect_max=0.2",
                       engine_kw={"sweep_seconds": 0.3}) as rig:
            blast = await db(create_blast, recipients, resend_unknown=resend)
            await wait_until(lambda: states(blast.pk) == {"delivered": 100}, timeout=60)
            return blast, accepted_by_smsc(rig), rig.sim.counters["responses_lost"]

    blast, accepted, lost = asyncio.run(scenario())
    result = assert_exact(blast.pk, accepted)
    assert lost > 0
    assert sum(1 for m in result["rows"].values() if m.unknown_count) >= min(lost, 100) // 2
    # The receipts stored to be matched by handset keep what their text: quoted.
    from warta.blasts.models import Receipt

    quotes = set(Receipt.objects.values_list("text", flat=True))
    assert quotes == {"Uji Warta"}
    if not resend:
        assert set(accepted.values()) == {1}


def test_an_outage_counts_the_window_in_flight_and_expires_what_lost_its_receipt(transactional_db):
    """The SMSC dies mid-blast and forgets its undelivered receipts. The rows in flight are
    ``unknown`` (counted; resent, as the blast allows), the blast finishes after the restart,
    and once the validity is over the rows whose receipt was lost are ``expired`` with
    "tidak ada laporan", counted apart."""
    from django.utils import timezone

    from warta.gateway.engine import NO_REPORT, Engine

    recipients = numbers(600)

    async def scenario():
        async with Rig(tcp=True, receipt_delay=1.0, faults=frozenset({"slow"}), slow_ms=200,
                       query="window=32&reconnect_min=0.05&reconnect_max=0.2") as rig:
            blast = await db(create_blast, recipients)
            await wait_until(lambda: len(rig.submits()) > 200, timeout=30)
            await rig.sim.go_down(lose_receipts=True)
            await asyncio.sleep(1.0)
            await rig.sim.come_back()
            await wait_until(lambda: set(states(blast.pk)) <= {"delivered", "submitted"}
                             and sum(states(blast.pk).values()) == 600, timeout=60)
            await asyncio.sleep(1.5)  # the receipts the SMSC kept
            return blast, accepted_by_smsc(rig), rig.sim.counters["receipts_lost"]

    blast, accepted, receipts_lost = asyncio.run(scenario())
    assert receipts_lost > 0
    waiting = states(blast.pk).get("submitted", 0)
    assert waiting > 0
    # 49 hours later (validity 48 h by default), the sweep ends them.
    later = Engine(clock=lambda: timezone.now() + timedelta(hours=49))
    later.expire_unreported()
    later._write_deltas()
    result = assert_exact(blast.pk, accepted)
    expired = [m for m in result["rows"].values() if m.state == "expired"]
    assert len(expired) == waiting and all(m.error == NO_REPORT for m in expired)
    from warta.blasts.models import OutboxCount

    assert OutboxCount.totals(blast.pk)["no_report"] == waiting
    assert result["counts"]["delivered"] + waiting == 600
    assert sum(m.unknown_count for m in result["rows"].values()) > 0  # the window in flight, counted


def test_a_password_fixed_on_the_connection_reaches_the_running_engine(transactional_db):
    """The SMSC's password changed; binds fail. ``connection set`` fixes the URL while the
    engine runs: it binds with the new password within seconds, and sends everything."""
    from warta.gateway import services
    from warta.gateway.models import Connection

    async def scenario():
        async with Rig(tcp=True, accounts={"warta": "baru"}, query="window=16&reconnect_min=0.05&reconnect_max=0.2") as rig:
            blast = await db(create_blast, numbers(30))
            await wait_until(lambda: rig.sim.counters["bind_failures"] >= 2, timeout=20)
            assert await db(states, blast.pk) == {"queued": 30}

            def fix() -> None:
                conn = Connection.objects.get(pk=rig.connection.pk)
                services.update_connection(conn, url=conn.url.replace(":secret@", ":baru@"))

            await db(fix)
            t0 = asyncio.get_running_loop().time()
            await wait_until(lambda: states(blast.pk) == {"delivered": 30}, timeout=20)
            assert asyncio.get_running_loop().time() - t0 < 8
            return blast, accepted_by_smsc(rig)

    blast, accepted = asyncio.run(scenario())
    assert_exact(blast.pk, accepted)


def test_a_disabled_connection_is_unbound_by_the_running_engine(transactional_db):
    from warta.gateway import services
    from warta.gateway.models import Connection

    async def scenario():
        async with Rig(tcp=True) as rig:
            for _ in range(100):
                if rig.sim.bound_receivers:
                    break
                await asyncio.sleep(0.05)
            assert rig.sim.bound_receivers
            await db(lambda: services.update_connection(Connection.objects.get(pk=rig.connection.pk),
                                                        is_active=False))
            for _ in range(100):
                if not rig.sim.bound_receivers:
                    break
                await asyncio.sleep(0.05)
            assert not rig.sim.bound_receivers and not rig.engine.binds

    asyncio.run(scenario())


@pytest.mark.parametrize("fault", ["silent", "blackhole"])
def test_an_smsc_that_answers_nothing_is_treated_as_down_not_as_failures(transactional_db, fault):
    """``silent``: TCP accepted, nothing answered (not even the bind). ``blackhole``: bound,
    submits never answered. Neither fails a message: the link is declared dead and
    reconnected, what was in flight is counted ``unknown``, and once the SMSC answers again
    the blast completes."""
    recipients = numbers(60)

    async def scenario():
        async with Rig(tcp=True, faults=frozenset({fault}),
                       query="window=16&timeout=0.3&reconnect_min=0.05&reconnect_max=0.2") as rig:
            blast = await db(create_blast, recipients)
            await asyncio.sleep(3.0)
            during = await db(states, blast.pk)
            connections = rig.sim.counters["connections"]
            rig.sim.set_faults()
            await wait_until(lambda: states(blast.pk) == {"delivered": 60}, timeout=60)
            return blast, accepted_by_smsc(rig), during, connections

    blast, accepted, during, connections = asyncio.run(scenario())
    assert "failed" not in during
    assert connections >= 2  # it gave up on the dead link and connected again
    result = assert_exact(blast.pk, accepted)
    assert set(accepted.values()) == {1}
    if fault == "blackhole":
        assert any(m.unknown_count for m in result["rows"].values())
        assert max(m.attempts for m in result["rows"].values()) < 10


def test_undelivered_rows_keep_the_receipts_stat_and_err(transactional_db, client, actors):
    async def scenario():
        async with Rig(tcp=True, undeliv_share=0.5) as rig:
            blast = await db(create_blast, numbers(40))
            await wait_until(lambda: all_final(blast.pk) and sum(states(blast.pk).values()) == 40)
            return blast, accepted_by_smsc(rig)

    blast, accepted = asyncio.run(scenario())
    result = assert_exact(blast.pk, accepted)
    undelivered = [m for m in result["rows"].values() if m.state == "undelivered"]
    assert undelivered and all(m.error == "UNDELIV err:001" for m in undelivered)
    assert all(m.error == "" for m in result["rows"].values() if m.state == "delivered")
    # … and the console shows them per recipient (masked), with what the SMSC said.
    from tests.conftest import login
    from warta.sms.numbers import mask

    login(client, actors["operator"])
    page = client.get(f"/blast/konsol/{blast.pk}/").content.decode()
    assert 'id="failures"' in page
    for m in undelivered:
        assert mask(m.to) in page
    assert page.count('data-testid="failure-error">UNDELIV err:001<') == len(undelivered)


def test_unmatched_receipts_are_given_up_and_counted_on_the_gateway(transactional_db):
    from django.utils import timezone

    from warta.blasts.models import Receipt
    from warta.gateway import services
    from warta.gateway.engine import Engine
    from warta.gateway.models import GatewayCount

    from .engine_harness import create_connection

    conn = create_connection(1)
    Receipt.objects.create(connection=conn, smsc_message_id="dead1", stat="DELIVRD",
                           received_at=timezone.now() - timedelta(hours=2), source="6281300000001",
                           destination="HumasDKI")
    engine = Engine()
    engine.match_orphan_receipts()
    engine._write_deltas()
    assert Receipt.objects.get().matched_at is not None
    assert GatewayCount.totals()[(conn.pk, "receipts_orphaned", "")] == 1
    assert services.describe(conn)["receipts"] == {"waiting": 0, "orphaned": 1}


def test_a_restarted_engine_takes_over_its_own_dead_lease_at_once(transactional_db, caplog):
    import os
    import socket
    import subprocess

    from django.utils import timezone

    from warta.blasts.models import OutboundMessage
    from warta.gateway.engine import Engine
    from warta.gateway.models import EngineLease

    from .engine_harness import create_connection

    conn = create_connection(1)
    blast = create_blast(numbers(4), resend_unknown=False)
    dead = Engine(engine_id="gw-1")
    dead.register()
    dead.load_routes()
    items = dead.claim_batch(10)
    dead.mark_sending({conn.pk: items[:2]})
    dead._write_deltas()
    # The earlier run's process is gone, its lease has not expired yet.
    proc = subprocess.Popen(["true"])  # noqa: S607
    proc.wait()
    EngineLease.objects.filter(engine_id="gw-1").update(pid=proc.pid, heartbeat_at=timezone.now() - timedelta(seconds=3))
    assert proc.pid != os.getpid()

    heir = Engine(engine_id="gw-2")
    with caplog.at_level("WARNING", logger="warta.gateway.engine"):
        heir.register()
    assert not EngineLease.objects.filter(engine_id="gw-1").exists()
    assert OutboundMessage.objects.filter(blast=blast, state="unknown", unknown_count=1).count() == 2
    assert "reaped dead engine gw-1" in caplog.text and "None" not in caplog.text
    assert EngineLease.objects.get(engine_id="gw-2").hostname == socket.gethostname()[:100]

    # The same identity restarting (another process) takes over its lease at once too.
    EngineLease.objects.filter(engine_id="gw-2").update(pid=proc.pid)
    again = Engine(engine_id="gw-2")
    again.register()
    assert EngineLease.objects.get(engine_id="gw-2").pid == os.getpid()


def test_a_citizens_sms_redelivered_after_its_answer_was_lost_is_one_message_and_one_ticket(transactional_db):
    """The SMSC never gets the deliver_sm_resp of a citizen's SMS (lost with the link) and
    delivers it again on the next bind, with a new session's sequence number. The inbox holds
    it once: one message, one ticket, one acknowledgement queued."""
    from warta.gateway.simulator import Fault
    from warta.inbox.models import Message, Ticket

    def counts() -> tuple[int, int]:
        return Message.objects.filter(direction="in").count(), Ticket.objects.count()

    async def scenario():
        async with Rig(tcp=True, query="window=16&reconnect_min=0.05&reconnect_max=0.2") as rig:
            await wait_until(lambda: bool(rig.sim.bound_receivers))
            # Two other citizens first, answered: the lost one is the link's third deliver_sm,
            # its redelivery the new link's first (sequence numbers differ, as they would).
            rig.sim.inject_mo("6281234567801", "02132881818", "Lampu PJU mati di Jl. Kenanga")
            rig.sim.inject_mo("6281234567802", "02132881818", "Terima kasih atas infonya")
            await wait_until(lambda: rig.sim.counters["mo_sent"] == 2
                             and not any(c.mo_in_flight for c in rig.sim.connections))
            rig.sim.set_faults(Fault.LOSE_MO_ANSWERS, lose_share=1.0)
            rig.sim.inject_mo("6281234567890", "02132881818", "Saluran air tersumbat di RT 05 Cempaka Putih")
            await wait_until(lambda: rig.sim.counters["mo_answers_lost"] == 1)
            assert await db(counts) == (3, 3)
            rig.sim.set_faults()
            await rig.sim.go_down(lose_receipts=False)
            await asyncio.sleep(0.3)
            await rig.sim.come_back()
            # The redelivery went out and was answered (no MO left in flight anywhere).
            await wait_until(lambda: rig.sim.counters["mo_sent"] == 4
                             and not any(c.mo_in_flight for c in rig.sim.connections), timeout=20)
            assert rig.sim.counters["mo_redelivered"] == 1
            await asyncio.sleep(0.3)
            return await db(counts)

    assert asyncio.run(scenario()) == (3, 3)


def test_a_citizens_sms_the_database_could_not_store_is_delivered_again_and_kept_once(transactional_db):
    """The database fails while the engine stores a citizen's SMS: the engine answers the
    deliver_sm with a temporary error, the SMSC delivers it again, and the inbox holds it once —
    one message, one ticket."""
    from warta.inbox.models import Message, Ticket

    def counts() -> tuple[int, int]:
        return Message.objects.filter(direction="in").count(), Ticket.objects.count()

    async def scenario() -> tuple[int, int]:
        async with Rig(tcp=True, redeliver_delay=0.1) as rig:
            engine = rig.engine
            store, failures = engine.store_mos, {"left": 1}

            def flaky(mos: Any) -> Any:
                if mos and failures["left"]:
                    failures["left"] -= 1
                    raise RuntimeError("server closed the connection unexpectedly")
                return store(mos)

            engine.store_mos = flaky
            await wait_until(lambda: bool(rig.sim.bound_receivers))
            rig.sim.inject_mo("6281234567890", "02132881818", "Saluran air tersumbat di RT 05 Cempaka Putih")
            await wait_until(lambda: rig.sim.counters["mo_sent"] == 2
                             and not any(c.mo_in_flight for c in rig.sim.connections), timeout=20)
            assert failures["left"] == 0 and rig.sim.counters["redelivered"] == 1
            await asyncio.sleep(0.3)
            return await db(counts)

    assert asyncio.run(scenario()) == (1, 1)


def test_a_send_transaction_whose_commit_answer_is_lost_sends_nothing_and_leaves_nothing_sending(transactional_db):
    """The database commits a send transaction (rows marked ``sending``) and the connection
    breaks before its answer reaches the engine: the engine cannot tell whether it committed. It
    sends none of those rows and gives back, by the marks' names, whatever they did write — so
    every number is sent exactly once and the blast finishes, with nothing left ``sending``.
    And /metrics counts each accepted submit once (PostgreSQL): the results that transaction
    wrote are applied again and move no row, and were not counted at all when counted by rows
    moved (52 of 60)."""
    from django.db import OperationalError

    from warta.blasts.models import OutboundMessage
    from warta.gateway.models import GatewayCount

    recipients = numbers(60)
    lost = {"answers": 2}

    async def scenario() -> None:
        async with Rig(query="window=8") as rig:
            engine = rig.engine
            real = engine._in_transaction

            def answer_lost(fn: Any, prepare: Any = None) -> Any:
                out = real(fn, prepare)
                # A turn that wrote submit results as well as marks (not the first).
                if (prepare is not None and lost["answers"] and OutboundMessage.objects.filter(state="sending").exists()
                        and OutboundMessage.objects.exclude(state__in=["queued", "sending"]).exists()):
                    lost["answers"] -= 1
                    engine._discard_deltas()  # as a failure at the COMMIT itself does
                    raise OperationalError("server closed the connection unexpectedly")
                return out

            engine._in_transaction = answer_lost
            blast = await db(create_blast, recipients)
            await wait_until(lambda: all_final(blast.pk), timeout=40)
            assert lost["answers"] == 0
            assert engine.stats["unread_given_back"] > 0
            await each_taken_once_and_delivered(rig, blast.pk, recipients)
            if rig.engine.is_postgres:
                # (SQLite's COMMIT is a call into a local file: it cannot commit and lose its
                # answer, and one thread writes the counts inside the transaction itself, so the
                # simulated loss there would have written them.)
                await asyncio.sleep(0.3)  # the last results transaction writes the counts
                totals = await db(GatewayCount.totals)
                assert totals.get((rig.connection.pk, "submits", "")) == len(recipients)

    asyncio.run(scenario())


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres') is False",
                    reason="the server ends the engine's sessions: PostgreSQL's pg_terminate_backend")
def test_the_database_ending_the_engines_sessions_mid_blast_loses_and_duplicates_nothing(transactional_db):
    """PostgreSQL ends the engine's database sessions again and again while a blast is sent (a
    restart, a failover, an administrator's ``pg_terminate_backend``), whatever each was doing:
    a claim, a ``submitted`` write, receipts. The engine reconnects and goes on: every number
    is taken by the SMSC exactly once, every message ends delivered, the counts agree, nothing
    stays ``sending``."""
    import threading

    import psycopg
    from django.db import connection

    recipients = numbers(12000)
    ended: list[bool] = []
    stop = threading.Event()
    dsn = connection.get_connection_params()
    dbname = connection.settings_dict["NAME"]

    def end_sessions() -> None:
        # The engine's sessions only, in the middle of a transaction, running one of its own
        # statements (the test's polling sessions run plain SELECTs; an idle session ended is
        # only reconnected).
        with psycopg.connect(**{**dsn, "dbname": dbname}, autocommit=True) as admin:
            while len(ended) < 5 and not stop.wait(0.02):
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state <> 'idle' AND (query LIKE 'WITH %%' "
                    "OR query LIKE 'INSERT INTO blasts_outboxcount%%' OR query LIKE 'INSERT INTO gateway_gatewaycount%%' "
                    "OR query LIKE 'UPDATE%%')").fetchall()
                ended.extend(r[0] for r in rows if r[0])

    async def scenario() -> None:
        async with Rig(query="window=16", receipt_delay=0.05) as rig:
            blast = await db(create_blast, recipients)
            killer = threading.Thread(target=end_sessions, daemon=True)
            killer.start()
            try:
                await wait_until(lambda: all_final(blast.pk), timeout=60)
            finally:
                stop.set()
                killer.join()
            assert len(ended) >= 5, f"only {len(ended)} sessions ended: the fault did not happen"
            await each_taken_once_and_delivered(rig, blast.pk, recipients)

    asyncio.run(scenario())


def test_a_receipt_matched_by_handset_goes_to_the_message_whose_text_it_quotes(transactional_db):
    """Two messages to one handset from one sender are both in doubt (their submit_sm_resps were
    lost), the older sent first. A receipt with an id no part has is matched by handset and
    sender — to the message whose first characters its ``text:`` quotes, not simply the most
    recent one (as before); a receipt quoting neither still goes to the most recent."""
    from django.utils import timezone

    from warta.blasts.models import MessagePart, OutboundMessage, Receipt
    from warta.gateway.engine import Engine

    from .engine_harness import create_connection

    conn = create_connection(1)
    number = numbers(1)[0]
    now = timezone.now()
    texts = ["Banjir di Kampung Melayu: warga diminta mengungsi ke GOR Jatinegara",
             "Jadwal vaksinasi Puskesmas Tebet besok pukul 08.00"]
    sent = []
    for age, text in zip((60, 30), texts, strict=True):
        blast = create_blast([number], text=text)
        OutboundMessage.objects.filter(blast=blast).update(
            state="unknown", unknown_count=1, attempts=1, connection=conn, sent_at=now - timedelta(seconds=age))
        sent.append(OutboundMessage.objects.get(blast=blast).pk)
    older, newer = sent

    def receipt(smsc_id: str, quote: str) -> None:
        Receipt.objects.create(connection=conn, smsc_message_id=smsc_id, stat="DELIVRD", text=quote,
                               received_at=now - timedelta(seconds=5), source=number.lstrip("+"),
                               destination="HumasDKI")

    receipt("r-older", "banjir di  Kampung Melayu")  # the SMSC's quote: cut, case and spacing its own
    engine = Engine()
    engine.match_orphan_receipts()
    part = MessagePart.objects.get(smsc_message_id="r-older")
    assert part.message_id == older
    assert OutboundMessage.objects.get(pk=older).state == "delivered"
    assert OutboundMessage.objects.get(pk=newer).state == "unknown"

    OutboundMessage.objects.filter(pk=older).update(state="unknown", done_at=None)  # both in doubt again
    receipt("r-none", "")
    engine.match_orphan_receipts()
    assert MessagePart.objects.get(smsc_message_id="r-none").message_id == newer
