"""An API token is always scoped to one unit (#11, item 14): no token acts as an administrator,
sees other units' materi, or skips the administrator's second factor."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.api.test_api import bearer
from tests.conftest import create_user
from warta.api import services
from warta.api.models import ApiClient, ApiToken

pytestmark = pytest.mark.django_db


def test_the_cli_refuses_a_token_acting_as_an_administrator(actors: dict[str, Any], units: dict[str, Any]) -> None:
    with pytest.raises(CommandError, match="terbatas pada satu unit"):
        call_command("api", "token", "create", "--client", "semua", "--unit", "bpbd", "--user", "admin")
    assert not ApiClient.objects.filter(name="semua").exists()


@pytest.mark.parametrize("who", ["admin", "operator", "approver", "other_liaison"])
def test_only_a_liaison_of_the_clients_own_unit_may_be_named(actors: dict[str, Any], units: dict[str, Any], who: str) -> None:
    with pytest.raises(services.ApiError) as refused:
        services.create_client("klien", units["bpbd"], None, user=actors[who])
    assert refused.value.code == "user_not_unit_scoped"


def test_a_liaison_of_the_unit_may_be_named(actors: dict[str, Any], units: dict[str, Any]) -> None:
    client = services.create_client("klien", units["bpbd"], None, user=actors["liaison"])
    assert client.user == actors["liaison"]


def test_an_old_unscoped_client_is_refused_at_authentication(client: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    # Made before the rule (or its user promoted since): the row exists, its tokens must not work.
    legacy = ApiClient.objects.create(name="lama", unit=units["bpbd"], user=actors["admin"])
    # issue_token refuses such a client now, so the token issued back then is written as it was.
    value = "wrt_a1b2c3d4_" + "x" * 43
    ApiToken.objects.create(client=legacy, prefix="wrt_a1b2c3d4", token_hash=services.hash_token(value),
                            scopes=["materi:write"])
    response = client.get("/api/v1/materi", **bearer(value))
    assert response.status_code == 401 and response.json()["code"] == "client_not_unit_scoped"


def test_a_client_whose_user_changed_unit_stops_working(client: Any, units: dict[str, Any]) -> None:
    person = create_user("liaison", units["bpbd"])
    api_client = services.create_client("pindah", units["bpbd"], None, user=person)
    _token, value = services.issue_token(api_client, None)
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 200
    person.unit = units["dinkes"]
    person.save()
    assert client.get("/api/v1/materi", **bearer(value)).status_code == 401


def test_no_new_token_is_issued_to_an_unscoped_client(actors: dict[str, Any], units: dict[str, Any]) -> None:
    legacy = ApiClient.objects.create(name="lama", unit=units["bpbd"], user=actors["admin"])
    with pytest.raises(services.ApiError) as refused:
        services.issue_token(legacy, None)
    assert refused.value.code == "client_not_unit_scoped"
    assert not ApiToken.objects.filter(client=legacy).exists()
