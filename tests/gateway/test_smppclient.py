"""The asyncio SMPP client against the built-in simulator, over real sockets on 127.0.0.1.

Each test runs its own event loop (``asyncio.run``) with a simulator on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from warta.gateway.simulator import Fault, Simulator, SimulatorConfig
from warta.gateway.smppclient import (
    Backoff,
    ClientConfig,
    DeliveryReceipt,
    MobileOriginated,
    SmppClient,
    SmppClientError,
    TokenBucket,
    destination_address,
    source_address,
)
from warta.smpp.constants import CommandStatus, MessageState
from warta.sms.gsm import decode_gsm7

SENDER = "GubDKI"
CITIZEN = "+6281234567890"


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def config_for(sim: Simulator, **overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "port": sim.port,
        "system_id": "warta",
        "password": "secret",
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "tick_interval": 0.01,
    }
    values.update(overrides)
    return ClientConfig(**values)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    # Generous: CI shares two cores with PostgreSQL; a condition that never comes still fails.
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


# ------------------------------------------------------------------------- bind


def test_client_binds_as_transceiver_and_gets_message_id() -> None:
    async def scenario() -> None:
        async with Simulator() as sim, SmppClient(config_for(sim)) as client:
            results = await client.submit(SENDER, CITIZEN, "Halo Jakarta")
            assert len(results) == 1 and results[0].ok
            (bind,) = sim.log.find(command="bind_transceiver")
            assert bind["system_id"] == "warta" and bind["password"] == "***"
            (submit,) = sim.log.find(command="submit_sm")
            assert submit["message_id"] == results[0].message_id
            assert submit["destination_addr"] == "6281234567890"
            assert (submit["dest_addr_ton"], submit["dest_addr_npi"]) == (1, 1)
            assert (
                submit["source_addr"],
                submit["source_addr_ton"],
                submit["source_addr_npi"],
            ) == (SENDER, 5, 0)
            assert submit["registered_delivery"] == 1 and submit["data_coding"] == 0
            assert bytes.fromhex(submit["short_message"]) == b"Halo Jakarta"

    run(scenario())


def test_client_bind_with_wrong_password_fails_permanently() -> None:
    async def scenario() -> None:
        async with Simulator() as sim:
            with pytest.raises(SmppClientError) as caught:
                await SmppClient(config_for(sim, password="wrong")).start()
            assert caught.value.permanent
            assert caught.value.status == CommandStatus.ESME_RINVPASWD
            with pytest.raises(SmppClientError) as unknown:
                await SmppClient(config_for(sim, system_id="nobody")).start()
            assert unknown.value.status == CommandStatus.ESME_RBINDFAIL and unknown.value.permanent
            assert sim.counters["bind_failures"] == 2

    run(scenario())


def test_client_connection_refused_is_transient() -> None:
    async def scenario() -> None:
        async with Simulator() as sim:
            port = sim.port
        with pytest.raises(SmppClientError) as caught:
            await SmppClient(ClientConfig(port=port, system_id="warta", password="secret")).start()
        assert not caught.value.permanent

    run(scenario())


def test_client_binds_transmitter_and_receiver_pair() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        async with Simulator(SimulatorConfig(receipt_delay=0.02)) as sim:
            cfg = config_for(sim, bind_mode="tx+rx")
            async with SmppClient(cfg, on_deliver=received.append) as client:
                results = await client.submit(SENDER, CITIZEN, "Halo")
                await eventually(lambda: len(received) == 1)
            assert {c for c in (r["command"] for r in sim.log.records) if c.startswith("bind")} == {
                "bind_transmitter",
                "bind_receiver",
            }
            (receipt,) = received
            assert (
                isinstance(receipt, DeliveryReceipt) and receipt.message_id == results[0].message_id
            )
            # The receipt travelled on the receiver link: the one that answered it.
            (resp,) = sim.log.find(command="deliver_sm_resp")
            assert resp["bind"] == "rx:warta"

    run(scenario())


def test_client_close_unbinds_cleanly() -> None:
    async def scenario() -> None:
        async with Simulator() as sim:
            async with SmppClient(config_for(sim)):
                pass
            await eventually(lambda: bool(sim.log.find(command="unbind")))
            await eventually(lambda: not sim.connections)

    run(scenario())


# ------------------------------------------------------------------------- flow control


def test_client_keeps_at_most_window_requests_outstanding() -> None:
    async def scenario() -> None:
        cfg = SimulatorConfig(faults=frozenset({Fault.BLACKHOLE}))
        async with Simulator(cfg) as sim:
            async with SmppClient(config_for(sim, window=3, response_timeout=0.3)) as client:
                tasks = [
                    asyncio.create_task(client.submit(SENDER, CITIZEN, f"m{i}")) for i in range(10)
                ]
                await eventually(lambda: sim.counters["submit_sm"] == 3)
                await asyncio.sleep(0.1)
                assert sim.counters["submit_sm"] == 3  # the other seven wait for a slot
                # When the first three time out, their slots go to the next three.
                await eventually(lambda: sim.counters["submit_sm"] == 6)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    run(scenario())


def test_client_reports_throttling_as_retry_later() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(tps=5)) as sim:
            async with SmppClient(config_for(sim, throttle_retry_after=2.5)) as client:
                results = [
                    r
                    for rs in await asyncio.gather(
                        *(client.submit(SENDER, CITIZEN, "x") for _ in range(20))
                    )
                    for r in rs
                ]
            throttled = [r for r in results if r.command_status == CommandStatus.ESME_RTHROTTLED]
            assert throttled and sim.counters["throttled"] == len(throttled)
            assert all(not r.ok and not r.permanent and r.retry_after == 2.5 for r in throttled)
            assert client.stats["retry_later"] == len(throttled)

    run(scenario())


def test_client_tps_limit_keeps_under_the_smsc_throttle() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(tps=40)) as sim:
            async with SmppClient(config_for(sim, tps=40)) as client:
                results = await asyncio.gather(
                    *(client.submit(SENDER, CITIZEN, "x") for _ in range(20))
                )
            assert all(r.ok for rs in results for r in rs)
            assert sim.counters["throttled"] == 0

    run(scenario())


# ------------------------------------------------------------------------- keep-alive, timeouts, faults


def test_client_sends_enquire_link_when_idle() -> None:
    async def scenario() -> None:
        async with Simulator() as sim:
            async with SmppClient(config_for(sim, enquire_link_interval=0.05)) as client:
                await eventually(lambda: len(sim.log.find(command="enquire_link")) >= 2)
                assert client.bound and client.stats["reconnects"] == 0

    run(scenario())


def test_client_reports_response_timeout_against_black_hole() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(faults=frozenset({Fault.BLACKHOLE}))) as sim:
            async with SmppClient(config_for(sim, response_timeout=0.2)) as client:
                (result,) = await client.submit(SENDER, CITIZEN, "Halo")
                assert not result.ok and result.command_status is None
                assert result.maybe_sent and not result.permanent
                assert "no response" in result.error
                assert client.bound  # the link itself still answers enquire_link
                assert client.stats["timeouts"] == 1

    run(scenario())


def test_client_reconnects_when_enquire_link_is_not_answered() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(faults=frozenset({Fault.NO_ENQUIRE_LINK}))) as sim:
            cfg = config_for(sim, enquire_link_interval=0.05, response_timeout=0.1)
            async with SmppClient(cfg) as client:
                # The simulator counts the second bind before the client has counted its
                # reconnect (it does so when the bind_resp arrives): wait for both.
                await eventually(lambda: sim.counters["binds"] >= 2 and client.stats["reconnects"] >= 1)
                assert client.stats["reconnects"] >= 1

    run(scenario())


def test_client_reconnects_with_backoff_after_disconnect() -> None:
    sleeps: list[float] = []

    async def recording_sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(0.01)

    async def scenario() -> None:
        cfg = SimulatorConfig(faults=frozenset({Fault.DISCONNECT}), fault_after=2)
        async with Simulator(cfg) as sim:
            client_cfg = config_for(sim, reconnect_min=1.0, reconnect_max=8.0)
            # rng 0.5: every jittered delay is exactly 3/4 of its ceiling.
            async with SmppClient(client_cfg, sleep=recording_sleep, rng=lambda: 0.5) as client:
                first = await client.submit(SENDER, CITIZEN, "1")
                second = await client.submit(SENDER, CITIZEN, "2")
                assert first[0].ok and second[0].ok  # the second was answered, then the socket went
                await eventually(lambda: sim.counters["binds"] == 2)
                third = await client.submit(SENDER, CITIZEN, "3")
                assert third[0].ok
                assert client.stats["reconnects"] == 1
        assert sleeps[0] == 0.75  # min 1.0 s, equal jitter with rng 0.5

    run(scenario())


def test_backoff_grows_exponentially_with_jitter_up_to_the_maximum() -> None:
    backoff = Backoff(1.0, 8.0, rng=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    low = Backoff(1.0, 8.0, rng=lambda: 0.0)
    assert [low.next_delay() for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    low.reset()
    assert low.next_delay() == 0.5


def test_client_reports_generic_nack_as_transient() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(faults=frozenset({Fault.GENERIC_NACK}))) as sim:
            async with SmppClient(config_for(sim)) as client:
                (result,) = await client.submit(SENDER, CITIZEN, "Halo")
                assert not result.ok and not result.permanent
                assert result.command_status == CommandStatus.ESME_RSYSERR
                assert "generic_nack" in result.error

    run(scenario())


def test_client_survives_unbind_mid_window() -> None:
    async def scenario() -> None:
        cfg = SimulatorConfig(faults=frozenset({Fault.UNBIND}), fault_after=3)
        async with Simulator(cfg) as sim:
            async with SmppClient(config_for(sim, window=10)) as client:
                batch = await asyncio.gather(
                    *(client.submit(SENDER, CITIZEN, f"m{i}") for i in range(10))
                )
                results = [r for rs in batch for r in rs]
                assert sum(r.ok for r in results) == 3
                assert all(not r.permanent for r in results if not r.ok)
                sim.set_faults()
                await eventually(lambda: sim.counters["binds"] == 2)
                (after,) = await client.submit(SENDER, CITIZEN, "after")
                assert after.ok

    run(scenario())


# ------------------------------------------------------------------------- inbound


def test_client_receives_parsed_receipts_with_configured_outcomes() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        cfg = SimulatorConfig(receipt_delay=0.01, undeliv_share=0.3, reject_share=0.2, seed=7)
        async with Simulator(cfg) as sim:
            async with SmppClient(config_for(sim), on_deliver=received.append) as client:
                batch = await asyncio.gather(
                    *(client.submit(SENDER, CITIZEN, f"m{i}") for i in range(50))
                )
                await eventually(lambda: len(received) == 50)
        ids = {rs[0].message_id for rs in batch}
        assert {r.message_id for r in received} == ids
        states = {r.state for r in received}
        assert states == {MessageState.DELIVERED, MessageState.UNDELIVERABLE, MessageState.REJECTED}
        sample = next(r for r in received if r.state is MessageState.UNDELIVERABLE)
        assert isinstance(sample, DeliveryReceipt)
        assert sample.stat == "UNDELIV" and sample.is_final
        assert sample.receipt.tlv_message_id == sample.receipt.text_message_id == sample.message_id
        assert sample.source_addr == "6281234567890" and sample.destination_addr == SENDER
        return None

    run(scenario())


def test_deliver_sm_resp_is_sent_only_after_the_callback_returns() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        seen: list[Any] = []

        async def persist(item: Any) -> None:
            seen.append(item)
            await release.wait()

        async with Simulator(SimulatorConfig(receipt_delay=0.01)) as sim:
            async with SmppClient(config_for(sim), on_deliver=persist) as client:
                await client.submit(SENDER, CITIZEN, "Halo")
                await eventually(lambda: len(seen) == 1)
                await asyncio.sleep(0.05)
                assert sim.counters["deliver_sm_resp"] == 0
                release.set()
                await eventually(lambda: sim.counters["deliver_sm_resp"] == 1)
                assert sim.log.find(command="deliver_sm_resp")[0]["status"] == 0

    run(scenario())


def test_failing_callback_answers_temporary_application_error() -> None:
    async def scenario() -> None:
        def broken(item: Any) -> None:
            raise RuntimeError("database is down")

        async with Simulator(SimulatorConfig(receipt_delay=0.01)) as sim:
            async with SmppClient(config_for(sim), on_deliver=broken) as client:
                await client.submit(SENDER, CITIZEN, "Halo")
                await eventually(lambda: sim.counters["deliver_sm_resp"] == 1)
                assert (
                    sim.log.find(command="deliver_sm_resp")[0]["status"]
                    == CommandStatus.ESME_RX_T_APPN
                )
                assert client.bound

    run(scenario())


def _post_mo(port: int, body: dict[str, str]) -> dict[str, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/mo",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        result: dict[str, Any] = json.load(resp)
        return result


def test_mo_injected_over_http_reaches_the_client_with_udh_info() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        text = (
            "Lapor: banjir setinggi lutut di Jl. Jatinegara Barat sejak pukul 05.00, mohon bantuan. "
            * 3
        )
        async with Simulator(SimulatorConfig(http_port=0)) as sim:
            assert sim.http_port
            async with SmppClient(config_for(sim), on_deliver=received.append):
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(
                    None,
                    _post_mo,
                    sim.http_port,
                    {"from": "081234567890", "to": "02132881818", "text": text},
                )
                assert answer["parts"] == 2
                await eventually(lambda: len(received) == 2)
        assert all(isinstance(m, MobileOriginated) for m in received)
        parts = sorted(received, key=lambda m: m.concat.sequence)
        assert [m.concat.total for m in parts] == [2, 2]
        assert parts[0].concat.reference == parts[1].concat.reference
        assert "".join(m.text for m in parts) == text
        assert (
            parts[0].source_addr == "6281234567890" and parts[0].destination_addr == "02132881818"
        )

    run(scenario())


# ------------------------------------------------------------------------- message shapes


def test_long_message_is_sent_as_udh_parts() -> None:
    async def scenario() -> None:
        text = "Informasi vaksinasi gratis di puskesmas kecamatan. " * 5  # 255 characters
        async with Simulator() as sim, SmppClient(config_for(sim)) as client:
            results = await client.submit(SENDER, CITIZEN, text, reference=0x42)
            assert [(r.part, r.parts) for r in results] == [(1, 2), (2, 2)] and all(
                r.ok for r in results
            )
            submits = sim.log.find(command="submit_sm")
            assert all(s["esm_class"] == 0x40 for s in submits)
            bodies = [bytes.fromhex(s["short_message"]) for s in submits]
            assert bodies[0][:6] == bytes([5, 0, 3, 0x42, 2, 1])
            assert bodies[1][:6] == bytes([5, 0, 3, 0x42, 2, 2])
            assert decode_gsm7(bodies[0][6:]) + decode_gsm7(bodies[1][6:]) == text

    run(scenario())


def test_long_message_is_sent_in_message_payload() -> None:
    async def scenario() -> None:
        text = "Informasi vaksinasi gratis di puskesmas kecamatan. " * 5
        async with (
            Simulator() as sim,
            SmppClient(config_for(sim, long_message_mode="payload")) as client,
        ):
            (result,) = await client.submit(SENDER, CITIZEN, text)
            assert result.ok
            (submit,) = sim.log.find(command="submit_sm")
            assert submit["short_message"] == "" and submit["esm_class"] == 0
            assert decode_gsm7(bytes.fromhex(submit["message_payload"])) == text

    run(scenario())


def test_ucs2_text_goes_with_data_coding_8() -> None:
    async def scenario() -> None:
        text = "Selamat Idul Fitri 🙏 “mohon maaf lahir & batin”"
        async with Simulator() as sim, SmppClient(config_for(sim)) as client:
            (result,) = await client.submit(SENDER, CITIZEN, text)
            assert result.ok
            (submit,) = sim.log.find(command="submit_sm")
            assert submit["data_coding"] == 8
            assert bytes.fromhex(submit["short_message"]).decode("utf-16-be") == text

    run(scenario())


def test_client_refuses_input_the_smsc_could_never_take() -> None:
    async def scenario() -> None:
        async with Simulator() as sim, SmppClient(config_for(sim)) as client:
            for sender, dest, text in (
                ("DinasKominfoDKI", CITIZEN, "x"),  # 15 characters: more than 11
                (SENDER, "not-a-number", "x"),
                (SENDER, CITIZEN, ""),
            ):
                with pytest.raises(SmppClientError) as caught:
                    await client.submit(sender, dest, text)
                assert caught.value.permanent
            assert sim.counters["submit_sm"] == 0

    run(scenario())


# ------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("GubDKI", (5, 0, "GubDKI")),
        ("+6221 3288 1818", (1, 1, "622132881818")),
        ("02132881818", (1, 1, "622132881818")),
        ("6281234567890", (1, 1, "6281234567890")),
        ("1500", (0, 1, "1500")),
        ("99876", (0, 1, "99876")),
    ],
)
def test_sender_type_of_number_is_chosen_from_the_sender_string(
    sender: str, expected: tuple[int, int, str]
) -> None:
    assert source_address(sender) == expected


def test_destination_accepts_e164_with_or_without_plus() -> None:
    assert (
        destination_address("+6281234567890")
        == destination_address("6281234567890")
        == (1, 1, "6281234567890")
    )
    assert destination_address("081234567890") == (1, 1, "6281234567890")


def test_token_bucket_reserves_in_order_and_refills_at_rate() -> None:
    bucket = TokenBucket(10, burst=2, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == [
        0.0,
        0.0,
        pytest.approx(0.1),
        pytest.approx(0.2),
    ]
    strict = TokenBucket(10, burst=1, now=0.0)
    assert strict.try_take(0.0) and not strict.try_take(0.05) and strict.try_take(0.1)


def test_config_from_url_and_repr_never_shows_the_password() -> None:
    cfg = ClientConfig.from_url(
        "smpp://warta:s3cr%40t@smsc.example:2775?bind=tx%2Brx&window=32&tps=200&long=payload"
    )
    assert (cfg.host, cfg.port, cfg.system_id, cfg.password) == (
        "smsc.example",
        2775,
        "warta",
        "s3cr@t",
    )
    assert (cfg.bind_mode, cfg.window, cfg.tps, cfg.long_message_mode) == (
        "tx+rx",
        32,
        200.0,
        "payload",
    )
    assert "s3cr" not in repr(cfg) and "s3cr" not in repr(SmppClient.__new__(SmppClient).__class__)
    with pytest.raises(ValueError):
        ClientConfig.from_url("smpp://a:b@h:1?colour=blue")


_unused: tuple[type[Awaitable[None]], ...] = ()


# ------------------------------------------------------------------------- MO redelivery


def _mo_rig(stored: list[str], fail_first: int = 0) -> Callable[[Any], Any]:
    """An on_deliver that 'stores' MOs (after a short commit) and fails the first ``fail_first``
    (a rolled-back transaction: answered with a temporary error)."""
    calls = {"n": 0}

    def on_deliver(item: Any) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        calls["n"] += 1
        failed = calls["n"] <= fail_first

        def commit() -> None:
            if failed:
                fut.set_exception(RuntimeError("database write failed"))
            else:
                stored.append(item.text)
                fut.set_result(None)

        asyncio.get_running_loop().call_later(0.02, commit)
        return fut

    return on_deliver


async def _drop_link(sim: Simulator, client: SmppClient) -> None:
    await sim.go_down(lose_receipts=False)
    await eventually(lambda: not client.bound)
    await sim.come_back()
    await eventually(lambda: client.bound)


def test_an_mo_whose_answer_was_lost_with_the_link_is_redelivered_and_stored_once() -> None:
    """The SMSC loses our deliver_sm_resp, the link dies, and the SMSC delivers the MO again
    on the new bind with a new sequence number: the client answers it without handing it over
    a second time (the inbox's dedup key, built on the sequence number, cannot see it)."""

    async def scenario() -> None:
        stored: list[str] = []
        async with Simulator() as sim:
            async with SmppClient(config_for(sim), on_deliver=_mo_rig(stored)) as client:
                sim.set_faults(Fault.LOSE_MO_ANSWERS, lose_share=1.0)
                sim.inject_mo("081234567890", "02132881818", "Jalan rusak di Jl. Merdeka")
                await eventually(lambda: sim.counters["mo_answers_lost"] == 1)
                sim.set_faults()
                await _drop_link(sim, client)
                await eventually(lambda: sim.counters["deliver_sm_resp"] == 1)  # the redelivery, answered
                assert sim.counters["mo_redelivered"] == 1 and sim.counters["mo_sent"] == 2
                assert len(sim.log.find(command="deliver_sm_resp")) == 2  # the lost one was read too
                assert stored == ["Jalan rusak di Jl. Merdeka"]
                assert client.stats["mo_redelivered"] == 1
                # A citizen who then sends the same words again means it: stored again.
                sim.inject_mo("081234567890", "02132881818", "Jalan rusak di Jl. Merdeka")
                await eventually(lambda: len(stored) == 2)

    run(scenario(), timeout=30)


def test_an_mo_not_stored_is_handed_over_again_when_redelivered() -> None:
    """The first try was answered 'temporary error' (the transaction rolled back) and the link
    then died: the redelivery must be stored, not taken for a duplicate."""

    async def scenario() -> None:
        stored: list[str] = []
        async with Simulator() as sim:
            async with SmppClient(config_for(sim), on_deliver=_mo_rig(stored, fail_first=1)) as client:
                sim.set_faults(Fault.LOSE_MO_ANSWERS, lose_share=1.0)
                sim.inject_mo("081234567890", "02132881818", "Lampu jalan mati")
                await eventually(lambda: sim.counters["mo_answers_lost"] == 1)
                sim.set_faults()
                await _drop_link(sim, client)
                await eventually(lambda: stored == ["Lampu jalan mati"])
                assert client.stats["mo_redelivered"] == 0

    run(scenario(), timeout=30)


def test_an_mo_stored_while_its_link_died_is_not_stored_again() -> None:
    """The link dies while the MO is being stored: the answer cannot be written at all, the
    SMSC redelivers on the next bind, and it is recognised."""

    async def scenario() -> None:
        stored: list[str] = []
        gate = asyncio.Event()

        def on_deliver(item: Any) -> asyncio.Future[None]:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            async def commit() -> None:
                await gate.wait()  # the commit finishes only after the link is gone
                stored.append(item.text)
                fut.set_result(None)

            asyncio.get_running_loop().create_task(commit())
            return fut

        async with Simulator() as sim:
            async with SmppClient(config_for(sim), on_deliver=on_deliver) as client:
                sim.inject_mo("081234567890", "02132881818", "Pohon tumbang di Jl. Sudirman")
                await eventually(lambda: sim.counters["mo_sent"] == 1)
                await sim.go_down(lose_receipts=False)
                await eventually(lambda: not client.bound)
                gate.set()
                await eventually(lambda: len(stored) == 1)
                await sim.come_back()
                await eventually(lambda: sim.counters["deliver_sm_resp"] == 1)
                assert sim.counters["mo_redelivered"] == 1
                assert stored == ["Pohon tumbang di Jl. Sudirman"]
                assert client.stats["mo_redelivered"] == 1

    run(scenario(), timeout=30)


def test_deliver_sm_after_our_unbind_is_refused_for_redelivery_in_one_log_line(caplog) -> None:
    """An SMSC that sends receipts until it reads our unbind (every stop with traffic): each
    deliver_sm that arrives after the unbind is answered ESME_RINVBNDSTS (so the SMSC keeps it
    and delivers it again on the next bind), counted, and logged once — not a warning apiece."""
    from warta.smpp.codec import Decoder
    from warta.smpp.pdu import BindTransceiver, DeliverSm, DeliverSmResp, Unbind

    answers: list[Any] = []

    async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = Decoder()
        while data := await reader.read(4096):
            for pdu in decoder.feed(data):
                if isinstance(pdu, BindTransceiver):
                    writer.write(pdu.response(system_id="raw").encode())
                elif isinstance(pdu, Unbind):
                    # Three receipts were already on their way when the unbind arrived.
                    for seq in (101, 102, 103):
                        writer.write(DeliverSm(sequence_number=seq, source_addr="6281234567890",
                                               esm_class=0x04, short_message=b"id:x stat:DELIVRD").encode())
                    await asyncio.sleep(0.05)
                    writer.write(pdu.response().encode())
                elif isinstance(pdu, DeliverSmResp):
                    answers.append(pdu)
        writer.close()

    async def scenario() -> dict[str, int]:
        server = await asyncio.start_server(smsc, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client = SmppClient(ClientConfig(port=port, system_id="warta", password="secret"))
            await client.start()
            await client.close()
            await eventually(lambda: len(answers) == 3)
        return client.stats

    caplog.set_level("INFO", logger="warta.gateway.smpp")
    stats = run(scenario())
    assert sorted(a.sequence_number for a in answers) == [101, 102, 103]
    assert {a.command_status for a in answers} == {CommandStatus.ESME_RINVBNDSTS}
    assert stats["refused_unbinding"] == 3 and stats["receipts"] == 0
    refused = [r for r in caplog.records if "after our unbind" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelname == "INFO"
    assert not [r for r in caplog.records if r.levelname == "WARNING" and "protocol error" in r.getMessage()]


def test_submit_nowait_writes_at_once_within_the_window_and_calls_back_with_the_result() -> None:
    """The engine's path without a task per message: sent at once when a window slot and a bound
    link are free, refused (nothing sent) when not, and every accepted submit is called back
    exactly once — with the answer, or with a "maybe sent" error when the answer never comes."""

    async def scenario() -> None:
        cfg = SimulatorConfig(faults=frozenset({Fault.BLACKHOLE}))
        async with Simulator() as sim, Simulator(cfg) as hole:
            async with SmppClient(config_for(sim, window=2)) as client:
                (pdu,) = client.build_submits(SENDER, CITIZEN, "Uji")
                got: list[Any] = []
                assert client.submit_nowait(pdu, got.append) and client.submit_nowait(pdu, got.append)
                assert not client.submit_nowait(pdu, got.append)  # the window (2) is full
                await eventually(lambda: len(got) == 2)
                assert all(r.ok and r.message_id for r in got)
                assert sim.counters["submit_sm"] == 2 and client.stats["accepted"] == 2
                assert client.submit_nowait(pdu, got.append)  # the slots came back
                await eventually(lambda: len(got) == 3)
            async with SmppClient(config_for(hole, window=2, response_timeout=0.3)) as client:
                (pdu,) = client.build_submits(SENDER, CITIZEN, "Uji")
                lost: list[Any] = []
                assert client.submit_nowait(pdu, lost.append)
                await eventually(lambda: len(lost) == 1)
                assert not lost[0].ok and lost[0].maybe_sent and not lost[0].permanent
            bound_not = SmppClient(config_for(sim))  # never started: no bound link
            assert not bound_not.submit_nowait(pdu, lost.append)

    run(scenario())


def test_answers_held_by_the_smscs_nagle_are_released_by_an_immediate_ack() -> None:
    """An SMSC that writes each submit_sm_resp as it goes with Nagle's algorithm on (Net::SMPP
    does) holds the second and later answers until we acknowledge the first. Our kernel delays
    that ACK (~40 ms) hoping to ride on our next packet, and the engine sends nothing between two
    send transactions: a window of answers came 40 ms late. The client asks for an immediate ACK
    after every read (TCP_QUICKACK), so a burst of ten is answered in a few milliseconds."""
    import socket
    import statistics
    import threading
    import time

    from warta.smpp.codec import Decoder
    from warta.smpp.pdu import BindTransceiver, SubmitSm

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def smsc() -> None:  # a plain blocking socket: Nagle on, one send() per answer
        conn, _ = listener.accept()
        decoder = Decoder()
        with conn:
            while data := conn.recv(65536):
                for pdu in decoder.feed(data):
                    if isinstance(pdu, SubmitSm):
                        conn.sendall(pdu.response(message_id="m").encode())
                        time.sleep(0.0002)  # answering as it goes, not in one write
                    elif isinstance(pdu, BindTransceiver):
                        conn.sendall(pdu.response(system_id="raw").encode())
                    elif hasattr(pdu, "response"):
                        conn.sendall(pdu.response().encode())

    threading.Thread(target=smsc, daemon=True).start()

    async def scenario() -> list[float]:
        cfg = ClientConfig(port=listener.getsockname()[1], system_id="warta", password="secret", window=16)
        async with SmppClient(cfg) as client:
            (pdu,) = client.build_submits(SENDER, CITIZEN, "Uji")
            took = []
            for _ in range(7):
                got: list[Any] = []
                t0 = time.monotonic()
                for _ in range(10):
                    assert client.submit_nowait(pdu, got.append)
                await eventually(lambda got=got: len(got) == 10)
                took.append(time.monotonic() - t0)
                assert all(r.ok for r in got)
                await asyncio.sleep(0.02)  # quiet, as between two send transactions
            return took

    took = run(scenario())
    listener.close()
    # Without the immediate ACK every burst takes 42-48 ms (the delayed-ACK timer), with it ~3 ms.
    assert statistics.median(took) < 0.025, [round(t * 1000, 1) for t in took]
