"""Hostile query strings and ids give 404/422 or a form error, never a 500 (#11, item 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.api.test_api import bearer, issue
from tests.conftest import login

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


@pytest.fixture
def operator(client: Client, actors: dict[str, Any]) -> Client:
    return login(client, actors["operator"])


@pytest.mark.parametrize("query", ["materi='", f"materi={HUGE}", "materi=-1"])
def test_a_bad_materi_id_is_not_found(operator: Client, query: str) -> None:
    assert operator.get(f"/blast/naskah/baru/?{query}").status_code == 404


@pytest.mark.parametrize("query", ["template=x", f"template={HUGE}", "template='"])
def test_a_bad_template_id_is_ignored(operator: Client, query: str) -> None:
    assert operator.get(f"/blast/naskah/baru/?{query}").status_code == 200


def test_an_out_of_range_group_id_is_a_form_error(operator: Client) -> None:
    response = operator.get(f"/kontak/segmen/hitung/?groups={HUGE}")
    assert response.status_code == 200
    response = operator.post("/blast/komposer/penerima/", {"groups": [HUGE], "segments": [HUGE]})
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["page=9223372036854775808", f"page={HUGE}", "page=0", "page=x"])
def test_api_refuses_absurd_pages_with_422(client: Client, units: dict[str, Any], query: str) -> None:
    token = issue(units["bpbd"])[1]
    response = client.get(f"/api/v1/materi?{query}", **bearer(token))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_api_refuses_an_out_of_range_id(client: Client, units: dict[str, Any]) -> None:
    token = issue(units["bpbd"])[1]
    response = client.get(f"/api/v1/materi/{HUGE}", **bearer(token))
    assert response.status_code == 422


def test_openapi_documents_the_error_answers(client: Client, db: Any) -> None:
    doc = json.loads(client.get("/api/v1/openapi.json").content)
    operations = [op for path in doc["paths"].values() for op in path.values()]
    assert operations
    schemas = doc["components"]["schemas"]
    for op in operations:
        assert {"401", "422"} <= set(op["responses"]), op["summary"]
        # The one error shape of the API (#16 item 4, docs/api.md "Galat"); it replaced the
        # {detail, code} this test first asked for.
        schema = op["responses"]["401"]["content"]["application/json"]["schema"]
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
        assert schema["required"] == ["code", "message", "message_en", "field"]
    single = doc["paths"]["/api/v1/materi/{materi_id}"]["get"]
    assert "404" in single["responses"]


@pytest.mark.parametrize("path", [f"/api/v1/drafts/{HUGE}", f"/api/v1/blasts/{HUGE}", f"/api/v1/blasts/{HUGE}/recipients",
                                  f"/api/v1/tickets/{HUGE}", f"/api/v1/drafts?after={HUGE}",
                                  f"/api/v1/blasts?after={HUGE}", f"/api/v1/tickets?after={HUGE}"])
def test_every_api_id_and_cursor_is_bounded(client: Client, units: dict[str, Any], path: str) -> None:
    token = issue(units["bpbd"], scopes=["all"])[1]
    response = client.get(path, **bearer(token))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_an_api_fault_is_a_500_in_the_error_shape_not_html(client: Client, units: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from warta.blasts import services as blasts

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(blasts, "visible_materi", broken)
    token = issue(units["bpbd"])[1]
    response = client.get("/api/v1/materi", **bearer(token))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "server_error"
    assert response.json()["message_en"].startswith("An error occurred on the Warta server")


def test_a_fault_outside_the_endpoint_is_still_json(client: Client, units: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from warta.api import idempotency

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(idempotency, "handle", broken)
    token = issue(units["bpbd"])[1]
    response = client.get("/api/v1/materi", **bearer(token))
    assert response.status_code == 500 and response.json()["code"] == "server_error"
