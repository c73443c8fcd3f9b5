"""Kannel smsbox transport:
``kannel://USER:PASS@HOST:13013?secret=…&callback=http://warta.example:8000&dlr-mask=31&smsc=…``.

Theory of operation
-------------------
Warta talks to Kannel's smsbox, never to bearerbox: a message is one HTTP ``GET /cgi-bin/sendsms``
(``username``, ``password``, ``from``, ``to``, ``text`` in UTF-8 with ``charset=UTF-8``, and
``coding=2`` when the text needs UCS-2, so Kannel does not guess), at most ``window`` requests in
flight per bind. Kannel splits long texts itself (its ``sendsms-user`` needs ``max-messages`` > 1
and ``concatenation = true``), so the engine sees one part per message.

* **Answers.** 2xx (``0: Accepted for delivery``, ``3: Queued for later delivery``) → submitted;
  4xx (bad credentials, bad number, text refused) → permanent failure; 5xx and connection errors →
  transient, retried by the engine. A time-out after the request left may have been queued by
  Kannel: it is reported as ``maybe_sent`` so the blast's resend policy decides.
* **No SMSC id.** sendsms answers before bearerbox has submitted anything, so there is no SMSC
  message id to key receipts on. Instead each submit gets a Warta id (random, stored as the
  part's ``smsc_message_id``) and a per-message ``dlr-url`` that carries it:
  ``{callback}/gateway/kannel/{kid}/dlr?m={id}&token={HMAC(secret, id)}&type=%d&answer=%A…``.
  Kannel fills in ``%d`` (1 delivered, 2 failed, 4 buffered, 8 SMSC accepted, 16 SMSC rejected)
  and ``%A`` (the SMSC's receipt text); ``warta.gateway.callbacks`` checks the token and hands the
  receipt to the engine's own ``apply_receipts``, the same path as SMPP receipts.
* **Which connection.** ``kid`` is a public digest of the connection's secret, so the callback
  finds its connection without the URL naming it; the token (an HMAC of the message id under the
  secret) proves the callback came from a dlr-url Warta made. A leaked dlr-url can report on one
  message only. Citizens' messages come through smsbox's ``get-url``/``post-url``
  (``mo_get_url`` writes the line for kannel.conf), authenticated by ``HMAC(secret, "mo")``.
* **Bound.** HTTP has no bind; the bind is "bound" while smsbox's port accepts connections. After a
  connection error a probe task reconnects with back-off and the engine routes elsewhere meanwhile.

The secret and the password never reach a log: errors name the host, not the URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from django.utils.translation import gettext as _

from warta.gateway.smppclient import SubmitResult
from warta.sms.segments import Encoding, choose_encoding

from . import (
    ConnectionSpec,
    ConnectionURLError,
    float_option,
    host_and_port,
    int_option,
    split_options,
)

log = logging.getLogger("warta.gateway.kannel")

KNOWN = {"secret": "rahasia callback", "window": "pesan tanpa jawaban", "tps": "pesan per detik",
         "binds": "jumlah koneksi", "smsc": "smsc-id Kannel", "dlr-mask": "0–31",
         "callback": "URL dasar Warta untuk dlr-url", "timeout": "detik", "path": "path sendsms"}

#: Kannel's ``%d`` DLR types (gw/dlr.h) → receipt ``stat`` words, which the engine maps to states
#: (``warta.blasts.outbox.RECEIPT_STATES``): 1 and 2 and 16 are final, 4 and 8 are not.
DLR_TYPES: dict[int, str] = {
    1: "DELIVRD",  # DLR_SUCCESS: delivered to the phone
    2: "UNDELIV",  # DLR_FAIL: the SMSC gave up (the answer's stat: may say EXPIRED or REJECTD)
    4: "ENROUTE",  # DLR_BUFFERED: the SMSC is still trying
    8: "ACCEPTD",  # DLR_SMSC_SUCCESS: the SMSC accepted the submit_sm
    16: "REJECTD",  # DLR_SMSC_FAIL: the SMSC refused the submit_sm
}
#: Final words an SMSC receipt text (``%A``, "id:… stat:EXPIRED err:…") may refine a type 2 with.
_REFINE = ("EXPIRED", "REJECTD", "DELETED", "UNDELIV")

MIN_SECRET = 16


def parse(url: str) -> ConnectionSpec:
    host, port, user, password, query = host_and_port(url, "kannel", 13013)
    options = split_options(query, KNOWN, "kannel")
    if not user:
        raise ConnectionURLError(_("URL kannel:// perlu USER:SANDI sendsms-user, misalnya kannel://warta:sandi@host:13013."))
    dlr_mask = int_option(options, "dlr-mask", 31, 0, 31)
    secret = options.get("secret", "")
    callback = options.get("callback", "").rstrip("/")
    if dlr_mask:
        # Without both, receipts could not reach Warta (or could be forged): say so now.
        if len(secret) < MIN_SECRET:
            raise ConnectionURLError(
                _("URL kannel:// perlu opsi secret= minimal %(n)d karakter acak (untuk mengautentikasi dlr-url "
                  "dan get-url), misalnya secret=%(example)s; atau dlr-mask=0 bila tanpa laporan terkirim.")
                % {"n": MIN_SECRET, "example": secrets.token_hex(16)})
        cb = urlsplit(callback)
        if cb.scheme not in ("http", "https") or not cb.hostname:
            raise ConnectionURLError(
                _("URL kannel:// perlu opsi callback= berisi alamat Warta yang dapat dijangkau Kannel, misalnya "
                  "callback=http://10.0.0.7:8000 (didapat %(cb)r).") % {"cb": callback})
    path = options.get("path", "/cgi-bin/sendsms")
    if not path.startswith("/"):
        raise ConnectionURLError(_("Opsi path harus diawali '/', misalnya path=/cgi-bin/sendsms."))
    return ConnectionSpec(kind="kannel", url=url, host=host, port=port, username=user, password=password,
                          window=int_option(options, "window", 100, 1, 10000),
                          tps=float_option(options, "tps", 0.0, 0.0, 100000.0),
                          binds=int_option(options, "binds", 1, 1, 1), options=options)


# ------------------------------------------------------------------------------- tokens


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def connection_key(secret: str) -> str:
    """The public id of a connection in callback paths: a digest of its secret, not the secret."""
    return _mac(secret, "warta-kannel-connection")[:16]


def dlr_token(secret: str, message_id: str) -> str:
    return _mac(secret, f"dlr:{message_id}")[:32]


def mo_token(secret: str) -> str:
    return _mac(secret, "mo")[:32]


def dlr_url(spec: ConnectionSpec, message_id: str) -> str:
    secret = spec.options["secret"]
    base = spec.options["callback"].rstrip("/")
    return (f"{base}/gateway/kannel/{connection_key(secret)}/dlr?m={message_id}"
            f"&token={dlr_token(secret, message_id)}&type=%d&answer=%A&ts=%T&smsc=%i")


def mo_get_url(spec_or_url: ConnectionSpec | str, base: str | None = None) -> str:
    """The ``get-url`` for smsbox's ``sms-service`` that brings citizens' messages to Warta.

    ``%b`` is the message body as received (UCS-2 bytes stay bytes), ``%c``/``%C`` say how to
    read it; ``%I`` is Kannel's id of the MO, used to drop a repeated request.
    """
    spec = parse(spec_or_url) if isinstance(spec_or_url, str) else spec_or_url
    secret = spec.options.get("secret", "")
    if not secret:
        raise ConnectionURLError(_("Koneksi Kannel tanpa secret= tidak dapat menerima pesan masuk."))
    root = (base or spec.options.get("callback", "")).rstrip("/")
    return (f"{root}/gateway/kannel/{connection_key(secret)}/mo?token={mo_token(secret)}"
            f"&from=%p&to=%P&text=%b&coding=%c&charset=%C&smsc=%i&id=%I")


def receipt_stat(dlr_type: int, answer: str = "") -> str | None:
    """The receipt word for Kannel's ``%d`` (and ``%A``), or None for a type Warta ignores."""
    stat = DLR_TYPES.get(dlr_type)
    if stat == "UNDELIV":
        upper = answer.upper()
        for word in _REFINE:
            if f"STAT:{word}" in upper:
                return word
    return stat


