"""The unit's analysis figures through the API, and the poll-closed webhook."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api import bearer, issue
from tests.inbox.conftest import mo

pytestmark = pytest.mark.django_db
FLOOD = "TOLONG banjir sdh sedada di kel. kp melayu, ada lansia terjebak"


@pytest.fixture(autouse=True)
def _fresh_engine() -> Any:
    from warta.insights import engine

    engine.reset()
    yield
    engine.reset()


def test_figures_are_the_units_slice(client: Any, units: dict[str, Any]) -> None:
    from warta.inbox.models import RoutingRule
    from warta.inbox.services import receive_mo
    from warta.insights.services import today_wib

    RoutingRule.objects.create(kind="topic", pattern="banjir", unit=units["bpbd"], priority=10)
    receive_mo(mo(FLOOD, source="+6281311110001"))
    day = today_wib().isoformat()
    _t, bpbd = issue(units["bpbd"], scopes=["insights:read"])
    _t, dinkes = issue(units["dinkes"], name="dinkes-sim", scopes=["insights:read"])
    body = client.get(f"/api/v1/insights/figures?start={day}&end={day}", **bearer(bpbd)).json()
    assert body["total"] == 1 and body["urgent"] == 1 and body["by_topic"][0]["code"] == "banjir"
    assert body["unit"] == "bpbd"
    other = client.get(f"/api/v1/insights/figures?start={day}&end={day}", **bearer(dinkes)).json()
    assert other["total"] == 0
    r = client.get(f"/api/v1/insights/figures?start={day}&end=2020-01-01", **bearer(bpbd))
    assert r.status_code == 422 and r.json()["field"] == "end"
    r = client.get(f"/api/v1/insights/figures?start={day}&end={day}&topic=ufo", **bearer(bpbd))
    assert r.status_code == 422 and r.json()["field"] == "topic"
    _t, nope = issue(units["bpbd"], name="tanpa", scopes=["inbox:read"])
    assert client.get(f"/api/v1/insights/figures?start={day}&end={day}", **bearer(nope)).status_code == 403


def test_poll_closed_reaches_the_unit_of_the_polls_materi(units: dict[str, Any]) -> None:
    from tests.api.test_webhooks_receiver import Receiver
    from tests.blasts.helpers import create_materi, create_sender
    from tests.conftest import create_user
    from warta.api import webhooks
    from warta.blasts.models import Draft
    from warta.insights.models import Poll
    from warta.insights.signals import poll_closed

    receiver = Receiver()
    try:
        webhooks.create(units["bpbd"], receiver.url, ["poll.closed"], None)
        operator = create_user("operator", units["kominfo"])
        draft = Draft.objects.create(materi=create_materi(create_user("liaison", units["bpbd"])),
                                     sender=create_sender("GubDKI"), author=operator, title="t", text="x")
        poll = Poll.objects.create(draft=draft, question="Setuju?", options=[{"key": "1", "label": "Ya"}],
                                   created_by=operator, state="closed")
        poll_closed.send(sender=Poll, poll=poll, results={"total": 3, "options": {"1": 3}})
        webhooks.deliver_due()
        body = json.loads(receiver.requests[0]["body"])
        assert body["type"] == "poll.closed" and body["data"]["poll"]["results"]["total"] == 3
        assert body["data"]["poll"]["question"] == "Setuju?" and body["unit"] == "bpbd"
    finally:
        receiver.close()
