"""The simulator's local HTTP endpoint: ``POST /mo`` injects a citizen's SMS, ``GET /stats``.

Theory of operation
-------------------
aiohttp (already a dependency, see docs/decisions/aiohttp.md) on 127.0.0.1 only: anyone who can
reach it can make the gateway believe a citizen wrote, so it never listens on another address.
``POST /mo`` takes JSON or a form with ``from``, ``to``, ``text`` (and optionally
``system_id`` to pick the account whose receiver gets it) and answers with the number of parts
queued. Delivery happens as soon as a receiver is bound; until then the message waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from warta.gateway.simulator._server import Simulator

HOST = "127.0.0.1"
SIM_KEY: web.AppKey[Simulator] = web.AppKey("sim")


async def start_http(sim: Simulator, port: int) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app[SIM_KEY] = sim
    app.router.add_post("/mo", _post_mo)
    app.router.add_get("/stats", _get_stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    actual: int = runner.addresses[0][1]
    return runner, actual


async def _post_mo(request: web.Request) -> web.Response:
    sim: Simulator = request.app[SIM_KEY]
    data: dict[str, Any]
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
    else:
        data = dict(await request.post())
    missing = [
        k for k in ("from", "to", "text") if not isinstance(data.get(k), str) or not data.get(k)
    ]
    if missing:
        return web.json_response({"error": f"missing or empty: {', '.join(missing)}"}, status=400)
    system_id = data.get("system_id") or None
    try:
        parts = sim.inject_mo(data["from"], data["to"], data["text"], system_id=system_id)
    except ValueError as exc:  # e.g. a text of more than 255 parts
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(
        {"queued": True, "parts": parts, "receivers": len(sim.bound_receivers)}, status=202
    )


async def _get_stats(request: web.Request) -> web.Response:
    sim: Simulator = request.app[SIM_KEY]
    return web.json_response(
        {
            "counters": sim.counters,
            "connections": [
                {"conn": c.conn_id, "bind": c.label, "submits": c.submits} for c in sim.connections
            ],
            "pending_deliveries": sim.pending_deliveries,
        }
    )
