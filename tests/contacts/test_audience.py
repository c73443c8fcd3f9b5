from __future__ import annotations

import pytest
import time_machine

from warta.contacts import hooks, services
from warta.contacts.audience import resolve
from warta.contacts.models import Region

from .conftest import create_contact, create_group, mobile

pytestmark = pytest.mark.django_db


def _region(code):
    return Region.objects.get(code=code)


def test_the_region_tree_ships_with_its_kemendagri_codes():
    counts = {level: Region.objects.filter(level=level).count() for level in ("kota_kabupaten", "kecamatan", "kelurahan")}
    assert counts == {"kota_kabupaten": 6, "kecamatan": 44, "kelurahan": 267}
    assert _region("31.71.01.1001").parent.parent.name.endswith("Jakarta Pusat")


def test_loading_the_regions_again_changes_nothing():
    from warta.contacts.regions import load_regions

    assert load_regions() == 0


def test_a_kota_selects_the_contacts_of_its_kelurahan():
    inside = create_contact(region=_region("31.71.01.1001"))  # a kelurahan of Jakarta Pusat
    create_contact(region=_region("31.72.01.1001"))
    batches = list(resolve(regions=["31.71"]).iter_deliverable())
    assert [row[0] for batch in batches for row in batch] == [inside.pk]


def test_segment_filters_are_anded_and_values_ored():
    group = create_group()
    jp = _region("31.71")
    match = create_contact(region=_region("31.71.01.1001"), tags=",warga,rt05,", operator="telkomsel")
    match.memberships.create(group=group)
    also = create_contact(region=jp, tags=",rt05,", operator="xl")
    also.memberships.create(group=group)
    create_contact(region=jp, tags=",rt05,", operator="indosat").memberships.create(group=group)  # wrong operator
    create_contact(region=jp, tags=",warga,", operator="xl")  # not in the group
    segment = {"regions": ["31.71"], "tags": ["rt05", "rw01"], "operators": ["telkomsel", "xl"], "groups": [group.pk]}
    ids = sorted(pk for batch in resolve(segments=[segment]).iter_deliverable() for pk, _e, _o in batch)
    assert ids == [match.pk, also.pk]


def test_joined_since_uses_the_join_time():
    with time_machine.travel("2025-01-01 08:00 +0700"):
        create_contact()
    with time_machine.travel("2025-06-01 08:00 +0700"):
        recent = create_contact()
    audience = resolve(segments=[{"joined_since": "2025-03-01"}])
    assert [row[0] for batch in audience.iter_deliverable() for row in batch] == [recent.pk]


def test_replied_to_blast_asks_the_inbox_hook_and_is_empty_without_it():
    replied = create_contact()
    create_contact()
    assert resolve(segments=[{"replied_to_blast": 7}]).counts().deliverable == 0

    def numbers_that_replied(blast_id):
        return [replied.e164] if blast_id == 7 else []

    hooks.register("replied_to_blast", numbers_that_replied)
    try:
        assert resolve(segments=[{"replied_to_blast": 7}]).counts().deliverable == 1
    finally:
        hooks.unregister("replied_to_blast", numbers_that_replied)


def test_counts_split_deliverable_from_excluded_by_reason():
    group = create_group()
    contacts = [create_contact() for _ in range(5)]
    for c in contacts:
        c.memberships.create(group=group)
    services.opt_out(contacts[0].e164, "sms", reason="BERHENTI")
    services.restrict(contacts[1].e164)
    services.erase(contacts[2].e164)
    counts = resolve(groups=[group], numbers=["bukan", "021 3288 1818", mobile(900), mobile(900), contacts[3].e164]).counts()
    assert counts.deliverable == 3  # two contacts + one number that is not a contact
    assert {k: v for k, v in counts.excluded.items() if v} == {
        "opted_out": 1, "restricted": 1, "erased": 1, "invalid": 1, "not_mobile": 1, "duplicate": 1}


def test_opted_out_numbers_are_never_yielded():
    group = create_group()
    keep, drop = create_contact(), create_contact()
    for c in (keep, drop):
        c.memberships.create(group=group)
    services.opt_out(drop.e164, "sms")
    services.opt_out(mobile(901), "sms")
    rows = [row for batch in resolve(groups=[group], numbers=[mobile(901), mobile(902)]).iter_deliverable() for row in batch]
    assert rows == [(keep.pk, keep.e164, "telkomsel"), (None, mobile(902), "telkomsel")]


def test_iteration_is_keyset_paginated_in_batches():
    group = create_group()
    contacts = [create_contact() for _ in range(25)]
    for c in contacts:
        c.memberships.create(group=group)
    batches = list(resolve(groups=[group]).iter_deliverable(batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [row[0] for b in batches for row in b] == [c.pk for c in contacts]


def test_is_suppressed_names_opted_out_and_restricted_numbers():
    restricted = create_contact()
    services.restrict(restricted.e164)
    services.opt_out(mobile(910), "sms")
    free = create_contact()
    assert services.is_suppressed([mobile(910), restricted.e164, free.e164, mobile(911)]) == {mobile(910), restricted.e164}


def test_opt_in_lifts_the_opt_out_and_records_consent():
    contact = create_contact()
    services.opt_out(contact.e164, "sms", reason="STOP")
    contact.refresh_from_db()
    assert contact.opted_out_at is not None and contact.opt_out_channel == "sms"
    services.opt_in(contact.e164, "sms", kelurahan=_region("31.71.01.1001"))
    contact.refresh_from_db()
    assert contact.opted_out_at is None and contact.consent_basis == "consent" and contact.consent_at is not None
    assert contact.region.code == "31.71.01.1001"
    assert services.is_suppressed([contact.e164]) == set()


def test_opt_in_of_an_unknown_number_creates_the_contact():
    contact = services.opt_in(mobile(920), "sms")
    assert contact.source == "sms" and contact.consent_basis == "consent"
