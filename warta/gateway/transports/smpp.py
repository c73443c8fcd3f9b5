"""SMPP 3.4 transport: ``smpp://SYSTEM_ID:PASSWORD@HOST:PORT?bind=trx&window=64&tps=200&binds=2``.

Theory of operation: each bind of a connection is one ``warta.gateway.smppclient.SmppClient``
(one trx link, or a tx+rx pair). The client keeps the window, TPS and reconnects; this module only
translates: URL → ``ClientConfig`` (with Indonesian errors for typos), engine calls → client calls,
and deliver_sm items → the engine's ``on_receipt`` / ``on_mo`` callbacks. The client answers a
deliver_sm only after the callback's awaitable completes, so a receipt or an MO is acknowledged to
the SMSC only once the engine has committed it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from warta.gateway.smppclient import (
    ClientConfig,
    DeliveryReceipt,
    SmppClient,
    SmppClientError,
    SubmitResult,
    destination_address,
)
from warta.smpp.errors import InvalidPduError
from warta.smpp.pdu import SubmitSm
from warta.sms.segments import measure

from . import (
    ConnectionSpec,
    ConnectionURLError,
    float_option,
    host_and_port,
    int_option,
    split_options,
)

KNOWN = {
    "bind": "trx | tx+rx | tx",
    "window": "PDU tanpa jawaban per bind",
    "tps": "submit per detik per bind",
    "binds": "jumlah bind",
    "enquire_link": "detik",
    "timeout": "detik (batas bawah; naik mengikuti latensi SMSC)",
    "max_timeout": "detik (batas atas batas waktu jawaban)",
    "long": "udh | payload",
    "reconnect_min": "detik",
    "reconnect_max": "detik",
    "system_type": "teks",
    "registered_delivery": "0 | 1",
}


def parse(url: str) -> ConnectionSpec:
    host, port, system_id, password, query = host_and_port(url, "smpp", 2775)
    options = split_options(query, KNOWN, "smpp")
    if not system_id:
        raise ConnectionURLError(
            _("URL smpp:// perlu SYSTEM_ID sebelum '@', misalnya smpp://warta:sandi@%(host)s:%(port)s.")
            % {"host": host, "port": port})
    if len(system_id) > 15:
        raise ConnectionURLError(_("SYSTEM_ID paling panjang 15 karakter (batas SMPP 3.4)."))
    if len(password) > 8:
        raise ConnectionURLError(_("Kata sandi SMPP paling panjang 8 karakter (batas SMPP 3.4)."))
    bind = options.get("bind", "trx").replace(" ", "+")  # '+' in a query string reads as a space
    if bind not in ("trx", "tx+rx", "tx"):
        raise ConnectionURLError(
            _("Opsi bind=%(b)r tidak dikenal: pakai trx (transceiver), tx+rx (dua koneksi) atau tx.") % {"b": bind})
    long_mode = options.get("long", "udh")
    if long_mode not in ("udh", "payload"):
        raise ConnectionURLError(_("Opsi long harus udh atau payload, bukan %(v)r.") % {"v": long_mode})
    window = int_option(options, "window", 64, 1, 10000)
    tps = float_option(options, "tps", 0.0, 0.0, 100000.0)
    binds = int_option(options, "binds", 1, 1, 64)
    config = ClientConfig(
        host=host, port=port, system_id=system_id, password=password,
        system_type=options.get("system_type", ""), bind_mode=bind,  # type: ignore[arg-type]
        window=window, tps=tps,
        enquire_link_interval=float_option(options, "enquire_link", 30.0, 1.0, 3600.0),
        response_timeout=float_option(options, "timeout", 10.0, 0.1, 600.0),
        max_response_timeout=float_option(options, "max_timeout", 120.0, 0.1, 3600.0),
        long_message_mode=long_mode,  # type: ignore[arg-type]
        reconnect_min=float_option(options, "reconnect_min", 1.0, 0.01, 600.0),
        reconnect_max=float_option(options, "reconnect_max", 60.0, 0.01, 3600.0),
        registered_delivery=int_option(options, "registered_delivery", 1, 0, 31),
    )
    if config.reconnect_max < config.reconnect_min:
        raise ConnectionURLError(_("reconnect_max harus ≥ reconnect_min."))
    return ConnectionSpec(kind="smpp", url=url, host=host, port=port, username=system_id, password=password,
                          window=window, tps=tps, binds=binds, options=options, config=config)


# Where dest_addr_ton, dest_addr_npi, destination_addr sit among SubmitSm's values (_fast_new order).
_NAMES = [f.name for f in fields(SubmitSm)]
_DEST = _NAMES.index("dest_addr_ton")
assert _NAMES[_DEST:_DEST + 3] == ["dest_addr_ton", "dest_addr_npi", "destination_addr"]

OnReceipt = Callable[..., Awaitable[None]]  # (smsc_id, stat, error, source, sender)
OnMo = Callable[[Any], Awaitable[None]]


class SmppBind:
    """One bind of a connection, as the engine sees it."""

    def __init__(self, spec: ConnectionSpec, *, on_receipt: OnReceipt, on_mo: OnMo) -> None:
        self.spec = spec
        self.window: int = spec.window
        self._on_receipt = on_receipt
        self._on_mo = on_mo
        self.client = SmppClient(spec.config, on_deliver=self._on_deliver)
        self._templates: dict[tuple[str, str, str], SubmitSm] = {}

    @property
    def bound(self) -> bool:
        return self.client.bound

    @property
    def on_late_response(self) -> Callable[[int, SubmitResult], None] | None:
        """Called with (ref, result) when a submit that timed out is answered after all."""
        return self.client.on_late_response

    @on_late_response.setter
    def on_late_response(self, callback: Callable[[int, SubmitResult], None] | None) -> None:
        self.client.on_late_response = callback

    @property
    def last_error(self) -> str:
        return str(self.client.last_error or "")

    async def start(self) -> None:
        # Do not wait for the bind: the client's supervisor reconnects with back-off, and the
        # engine dispatches only to bound binds.
        await self.client.start(wait_bound=False)

    async def close(self) -> None:
        await self.client.close()

    @staticmethod
    def parts_needed(text: str) -> int:
        # Counting needs no concatenation reference (plan() asks for one once a text is long).
        segments = measure(text).segments
        if segments > 255:
            return 1  # submit will fail permanently; it takes one slot until then
        return max(1, segments)

    async def submit(self, sender: str, to: str, text: str, *, valid_until: datetime | None = None) -> list[SubmitResult]:
        validity = _validity(valid_until)
        try:
            key = (sender, text, validity)
            template = self._templates.get(key)
            if template is not None:
                return [await self.client.submit_pdu(_addressed(template, to))]
            pdus = self.client.build_submits(sender, to, text, validity_period=validity)
            if len(pdus) == 1:
                if len(self._templates) > 64:
                    self._templates.clear()
                self._templates[key] = pdus[0]
                return [await self.client.submit_pdu(pdus[0])]
            n = len(pdus)
            return list(await asyncio.gather(*(self.client.submit_pdu(p, part=i, parts=n)
                                               for i, p in enumerate(pdus, start=1))))
        except SmppClientError as exc:  # input the SMSC could never accept
            return [SubmitResult.from_error(1, 1, exc)]
        except InvalidPduError as exc:
            return [SubmitResult.from_error(1, 1, SmppClientError(str(exc), permanent=True))]

    def submit_nowait(self, sender: str, to: str, text: str, done: Callable[[Sequence[SubmitResult]], None],
                      *, valid_until: datetime | None = None) -> bool:
        """``submit`` for a message whose text (and validity) this bind has sent before as one
        part, written at once with ``done`` called on the answer (``SmppClient.submit_nowait``);
        False otherwise (the first message of a text, a long one, a full window: ``submit``
        handles those)."""
        template = self._templates.get((sender, text, _validity(valid_until)))
        if template is None:
            return False
        try:
            pdu = _addressed(template, to)
        except (SmppClientError, InvalidPduError):
            return False  # ``submit`` turns it into the message's error
        return self.client.submit_nowait(pdu, lambda result: done([result]))

    def _on_deliver(self, item: Any) -> Awaitable[None]:
        # Returns the engine's future (resolved after its commit); the client answers the
        # deliver_sm when it completes.
        if isinstance(item, DeliveryReceipt):
            stat = item.stat
            # ``error`` parses the receipt text (the costliest part of a receipt); a delivered
            # message has no error worth keeping, so only failures pay for it.
            # The receipt's ``text:`` (the message's first characters) is parsed only if the
            # engine must match the receipt by handset (``text`` is called then, rarely).
            return self._on_receipt(item.message_id, stat, "" if stat == "DELIVRD" else (item.error or ""),
                                    item.source_addr, item.destination_addr,
                                    text=lambda: item.receipt.text or "")
        return self._on_mo(item)


def _addressed(template: SubmitSm, to: str) -> SubmitSm:
    """A blast sends one text to many numbers: segmenting and encoding it once (the template)
    and changing only the destination saves most of the per-message CPU."""
    ton, npi, dest = destination_address(to)
    if len(dest) < 21:
        # The template was validated when built; the new destination is ASCII digits that fit
        # (checked here), so copy without re-validating every field — the dataclasses.replace()
        # of before was the costliest step of a send.
        v = SubmitSm._values(template)
        pdu: SubmitSm = SubmitSm._fast_new(*v[:_DEST], ton, npi, dest, *v[_DEST + 3:])
        return pdu
    return replace(template, dest_addr_ton=ton, dest_addr_npi=npi, destination_addr=dest)


def _validity(valid_until: datetime | None) -> str:
    """The SMSC gets the validity too (absolute UTC time, SMPP 3.4 §7.1.1), so it does not
    deliver late either."""
    return valid_until.astimezone(UTC).strftime("%y%m%d%H%M%S") + "000+" if valid_until else ""


def open_bind(spec: ConnectionSpec, *, on_receipt: OnReceipt, on_mo: OnMo) -> SmppBind:
    return SmppBind(spec, on_receipt=on_receipt, on_mo=on_mo)


async def test(spec: ConnectionSpec, timeout: float = 10.0) -> dict[str, Any]:
    """Bind once, send enquire_link, unbind. Raises ``SmppClientError`` with the cause."""
    from warta.smpp.pdu import EnquireLink

    client = SmppClient(spec.config)
    started = time.monotonic()
    await client.start(wait_bound=True)
    bound_after = time.monotonic() - started
    try:
        t0 = time.monotonic()
        await client.request(EnquireLink())
        rtt = time.monotonic() - t0
    finally:
        await client.close()
    return {"bound_seconds": round(bound_after, 4), "enquire_link_seconds": round(rtt, 4)}
