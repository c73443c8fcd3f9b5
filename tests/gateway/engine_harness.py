"""Helpers for engine tests: an SMSC and an engine in one event loop.

``Rig()`` uses the in-memory transport (``warta.gateway.transports.memory``): no socket, the
engine's contract only. ``Rig(tcp=True)`` runs the SMPP simulator over real sockets on
127.0.0.1 (the fault suite, reconnects, binds).

The engine's database thread and the test's thread use separate connections, so engine tests use
``transactional_db`` and (on SQLite) a file database (tests/gateway/conftest.py).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from warta.gateway.simulator import Simulator, SimulatorConfig

_n = itertools.count(1)


def create_sender(name: str = "HumasDKI") -> Any:
    from warta.blasts.models import SenderID

    return SenderID.objects.get_or_create(name=name)[0]


def create_connection(port: int, *, name: str | None = None, query: str = "window=16", senders: tuple[str, ...] = (),
                      operators: tuple[str, ...] = (), priority: int = 0, password: str = "secret") -> Any:
    from warta.gateway import services

    return services.add_connection(name or f"sim{next(_n)}", f"smpp://warta:{password}@127.0.0.1:{port}?{query}",
                                   senders=list(senders), operators=list(operators), priority=priority)


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+62812{10000000 + start + i:08d}"[:14] for i in range(n)]


def create_blast(recipients: list[str], *, sender: str = "HumasDKI", text: str = "Uji Warta", **kw: Any) -> Any:
    from warta.blasts import outbox

    create_sender(sender)
    blast, _summary = outbox.create_blast(sender=sender, text=text, recipients=recipients, **kw)
    return blast


def states(blast_id: int | None = None) -> dict[str, int]:
    from django.db.models import Count

    from warta.blasts.models import OutboundMessage

    qs = OutboundMessage.objects.all()
    if blast_id is not None:
        qs = qs.filter(blast_id=blast_id)
    return dict(qs.values_list("state").annotate(n=Count("id")).values_list("state", "n"))


async def db(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(_closing, fn, *args, **kwargs)


def _closing(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from django.db import connection

    try:
        return fn(*args, **kwargs)
    finally:
        connection.close()


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await db(predicate):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate.__name__}")
        await asyncio.sleep(interval)


class Rig:
    """``async with Rig(receipt_delay=0.05) as rig:`` — an SMSC, a connection, an engine."""

    def __init__(self, *, query: str = "window=16", engine_kw: dict[str, Any] | None = None, tcp: bool = False,
                 **sim: Any) -> None:
        sim.setdefault("receipt_delay", 0.02)
        self.tcp = tcp
        if tcp:
            sim.setdefault("log_keep", 200_000)
            self.sim: Any = Simulator(SimulatorConfig(**sim))
        else:
            from warta.gateway.transports import memory

            self.smsc_name = f"mem{next(_n)}"
            self.sim = memory.smsc(self.smsc_name, **sim)
        self.query = query
        self.engine_kw = {"lease_seconds": 3.0, "heartbeat_seconds": 0.2, "idle_poll": 0.02, "drain_timeout": 3.0,
                          **(engine_kw or {})}
        self.engine: Any = None
        self.task: asyncio.Task[None] | None = None
        self.connection: Any = None

    async def __aenter__(self) -> Rig:
        if self.tcp:
            await self.sim.start()
            self.connection = await db(create_connection, self.sim.port, query=self.query)
        else:
            self.connection = await db(_create_memory_connection, self.smsc_name, self.query)
        await self.start_engine()
        return self

    async def start_engine(self) -> Any:
        from warta.gateway.engine import Engine

        self.engine = Engine(**self.engine_kw)
        self.task = asyncio.get_running_loop().create_task(self.engine.run(install_signals=False))
        return self.engine

    async def stop_engine(self) -> None:
        if self.engine is not None and self.task is not None:
            self.engine.stop()
            await asyncio.wait_for(self.task, 20)
            self.task = None

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.stop_engine()
        finally:
            if self.tcp:
                await self.sim.stop()
            else:
                from warta.gateway.transports import memory

                memory.forget(self.smsc_name)

    def submits(self) -> list[dict[str, Any]]:
        if not self.tcp:
            return list(self.sim.submits)
        return self.sim.log.find(command="submit_sm")


def _create_memory_connection(name: str, query: str) -> Any:
    from warta.gateway import services

    return services.add_connection(name, f"memory://{name}?{query}")
