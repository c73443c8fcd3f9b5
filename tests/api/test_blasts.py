"""Drafts through the API climb the approval chain; blast status and per-recipient results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api import bearer, issue
from tests.blasts.helpers import create_group_with, create_sender

pytestmark = pytest.mark.django_db


def post(client: Any, token: str, path: str, data: Any, **extra: Any) -> Any:
    return client.post(path, json.dumps(data), content_type="application/json", **bearer(token), **extra)


@pytest.fixture
def tokens(units: dict[str, Any], actors: dict[str, Any]) -> dict[str, str]:
    return {"bpbd": issue(units["bpbd"], scopes=["all"])[1],
            "dinkes": issue(units["dinkes"], name="dinkes-sim", scopes=["all"])[1]}


def draft_data(group: Any, **kw: Any) -> dict[str, Any]:
    return {"title": "Siaga banjir", "text": "Waspada banjir rob 12-14 Mei. Info: 112.", "sender": "GubDKI",
            "audience": {"groups": [group.pk]}, **kw}


def approve_all(draft_id: int, actors: dict[str, Any]) -> Any:
    from tests.blasts.helpers import approve_all as approve_chain
    from warta.blasts.models import Draft

    return approve_chain(Draft.objects.get(pk=draft_id), actors)


def test_a_draft_enters_the_approval_chain_and_is_sent_only_after_approval(
        client: Any, actors: dict[str, Any], tokens: dict[str, str]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts.models import Blast, Draft

    create_sender("GubDKI")
    group = create_group_with(3)
    r = post(client, tokens["bpbd"], "/api/v1/drafts", draft_data(group))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "review" and body["unit"] == "bpbd" and body["blast_id"] is None
    assert body["chain"] and not any(s["done"] for s in body["chain"])
    assert not Blast.objects.exists()  # nothing leaves before the chain approves
    draft = Draft.objects.get(pk=body["id"])
    assert draft.materi.unit.code == "bpbd" and draft.author.username == "api-bpbd-siaga-naskah"
    event = AuditEvent.objects.get(action="api.draft_created")
    assert event.changes["client"] == "bpbd-siaga" and event.changes["credential"].startswith("wrt_")
    draft = approve_all(draft.pk, actors)
    assert draft.state == Draft.State.RELEASED and draft.blast_id
    got = client.get(f"/api/v1/drafts/{draft.pk}", **bearer(tokens["bpbd"])).json()
    assert got["state"] == "released" and got["blast_id"] == draft.blast_id
    b = client.get(f"/api/v1/blasts/{draft.blast_id}", **bearer(tokens["bpbd"])).json()
    assert b["counts"]["total"] == 3 and b["counts"]["queued"] == 3 and b["sender"] == "GubDKI"
    listed = client.get("/api/v1/blasts", **bearer(tokens["bpbd"])).json()
    assert [x["id"] for x in listed["items"]] == [draft.blast_id]


def test_unregistered_or_inactive_sender_is_refused(client: Any, tokens: dict[str, str]) -> None:
    from warta.blasts.models import Draft, Materi

    group = create_group_with(1)
    r = post(client, tokens["bpbd"], "/api/v1/drafts", draft_data(group, sender="PalsuDKI"))
    assert r.status_code == 422 and r.json()["field"] == "sender"
    s = create_sender("GubDKI")
    s.is_active = False
    s.save()
    assert post(client, tokens["bpbd"], "/api/v1/drafts", draft_data(group)).status_code == 422
    assert not Draft.objects.exists() and not Materi.objects.exists()


def test_another_units_key_sees_neither_drafts_nor_blasts(client: Any, actors: dict[str, Any],
                                                          tokens: dict[str, str]) -> None:
    create_sender("GubDKI")
    body = post(client, tokens["bpbd"], "/api/v1/drafts", draft_data(create_group_with(2))).json()
    draft = approve_all(body["id"], actors)
    for path in (f"/api/v1/drafts/{draft.pk}", f"/api/v1/blasts/{draft.blast_id}",
                 f"/api/v1/blasts/{draft.blast_id}/recipients"):
        r = client.get(path, **bearer(tokens["dinkes"]))
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    assert client.get("/api/v1/drafts", **bearer(tokens["dinkes"])).json()["items"] == []
    # a materi of another unit cannot be named either
    r = post(client, tokens["dinkes"], "/api/v1/drafts", draft_data(create_group_with(1), materi_id=draft.materi_id))
    assert r.status_code == 422 and r.json()["field"] == "materi_id"


def test_read_only_key_cannot_create_drafts(client: Any, units: dict[str, Any]) -> None:
    _t, value = issue(units["bpbd"], name="baca", scopes=["blasts:read"])
    create_sender("GubDKI")
    r = post(client, value, "/api/v1/drafts", draft_data(create_group_with(1)))
    assert r.status_code == 403 and r.json()["code"] == "scope_missing"


def _blast_with(n: int, states: dict[int, str]) -> Any:
    from django.utils import timezone

    from warta.blasts.models import Blast, OutboundMessage

    now = timezone.now()
    blast = Blast.objects.create(name="uji", sender=create_sender("GubDKI"), text="x")
    OutboundMessage.objects.bulk_create([
        OutboundMessage(blast=blast, to=f"+62812{30000000 + i:08d}", operator="telkomsel",
                        state=states.get(i, "queued"), next_attempt_at=now, created_at=now,
                        submitted_at=now if states.get(i) == "delivered" else None,
                        done_at=now if states.get(i) == "delivered" else None)
        for i in range(n)])
    return blast


def test_recipients_page_by_cursor_and_filter_by_state(client: Any, actors: dict[str, Any],
                                                      tokens: dict[str, str], monkeypatch: Any) -> None:
    from warta.api.endpoints import blasts as ep
    from warta.blasts.models import Draft

    other = _blast_with(5, {})  # another blast's rows before and after must never show
    blast = _blast_with(250, {i: "delivered" for i in range(0, 250, 7)})
    _blast_with(5, {})
    create_sender("GubDKI")
    body = post(client, tokens["bpbd"], "/api/v1/drafts", draft_data(create_group_with(1), submit=False)).json()
    Draft.objects.filter(pk=body["id"]).update(blast=blast, state="released")
    seen: list[int] = []
    after = 0
    while True:
        page = client.get(f"/api/v1/blasts/{blast.pk}/recipients?limit=100&after={after}",
                          **bearer(tokens["bpbd"])).json()
        seen += [r["id"] for r in page["items"]]
        assert all("****" in r["number"] for r in page["items"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seen) == 250 and seen == sorted(seen) and len(set(seen)) == 250
    assert not set(seen) & set(other.messages.values_list("id", flat=True))
    # a state filter scans a bounded window per page: pages may be short, never wrong
    monkeypatch.setattr(ep, "SCAN_WINDOW", 40)
    delivered: list[int] = []
    after, pages = 0, 0
    while after is not None:
        page = client.get(f"/api/v1/blasts/{blast.pk}/recipients?state=delivered&limit=3&after={after}",
                          **bearer(tokens["bpbd"])).json()
        delivered += [r["id"] for r in page["items"]]
        assert all(r["state"] == "delivered" for r in page["items"])
        after, pages = page["next_after"], pages + 1
    assert len(delivered) == len(range(0, 250, 7)) and pages > 250 // 40
    r = client.get(f"/api/v1/blasts/{blast.pk}/recipients?state=terbang", **bearer(tokens["bpbd"]))
    assert r.status_code == 422 and r.json()["field"] == "state"
