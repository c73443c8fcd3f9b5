from __future__ import annotations

import json

import pytest
import time_machine

from warta.accounts.models import AuditEvent
from warta.contacts import hooks, services
from warta.contacts.audience import resolve
from warta.contacts.models import Contact, DataSubjectRequest, OptOut

from .conftest import create_contact, create_group, mobile

pytestmark = pytest.mark.django_db


def test_an_access_request_exports_everything_held_on_the_number_and_is_audited():
    contact = create_contact(name="Siti", tags=",warga,")
    contact.memberships.create(group=create_group("Kader Posyandu"))
    services.opt_out(contact.e164, "sms", reason="BERHENTI")

    def messages(e164):
        return {"messages_sent": [{"text": "Info banjir"}]} if e164 == contact.e164 else {}

    hooks.register("subject_records", messages)
    try:
        data = json.loads(services.subject_export_json(contact.e164))
    finally:
        hooks.unregister("subject_records", messages)
    assert data["contact"]["name"] == "Siti"
    assert data["groups"][0]["name"] == "Kader Posyandu"
    assert data["opt_out"]["reason"] == "BERHENTI"
    assert data["messages_sent"] == [{"text": "Info banjir"}]
    event = AuditEvent.objects.get(action="contacts.dsr_export")
    assert contact.e164 not in json.dumps(event.changes) + event.object_repr


def test_erasure_anonymises_the_number_and_keeps_the_counts():
    group = create_group()
    people = [create_contact(name=f"Warga {i}") for i in range(3)]
    for person in people:
        person.memberships.create(group=group)
    target = people[0]
    number = target.e164
    anonymised = []

    def stand_in(e164, pseudonym):
        anonymised.append((e164, pseudonym))
        return 4

    # Only the stand-in answers: the real providers (blasts, inbox) are put back afterwards.
    real = list(hooks._registry["anonymise_number"])
    hooks._registry["anonymise_number"][:] = [stand_in]
    try:
        counts = services.erase(target.e164)
    finally:
        hooks._registry["anonymise_number"][:] = real
    target.refresh_from_db()
    assert target.e164.startswith("~") and target.name == "" and target.anonymised_at is not None
    assert not Contact.objects.filter(e164=number).exists()
    assert counts["contacts"] == 1 and counts["other_apps"] == 4
    assert anonymised[0][1] == target.e164
    assert group.memberships.count() == 3  # the aggregate stays right
    assert resolve(groups=[group]).counts().as_dict()["excluded"]["erased"] == 1


def test_requests_carry_the_3x24_hour_clock_and_overdue_ones_are_escalated_once(actors, mailoutbox):
    with time_machine.travel("2026-03-02 09:00 +0700"):
        request = services.open_request("access", mobile(), requester="Budi")
    assert request.due_at.isoformat() == "2026-03-05T02:00:00+00:00"
    with time_machine.travel("2026-03-05 08:00 +0700"):
        assert request.is_due_soon and not request.is_overdue
        assert services.escalate_overdue() == []
    with time_machine.travel("2026-03-05 09:01 +0700"):
        assert DataSubjectRequest.objects.get().is_overdue
        assert [r.pk for r in services.escalate_overdue()] == [request.pk]
        assert services.escalate_overdue() == []
    assert len(mailoutbox) == 1 and "3×24" in mailoutbox[0].subject


def test_closing_a_request_keeps_only_the_masked_number():
    number = mobile()
    request = services.open_request("correction", number)
    services.close_request(request, "done")
    request.refresh_from_db()
    assert request.e164 == "0812****" + number[-4:] and request.completed_at is not None


def test_retention_anonymises_inactive_contacts_and_asks_the_inbox(settings):
    settings.WARTA_RETENTION_DAYS = 365
    with time_machine.travel("2024-01-01 08:00 +0700"):
        old = create_contact(name="Lama")
        services.opt_out(old.e164, "sms")
    with time_machine.travel("2025-06-01 08:00 +0700"):
        fresh = create_contact(name="Baru")
    calls = []

    def stand_in(cutoff, dry_run):
        calls.append((cutoff, dry_run))
        return 12

    real = list(hooks._registry["retention_anonymise"])
    hooks._registry["retention_anonymise"][:] = [stand_in]
    try:
        with time_machine.travel("2025-07-01 08:00 +0700"):
            preview = services.retention(dry_run=True)
            assert (preview["contacts"], preview["other_apps"]) == (1, 12)
            assert Contact.objects.get(pk=old.pk).name == "Lama"
            result = services.retention()
    finally:
        hooks._registry["retention_anonymise"][:] = real
    assert result["contacts"] == 1
    assert Contact.objects.get(pk=old.pk).e164.startswith("~")
    assert Contact.objects.get(pk=fresh.pk).name == "Baru"
    assert OptOut.objects.filter(e164=old.e164).exists()  # the objection is still honoured
    assert calls[1][1] is False


def test_the_retention_command_reports_json(capsys, settings):
    from django.core.management import call_command

    settings.WARTA_RETENTION_DAYS = 30
    with time_machine.travel("2020-01-01"):
        create_contact()
    call_command("contacts", "retention", "--dry-run", "--json")
    assert json.loads(capsys.readouterr().out)["contacts"] == 1
    assert Contact.objects.filter(anonymised_at__isnull=True).count() == 1


def test_a_consent_list_cannot_be_created_without_proof():
    with pytest.raises(services.ContactError):
        services.create_group("Relawan", "consent")
    assert services.create_group("Relawan", "consent", consent_proof="Formulir 12/2026").lawful_basis == "consent"


def test_audit_events_never_hold_a_full_number():
    contact = create_contact(name="Ani")
    services.opt_out(contact.e164, "operator")
    services.opt_in(contact.e164, "sms")
    services.update_contact(contact, name="Ani S.")
    services.restrict(contact.e164)
    services.erase(contact.e164)
    dump = json.dumps(list(AuditEvent.objects.values("object_repr", "changes")))
    assert contact.e164 not in dump and contact.e164[3:] not in dump and "Ani" not in dump
