"""Connections: URL validation, the connection commands, the settings UI, /metrics."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import login

from .engine_harness import create_sender

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize(("url", "fragment"), [
    ("smp://warta:secret@10.0.0.5:2775", "mungkin maksud Anda smpp?"),
    ("smpp://warta:secret@10.0.0.5:99999", "Port"),
    ("smpp://warta:secret@10.0.0.5:2775?windw=64", "mungkin maksud Anda window?"),
    ("smpp://warta:secret@10.0.0.5:2775?window=banyak", "bilangan bulat"),
    ("smpp://warta:secret@10.0.0.5:2775?window=0", "di luar batas"),
    ("smpp://warta:secret@10.0.0.5:2775?bind=rx", "trx"),
    ("smpp://:secret@10.0.0.5:2775", "SYSTEM_ID"),
    ("smpp://warta:sandiyangpanjang@10.0.0.5", "8 karakter"),
    ("smpp://warta:secret@:2775", "host"),
    ("10.0.0.5:2775", "skema"),
    ("gammu+sqlite://var/lib/smsd.db", "tiga garis miring"),
])
def test_a_connection_url_with_a_typo_gets_a_precise_indonesian_error_at_add_time(url, fragment):
    with pytest.raises(CommandError) as err:
        run("connection", "add", "operator1", url)
    assert fragment in str(err.value)
    from warta.gateway.models import Connection

    assert not Connection.objects.exists()


def test_connection_add_list_and_json_never_show_the_password():
    create_sender("GubDKI")
    out = run("connection", "add", "telkomsel", "smpp://warta:rahasia@10.0.0.5:2775?window=64&tps=200&binds=2",
              "--sender", "GubDKI", "--operators", "telkomsel", "--priority", "1")
    assert "rahasia" not in out and "***" in out
    listing = run("connection", "list")
    assert "telkomsel" in listing and "rahasia" not in listing
    data = json.loads(run("connection", "list", "--json"))
    assert data[0]["senders"] == ["GubDKI"] and data[0]["operators"] == ["telkomsel"]
    assert data[0]["window"] == 64 and data[0]["tps"] == 200 and data[0]["binds"] == 2
    assert len(data[0]["bind_states"]) == 2 and "rahasia" not in json.dumps(data)
    from warta.accounts.models import AuditEvent

    event = AuditEvent.objects.get(action="gateway.connection_added")
    assert "rahasia" not in json.dumps(event.changes)


def test_connection_add_rejects_an_unknown_sender_id_and_operator():
    create_sender("GubDKI")
    with pytest.raises(CommandError, match="GubDKI"):
        run("connection", "add", "x", "smpp://a:b@h:1", "--sender", "GubDK")
    with pytest.raises(CommandError, match="telkomsel"):
        run("connection", "add", "x", "smpp://a:b@h:1", "--operators", "telkomsl")


def test_connection_test_reports_a_refused_connection_plainly():
    run("connection", "add", "mati", "smpp://warta:secret@127.0.0.1:9?reconnect_min=0.1&reconnect_max=0.1")
    with pytest.raises(CommandError, match="mati"):
        run("connection", "test", "mati", "--timeout", "3")


def test_connection_test_binds_and_pings_the_simulator(transactional_db):
    import asyncio
    import threading

    from warta.gateway.simulator import Simulator, SimulatorConfig

    loop = asyncio.new_event_loop()
    sim = Simulator(SimulatorConfig())
    loop.run_until_complete(sim.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        run("connection", "add", "sim", f"smpp://warta:secret@127.0.0.1:{sim.port}")
        out = run("connection", "test", "sim")
        assert "baik" in out and "enquire_link" in out
    finally:
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_only_an_administrator_manages_connections(client, actors):
    for name in ("operator", "approver", "verifier", "analyst", "liaison"):
        login(client, actors[name])
        assert client.get("/pengaturan/gateway/").status_code == 403
        assert client.post("/pengaturan/gateway/tambah/", {"name": "x", "url": "smpp://a:b@h:1"}).status_code == 403
        client.logout()
    assert client.get("/pengaturan/gateway/").status_code == 302  # anonymous: to the login page


def test_an_administrator_adds_and_edits_a_connection_and_sees_bind_states(client, actors):
    from warta.gateway.models import Connection

    login(client, actors["admin"])
    bad = client.post("/pengaturan/gateway/tambah/", {"name": "xl", "url": "smpp://a:b@h:1?tsp=5", "priority": 0})
    assert bad.status_code == 200 and "mungkin maksud Anda tps?" in bad.content.decode()
    ok = client.post("/pengaturan/gateway/tambah/", {"name": "xl", "url": "smpp://warta:rahasia@h:2775?binds=2",
                                                     "priority": 0, "operators": ["xl"], "is_active": "on"})
    assert ok.status_code == 302
    conn = Connection.objects.get(name="xl")
    page = client.get("/pengaturan/gateway/").content.decode()
    assert "xl" in page and "rahasia" not in page and 'hx-trigger="every 2s"' in page
    fragment = client.get("/pengaturan/gateway/bind/").content.decode()
    assert "0: free" in fragment and "1: free" in fragment
    # Editing without a URL keeps the old one (the password is never sent back to the browser).
    form = client.get(f"/pengaturan/gateway/{conn.pk}/").content.decode()
    assert "rahasia" not in form
    client.post(f"/pengaturan/gateway/{conn.pk}/", {"name": "xl", "url": "", "priority": 3, "operators": ["xl", "tri"]})
    conn.refresh_from_db()
    assert conn.priority == 3 and conn.url.startswith("smpp://warta:rahasia@") and conn.operator_names() == ["tri", "xl"]


def test_metrics_show_queue_depth_and_binds_from_counters(client, actors):
    from warta.blasts import outbox

    create_sender("HumasDKI")
    run("connection", "add", "sim", "smpp://warta:secret@127.0.0.1:2775?binds=2")
    outbox.create_blast(sender="HumasDKI", text="Halo", recipients=["081234567890", "081234567891"])
    body = client.get("/metrics").content.decode()
    assert 'warta_outbox_messages{state="queued"} 2' in body
    assert 'warta_gateway_bind_up{bind="1",connection="sim"} 0' in body


def test_prefix_routes_are_set_in_the_settings_ui_and_survive_other_edits(client, actors):
    from warta.gateway.models import Connection

    login(client, actors["admin"])
    bad = client.post("/pengaturan/gateway/tambah/", {"name": "tsel", "url": "smpp://warta:rahasia@h:2775",
                                                      "priority": 0, "prefixes": "0811, abc", "is_active": "on"})
    assert bad.status_code == 200 and "Awalan &#x27;abc&#x27; tidak dikenal" in bad.content.decode()
    client.post("/pengaturan/gateway/tambah/", {"name": "tsel", "url": "smpp://warta:rahasia@h:2775", "priority": 0,
                                               "prefixes": "0811, +62 812", "is_active": "on"})
    conn = Connection.objects.get(name="tsel")
    assert conn.prefix_names() == ["+62811", "+62812"]
    assert "+62811, +62812" in client.get(f"/pengaturan/gateway/{conn.pk}/").content.decode()
    # Changing only the priority keeps the prefixes (an edit must not widen a route by accident).
    client.post(f"/pengaturan/gateway/{conn.pk}/", {"name": "tsel", "url": "", "priority": 2,
                                                    "prefixes": "+62811, +62812"})
    conn.refresh_from_db()
    assert conn.priority == 2 and conn.prefix_names() == ["+62811", "+62812"]
    from warta.gateway import services

    services.update_connection(conn, operators=["telkomsel"])
    assert conn.prefix_names() == ["+62811", "+62812"] and conn.operator_names() == ["telkomsel"]


def test_a_memory_url_is_refused_outside_a_test_that_made_its_smsc() -> None:
    from warta.gateway.transports import ConnectionURLError, parse_url

    with pytest.raises(ConnectionURLError, match="hanya untuk pengujian"):
        parse_url("memory://produksi?window=16")
