"""The audit trail: recorded for every change, append-only, filterable and exportable by admins."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from tests.conftest import login
from warta.accounts import audit
from warta.accounts.models import AuditEvent, AuditTrailIsAppendOnly


def test_admin_change_to_a_user_is_recorded_with_who_where_and_what(client: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    login(client, actors["admin"])
    target = actors["operator"]
    response = client.post(
        reverse("accounts:user_edit", args=[target.pk]),
        {"username": "operator", "first_name": "Sari", "role": "verifier", "unit": units["kominfo"].pk, "is_active": "on"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.updated")
    assert event.actor == actors["admin"] and event.actor_name == "admin"
    assert event.ip_address == "10.1.2.3"
    assert event.object_type == "accounts.user" and event.object_id == str(target.pk)
    assert event.changes["role"] == ["operator", "verifier"]
    assert event.changes["first_name"] == ["", "Sari"]


def test_creating_a_unit_is_recorded(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["admin"])
    client.post(reverse("accounts:unit_create"), {"code": "satpol", "name": "Satpol PP", "kind": "skpd", "is_active": "on"})
    assert AuditEvent.objects.filter(action="unit.created", object_repr="Satpol PP").exists()


def test_a_unit_cannot_become_its_own_ancestor(client: Any, actors: dict[str, Any], units: dict[str, Any]) -> None:
    login(client, actors["admin"])
    bpbd = units["bpbd"]
    response = client.post(reverse("accounts:unit_edit", args=[bpbd.pk]),
                           {"code": "bpbd", "name": "BPBD", "kind": "skpd", "parent": units["pusdatin"].pk, "is_active": "on"})
    assert response.status_code == 200 and "parent" in response.context["form"].errors


def test_secrets_never_enter_the_trail(actors: dict[str, Any]) -> None:
    event = audit.record("connection.updated", changes={"password": ["a", "b"], "url": "x", "nested": {"api_key": "k"}})
    assert event.changes["password"] == audit.REDACTED
    assert event.changes["nested"]["api_key"] == audit.REDACTED
    assert event.changes["url"] == "x"


def test_the_model_refuses_edits_and_deletes(actors: dict[str, Any]) -> None:
    event = audit.record("test.action", actor=actors["admin"])
    event.action = "rewritten"
    with pytest.raises(AuditTrailIsAppendOnly):
        event.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        event.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_the_database_refuses_a_raw_update(actors: dict[str, Any]) -> None:
    from django.db import DatabaseError, transaction

    event = audit.record("test.action", actor=actors["admin"])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.action"


def test_an_account_that_acted_cannot_be_deleted(actors: dict[str, Any]) -> None:
    from django.db.models import ProtectedError

    audit.record("test.action", actor=actors["operator"])
    with pytest.raises(ProtectedError):
        actors["operator"].delete()


def test_admin_filters_the_trail(client: Any, actors: dict[str, Any]) -> None:
    audit.record("blast.approved", actor=actors["approver"], object_type="blasts.blast", object_repr="Banjir")
    audit.record("contact.exported", actor=actors["operator"], object_type="contacts.contact")
    login(client, actors["admin"])
    html = client.get(reverse("accounts:audit_list"), {"actor": "penyetuju"}).content.decode()
    assert "blast.approved" in html and "contact.exported" not in html
    html = client.get(reverse("accounts:audit_list"), {"action": "contact."}).content.decode()
    assert "contact.exported" in html and "blast.approved" not in html


def test_audit_filter_rejects_a_reversed_date_range(client: Any, actors: dict[str, Any]) -> None:
    login(client, actors["admin"])
    response = client.get(reverse("accounts:audit_list"), {"date_from": "2026-11-02", "date_to": "2026-11-01"})
    assert "Tanggal akhir harus sesudah tanggal awal." in response.content.decode()


def test_times_are_shown_in_wib(client: Any, actors: dict[str, Any]) -> None:
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.UTC), tick=False):
        audit.record("test.clock", actor=actors["admin"])
    login(client, actors["admin"])
    html = client.get(reverse("accounts:audit_list"), {"action": "test.clock"}).content.decode()
    assert "2026-11-01 08:30:00" in html


def test_csv_export_is_filtered_neutralised_and_itself_audited(client: Any, actors: dict[str, Any]) -> None:
    audit.record("inbox.note", actor=actors["operator"], object_repr="=HYPERLINK(\"http://x\")")
    login(client, actors["admin"])
    response = client.get(reverse("accounts:audit_export"), {"action": "inbox.note"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "waktu_wib"
    assert len(rows) == 2
    assert rows[1][6].startswith("'=")
    assert AuditEvent.objects.filter(action="audit.exported", actor=actors["admin"]).exists()


def _raw(sql: str, params: list[Any] | None = None) -> None:
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_the_database_refuses_a_raw_delete(actors: dict[str, Any]) -> None:
    from django.db import DatabaseError

    event = audit.record("test.action", actor=actors["admin"])
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM accounts_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_truncate(actors: dict[str, Any]) -> None:
    from django.db import DatabaseError

    audit.record("test.action", actor=actors["admin"])
    statement = ("TRUNCATE accounts_auditevent" if connection.vendor == "postgresql"
                 else "DELETE FROM accounts_auditevent")  # SQLite's truncate is an unqualified DELETE
    with pytest.raises(DatabaseError):
        _raw(statement)
    assert AuditEvent.objects.exists()


def _verify(capsys: Any) -> tuple[int, dict[str, Any]]:
    import json

    from django.core.management import CommandError, call_command

    try:
        call_command("audit", "verify", "--json")
        code = 0
    except CommandError:
        code = 1
    return code, json.loads(capsys.readouterr().out)


def _as_owner_without_triggers(sql: str, params: list[Any]) -> None:
    """What the database's owner can still do: lift the triggers and rewrite history."""
    from warta.accounts import auditdb

    auditdb.drop_triggers(connection)
    try:
        _raw(sql, params)
    finally:
        auditdb.install_triggers(connection)


