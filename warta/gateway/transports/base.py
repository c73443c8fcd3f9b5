"""The transport contract: what the engine needs from a bind, typed (as httpx's ``BaseTransport``).

Theory of operation: every transport module (``smpp``, ``kannel``, ``gammu``, ``memory``) has
``parse(url) -> ConnectionSpec`` and ``open_bind(spec, *, on_receipt, on_mo) -> Bind``. The engine
only ever calls what ``Bind`` declares; a transport that can tell a late answer from a lost one
(``smpp``, ``memory``) also has ``on_late_response`` (``LateAnswering``), and one that can send
without a task per message (``smpp``) has ``submit_nowait`` (``SubmitsWithoutTask``). Results are
``PartResult``-shaped: ``warta.gateway.smppclient.SubmitResult`` is the one implementation every
transport returns, so the engine has one outcome type to reason about.

``memory`` implements the contract in-process (``warta.gateway.transports.memory``), so most
engine tests need no socket; the SMPP path keeps its own tests over real TCP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

#: ``on_receipt(smsc_message_id, stat, err, source="", sender="")``: the engine's future, resolved
#: once the receipt is committed; the transport acknowledges the receipt only then.
OnReceipt = Callable[..., Awaitable[None]]
#: ``on_mo(item)``: a citizen's message (``MobileOriginated``-shaped); same acknowledgement rule.
OnMo = Callable[[Any], Awaitable[None]]
#: ``on_late_response(ref, result)``: a submit that timed out was answered after all.
OnLate = Callable[[int, Any], None]


class PartResult(Protocol):
    """What became of one part of a message (``SubmitResult``)."""

    @property
    def ok(self) -> bool: ...
    @property
    def part(self) -> int: ...
    @property
    def parts(self) -> int: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def command_status(self) -> int | None: ...
    @property
    def permanent(self) -> bool: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def maybe_sent(self) -> bool: ...
    @property
    def error(self) -> str: ...


@runtime_checkable
class Bind(Protocol):
    """One bind of a connection, as the engine drives it."""

    window: int

    @property
    def bound(self) -> bool: ...

    @property
    def last_error(self) -> str: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(
        self, sender: str, to: str, text: str, *, valid_until: datetime | None = None
    ) -> Sequence[PartResult]: ...


@runtime_checkable
class LateAnswering(Protocol):
    """A bind whose timed-out submits may still be answered (their results carry ``ref``)."""

    on_late_response: OnLate | None


@runtime_checkable
class SubmitsWithoutTask(Protocol):
    """A bind that can write a submit at once and call back with its results (``submit`` without
    an asyncio task per message; the SMPP bind, for the common single-part message). False:
    nothing was sent, use ``submit``."""

    def submit_nowait(
        self,
        sender: str,
        to: str,
        text: str,
        done: Callable[[Sequence[PartResult]], None],
        *,
        valid_until: datetime | None = None,
    ) -> bool: ...


class TransportModule(Protocol):
    """A transport: a module registered in ``REGISTRY``."""

    def parse(self, url: str) -> Any: ...

    def open_bind(self, spec: Any, *, on_receipt: OnReceipt, on_mo: OnMo) -> Bind: ...


def _conforming() -> None:
    """Never called: mypy checks here that every transport's bind keeps the contract."""
    from . import gammu, kannel, memory, smpp

    binds: list[type[Bind]] = [smpp.SmppBind, kannel.KannelBind, gammu.GammuBind, memory.MemoryBind]
    late: list[type[LateAnswering]] = [smpp.SmppBind, memory.MemoryBind]
    nowait: list[type[SubmitsWithoutTask]] = [smpp.SmppBind]
    del binds, late, nowait
