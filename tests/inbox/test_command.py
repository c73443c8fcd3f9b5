from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.inbox.conftest import create_ticket

pytestmark = pytest.mark.django_db


def test_inbox_list_json_with_status_filter(actors):
    a = create_ticket("satu")
    create_ticket("dua", source="+6281311112222")
    from warta.inbox import services

    services.set_status(a, "spam", actor=actors["operator"])
    out = StringIO()
    call_command("inbox", "list", "--json", "--status", "spam", stdout=out)
    rows = json.loads(out.getvalue())
    assert [r["ticket"] for r in rows] == [a.pk] and rows[0]["status"] == "spam"
    out = StringIO()
    call_command("inbox", "list", stdout=out)
    assert "2 tiket" in out.getvalue()


def test_inbox_tick_runs_the_periodic_work(db):
    out = StringIO()
    call_command("inbox", "tick", stdout=out)
    assert json.loads(out.getvalue()) == {"taken": 0, "flushed": 0, "escalated": 0}
