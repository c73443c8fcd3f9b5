"""Issue 12 item 11: liaisons and analysts see their unit's blasts read-only (text, sender, time,
figures); never another unit's, never the controls or the recipients."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.blasts.helpers import approve_all, create_draft, create_materi
from tests.conftest import create_user, login

pytestmark = pytest.mark.django_db


def released(actors: dict[str, Any], materi: Any = None, text: str = "Waspada banjir rob di pesisir utara.") -> Any:
    from warta.blasts import services

    d = create_draft(actors["operator"], materi=materi, text=text)
    services.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    assert d.state == "released"
    return d


def test_a_liaison_reads_its_units_blast(client: Client, actors: dict[str, Any]) -> None:
    d = released(actors, create_materi(actors["liaison"]))
    login(client, actors["liaison"])
    r = client.get(f"/blast/konsol/{d.blast_id}/")
    page = r.content.decode()
    assert r.status_code == 200
    assert "Waspada banjir rob di pesisir utara." in page and "GubDKI" in page
    assert '<td class="total">3</td>' in page
    assert 'id="controls"' not in page and "penerima.csv" not in page
    listing = client.get("/blast/unit/").content.decode()
    assert d.title in listing
    assert 'data-area="unit_blasts"' in client.get("/").content.decode()


def test_a_liaison_of_a_sub_unit_parent_sees_its_ukpds_blast(client: Client, actors: dict[str, Any],
                                                             units: dict[str, Any]) -> None:
    pusdatin = create_user("liaison", units["pusdatin"], "penghubung-pusdatin")
    d = released(actors, create_materi(pusdatin))
    login(client, actors["liaison"])  # BPBD, the parent of Pusdatin BPBD
    assert client.get(f"/blast/konsol/{d.blast_id}/").status_code == 200


def test_another_units_blast_stays_hidden(client: Client, actors: dict[str, Any]) -> None:
    d = released(actors, create_materi(actors["liaison"]))
    login(client, actors["other_liaison"])
    assert client.get(f"/blast/konsol/{d.blast_id}/").status_code == 404
    assert d.title not in client.get("/blast/unit/").content.decode()
    # Nor any of the console's other doors.
    assert client.get(f"/blast/konsol/{d.blast_id}/progres/").status_code == 403
    assert client.get(f"/blast/konsol/{d.blast_id}/penerima.csv").status_code == 403
    assert client.post(f"/blast/konsol/{d.blast_id}/kendali/", {"action": "pause"}).status_code == 403
    login(client, actors["liaison"])
    assert client.post(f"/blast/konsol/{d.blast_id}/kendali/", {"action": "cancel"}).status_code == 403
    assert client.get(f"/blast/konsol/{d.blast_id}/penerima.csv").status_code == 403


def test_an_analyst_reads_blasts_of_its_unit_only(client: Client, actors: dict[str, Any], units: dict[str, Any]) -> None:
    mine = released(actors)  # written without materi by a Diskominfotik operator
    theirs = released(actors, create_materi(actors["liaison"]), text="Info BPBD.")
    login(client, actors["analyst"])
    assert client.get(f"/blast/konsol/{mine.blast_id}/").status_code == 200
    assert client.get(f"/blast/konsol/{theirs.blast_id}/").status_code == 404
    outsider = create_user("analyst", units["dinkes"], "analis-dinkes")
    login(client, outsider)
    assert client.get(f"/blast/konsol/{mine.blast_id}/").status_code == 404


def test_central_roles_still_get_the_console(client: Client, actors: dict[str, Any]) -> None:
    d = released(actors)
    login(client, actors["operator"])
    page = client.get(f"/blast/konsol/{d.blast_id}/").content.decode()
    assert 'id="controls"' in page
    assert client.get("/blast/unit/").status_code == 302
