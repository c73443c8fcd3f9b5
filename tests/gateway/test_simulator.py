"""The SMSC simulator on its own: log, ids, outcomes, MO endpoint, command line.

Client-side behaviour against the simulator is in test_smppclient.py; the simulator against
an independent client (smpplib) is in tests/interop/.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from warta.gateway.simulator import Fault, Simulator, SimulatorConfig, parse_faults
from warta.gateway.simulator.cli import main as cli_main
from warta.gateway.smppclient import ClientConfig, DeliveryReceipt, SmppClient
from warta.smpp.constants import MessageState


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def client_for(sim: Simulator, **overrides: Any) -> ClientConfig:
    return ClientConfig(
        port=sim.port, system_id="warta", password="secret", tick_interval=0.01, **overrides
    )


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    # Generous: CI shares two cores with PostgreSQL; a condition that never comes still fails.
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def test_simulator_writes_every_received_pdu_as_a_json_line(tmp_path: Path) -> None:
    log_file = tmp_path / "pdus.jsonl"

    async def scenario() -> None:
        cfg = SimulatorConfig(
            log_path=log_file, log_keep=0, receipt_delay=0.01, flush_interval=0.02
        )
        async with Simulator(cfg) as sim:
            async with SmppClient(client_for(sim, enquire_link_interval=0.05)) as client:
                (result,) = await client.submit("GubDKI", "6281234567890", "Halo")
                await eventually(
                    lambda: (
                        sim.counters["deliver_sm_resp"] == 1 and sim.counters["enquire_link"] >= 1
                    )
                )
            await eventually(lambda: not sim.connections)

    run(scenario())
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    commands = [r["command"] for r in lines]
    assert commands[0] == "bind_transceiver"
    assert {"submit_sm", "deliver_sm_resp", "enquire_link", "unbind"} <= set(commands)
    bind = lines[0]
    assert bind["password"] == "***" and "secret" not in log_file.read_text()
    submit = next(r for r in lines if r["command"] == "submit_sm")
    assert (
        submit["destination_addr"] == "6281234567890" and submit["short_message"] == b"Halo".hex()
    )
    assert submit["message_id"] and submit["bind"] == "trx:warta" and submit["seq"] > 0
    assert all({"t", "conn", "bind", "command"} <= r.keys() for r in lines)


def test_simulator_issues_unique_decimal_or_hex_message_ids() -> None:
    async def scenario(fmt: str) -> list[str]:
        async with Simulator(SimulatorConfig(message_id_format=fmt)) as sim:
            async with SmppClient(client_for(sim)) as client:
                batch = await asyncio.gather(
                    *(client.submit("1500", "6281234567890", "x") for _ in range(30))
                )
        return [rs[0].message_id or "" for rs in batch]

    decimal = run(scenario("decimal"))
    assert len(set(decimal)) == 30 and all(i.isdigit() for i in decimal)
    hexa = run(scenario("hex"))
    assert len(set(hexa)) == 30 and all(int(i, 16) >= 0 for i in hexa)


def test_simulator_outcomes_are_deterministic_for_a_seed() -> None:
    async def outcomes(seed: int) -> list[MessageState]:
        received: list[Any] = []
        cfg = SimulatorConfig(receipt_delay=0.0, undeliv_share=0.25, reject_share=0.25, seed=seed)
        async with Simulator(cfg) as sim:
            async with SmppClient(client_for(sim, window=1), on_deliver=received.append) as client:
                for i in range(40):
                    await client.submit("GubDKI", "6281234567890", f"m{i}")
                await eventually(lambda: len(received) == 40)
        by_id = {r.message_id: r.state for r in received if isinstance(r, DeliveryReceipt)}
        return [by_id[k] for k in sorted(by_id)]

    first, again, other = run(outcomes(3)), run(outcomes(3)), run(outcomes(4))
    assert first == again and first != other
    assert (
        5 <= first.count(MessageState.UNDELIVERABLE) <= 15
        and 5 <= first.count(MessageState.REJECTED) <= 15
    )


def test_receipt_on_failure_only_is_not_sent_for_delivered_messages() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        async with Simulator(SimulatorConfig(receipt_delay=0.0)) as sim:
            async with SmppClient(
                client_for(sim, registered_delivery=2), on_deliver=received.append
            ) as client:
                await client.submit("GubDKI", "6281234567890", "x")
                await asyncio.sleep(0.1)
            assert received == [] and sim.counters["receipts_sent"] == 0

    run(scenario())


def test_mo_waits_for_a_receiver_to_bind() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        async with Simulator() as sim:
            assert sim.inject_mo("081234567890", "02132881818", "BERHENTI") == 1
            assert sim.pending_deliveries == 1
            async with SmppClient(client_for(sim), on_deliver=received.append):
                await eventually(lambda: len(received) == 1)
            assert received[0].text == "BERHENTI" and received[0].concat is None

    run(scenario())


def test_mo_endpoint_rejects_incomplete_requests() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(http_port=0)) as sim:
            loop = asyncio.get_running_loop()

            def post(body: bytes, ctype: str) -> int:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{sim.http_port}/mo",
                    data=body,
                    headers={"Content-Type": ctype},
                )
                try:
                    with urllib.request.urlopen(req, timeout=5) as resp:
                        return int(resp.status)
                except urllib.error.HTTPError as exc:
                    return exc.code

            assert (
                await loop.run_in_executor(None, post, b'{"from": "0812"}', "application/json")
                == 400
            )
            assert await loop.run_in_executor(None, post, b"not json", "application/json") == 400
            form = b"from=081234567890&to=02132881818&text=halo"
            assert (
                await loop.run_in_executor(None, post, form, "application/x-www-form-urlencoded")
                == 202
            )
            assert sim.pending_deliveries == 1

    run(scenario())


def test_cli_inject_posts_to_a_running_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        received: list[Any] = []
        async with Simulator(SimulatorConfig(http_port=0)) as sim:
            async with SmppClient(client_for(sim), on_deliver=received.append):
                argv = [
                    "inject",
                    "--http-port",
                    str(sim.http_port),
                    "--from",
                    "081234567890",
                    "--to",
                    "02132881818",
                    "Halo",
                    "admin",
                ]
                code = await asyncio.get_running_loop().run_in_executor(None, cli_main, argv)
                assert code == 0
                await eventually(lambda: len(received) == 1)
            assert received[0].text == "Halo admin"

    run(scenario())
    assert json.loads(capsys.readouterr().out.strip())["parts"] == 1


def test_cli_inject_without_a_simulator_says_so(
    capsys: pytest.CaptureFixture[str], unused_port: int
) -> None:
    assert (
        cli_main(["inject", "--http-port", str(unused_port), "--from", "0812", "--to", "021", "x"])
        == 1
    )
    assert "no simulator" in capsys.readouterr().err


def test_fault_modes_parse_from_repeated_and_comma_separated_options() -> None:
    assert parse_faults(["slow,unbind", "blackhole"]) == {Fault.SLOW, Fault.UNBIND, Fault.BLACKHOLE}
    with pytest.raises(ValueError):
        parse_faults(["explode"])


def test_slow_fault_delays_answers() -> None:
    async def scenario() -> None:
        async with Simulator(SimulatorConfig(faults=frozenset({Fault.SLOW}), slow_ms=150)) as sim:
            async with SmppClient(client_for(sim)) as client:
                loop = asyncio.get_running_loop()
                start = loop.time()
                (result,) = await client.submit("GubDKI", "6281234567890", "x")
                assert result.ok and loop.time() - start >= 0.14

    run(scenario())


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_silent_fault_accepts_the_connection_and_answers_not_even_the_bind() -> None:
    from warta.gateway.smppclient import SmppClientError

    async def scenario() -> None:
        async with Simulator(SimulatorConfig(faults=frozenset({Fault.SILENT}))) as sim:
            client = SmppClient(client_for(sim, response_timeout=0.2))
            with pytest.raises(SmppClientError, match="bind"):
                await client.start(wait_bound=True)
            assert sim.counters["connections"] == 1 and sim.counters["binds"] == 0
            assert sim.counters["ignored_bytes"] > 0

    run(scenario())


def test_lost_responses_keep_the_message_and_its_receipt_and_a_late_answer_keeps_its_id() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        late: list[Any] = []
        cfg = SimulatorConfig(faults=frozenset({Fault.LOSE_RESPONSES}), lose_share=1.0, receipt_delay=0.0)
        async with Simulator(cfg) as sim:
            async with SmppClient(client_for(sim, response_timeout=0.2), on_deliver=received.append) as client:
                client.on_late_response = lambda ref, result: late.append((ref, result))
                (result,) = await client.submit("GubDKI", "6281234567890", "x")
                assert result.maybe_sent and result.ref is not None and not result.ok
                await eventually(lambda: len(received) == 1)
                assert sim.counters["responses_lost"] == 1 and sim.counters["accepted"] == 1
            # The SMSC answers slowly instead: the answer after the time-out keeps its id.
            sim.set_faults(Fault.SLOW, slow_ms=400)
            async with SmppClient(client_for(sim, response_timeout=0.2)) as client:
                client.on_late_response = lambda ref, result: late.append((ref, result))
                (slow,) = await client.submit("GubDKI", "6281234567891", "y")
                assert slow.maybe_sent and slow.ref is not None
                await eventually(lambda: len(late) == 1)
                assert late[0][0] == slow.ref and late[0][1].ok and late[0][1].message_id
                assert client.timeout > 0.4  # the time-out learnt the SMSC's latency

    run(scenario())


def test_lose_receipts_answers_every_submit_and_sends_no_receipt() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        cfg = SimulatorConfig(faults=frozenset({Fault.LOSE_RECEIPTS}), lose_share=1.0, receipt_delay=0.0)
        async with Simulator(cfg) as sim:
            async with SmppClient(client_for(sim), on_deliver=received.append) as client:
                (result,) = await client.submit("GubDKI", "6281234567890", "x")
                assert result.ok
                await asyncio.sleep(0.1)
        assert received == [] and sim.counters["receipts_lost"] == 1

    run(scenario())


def test_an_outage_drops_the_links_forgets_receipts_and_ends_on_the_same_port() -> None:
    async def scenario() -> None:
        received: list[Any] = []
        async with Simulator(SimulatorConfig(receipt_delay=5.0)) as sim:
            port = sim.port
            async with SmppClient(client_for(sim, reconnect_min=0.02, reconnect_max=0.05),
                                  on_deliver=received.append) as client:
                (result,) = await client.submit("GubDKI", "6281234567890", "x")
                assert result.ok and sim.pending_deliveries == 1
                await sim.go_down(lose_receipts=True)
                assert sim.pending_deliveries == 0 and sim.counters["receipts_lost"] == 1
                await eventually(lambda: not client.bound)
                await sim.come_back()
                assert sim.port == port
                await eventually(lambda: client.bound)
        assert received == []

    run(scenario())


def test_a_wrong_password_period_refuses_binds_then_accepts_them() -> None:
    async def scenario() -> None:
        async with Simulator() as sim:
            sim.reject_binds_for(0.3)
            async with SmppClient(client_for(sim, reconnect_min=0.05, reconnect_max=0.05)) as client:
                pass
            del client

    from warta.gateway.smppclient import SmppClientError

    with pytest.raises(SmppClientError, match="ESME_RINVPASWD"):
        run(scenario())

    async def later() -> None:
        async with Simulator() as sim:
            sim.reject_binds_for(0.2)
            client = SmppClient(client_for(sim, reconnect_min=0.05, reconnect_max=0.05))
            await client.start(wait_bound=False)
            await eventually(lambda: client.bound)
            assert sim.counters["bind_failures"] >= 1
            await client.close()

    run(later())


def test_cli_takes_the_new_fault_flags() -> None:
    from warta.gateway.simulator.cli import _run_parser

    a = _run_parser("warta smsc-sim").parse_args(
        ["--fault", "silent,lose-responses", "--lose-share", "0.3", "--wrong-password-for", "10",
         "--outage-at", "5", "--outage-for", "2"])
    assert parse_faults(a.fault) == {Fault.SILENT, Fault.LOSE_RESPONSES}
    assert (a.lose_share, a.wrong_password_for, a.outage_at, a.outage_for) == (0.3, 10.0, 5.0, 2.0)


def test_a_receipt_or_mo_answered_with_an_error_is_delivered_again() -> None:
    """An ESME that cannot take a deliver_sm (its database down) answers it with an error; an
    SMSC keeps it and delivers it again later, as store and forward does — a receipt and an MO
    alike. One answered OK is not delivered again."""

    async def scenario() -> None:
        received: list[Any] = []
        refused: set[str] = set()

        def on_deliver(item: Any) -> None:
            received.append(item)
            kind = "receipt" if type(item) is DeliveryReceipt else "mo"
            if kind not in refused:  # the first of each kind: the client answers ESME_RX_T_APPN
                refused.add(kind)
                raise RuntimeError("database write failed")

        async with Simulator(SimulatorConfig(receipt_delay=0.0, redeliver_delay=0.1)) as sim:
            async with SmppClient(client_for(sim), on_deliver=on_deliver) as client:
                await client.submit("GubDKI", "6281234567890", "x")
                await eventually(lambda: len(received) == 2)
                sim.inject_mo("081234567890", "02132881818", "INFO BANJIR")
                await eventually(lambda: len(received) == 4)
                await asyncio.sleep(0.3)  # nothing more comes: both were taken the second time
            receipts = [r for r in received if type(r) is DeliveryReceipt]
            mos = [r for r in received if type(r) is not DeliveryReceipt]
            assert len(receipts) == 2 and len({r.message_id for r in receipts}) == 1
            assert [m.text for m in mos] == ["INFO BANJIR", "INFO BANJIR"]
            assert sim.counters["redelivered"] == 2
            assert sim.counters["receipts_sent"] == 2 and sim.counters["mo_sent"] == 2

    run(scenario())


def test_a_receipt_unanswered_when_its_connection_is_lost_is_delivered_again_on_the_next_bind() -> None:
    """A receipt still waiting for its deliver_sm_resp when the link goes (the ESME had not
    stored it yet) is delivered again, the same receipt, on the next bind — as an MO part is, as
    an SMSC's store and forward does. Before, the simulator dropped it, so no test could see the
    engine meet a receipt twice across a reconnect."""

    async def scenario() -> None:
        first: list[Any] = []
        second: list[Any] = []

        def hold(item: Any) -> asyncio.Future[None]:
            first.append(item)
            return asyncio.get_running_loop().create_future()  # never stored: never answered

        async with Simulator(SimulatorConfig(receipt_delay=0.0)) as sim:
            async with SmppClient(client_for(sim), on_deliver=hold) as client:
                await client.submit("GubDKI", "6281234567890", "x")
                await eventually(lambda: len(first) == 1)
            async with SmppClient(client_for(sim), on_deliver=second.append):
                await eventually(lambda: len(second) == 1)
                await asyncio.sleep(0.2)  # answered this time: nothing more comes
            assert type(second[0]) is DeliveryReceipt and len(second) == 1
            assert (second[0].message_id, second[0].stat) == (first[0].message_id, first[0].stat)
            assert sim.counters["receipts_redelivered"] == 1 and sim.counters["receipts_sent"] == 2

    run(scenario())


def test_a_receipt_whose_answer_times_out_is_delivered_again() -> None:
    """An ESME that never answers a receipt's deliver_sm (stuck, not gone): after the response
    timeout the SMSC delivers the same receipt again, as store and forward does. Before, the
    simulator counted the timeout and forgot the receipt."""

    async def scenario() -> None:
        got: list[Any] = []

        def first_held(item: Any) -> asyncio.Future[None] | None:
            got.append(item)
            if len(got) == 1:
                return asyncio.get_running_loop().create_future()  # never answered
            return None

        async with Simulator(SimulatorConfig(receipt_delay=0.0, response_timeout=0.3, redeliver_delay=0.1)) as sim:
            async with SmppClient(client_for(sim), on_deliver=first_held) as client:
                await client.submit("GubDKI", "6281234567890", "x")
                await eventually(lambda: len(got) == 2)
                await asyncio.sleep(0.6)  # the second was answered: nothing more comes
            assert len(got) == 2 and all(type(r) is DeliveryReceipt for r in got)
            assert got[0].message_id == got[1].message_id and got[0].stat == got[1].stat
            assert sim.counters["deliver_timeouts"] == 1 and sim.counters["redelivered"] == 1
            assert sim.counters["receipts_sent"] == 2 and sim.pending_deliveries == 0

    run(scenario())


def test_an_outage_that_loses_receipts_forgets_those_in_flight_too() -> None:
    """A restarted SMSC without storage has no record of a receipt it had sent and not seen
    answered: ``go_down(lose_receipts=True)`` forgets it (counted lost), nothing comes again."""

    async def scenario() -> None:
        got: list[Any] = []

        def hold(item: Any) -> asyncio.Future[None]:
            got.append(item)
            return asyncio.get_running_loop().create_future()

        async with Simulator(SimulatorConfig(receipt_delay=0.0)) as sim:
            async with SmppClient(client_for(sim), on_deliver=hold) as client:
                await client.submit("GubDKI", "6281234567890", "x")
                await eventually(lambda: len(got) == 1)
                await sim.go_down(lose_receipts=True)
                await sim.come_back()
                await asyncio.sleep(0.5)
            assert sim.counters["receipts_lost"] == 1 and sim.counters["receipts_redelivered"] == 0
            assert sim.pending_deliveries == 0 and len(got) == 1

    run(scenario())