# ------------------------------------------------------------------------------- bind

OnReceipt = Callable[[str, str, str], Awaitable[None]]
OnMo = Callable[[Any], Awaitable[None]]


class KannelBind:
    """One smsbox, as the engine sees a bind."""

    def __init__(self, spec: ConnectionSpec, *, on_receipt: OnReceipt | None = None, on_mo: OnMo | None = None) -> None:
        self.spec = spec
        self.window: int = spec.window
        self.timeout = float_option(spec.options, "timeout", 10.0, 0.1, 600.0)
        self.dlr_mask = int(spec.options.get("dlr-mask", "31"))
        self._base = f"http://{spec.host}:{spec.port}{spec.options.get('path', '/cgi-bin/sendsms')}"
        self._session: Any = None
        self._bound = False
        self._closing = False
        self._probe: asyncio.Task[None] | None = None
        self.last_error = ""
        # Receipts and MOs arrive over HTTP at the web process (warta.gateway.callbacks), not here.
        del on_receipt, on_mo

    @property
    def bound(self) -> bool:
        return self._bound and not self._closing

    async def start(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.window),
            timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._probe = asyncio.get_running_loop().create_task(self._reconnect())

    async def close(self) -> None:
        self._closing = True
        if self._probe is not None:
            self._probe.cancel()
            try:
                await self._probe
            except asyncio.CancelledError:
                pass
        if self._session is not None:
            await self._session.close()

    async def _reconnect(self) -> None:
        """Mark the bind up once smsbox's port accepts a connection; back off while it does not."""
        delay = 0.2
        while not self._closing:
            try:
                _reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.spec.host, self.spec.port), timeout=self.timeout)
            except (OSError, TimeoutError) as exc:
                self.last_error = f"smsbox {self.spec.host}:{self.spec.port} tidak dapat dihubungi: {exc}"
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            writer.close()
            self._bound = True
            self.last_error = ""
            return

    def _down(self, error: str) -> None:
        self.last_error = error
        if self._bound and not self._closing:
            self._bound = False
            log.warning("kannel %s:%s down: %s", self.spec.host, self.spec.port, error)
            self._probe = asyncio.get_running_loop().create_task(self._reconnect())

    def query(self, sender: str, to: str, text: str, message_id: str, valid_until: datetime | None) -> str:
        params = [("username", self.spec.username), ("password", self.spec.password), ("from", sender),
                  ("to", to), ("text", text), ("charset", "UTF-8")]
        if choose_encoding(text) is Encoding.UCS2:
            params.append(("coding", "2"))  # Kannel would otherwise try GSM and lose the characters
        if self.dlr_mask:
            params += [("dlr-mask", str(self.dlr_mask)), ("dlr-url", dlr_url(self.spec, message_id))]
        if self.spec.options.get("smsc"):
            params.append(("smsc", self.spec.options["smsc"]))
        if valid_until is not None:
            # Kannel's validity is in whole minutes from now; round down so it never runs late.
            minutes = int((valid_until - datetime.now(UTC)).total_seconds() // 60)
            params.append(("validity", str(max(1, minutes))))
        return urlencode(params, quote_via=quote, safe="")

    async def submit(self, sender: str, to: str, text: str, *, valid_until: datetime | None = None) -> list[SubmitResult]:
        import aiohttp
        from yarl import URL

        message_id = secrets.token_hex(10)
        url = URL(f"{self._base}?{self.query(sender, to, text, message_id, valid_until)}", encoded=True)
        started = time.monotonic()
        try:
            async with self._session.get(url) as resp:
                body = (await resp.text(errors="replace")).strip()[:200]
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            # Refused before anything was sent: certainly not queued.
            self._down(f"smsbox {self.spec.host}:{self.spec.port}: {exc.os_error or exc}")
            return [SubmitResult(1, 1, None, None, error=_("Kannel tidak dapat dihubungi: %(e)s") % {"e": self.last_error})]
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have reached smsbox, which may have queued it.
            waited = time.monotonic() - started
            return [SubmitResult(1, 1, None, None, maybe_sent=True,
                                 error=_("Kannel tidak menjawab (%(s).1f s): %(e)s") % {"s": waited, "e": type(exc).__name__})]
        if 200 <= status < 300:
            return [SubmitResult(1, 1, message_id, 0)]
        error = _("Kannel menjawab HTTP %(status)d: %(body)s") % {"status": status, "body": body}
        if 400 <= status < 500:
            return [SubmitResult(1, 1, None, None, permanent=True, error=error)]
        return [SubmitResult(1, 1, None, None, retry_after=2.0, error=error)]


def open_bind(spec: ConnectionSpec, *, on_receipt: OnReceipt | None = None, on_mo: OnMo | None = None) -> KannelBind:
    return KannelBind(spec, on_receipt=on_receipt, on_mo=on_mo)


async def test(spec: ConnectionSpec, timeout: float = 10.0) -> dict[str, Any]:
    """Open a TCP connection to smsbox's sendsms port; report how long it took."""
    t0 = time.monotonic()
    _reader, writer = await asyncio.wait_for(asyncio.open_connection(spec.host, spec.port), timeout=timeout)
    writer.close()
    return {"connect_seconds": round(time.monotonic() - t0, 4)}
