"""Issue 11: approval means what it says — scheduled blasts go out (item 4), the approved audience
is frozen (item 5), sender-ID ownership (item 2) and test sends (item 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.blasts.helpers import approve_all, create_draft

WIB = ZoneInfo("Asia/Jakarta")
pytestmark = pytest.mark.django_db


def services() -> Any:
    from warta.blasts import services

    return services


# -- item 4: scheduled blasts go out ---------------------------------------------------------------


def test_a_blast_scheduled_in_wib_is_released_at_its_time(actors: dict[str, Any]) -> None:
    s = services()
    # What the form gives: an aware datetime in Asia/Jakarta (+07:00); the database keeps UTC.
    send_at = (timezone.now() + timedelta(hours=2)).astimezone(WIB).replace(microsecond=0)
    window_end = send_at + timedelta(hours=3)
    d = create_draft(actors["operator"], send_at=send_at, window_end=window_end)
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    assert d.state == "approved"
    released = s.release_due(now=send_at + timedelta(minutes=1))
    d.refresh_from_db()
    assert [b.pk for b in released] == [d.blast_id] and d.state == "released"


def test_the_hash_is_the_same_for_the_same_instant_in_any_zone(actors: dict[str, Any]) -> None:
    d = create_draft(actors["operator"], send_at=timezone.now() + timedelta(hours=2))
    utc_hash = d.compute_hash()
    d.send_at = d.send_at.astimezone(WIB)
    assert d.compute_hash() == utc_hash


def test_drafts_stuck_under_the_old_hash_are_moved_to_the_new_one(actors: dict[str, Any]) -> None:
    import importlib

    from django.apps import apps

    from warta.blasts.models import Approval, Draft

    s = services()
    send_at = (timezone.now() + timedelta(hours=2)).astimezone(WIB).replace(microsecond=0)
    d = create_draft(actors["operator"], send_at=send_at)
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    migration = importlib.import_module("warta.blasts.migrations.0007_approval_hash_utc")
    old = migration._hash(d, WIB, WIB)  # what the draft carried before the fix
    Approval.objects.filter(draft=d).update(content_hash=old)
    # Approved before the audience was frozen (migration 0008 came later).
    Draft.objects.filter(pk=d.pk).update(content_hash=old, approved_hash=old, audience_hash="", audience_set=None,
                                         audience_size=None)
    migration.forwards(apps, None)
    assert s.release_due(now=send_at + timedelta(minutes=1))
    d.refresh_from_db()
    assert d.state == "released"


# -- item 5: the approved audience is frozen -------------------------------------------------------


def _join(group: Any, n: int) -> None:
    from tests.blasts.helpers import mobile
    from warta.contacts.models import Contact, Membership
    from warta.sms import parse_number

    for _i in range(n):
        number = mobile()
        c = Contact.objects.create(e164=number, name="Baru", operator=str(parse_number(number).operator))
        Membership.objects.create(contact=c, group=group)


def test_release_refuses_an_audience_that_grew_after_approval(actors: dict[str, Any], client: Any) -> None:
    from tests.blasts.helpers import create_group_with
    from tests.conftest import login
    from warta.accounts.models import AuditEvent
    from warta.blasts.models import OutboundMessage

    s = services()
    group = create_group_with(35)
    later = timezone.now() + timedelta(hours=1)
    d = create_draft(actors["operator"], group=group, send_at=later)
    d = s.submit_for_review(d, actors["operator"])
    assert d.audience_size == 35 and len(d.audience_hash) == 64
    d = approve_all(d, actors)
    assert d.state == "approved"
    _join(group, 40)  # 35 deliverable at approval, 75 at release (the reported case)
    assert s.release_due(now=later + timedelta(minutes=1)) == []
    d.refresh_from_db()
    assert d.state == "review" and d.blast_id is None and not OutboundMessage.objects.exists()
    assert d.audience_change["added"] == 40 and d.audience_change["removed"] == 0
    assert d.audience_size == 75 and s.next_step(d).position == 1  # the whole chain again
    assert AuditEvent.objects.filter(action="blasts.audience_changed", object_id=str(d.pk)).exists()
    assert actors["operator"].blast_notices.filter(text__contains="40 baru").exists()
    # The approver sees the difference.
    page = login(client, actors["verifier"]).get(f"/blast/naskah/{d.pk}/").content.decode()
    assert 'id="audience-change"' in page and 'data-added="40"' in page
    # Approved again, the new set goes out.
    d = approve_all(d, actors)
    assert s.release_due(now=later + timedelta(minutes=2))
    assert OutboundMessage.objects.count() == 75


def test_release_sends_exactly_the_frozen_set(actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_group_with
    from warta.blasts.models import OutboundMessage
    from warta.contacts import services as contacts

    s = services()
    group = create_group_with(40)
    d = create_draft(actors["operator"], group=group, send_at=timezone.now() + timedelta(hours=1))
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    frozen = s.frozen_numbers(d)
    gone = sorted(frozen)[0]
    contacts.opt_out(gone, "sms")  # one opt-out (2.5%): inside the 5% tolerance
    assert s.release_due(now=timezone.now() + timedelta(hours=2))
    sent = set(OutboundMessage.objects.values_list("to", flat=True))
    assert sent == frozen - {gone}
    d.refresh_from_db()
    assert d.release_summary["approved_audience"] == 40 and d.release_summary["no_longer_deliverable"] == 1


def test_shrinking_beyond_the_tolerance_also_asks_for_reapproval(actors: dict[str, Any], settings: Any) -> None:
    from tests.blasts.helpers import create_group_with
    from warta.contacts.models import Membership

    settings.WARTA = {**settings.WARTA, "AUDIENCE_REMOVED_TOLERANCE_PERCENT": 10}
    s = services()
    group = create_group_with(10)
    d = create_draft(actors["operator"], group=group, send_at=timezone.now() + timedelta(hours=1))
    s.submit_for_review(d, actors["operator"])
    d = approve_all(d, actors)
    Membership.objects.filter(group=group).order_by("pk")[:1].get().delete()  # 10%: inside
    first = Membership.objects.filter(group=group).order_by("pk").first()
    assert first is not None
    first.delete()  # 20%: beyond
    with pytest.raises(s.WorkflowError, match="2 tidak lagi"):
        s.release(d, now=timezone.now() + timedelta(hours=2))
    d.refresh_from_db()
    assert d.state == "review" and d.audience_change["removed"] == 2


# -- item 2: sender-ID ownership -------------------------------------------------------------------


def test_an_approver_who_does_not_own_gubdki_cannot_give_its_final_approval(actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import verified
    from tests.conftest import create_user

    s = services()
    stranger = verified(create_user("approver", actors["other_liaison"].unit, "kadis-dinkes"))
    d = create_draft(actors["operator"])  # GubDKI, owned by "penyetuju"
    s.submit_for_review(d, actors["operator"])
    d = s.approve(d, verified(actors["verifier"]))
    assert "pemiliknya" in s.why_cannot_decide(stranger, d)
    with pytest.raises(s.WorkflowError, match="pemiliknya"):
        s.approve(d, stranger)
    assert d not in s.pending_for(stranger)
    d = s.approve(d, verified(actors["approver"]))
    assert d.state == "released"


def test_a_sender_without_owner_cannot_be_finally_approved(actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_sender, verified

    s = services()
    sender = create_sender("WagubDKI")
    sender.owner = None
    sender.save()
    d = create_draft(actors["operator"], sender="WagubDKI")
    s.submit_for_review(d, actors["operator"])
    d = s.approve(d, verified(actors["verifier"]))
    with pytest.raises(s.WorkflowError, match="belum punya pemilik"):
        s.approve(d, verified(actors["approver"]))


def test_a_delegate_approves_only_inside_the_dates_and_until_revoked(actors: dict[str, Any]) -> None:
    import time_machine

    from tests.blasts.helpers import create_sender, verified
    from tests.conftest import create_user
    from warta.accounts.models import AuditEvent
    from warta.blasts import ownership

    s = services()
    sender = create_sender("GubDKI")
    deputy = verified(create_user("approver", actors["approver"].unit, "wakil-kadis"))
    today = timezone.localdate()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):  # an operator cannot hand out the owner's authority
        ownership.delegate(sender, actors["operator"], to=deputy, starts_on=today, ends_on=today)
    grant = ownership.delegate(sender, actors["approver"], to=deputy, starts_on=today + timedelta(days=1),
                       ends_on=today + timedelta(days=3), reason="Cuti")
    assert AuditEvent.objects.filter(action="blasts.delegation_created", object_id=str(grant.pk)).exists()
    d = create_draft(actors["operator"])
    s.submit_for_review(d, actors["operator"])
    d = s.approve(d, verified(actors["verifier"]))
    assert s.why_cannot_decide(deputy, d) is not None  # not yet
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        assert s.why_cannot_decide(deputy, d) is None
        assert d in s.pending_for(deputy)
        ownership.revoke_delegation(grant, actors["admin"])
        assert s.why_cannot_decide(deputy, d) is not None
    assert AuditEvent.objects.filter(action="blasts.delegation_revoked", object_id=str(grant.pk)).exists()
    with time_machine.travel(timezone.now() + timedelta(days=5), tick=False):
        ownership.delegate(sender, actors["admin"], to=deputy, starts_on=timezone.localdate(),
                   ends_on=timezone.localdate())
        d = s.approve(d, deputy)
        assert d.state == "released"


def test_the_final_approval_needs_totp_even_for_a_verifier_alone(client: Any, actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import login_with_totp
    from tests.conftest import login
    from warta.blasts.models import Blast

    s = services()
    d = create_draft(actors["operator"], sender="HumasDKI")  # one step: the verifier's
    s.submit_for_review(d, actors["operator"])
    with pytest.raises(s.WorkflowError, match="TOTP"):
        s.approve(d, actors["verifier"])  # a user object whose session passed no second factor
    login(client, actors["verifier"])  # password only: verifiers need no TOTP to log in
    page = client.get(f"/blast/naskah/{d.pk}/").content.decode()
    assert 'id="needs-totp"' in page
    client.post(f"/blast/naskah/{d.pk}/setujui/", {"seen_hash": d.content_hash})
    d.refresh_from_db()
    assert d.state == "review" and not Blast.objects.exists()
    login_with_totp(client, actors["verifier"])
    client.post(f"/blast/naskah/{d.pk}/setujui/", {"seen_hash": d.content_hash})
    d.refresh_from_db()
    assert d.state == "released"


def test_the_chain_editor_names_users_and_keeps_the_last_step_for_the_owner(client: Any, actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_sender, verified
    from tests.conftest import create_user, login

    s = services()
    sender = create_sender("SekdaDKI")
    kabid = create_user("verifier", actors["verifier"].unit, "kabid.humas")
    login(client, actors["admin"])
    client.post("/blast/sender-id/", {"form": "chain", "sender": sender.pk, "steps": "@kabid.humas, @verifikator"})
    steps = list(s.policy_for(sender).steps.all())
    assert [st.label for st in steps] == ["Verifikator", "Kepala Dinas"]  # refused: the last is not the owner
    client.post("/blast/sender-id/", {"form": "chain", "sender": sender.pk, "steps": "@kabid.humas, approver"})
    steps = list(s.policy_for(sender).steps.all())
    assert steps[0].user == kabid and steps[1].user is None
    d = create_draft(actors["operator"], sender="SekdaDKI")
    s.submit_for_review(d, actors["operator"])
    assert "kabid.humas" in s.why_cannot_decide(actors["verifier"], d)
    d = s.approve(d, verified(kabid))
    d = s.approve(d, verified(actors["approver"]))
    assert d.state == "released"


def test_delegations_are_managed_by_the_owner_or_an_administrator_only(client: Any, actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_sender
    from tests.conftest import create_user, login
    from warta.blasts.models import SenderDelegation

    sender = create_sender("GubDKI")
    other = create_user("approver", actors["approver"].unit, "kadis-lain")
    login(client, other)
    assert client.get(f"/blast/sender-id/{sender.pk}/delegasi/").status_code == 403
    assert client.post(f"/blast/sender-id/{sender.pk}/delegasi/", {
        "delegate": other.pk, "starts_on": timezone.localdate(), "ends_on": timezone.localdate()}).status_code == 403
    login(client, actors["operator"])
    assert client.get(f"/blast/sender-id/{sender.pk}/delegasi/").status_code == 403
    login(client, actors["approver"])  # the owner
    r = client.post(f"/blast/sender-id/{sender.pk}/delegasi/", {
        "delegate": actors["verifier"].pk, "starts_on": timezone.localdate(),
        "ends_on": timezone.localdate() + timedelta(days=7), "reason": "Dinas luar"})
    assert r.status_code == 302
    grant = SenderDelegation.objects.get()
    assert grant.delegate == actors["verifier"] and grant.created_by == actors["approver"]
    page = client.get(f"/blast/sender-id/{sender.pk}/delegasi/").content.decode()
    assert "Dinas luar" in page and "berlaku" in page
    login(client, actors["admin"])
    client.post(f"/blast/sender-id/{sender.pk}/delegasi/", {"revoke": grant.pk})
    grant.refresh_from_db()
    assert grant.revoked_by == actors["admin"]


# -- item 1: test sends ----------------------------------------------------------------------------


def _code_sent_to(e164: str) -> str:
    import re

    from warta.blasts.models import OutboundMessage

    row = OutboundMessage.objects.filter(to=e164).order_by("-id").first()
    assert row is not None, "no code SMS in the outbox"
    found = re.search(r"\b(\d{6})\b", row.text)
    assert found is not None
    return found.group(1)


def test_a_test_send_to_a_number_that_is_no_staff_phone_is_refused(actors: dict[str, Any]) -> None:
    from warta.blasts import testsends
    from warta.blasts.models import Blast

    s = services()
    d = create_draft(actors["operator"], text="PENGUMUMAN GUBERNUR: transfer Rp50rb ke rek 123",
                     test_numbers="0812 9999 0001")
    with pytest.raises(s.WorkflowError, match="nomor staf"):
        testsends.test_send(d, actors["operator"])
    assert not Blast.objects.exists()


def test_a_test_send_is_marked_counted_audited_and_on_the_verifiers_queue(actors: dict[str, Any], client: Any,
                                                                           settings: Any) -> None:
    import json

    from tests.blasts.helpers import create_staff_phone
    from tests.conftest import login
    from warta.accounts.models import AuditEvent
    from warta.blasts import testsends
    from warta.blasts.models import OutboundMessage

    settings.WARTA = {**settings.WARTA, "TEST_SENDS_PER_USER_PER_DAY": 2}
    s = services()
    create_staff_phone(actors["verifier"], "0812 7777 0001")
    d = create_draft(actors["operator"], test_numbers="0812 7777 0001", text="Waspada banjir.")
    blast = testsends.test_send(d, actors["operator"])
    assert blast.text == "[UJI] Waspada banjir."
    assert OutboundMessage.objects.get(blast=blast).to == "+6281277770001"
    event = AuditEvent.objects.get(action="blasts.test_sent")
    assert event.changes["text"] == "[UJI] Waspada banjir."
    assert event.changes["to"][0]["number"] == "0812****0001"
    assert "+6281277770001" not in json.dumps(event.changes) and "81277770001" not in json.dumps(event.changes)
    # The verifier sees it on the queue.
    page = login(client, actors["verifier"]).get("/blast/persetujuan/").content.decode()
    assert 'id="test-sends"' in page and "[UJI] Waspada banjir." in page and "0812****0001" in page
    # Two a day for this operator (set above); the double-click guard aside, the third is refused.
    d.text = "Waspada banjir rob."
    d.save()
    testsends.test_send(d, actors["operator"])
    d.text = "Waspada banjir rob lagi."
    d.save()
    with pytest.raises(s.WorkflowError, match="Batas kirim uji"):
        testsends.test_send(d, actors["operator"])
    assert OutboundMessage.objects.count() == 2


def test_the_office_wide_daily_limit_holds_across_authors(actors: dict[str, Any], settings: Any) -> None:
    from tests.blasts.helpers import create_staff_phone
    from warta.blasts import testsends

    settings.WARTA = {**settings.WARTA, "TEST_SENDS_PER_DAY": 1}
    s = services()
    create_staff_phone(actors["verifier"], "0812 7777 0002")
    testsends.test_send(create_draft(actors["operator"], test_numbers="081277770002"), actors["operator"])
    with pytest.raises(s.WorkflowError, match="Batas kirim uji"):
        testsends.test_send(create_draft(actors["admin"], test_numbers="081277770002"), actors["admin"])


def test_a_staff_phone_is_proven_by_a_code_sent_through_the_outbox(actors: dict[str, Any]) -> None:
    import time_machine

    from warta.accounts.models import AuditEvent
    from warta.blasts import testsends
    from warta.blasts.models import Blast

    op = actors["operator"]
    phone = testsends.register_phone(op, "0812-5555-0001")
    assert phone.verified_at is None and phone.code_hash and len(phone.code_hash) == 64
    code = _code_sent_to("+6281255550001")
    blast = Blast.objects.order_by("-id").first()
    assert blast is not None and code not in blast.text  # consoles show a placeholder, not the code
    with pytest.raises(testsends.TestSendError, match="baru saja dikirim"):
        testsends.register_phone(op, "0812-5555-0001")  # one code a minute
    with pytest.raises(testsends.TestSendError, match="salah"):
        testsends.verify_phone(op, "000000" if code != "000000" else "111111")
    phone = testsends.verify_phone(op, code)
    assert phone.verified_at is not None
    assert AuditEvent.objects.filter(action="blasts.staff_phone_verified").exists()
    # Another account cannot claim the proven number.
    with pytest.raises(testsends.TestSendError, match="akun staf lain"):
        testsends.register_phone(actors["admin"], "081255550001")
    # A code is good for ten minutes only.
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        testsends.register_phone(actors["admin"], "0812-5555-0002")
    code = _code_sent_to("+6281255550002")
    with time_machine.travel(timezone.now() + timedelta(minutes=13), tick=False):
        with pytest.raises(testsends.TestSendError, match="kedaluwarsa"):
            testsends.verify_phone(actors["admin"], code)


def test_five_wrong_codes_void_the_code(actors: dict[str, Any]) -> None:
    from warta.blasts import testsends

    testsends.register_phone(actors["operator"], "0812-5555-0003")
    code = _code_sent_to("+6281255550003")
    wrong = "000000" if code != "000000" else "111111"
    for _i in range(5):
        with pytest.raises(testsends.TestSendError):
            testsends.verify_phone(actors["operator"], wrong)
    with pytest.raises(testsends.TestSendError, match="Terlalu banyak"):
        testsends.verify_phone(actors["operator"], code)


def test_a_staff_member_registers_a_number_in_the_browserless_flow(client: Any, actors: dict[str, Any]) -> None:
    from tests.conftest import login
    from warta.blasts.models import StaffPhone

    login(client, actors["operator"])
    assert client.post("/blast/nomor-uji/", {"action": "register", "number": "0812 5555 0009"}).status_code == 302
    code = _code_sent_to("+6281255550009")
    client.post("/blast/nomor-uji/", {"action": "verify", "code": code})
    assert StaffPhone.objects.get(user=actors["operator"]).verified_at is not None
    page = client.get("/blast/nomor-uji/").content.decode()
    assert 'data-verified="1"' in page
    # The composer refuses, on save, a test number that is not a staff phone.
    from tests.blasts.helpers import create_group_with, create_sender

    sender = create_sender("HumasDKI")
    group = create_group_with(1)
    r = client.post("/blast/naskah/baru/", {"title": "Uji", "sender": sender.pk, "text": "Halo",
                                            "groups": [group.pk], "test_numbers": "0812 5555 0009, 0813 0000 0000"})
    assert r.status_code == 200 and "bukan" in r.content.decode()
    r = client.post("/blast/naskah/baru/", {"title": "Uji", "sender": sender.pk, "text": "Halo",
                                            "groups": [group.pk], "test_numbers": "0812 5555 0009"})
    assert r.status_code == 302


def test_an_administrator_names_the_owner_and_it_is_audited(client: Any, actors: dict[str, Any]) -> None:
    from tests.blasts.helpers import create_sender
    from tests.conftest import login
    from warta.accounts.models import AuditEvent

    sender = create_sender("WagubDKI")
    sender.owner = None
    sender.save()
    login(client, actors["operator"])
    assert client.post("/blast/sender-id/", {"form": "owner", "sender": sender.pk,
                                             "owner": actors["operator"].pk}).status_code == 403
    login(client, actors["admin"])
    client.post("/blast/sender-id/", {"form": "owner", "sender": sender.pk, "owner": actors["approver"].pk})
    sender.refresh_from_db()
    assert sender.owner == actors["approver"]
    assert AuditEvent.objects.filter(action="blasts.sender_owner_changed", object_id=str(sender.pk)).exists()
