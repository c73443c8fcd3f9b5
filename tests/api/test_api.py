"""The REST API: tokens, authentication, materi through the API, docs, token pages."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import login

pytestmark = pytest.mark.django_db

VALID = {"title": "Peringatan banjir rob", "content": "Waspada banjir rob di pesisir utara 12-14 Mei.",
         "background": "Prakiraan BMKG", "audience_note": "Warga Jakarta Utara",
         "contact_person": "Budi", "contact_phone": "0812345678",
         "window_start": "2026-05-11T08:00:00+07:00", "window_end": "2026-05-12T18:00:00+07:00"}


def issue(unit: Any, name: str = "bpbd-siaga", **kw: Any) -> tuple[Any, str]:
    from warta.api import services
    from warta.api.models import ApiClient

    client = ApiClient.objects.filter(name=name).first() or services.create_client(name, unit, None)
    return services.issue_token(client, None, **kw)


def bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def post(client: Any, value: str, data: Any, **extra: Any) -> Any:
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post("/api/v1/materi", body, content_type="application/json", **bearer(value), **extra)


@pytest.fixture
def bpbd_token(actors: dict[str, Any], units: dict[str, Any]) -> str:
    return issue(units["bpbd"])[1]


# -- tokens --------------------------------------------------------------------------------------


def test_token_is_stored_only_as_a_hash_of_its_value(units: dict[str, Any]) -> None:
    from warta.api.models import ApiToken
    from warta.api.services import hash_token

    token, value = issue(units["bpbd"])
    assert re.fullmatch(r"wrt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", value)
    row = ApiToken.objects.get(pk=token.pk)
    assert value.startswith(row.prefix + "_")
    assert row.token_hash == hash_token(value) and value not in row.token_hash
    assert all(value not in str(getattr(row, f.attname)) for f in ApiToken._meta.concrete_fields
               if f.attname != "prefix")


def test_service_account_is_a_liaison_of_the_unit_that_cannot_log_in(units: dict[str, Any]) -> None:
    token, _value = issue(units["bpbd"])
    user = token.client.user
    assert user.role == "liaison" and user.unit == units["bpbd"] and not user.has_usable_password()


def test_revoked_token_gets_401(client: Any, units: dict[str, Any], actors: dict[str, Any]) -> None:
    from warta.api import services

    token, value = issue(units["bpbd"])
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
    services.revoke_token(token.prefix, actors["admin"])
    r = client.get("/api/v1/materi", **bearer(value))
    assert r.status_code == 401 and r.json()["code"] == "token_revoked"


def test_expired_token_gets_401(client: Any, units: dict[str, Any]) -> None:
    _token, value = issue(units["bpbd"], expires_at=timezone.now() + timedelta(days=1))
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        r = client.get("/api/v1/materi", **bearer(value))
    assert r.status_code == 401 and r.json()["code"] == "token_expired"


def test_no_token_or_a_wrong_one_gets_401_in_indonesian_or_english(client: Any, bpbd_token: str) -> None:
    r = client.get("/api/v1/materi")
    body = r.json()
    assert r.status_code == 401 and body["code"] == "token_missing" and "Token tidak ada" in body["message"]
    assert body["message_en"].startswith("No token") and body["field"] is None
    forged = bpbd_token[:-4] + ("AAAA" if not bpbd_token.endswith("AAAA") else "BBBB")
    for bad in (forged, "wrt_00000000_" + "x" * 43, "nonsense"):
        r = client.get("/api/v1/materi", **bearer(bad))
        assert r.status_code == 401 and r.json()["code"] == "token_invalid", bad
    r = client.get("/api/v1/materi", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert r.status_code == 401 and r.json()["message_en"].startswith("No token") and r["Content-Language"] == "en"


def by_field(body: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in body["errors"]:
        out.setdefault(e["field"], []).append(e["message"])
    return out


def test_cli_creates_and_revokes_tokens(client: Any, units: dict[str, Any], capsys: Any) -> None:
    call_command("api", "token", "create", "--client", "dinkes-sim", "--unit", "dinkes")
    value = capsys.readouterr().out.strip()
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
    call_command("api", "token", "revoke", value[:12])
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 401


def test_token_values_never_reach_the_audit_trail(client: Any, units: dict[str, Any], actors: dict[str, Any],
                                                  capsys: Any) -> None:
    from warta.accounts.models import AuditEvent

    login(client, actors["admin"])
    c = __import__("warta.api.services", fromlist=["x"]).create_client("siaga", units["bpbd"], actors["admin"])
    r = client.post(f"/api/v1/pengaturan/klien/{c.pk}/token-baru", {"expires_in_days": "", "scopes": ["materi:write"]})
    value = re.search(r"wrt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", r.content.decode()).group(0)
    post(client, value, VALID)
    call_command("api", "token", "create", "--client", "dinkes-sim", "--unit", "dinkes")
    value2 = capsys.readouterr().out.strip()
    trail = json.dumps([[e.action, e.object_repr, e.object_id, e.changes] for e in AuditEvent.objects.all()])
    assert "api.token_created" in trail and "api.materi_submitted" in trail
    assert value not in trail and value2 not in trail
    assert value[13:] not in trail and value2[13:] not in trail  # the secret part


# -- materi --------------------------------------------------------------------------------------


def test_created_materi_appears_in_the_operators_queue_and_is_audited(client: Any, actors: dict[str, Any],
                                                                      units: dict[str, Any], bpbd_token: str) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts.services import visible_materi

    r = post(client, bpbd_token, VALID)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "received" and body["status_label"] == "Diterima" and body["unit"] == "bpbd"
    m = visible_materi(actors["operator"]).get(pk=body["id"])
    assert m.unit == units["bpbd"] and m.title == VALID["title"] and m.submitted_by.username == "api-bpbd-siaga"
    event = AuditEvent.objects.get(action="api.materi_submitted", object_id=str(m.pk))
    assert event.actor == m.submitted_by and event.changes["client"] == "bpbd-siaga"
    assert AuditEvent.objects.filter(action="blasts.materi_submitted", object_id=str(m.pk)).exists()


def test_materi_with_a_base64_attachment(client: Any, bpbd_token: str) -> None:
    data = {**VALID, "attachments": [{"name": "surat.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 x").decode()}]}
    r = post(client, bpbd_token, data)
    assert r.status_code == 201 and r.json()["attachments"] == ["surat.pdf"]


def test_attachment_limits_are_the_web_forms(client: Any, bpbd_token: str) -> None:
    exe = {**VALID, "attachments": [{"name": "virus.exe", "content_base64": base64.b64encode(b"MZ").decode()}]}
    r = post(client, bpbd_token, exe)
    assert r.status_code == 422 and "tidak diterima" in by_field(r.json())["attachments"][0]
    big = {**VALID, "attachments": [{"name": "besar.pdf",
                                     "content_base64": base64.b64encode(b"x" * (5 * 1024 * 1024 + 1)).decode()}]}
    r = post(client, bpbd_token, big)
    assert r.status_code == 422 and "5 MB" in by_field(r.json())["attachments"][0]
    bad = {**VALID, "attachments": [{"name": "a.pdf", "content_base64": "!!!"}]}
    assert "attachments.0.content_base64" in by_field(post(client, bpbd_token, bad).json())


def test_validation_errors_name_the_fields_in_indonesian(client: Any, bpbd_token: str) -> None:
    r = post(client, bpbd_token, {"content": "isi"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error" and {"title", "contact_person"} <= set(by_field(body))
    assert by_field(body)["title"] == ["Wajib diisi."] and body["field"] in ("title", "contact_person")
    assert {"field": "title", "message": "Wajib diisi.", "message_en": "This field is required."} in body["errors"]
    r = post(client, bpbd_token, {**VALID, "window_end": "2026-05-10T08:00:00+07:00"})
    assert r.status_code == 422 and "window_end" in by_field(r.json())
    r = post(client, bpbd_token, {**VALID, "title": "x" * 201})
    assert r.status_code == 422 and "title" in by_field(r.json())
    r = post(client, bpbd_token, {**VALID, "window_start": "besok pagi"})
    assert r.status_code == 422 and "ISO 8601" in by_field(r.json())["window_start"][0]


def test_bad_json_is_400_and_oversized_body_is_413(client: Any, bpbd_token: str) -> None:
    r = post(client, bpbd_token, "{not json")
    assert r.status_code == 400 and r.json()["code"] == "bad_json"
    r = client.post("/api/v1/materi", b"x", content_type="application/json", **bearer(bpbd_token),
                    CONTENT_LENGTH=str(100 * 1024 * 1024))
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_a_bpbd_client_cannot_read_dinas_kesehatan_materi(client: Any, actors: dict[str, Any],
                                                          units: dict[str, Any], bpbd_token: str) -> None:
    from warta.blasts.services import submit_materi

    theirs = submit_materi(actors["other_liaison"], title="Vaksin", content="isi", contact_person="Sari")
    ours = submit_materi(actors["liaison"], title="Banjir", content="isi", contact_person="Budi")
    assert client.get(f"/api/v1/materi/{theirs.pk}", **bearer(bpbd_token)).status_code == 404
    assert client.get(f"/api/v1/materi/{ours.pk}", **bearer(bpbd_token)).status_code == 200
    listed = client.get("/api/v1/materi", **bearer(bpbd_token)).json()
    assert [m["id"] for m in listed["items"]] == [ours.pk] and listed["count"] == 1


def test_materi_status_shows_the_reject_reason(client: Any, actors: dict[str, Any], bpbd_token: str) -> None:
    from warta.blasts.services import reject_materi

    mid = post(client, bpbd_token, VALID).json()["id"]
    from warta.blasts.models import Materi

    reject_materi(Materi.objects.get(pk=mid), actors["operator"], "Di luar kewenangan SMS Center")
    body = client.get(f"/api/v1/materi/{mid}", **bearer(bpbd_token)).json()
    assert body["status"] == "rejected" and body["status_label"] == "Ditolak"
    assert body["reject_reason"] == "Di luar kewenangan SMS Center" and body["figures"] == []


def test_list_is_paginated(client: Any, bpbd_token: str) -> None:
    for i in range(23):
        assert post(client, bpbd_token, {**VALID, "title": f"Materi {i}"}).status_code == 201
    first = client.get("/api/v1/materi", **bearer(bpbd_token)).json()
    second = client.get("/api/v1/materi?page=2", **bearer(bpbd_token)).json()
    assert first["count"] == 23 and len(first["items"]) == 20 and len(second["items"]) == 3


def test_post_needs_no_csrf_token(bpbd_token: str) -> None:
    from django.test import Client

    r = post(Client(enforce_csrf_checks=True), bpbd_token, VALID)
    assert r.status_code == 201


# -- index, OpenAPI, docs ------------------------------------------------------------------------


def test_index_openapi_and_docs_load_nothing_from_outside(client: Any, db: Any) -> None:
    index = client.get("/api/v1/")
    assert index.status_code == 200 and index.json()["version"] == "1.1"
    doc = client.get("/api/v1/openapi.json")
    spec = json.loads(doc.content)
    assert spec["openapi"].startswith("3.") and {"/api/v1/materi", "/api/v1/materi/{materi_id}"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/api/v1/materi"]
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "swagger-ui" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and not [s for s in sources if "//" in s]
    for s in sources:
        assert client.get(s).status_code == 200, s


# -- token pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["operator", "verifier", "approver", "liaison", "analyst"])
def test_token_pages_are_for_administrators_only(client: Any, actors: dict[str, Any], units: dict[str, Any],
                                                 who: str) -> None:
    from warta.api.models import ApiToken

    token, _value = issue(units["bpbd"])
    login(client, actors[who])
    assert client.get("/api/v1/pengaturan/").status_code == 403
    assert client.post("/api/v1/pengaturan/klien-baru", {"name": "x", "unit": units["bpbd"].pk}).status_code == 403
    assert client.post(f"/api/v1/pengaturan/klien/{token.client.pk}/token-baru").status_code == 403
    assert client.post(f"/api/v1/pengaturan/token/{token.pk}/cabut").status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_anonymous_visitors_are_sent_to_login(client: Any, db: Any) -> None:
    r = client.get("/api/v1/pengaturan/")
    assert r.status_code == 302 and ("login" in r["Location"] or "masuk" in r["Location"])


def test_admin_makes_a_client_and_token_shown_once_then_revokes(client: Any, actors: dict[str, Any],
                                                                units: dict[str, Any]) -> None:
    from django.test import Client

    from warta.api.models import ApiClient

    login(client, actors["admin"])
    assert client.get("/pengaturan/").content.decode().count("/api/v1/pengaturan/") == 1
    r = client.post("/api/v1/pengaturan/klien-baru", {"name": "bpbd-siaga", "unit": units["bpbd"].pk})
    assert r.status_code == 302
    c = ApiClient.objects.get(name="bpbd-siaga")
    r = client.post(f"/api/v1/pengaturan/klien/{c.pk}/token-baru",
                    {"expires_in_days": "30", "scopes": ["materi:write", "inbox:read"], "name": "produksi"})
    value = re.search(r"wrt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", r.content.decode()).group(0)
    assert r["Cache-Control"] == "no-store"
    assert value not in client.get("/api/v1/pengaturan/").content.decode()  # shown once
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
    token = c.tokens.get()
    assert token.expires_at is not None and token.scopes == ["materi:write", "inbox:read"] and token.name == "produksi"
    strict = login(Client(enforce_csrf_checks=True), actors["admin"])
    assert strict.post(f"/api/v1/pengaturan/token/{token.pk}/cabut").status_code == 403  # no CSRF token
    client.post(f"/api/v1/pengaturan/token/{token.pk}/cabut")
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 401
