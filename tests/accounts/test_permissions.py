"""The role × area matrix, checked on the server, and unit isolation for liaisons."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import login
from warta.accounts.permissions import AREAS, AREAS_BY_ROLE

AREA_URLS = {key: url for key, _label, url in AREAS}

EXPECTED = {
    # role: areas it opens; every other area must answer 403
    "admin": {"materi", "blasts", "contacts", "inbox", "insights", "reports", "settings"},
    "operator": {"materi", "blasts", "contacts", "inbox", "insights", "reports"},
    "verifier": {"materi", "blasts", "inbox", "insights", "reports"},
    "approver": {"materi", "blasts", "insights", "reports"},
    "liaison": {"materi", "inbox", "insights"},  # their unit's slice of the analysis (issue 14)
    "analyst": {"inbox", "insights", "reports"},
}


def test_matrix_table_matches_the_documented_expectation() -> None:
    assert {role: set(areas) for role, areas in AREAS_BY_ROLE.items()} == EXPECTED


@pytest.mark.parametrize("actor", ["admin", "operator", "verifier", "approver", "liaison", "analyst"])
@pytest.mark.parametrize("area", list(AREA_URLS))
def test_role_opens_exactly_its_areas(client: Any, actors: dict[str, Any], actor: str, area: str) -> None:
    login(client, actors[actor])
    response = client.get(reverse(AREA_URLS[area]))
    expected = 200 if area in EXPECTED[actors[actor].role] else 403
    assert response.status_code == expected


@pytest.mark.parametrize("area", list(AREA_URLS))
def test_anonymous_visitor_is_sent_to_login(client: Any, db: Any, area: str) -> None:
    response = client.get(reverse(AREA_URLS[area]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_menu_shows_only_the_roles_areas(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["liaison"])
    html = client.get(reverse("core:home")).content.decode()
    assert 'data-area="materi"' in html and 'data-area="inbox"' in html
    assert 'data-area="contacts"' not in html and 'data-area="settings"' not in html


@pytest.mark.parametrize(
    "name", ["accounts:user_list", "accounts:unit_list", "accounts:audit_list", "accounts:audit_export", "blasts:sender_ids"]
)
@pytest.mark.parametrize("actor", ["operator", "verifier", "approver", "liaison", "analyst"])
def test_settings_pages_refuse_non_administrators(client: Any, actors: dict[str, Any], name: str, actor: str) -> None:
    login(client, actors[actor])
    assert client.get(reverse(name)).status_code == 403


def test_forbidden_page_is_in_indonesian(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["liaison"])
    response = client.get(reverse("contacts:index"))
    assert response.status_code == 403
    assert "Akses ditolak" in response.content.decode()


def test_unit_liaison_cannot_see_another_units_page(client: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    login(client, actors["liaison"])  # BPBD
    response = client.get(reverse("accounts:unit_detail", args=[units["dinkes"].pk]))
    assert response.status_code == 404
    assert "Dinas Kesehatan" not in response.content.decode()


def test_unit_liaison_sees_own_unit_and_its_sub_units(client: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    login(client, actors["liaison"])
    assert client.get(reverse("accounts:unit_detail", args=[units["bpbd"].pk])).status_code == 200
    assert client.get(reverse("accounts:unit_detail", args=[units["pusdatin"].pk])).status_code == 200


def test_central_roles_see_every_unit(client: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    login(client, actors["operator"])
    assert client.get(reverse("accounts:unit_detail", args=[units["dinkes"].pk])).status_code == 200


def test_scope_to_unit_narrows_liaisons_only(actors: dict[str, Any], units: dict[str, Any]) -> None:
    from warta.accounts.models import Unit
    from warta.accounts.permissions import scope_to_unit

    qs = Unit.objects.all()
    liaison_units = set(scope_to_unit(qs, actors["liaison"], field="pk").values_list("code", flat=True))
    assert liaison_units == {"bpbd", "pusdatin"}
    assert scope_to_unit(qs, actors["operator"], field="pk").count() == qs.count()


def test_unknown_area_is_a_programming_error(actors: dict[str, Any]) -> None:
    from warta.accounts.permissions import can_open

    with pytest.raises(ValueError):
        can_open(actors["admin"], "keuangan")


def test_liaison_without_unit_is_refused_by_the_database(db: Any) -> None:
    from django.db import IntegrityError

    from warta.accounts.models import User

    with pytest.raises(IntegrityError):
        User.objects.create(username="tanpa-unit", role="liaison", unit=None)
