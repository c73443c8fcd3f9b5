"""API keys: scopes, rate limits, last use, idempotency, body limit, the error shape, the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from tests.api.test_api import VALID, bearer, issue

pytestmark = pytest.mark.django_db


def test_a_key_without_the_scope_is_refused_with_403_and_nothing_changes(client: Any, units: dict[str, Any]) -> None:
    from warta.blasts.models import Materi

    _t, value = issue(units["bpbd"], scopes=["blasts:read"])
    r = client.post("/api/v1/materi", json.dumps(VALID), content_type="application/json", **bearer(value))
    body = r.json()
    assert r.status_code == 403 and body["code"] == "scope_missing" and "materi:write" in body["message"]
    assert "materi:write" in body["message_en"] and set(body) == {"code", "message", "message_en", "field"}
    assert not Materi.objects.exists()


def test_cli_scope_all_gives_every_scope_and_prints_only_the_token(units: dict[str, Any], capsys: Any) -> None:
    from warta.api.models import ALL_SCOPES, ApiToken

    call_command("api", "token", "create", "--client", "bpbd-siaga", "--unit", "bpbd", "--scope", "all")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("wrt_")
    assert ApiToken.objects.get(prefix=out[:12]).scopes == ALL_SCOPES
    call_command("api", "token", "create", "--client", "bpbd-baca", "--unit", "bpbd",
                 "--scope", "blasts:read", "--scope", "inbox:read")
    out = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(prefix=out[:12]).scopes == ["blasts:read", "inbox:read"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Cakupan tidak dikenal"):
        call_command("api", "token", "create", "--client", "bpbd-x", "--unit", "bpbd", "--scope", "root")


def test_a_client_cannot_act_as_a_user_of_another_unit_or_a_central_role(units: dict[str, Any],
                                                                        actors: dict[str, Any], client: Any) -> None:
    from warta.api import services
    from warta.api.models import ApiClient

    for user in (actors["other_liaison"], actors["operator"]):
        with pytest.raises(services.ApiError) as e:
            services.create_client("x", units["bpbd"], None, user=user)
        assert e.value.code == "user_not_unit_scoped"
    # a client whose user moved to a central role after its token was issued does not authenticate
    legacy = ApiClient.objects.create(name="lama", unit=units["bpbd"], user=actors["liaison"])
    _t, value = services.issue_token(legacy, None, scopes=["all"])
    actors["liaison"].role = "operator"
    actors["liaison"].save()
    r = client.get("/api/v1/topics", **bearer(value))
    assert r.status_code == 401 and r.json()["code"] == "client_not_unit_scoped"


def test_last_use_time_and_address_are_recorded(client: Any, units: dict[str, Any]) -> None:
    token, value = issue(units["bpbd"])
    client.get("/api/v1/materi", **bearer(value), REMOTE_ADDR="10.1.2.3")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_ip == "10.1.2.3"


def test_over_the_rate_a_key_gets_429_with_retry_after_and_other_keys_do_not(
        client: Any, units: dict[str, Any]) -> None:
    import time_machine

    _t, value = issue(units["bpbd"], rate=1.0, burst=3)
    _t2, other = issue(units["dinkes"], name="dinkes-sim")
    with time_machine.travel(1_800_000_000, tick=False):
        codes = [client.get("/api/v1/materi", **bearer(value)).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = client.get("/api/v1/materi", **bearer(value))
        assert r["Retry-After"] == "1" and r.json()["code"] == "rate_limited"
        assert client.get("/api/v1/materi", **bearer(other)).status_code == 200
    with time_machine.travel(1_800_000_001.5, tick=False):  # 1.5 s later: one request back
        assert [client.get("/api/v1/materi", **bearer(value)).status_code for _ in range(2)] == [200, 429]


def test_bucket_is_shared_by_every_worker_because_it_lives_in_the_database(units: dict[str, Any]) -> None:
    from warta.api import ratelimit
    from warta.api.models import ApiToken, RateBucket

    token, _v = issue(units["bpbd"], rate=2.0, burst=2)
    assert ratelimit.take(token, now=100.0) == 0.0
    # A second worker holds its own copy of the token row: the count is the database's.
    other_copy = ApiToken.objects.get(pk=token.pk)
    assert ratelimit.take(other_copy, now=100.0) == 0.0
    assert ratelimit.take(token, now=100.0) == pytest.approx(0.5)
    assert RateBucket.objects.get(pk=token.pk).tokens == pytest.approx(0.0)


def test_idempotency_key_returns_the_first_answer_and_creates_nothing_new(client: Any, units: dict[str, Any]) -> None:
    from warta.accounts.models import AuditEvent
    from warta.blasts.models import Materi

    _t, value = issue(units["bpbd"])
    send = lambda data, key: client.post("/api/v1/materi", json.dumps(data), content_type="application/json",  # noqa: E731
                                         HTTP_IDEMPOTENCY_KEY=key, **bearer(value))
    first = send(VALID, "k-1")
    again = send(VALID, "k-1")
    assert first.status_code == again.status_code == 201 and first.content == again.content
    assert again["Idempotent-Replayed"] == "true" and Materi.objects.count() == 1
    assert AuditEvent.objects.filter(action="api.materi_submitted").count() == 1
    other = send({**VALID, "title": "lain"}, "k-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert send({**VALID, "title": "lain"}, "k-2").status_code == 201 and Materi.objects.count() == 2
    # A refused first attempt is not kept: the fixed request may use the same key.
    assert send({"content": "x"}, "k-3").status_code == 422
    assert send(VALID | {"title": "ketiga"}, "k-3").status_code == 201


def test_a_10_mb_body_is_refused_with_413_in_the_error_shape(client: Any, units: dict[str, Any]) -> None:
    from warta.blasts.models import Materi

    _t, value = issue(units["bpbd"])
    big = json.dumps({**VALID, "content": "x" * (10 * 1024 * 1024)})
    r = client.post("/api/v1/materi", big, content_type="application/json", **bearer(value))
    body = r.json()
    assert r.status_code == 413 and body["code"] == "too_large" and "MB" in body["message_en"]
    assert not Materi.objects.exists()


def test_unknown_fields_and_wrong_types_are_refused(client: Any, units: dict[str, Any]) -> None:
    _t, value = issue(units["bpbd"])
    r = client.post("/api/v1/materi", json.dumps({**VALID, "priority": "high"}), content_type="application/json",
                    **bearer(value))
    assert r.status_code == 422 and r.json()["field"] == "priority"
    assert r.json()["errors"][0]["message_en"] == "Unknown field."
    r = client.post("/api/v1/materi", json.dumps({**VALID, "title": 5}), content_type="application/json",
                    **bearer(value))
    assert r.status_code == 422 and r.json()["field"] == "title"


def test_an_attachment_without_a_usable_name_is_a_422_not_a_500(client: Any, units: dict[str, Any]) -> None:
    # found by the contract test: an empty name reached Django's file-name check and raised
    import base64

    _t, value = issue(units["bpbd"])
    for name in ("", "..", "a/"):
        data = {**VALID, "attachments": [{"name": name, "content_base64": base64.b64encode(b"x").decode()}]}
        r = client.post("/api/v1/materi", json.dumps(data), content_type="application/json", **bearer(value))
        assert r.status_code == 422 and r.json()["field"].startswith("attachments.0"), name


def test_wrong_method_and_unknown_path_answer_in_the_error_shape(client: Any, units: dict[str, Any]) -> None:
    _t, value = issue(units["bpbd"])
    r = client.delete("/api/v1/materi", **bearer(value))
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    r = client.get("/api/v1/tidak-ada", **bearer(value))
    assert r.status_code == 404 and r.json()["code"] == "not_found" and r.json()["message_en"]
    assert client.get("/api/v1/pengaturan/").status_code == 302  # the pages still route


def test_hostile_ids_are_422_never_500(client: Any, units: dict[str, Any]) -> None:
    _t, value = issue(units["bpbd"], scopes=["all"])
    huge = 2**70
    for path in (f"/api/v1/materi/{huge}", f"/api/v1/blasts/{huge}", f"/api/v1/tickets/{huge}",
                 f"/api/v1/blasts/1/recipients?after={huge}", f"/api/v1/drafts?after={huge}", "/api/v1/materi?page=0"):
        r = client.get(path, **bearer(value))
        assert r.status_code == 422 and r.json()["code"] == "validation_error", path
    r = client.post("/api/v1/drafts", json.dumps({"title": "t", "text": "x", "sender": "GubDKI",
                                                  "audience": {"groups": [huge]}}),
                    content_type="application/json", **bearer(value))
    assert r.status_code == 422 and r.json()["field"] == "audience.groups.0"


def test_a_flooding_key_is_refused_without_touching_the_database(client: Any, units: dict[str, Any],
                                                                 django_assert_num_queries: Any) -> None:
    import time_machine

    _t, value = issue(units["bpbd"], rate=1.0, burst=1)
    with time_machine.travel(1_900_000_000, tick=False):
        assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
        assert client.get("/api/v1/materi", **bearer(value)).status_code == 429
        with django_assert_num_queries(0):
            for _ in range(50):
                r = client.get("/api/v1/materi", **bearer(value))
                assert r.status_code == 429 and r["Retry-After"] == "1"
    with time_machine.travel(1_900_000_001.1, tick=False):  # the bucket has one request again
        assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
