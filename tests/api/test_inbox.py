"""Tickets routed to the unit through the API, and the inbox's ticket signals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api import bearer, issue
from tests.inbox.conftest import create_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(units: dict[str, Any]) -> dict[str, str]:
    return {"bpbd": issue(units["bpbd"], scopes=["inbox:read", "inbox:reply"])[1],
            "bpbd_read": issue(units["bpbd"], name="bpbd-baca", scopes=["inbox:read"])[1],
            "dinkes": issue(units["dinkes"], name="dinkes-sim", scopes=["inbox:read", "inbox:reply"])[1]}


def routed(actors: dict[str, Any], unit: Any, text: str = "Banjir di Kemang", source: str = "+6281234567890") -> Any:
    from warta.inbox.services import assign

    return assign(create_ticket(text, source=source), actor=actors["operator"], unit=unit)


def post(client: Any, token: str, path: str, data: Any) -> Any:
    return client.post(path, json.dumps(data), content_type="application/json", **bearer(token))


def test_unit_lists_and_reads_only_its_tickets_with_masked_numbers(client: Any, actors: dict[str, Any],
                                                                  units: dict[str, Any], keys: dict[str, str]) -> None:
    ours = routed(actors, units["bpbd"])
    theirs = routed(actors, units["dinkes"], "Vaksin habis", source="+6281234567891")
    create_ticket("Belum diteruskan", source="+6281234567892")
    body = client.get("/api/v1/tickets", **bearer(keys["bpbd"])).json()
    assert [t["id"] for t in body["items"]] == [ours.pk] and body["items"][0]["status"] == "disposisi"
    assert body["items"][0]["citizen"] == "0812****7890" and body["items"][0]["unit"] == "bpbd"
    detail = client.get(f"/api/v1/tickets/{ours.pk}", **bearer(keys["bpbd"])).json()
    assert detail["messages"][0]["direction"] == "in" and "Banjir" in detail["messages"][0]["text"]
    assert client.get(f"/api/v1/tickets/{theirs.pk}", **bearer(keys["bpbd"])).status_code == 404
    assert post(client, keys["bpbd"], f"/api/v1/tickets/{theirs.pk}/replies", {"text": "x"}).status_code == 404


def test_reply_texts_the_citizen_and_moves_the_ticket_to_proses(client: Any, actors: dict[str, Any],
                                                                units: dict[str, Any], keys: dict[str, str]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts.models import OutboundMessage

    t = routed(actors, units["bpbd"])
    r = post(client, keys["bpbd"], f"/api/v1/tickets/{t.pk}/replies", {"text": "Petugas menuju lokasi."})
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "proses" and r.json()["messages"][-1]["direction"] == "out"
    assert OutboundMessage.objects.filter(to="+6281234567890", text="Petugas menuju lokasi.").exists() or \
        OutboundMessage.objects.filter(to="+6281234567890", blast__text="Petugas menuju lokasi.").exists()
    assert AuditEvent.objects.filter(action="api.ticket_replied", changes__client="bpbd-siaga").exists()
    r = post(client, keys["bpbd"], f"/api/v1/tickets/{t.pk}/status", {"status": "selesai", "note": "tuntas"})
    assert r.status_code == 200 and r.json()["status"] == "selesai"
    r = post(client, keys["bpbd"], f"/api/v1/tickets/{t.pk}/status", {"status": "proses"})
    assert r.status_code == 422 and r.json()["code"] == "refused"


def test_a_liaison_key_cannot_mark_spam_or_reply_without_the_scope(client: Any, actors: dict[str, Any],
                                                                  units: dict[str, Any], keys: dict[str, str]) -> None:
    t = routed(actors, units["bpbd"])
    r = post(client, keys["bpbd"], f"/api/v1/tickets/{t.pk}/status", {"status": "spam"})
    assert r.status_code == 422 and r.json()["field"] == "status"
    r = post(client, keys["bpbd_read"], f"/api/v1/tickets/{t.pk}/replies", {"text": "x"})
    assert r.status_code == 403 and r.json()["code"] == "scope_missing"


def test_inbox_sends_routed_and_updated_signals_after_commit(actors: dict[str, Any], units: dict[str, Any],
                                                            django_capture_on_commit_callbacks: Any) -> None:
    from warta.inbox import services
    from warta.inbox.signals import ticket_routed, ticket_updated

    got: list[tuple[str, dict[str, Any]]] = []
    ticket_routed.connect(lambda **kw: got.append(("routed", kw)), weak=False, dispatch_uid="t1")
    ticket_updated.connect(lambda **kw: got.append(("updated", kw)), weak=False, dispatch_uid="t2")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            t = routed(actors, units["bpbd"])
        with django_capture_on_commit_callbacks(execute=True):
            services.reply(t, "Ditangani", actor=actors["liaison"])
        with django_capture_on_commit_callbacks(execute=True):
            services.set_status(t, "koordinasi", actor=actors["liaison"], note="bukan wewenang")
    finally:
        ticket_routed.disconnect(dispatch_uid="t1")
        ticket_updated.disconnect(dispatch_uid="t2")
    kinds = [(k, kw.get("change"), kw["unit_id"]) for k, kw in got]
    assert kinds == [("routed", None, units["bpbd"].pk), ("updated", "reply", units["bpbd"].pk),
                     ("updated", "status", units["bpbd"].pk)]  # handed back: still news to BPBD
