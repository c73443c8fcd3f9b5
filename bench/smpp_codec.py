"""Encode/decode rates of warta.smpp per PDU type, and of smpplib for comparison.

Run: ``.venv/bin/python bench/smpp_codec.py [seconds-per-case]``. Prints operations per second on
one core (best of 5 runs). Figures go into docs/decisions/smpp-codec.md.
"""

from __future__ import annotations

import dataclasses
import sys
import timeit
from collections.abc import Callable

from warta.smpp.codec import Decoder, decode_pdu
from warta.smpp.constants import EsmClass, MessageState, Tag
from warta.smpp.pdu import (
    BindTransceiver,
    DeliverSm,
    EnquireLink,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    tlv_u16,
)
from warta.smpp.receipts import format_receipt, receipt_tlvs

TEXT = b"Info banjir: warga Kampung Melayu diimbau mengungsi ke posko terdekat. -Pemprov DKI"

CASES: dict[str, Pdu] = {
    "bind_transceiver": BindTransceiver(sequence_number=1, system_id="warta", password="secret"),
    "submit_sm": SubmitSm(
        sequence_number=2,
        source_addr_ton=5,
        source_addr="GubDKI",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="6281234567890",
        registered_delivery=1,
        short_message=TEXT,
        tlvs=(tlv_u16(Tag.USER_MESSAGE_REFERENCE, 7),),
    ),
    "submit_sm_resp": SubmitSmResp(sequence_number=2, message_id="0123456789abcdef"),
    "deliver_sm(receipt)": DeliverSm(
        sequence_number=3,
        source_addr="6281234567890",
        destination_addr="GubDKI",
        esm_class=EsmClass.TYPE_DELIVERY_RECEIPT,
        short_message=format_receipt("0123456789abcdef", MessageState.DELIVERED).encode(),
        tlvs=receipt_tlvs("0123456789abcdef", MessageState.DELIVERED),
    ),
    "enquire_link": EnquireLink(sequence_number=4),
}


def rate(fn: Callable[[], object], seconds: float) -> float:
    timer = timeit.Timer(fn)
    n, _ = timer.autorange()
    n = max(1, int(n * seconds / 0.2))
    best = min(timer.repeat(repeat=5, number=n))
    return n / best


def bench_warta(seconds: float) -> None:
    print(f"{'warta.smpp':<24}{'encode/s':>12}{'decode/s':>12}{'dec+enc/s':>12}{'build+enc/s':>13}")
    for name, pdu in CASES.items():
        wire = pdu.encode()
        enc = rate(pdu.encode, seconds)
        fields = {f.name: getattr(pdu, f.name) for f in dataclasses.fields(pdu)}
        cls = type(pdu)
        build = rate(lambda cls=cls, fields=fields: cls(**fields).encode(), seconds)
        dec = rate(lambda wire=wire: decode_pdu(wire), seconds)
        both = rate(lambda wire=wire: decode_pdu(wire).encode(), seconds)
        print(f"{name:<24}{enc:>12,.0f}{dec:>12,.0f}{both:>12,.0f}{build:>13,.0f}")
    stream = b"".join(CASES["submit_sm"].encode() for _ in range(100))
    per_pdu = rate(lambda: Decoder().feed(stream), seconds) * 100
    print(f"{'Decoder, 100 submit_sm':<24}{'':>12}{per_pdu:>12,.0f}")


class _Client:
    """The minimum smpplib's Command wants from a client: a sequence counter."""

    sequence = 1

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def bench_smpplib(seconds: float) -> None:
    try:
        from smpplib import smpp
    except ImportError:
        print("smpplib not installed; skipped")
        return
    client = _Client()
    cases: dict[str, Callable[[], object]] = {
        "bind_transceiver": lambda: smpp.make_pdu(
            "bind_transceiver", client=client, system_id="warta", password="secret"
        ),
        "submit_sm": lambda: smpp.make_pdu(
            "submit_sm",
            client=client,
            source_addr_ton=5,
            source_addr="GubDKI",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="6281234567890",
            registered_delivery=1,
            short_message=TEXT,
            user_message_reference=7,
        ),
        "submit_sm_resp": lambda: smpp.make_pdu(
            "submit_sm_resp", client=client, message_id="0123456789abcdef"
        ),
        "enquire_link": lambda: smpp.make_pdu("enquire_link", client=client),
    }
    print(f"{'smpplib':<24}{'encode/s':>12}{'decode/s':>12}{'dec+enc/s':>12}")
    for name, make in cases.items():
        pdu = make()
        wire = pdu.generate()  # type: ignore[attr-defined]
        enc = rate(lambda make=make: make().generate(), seconds)  # type: ignore[attr-defined]
        dec = rate(lambda wire=wire: smpp.parse_pdu(wire, client=client), seconds)
        try:
            both_text = format(
                rate(
                    lambda wire=wire: smpp.parse_pdu(wire, client=client).generate(),  # type: ignore[union-attr]
                    seconds,
                ),
                ",.0f",
            )
        except TypeError:  # smpplib cannot re-encode some PDUs it parsed (bytes vs str fields)
            both_text = "fails"
        print(f"{name:<24}{enc:>12,.0f}{dec:>12,.0f}{both_text:>12}")
    print("(smpplib encode includes building the PDU object: it has no separate immutable PDU)")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    print(f"Python {sys.version.split()[0]}, best of 5\n")
    bench_warta(seconds)
    print()
    bench_smpplib(seconds)


if __name__ == "__main__":
    main()