def test_rows_are_chained_and_verify_passes(actors: dict[str, Any], capsys: Any) -> None:
    odd = {"é": [1.5, None], "big": 1e20, "two": 2.0, "tiny": 1e-7, "nested": {"b": True, "a": "x"}}
    events = [audit.record("test.step", actor=actors["admin"], changes={"n": n, **odd}) for n in range(4)]
    assert events[0].prev_hash != "" and events[1].prev_hash == events[0].hash
    code, verdict = _verify(capsys)
    assert code == 0 and verdict["ok"] and verdict["head_hash"] == events[-1].hash


def test_verify_detects_a_removed_row(actors: dict[str, Any], capsys: Any) -> None:
    events = [audit.record("test.step", actor=actors["admin"], changes={"n": n}) for n in range(4)]
    _as_owner_without_triggers("DELETE FROM accounts_auditevent WHERE id = %s", [events[1].pk])
    code, verdict = _verify(capsys)
    assert code == 1
    assert {"id": events[2].pk, "problem": "missing_before"} in verdict["problems"]


def test_verify_detects_an_altered_row(actors: dict[str, Any], capsys: Any) -> None:
    events = [audit.record("test.step", actor=actors["admin"], changes={"n": n}) for n in range(3)]
    _as_owner_without_triggers("UPDATE accounts_auditevent SET actor_name = 'orang-lain' WHERE id = %s", [events[1].pk])
    code, verdict = _verify(capsys)
    assert code == 1 and verdict["problems"] == [{"id": events[1].pk, "problem": "altered"}]


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_can_still_be_flushed(actors: dict[str, Any]) -> None:
    # The flush after this test must get past the DELETE/TRUNCATE triggers (tests/conftest.py).
    audit.record("test.flush", actor=actors["admin"])
    assert AuditEvent.objects.filter(action="test.flush").exists()
