"""Contacts through the API: batch upsert, lookup scoped by the unit tag, opt-out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api import bearer, issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(units: dict[str, Any]) -> dict[str, str]:
    return {"bpbd": issue(units["bpbd"], scopes=["contacts:read", "contacts:write"])[1],
            "dinkes": issue(units["dinkes"], name="dinkes-sim", scopes=["contacts:read", "contacts:write"])[1]}


def post(client: Any, token: str, path: str, data: Any) -> Any:
    return client.post(path, json.dumps(data), content_type="application/json", **bearer(token))


def test_upsert_creates_updates_and_names_each_rejected_row(client: Any, keys: dict[str, str]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.contacts.models import Contact
    from warta.contacts.services import opt_out

    opt_out("+6281200000009", "sms")
    rows = [{"phone": "0812-0000-0001", "name": "Ani", "region": "31.71", "tags": ["Relawan"]},
            {"phone": "+6281200000002"},
            {"phone": "12345"},
            {"phone": "081200000001"},
            {"phone": "081200000009"},
            {"phone": "081200000003", "region": "99.99"}]
    r = post(client, keys["bpbd"], "/api/v1/contacts", {"contacts": rows})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [(x["index"], x["reason"]) for x in body["rejected"]] == [
        (2, "invalid"), (3, "duplicate"), (4, "opted_out"), (5, "unknown_region")]
    ani = Contact.objects.get(e164="+6281200000001")
    assert ani.name == "Ani" and ani.region.code == "31.71" and set(ani.tag_list) == {"relawan", "unit-bpbd"}
    assert ani.source == "api:bpbd-siaga" and not Contact.objects.filter(e164="+6281200000009").exists()
    again = post(client, keys["bpbd"], "/api/v1/contacts", {"contacts": [
        {"phone": "081200000001", "name": "Ani S.", "tags": ["rt-05"]}, {"phone": "081200000002"}]}).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 1)
    ani.refresh_from_db()
    assert ani.name == "Ani S." and set(ani.tag_list) == {"relawan", "unit-bpbd", "rt-05"}
    assert AuditEvent.objects.filter(action="api.contacts_upserted", changes__client="bpbd-siaga").count() == 2


def test_batches_over_1000_and_unknown_fields_are_refused_whole(client: Any, keys: dict[str, str]) -> None:
    from warta.contacts.models import Contact

    rows = [{"phone": f"+62812{10000000 + i:08d}"} for i in range(1001)]
    r = post(client, keys["bpbd"], "/api/v1/contacts", {"contacts": rows})
    assert r.status_code == 422 and r.json()["field"] == "contacts"
    r = post(client, keys["bpbd"], "/api/v1/contacts", {"contacts": [{"phone": "081200000001", "nik": "3171"}]})
    assert r.status_code == 422 and r.json()["field"] == "contacts.0.nik"
    assert not Contact.objects.exists()


def test_lookup_finds_only_the_units_contacts(client: Any, keys: dict[str, str]) -> None:
    post(client, keys["bpbd"], "/api/v1/contacts", {"contacts": [{"phone": "081200000001", "name": "Ani"}]})
    post(client, keys["dinkes"], "/api/v1/contacts", {"contacts": [{"phone": "081200000002", "name": "Budi"}]})
    body = client.get("/api/v1/contacts?phone=081200000001&phone=081200000002&phone=xx",
                      **bearer(keys["bpbd"])).json()
    assert [x["name"] for x in body["items"]] == ["Ani"] and body["not_found"] == ["081200000002", "xx"]


def test_opt_out_is_recorded_once_and_suppresses(client: Any, keys: dict[str, str]) -> None:
    from warta.contacts.models import OptOut
    from warta.contacts.services import is_suppressed

    for _ in range(2):
        r = post(client, keys["bpbd"], "/api/v1/contacts/opt-outs", {"phone": "0812-0000-0007", "reason": "telepon"})
        assert r.status_code == 201 and "****" in r.json()["phone"] and r.json()["channel"] == "api"
    assert OptOut.objects.count() == 1 and is_suppressed(["+6281200000007"]) == {"+6281200000007"}
    r = post(client, keys["bpbd"], "/api/v1/contacts/opt-outs", {"phone": "021-555"})
    assert r.status_code == 422 and r.json()["field"] == "phone"
