"""What other apps and the views call: opt-out/opt-in, the suppression check, contacts,
data-subject requests and retention.

Theory of operation: every state change goes through a function here, inside one transaction,
and leaves an audit event that never holds a full number (masked numbers and ids only, so that
an erasure does not have to touch the append-only trail). Functions take E.164 strings as
produced by :func:`warta.sms.parse_number`; :func:`normalise` turns anything a person typed into
one or raises :class:`ContactError` with a message in Indonesian.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.sms.numbers import NumberKind, mask, parse_number

from . import conf, hooks
from .models import (
    Contact,
    ContactGroup,
    DataSubjectRequest,
    ImportReject,
    LawfulBasis,
    Membership,
    OptOut,
    RequestState,
)

# SQLite allows 32,766 bound parameters per statement; stay well below it.
LOOKUP_CHUNK = 5000


class ContactError(Exception):
    """A request about a contact that cannot be done; ``str()`` says why and what to do."""


def normalise(number: str) -> str:
    """Any Indonesian mobile number as typed -> E.164, or :class:`ContactError`."""
    info = parse_number(number)
    if info.kind is NumberKind.INVALID:
        assert info.reason is not None
        raise ContactError(info.reason.message_id)
    if info.kind is not NumberKind.MOBILE:
        raise ContactError(_("Bukan nomor seluler: SMS hanya dapat dikirim ke nomor seluler."))
    assert info.e164 is not None
    return info.e164


# ---------------------------------------------------------------------------------------------
# Suppression: the delivery engine's check at send time.


def is_suppressed(e164_list: Iterable[str]) -> set[str]:
    """The numbers of ``e164_list`` that must not be messaged: opted out, or a contact whose
    processing is restricted. One indexed query per 5,000 numbers (a UNION of two unique-index
    lookups); the delivery engine calls this for each batch it claims."""
    numbers = list(dict.fromkeys(e164_list))
    found: set[str] = set()
    if connection.vendor == "postgresql":
        # Raw SQL with array parameters: the engine asks on every claim, in the path between a
        # freed window slot and the next submit; compiling the ORM's UNION cost more than the query.
        with connection.cursor() as cur:
            for start in range(0, len(numbers), LOOKUP_CHUNK):
                chunk = numbers[start : start + LOOKUP_CHUNK]
                cur.execute(f"SELECT n FROM unnest(%s::text[]) AS t(n) WHERE {suppressed_sql('t.n')}", [chunk])
                found.update(row[0] for row in cur.fetchall())
        return found
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        chunk = numbers[start : start + LOOKUP_CHUNK]
        opted = OptOut.objects.filter(e164__in=chunk).order_by().values_list("e164", flat=True)
        restricted = Contact.objects.filter(e164__in=chunk, restricted_at__isnull=False).order_by().values_list("e164", flat=True)
        found.update(opted.union(restricted))
    return found


def suppressed_sql(column: str) -> str:
    """``is_suppressed`` as an SQL condition on ``column`` (a number column of the caller's
    query): the delivery engine's claim returns it with each row, so the check costs no round
    trip of its own. Same two unique-index lookups."""
    return (
        f"(EXISTS (SELECT 1 FROM {OptOut._meta.db_table} o WHERE o.e164 = {column}) OR "
        f"EXISTS (SELECT 1 FROM {Contact._meta.db_table} k WHERE k.e164 = {column} AND k.restricted_at IS NOT NULL))"
    )


@transaction.atomic
def opt_out(e164: str, channel: str, *, reason: str = "", by: Any = None, at: datetime | None = None) -> OptOut:
    """Put ``e164`` on the suppression list (idempotent: a second BERHENTI keeps the first time)."""
    at = at or timezone.now()
    entry, created = OptOut.objects.get_or_create(
        e164=e164, defaults={"at": at, "channel": channel, "reason": reason[:200], "by": by}
    )
    Contact.objects.filter(e164=e164, opted_out_at__isnull=True).update(opted_out_at=entry.at, opt_out_channel=entry.channel)
    if created:
        audit.record("contacts.opt_out", entry, changes={"channel": channel, "reason": reason[:200]}, actor=by)
    return entry


@transaction.atomic
def opt_in(
    e164: str,
    channel: str,
    *,
    kelurahan: Any = None,
    name: str = "",
    proof: str = "",
    by: Any = None,
    at: datetime | None = None,
) -> Contact:
    """Take ``e164`` off the suppression list and record consent (DAFTAR / REG, or an operator
    acting on a signed form). Creates the contact when needed; ``kelurahan`` is a Region or id."""
    at = at or timezone.now()
    info = parse_number(e164)
    removed, _detail = OptOut.objects.filter(e164=e164).delete()
    contact, created = Contact.objects.get_or_create(
        e164=e164,
        defaults={"operator": str(info.operator), "source": channel, "created_at": at},
    )
    contact.opted_out_at = None
    contact.opt_out_channel = ""
    contact.consent_basis = LawfulBasis.CONSENT
    contact.consent_at = at
    contact.consent_proof = (proof or _("Opt-in melalui %(channel)s") % {"channel": channel})[:300]
    contact.last_active_at = at
    if name and not contact.name:
        contact.name = name[:200]
    if kelurahan is not None:
        contact.region_id = getattr(kelurahan, "pk", kelurahan)
    contact.save()
    audit.record(
        "contacts.opt_in", contact,
        changes={"channel": channel, "was_opted_out": bool(removed), "created": created}, actor=by,
    )
    return contact


def mark_active(e164_list: Iterable[str], at: datetime | None = None) -> int:
    """The inbox calls this for numbers that texted in: retention counts from the last activity."""
    at = at or timezone.now()
    numbers = list(e164_list)
    changed = 0
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        changed += Contact.objects.filter(e164__in=numbers[start : start + LOOKUP_CHUNK]).update(last_active_at=at)
    return changed


# ---------------------------------------------------------------------------------------------
# Contacts and groups


@transaction.atomic
def create_group(name: str, lawful_basis: str, *, consent_proof: str = "", description: str = "", by: Any = None) -> ContactGroup:
    if lawful_basis == LawfulBasis.CONSENT and not consent_proof.strip():
        raise ContactError(_("Daftar berbasis persetujuan wajib menyertakan bukti persetujuan."))
    group = ContactGroup.objects.create(
        name=name, lawful_basis=lawful_basis, consent_proof=consent_proof, description=description, created_by=by
    )
    audit.record("contacts.group_create", group, changes={"lawful_basis": lawful_basis}, actor=by)
    return group


@transaction.atomic
def update_contact(contact: Contact, *, by: Any = None, **fields: Any) -> Contact:
    """Correct a contact's name, region, language or tags (also used for DSR corrections)."""
    allowed = {"name", "region", "language", "tags"}
    if set(fields) - allowed:
        raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
    before = audit.snapshot(contact, list(allowed))
    for key, value in fields.items():
        setattr(contact, key, value)
    contact.save()
    changes = audit.diff(before, audit.snapshot(contact, list(allowed)))
    if "name" in changes:
        changes["name"] = ["…", "…"]  # a name is personal data: say that it changed, not what to
    audit.record("contacts.update", contact, changes=changes, actor=by)
    return contact


def add_to_group(group: ContactGroup, contact_ids: Iterable[int], *, by: Any = None) -> int:
    rows = [Membership(group=group, contact_id=pk) for pk in contact_ids]
    Membership.objects.bulk_create(rows, ignore_conflicts=True, batch_size=LOOKUP_CHUNK)
    audit.record("contacts.group_add", group, changes={"contacts": len(rows)}, actor=by)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Data-subject requests (UU 27/2022)


@transaction.atomic
def open_request(kind: str, e164: str, *, requester: str = "", details: str = "", by: Any = None,
                 received_at: datetime | None = None) -> DataSubjectRequest:
    contact = Contact.objects.filter(e164=e164).first()
    request = DataSubjectRequest.objects.create(
        kind=kind, e164=e164, contact=contact, requester=requester[:200], details=details,
        received_at=received_at or timezone.now(), created_by=by,
    )
    audit.record("contacts.dsr_open", request, changes={"kind": kind, "number": mask(e164)}, actor=by)
    return request


def subject_export(e164: str, *, by: Any = None) -> dict[str, Any]:
    """Everything held on one number, as a JSON-ready dict (the access request's file)."""
    contact = Contact.objects.filter(e164=e164).select_related("region").first()
    data: dict[str, Any] = {
        "number": e164,
        "exported_at": timezone.now().isoformat(),
        "controller": "Dinas Komunikasi, Informatika dan Kehumasan Provinsi DKI Jakarta",
        "contact": None,
        "groups": [],
        "opt_out": None,
        "data_subject_requests": [],
        "import_rejects": [],
    }
    if contact is not None:
        data["contact"] = {
            "name": contact.name,
            "region": contact.region.code + " " + contact.region.name if contact.region else None,
            "tags": contact.tag_list,
            "operator": contact.operator,
            "language": contact.language,
            "source": contact.source,
            "lawful_basis": contact.consent_basis,
            "consent_at": contact.consent_at,
            "consent_proof": contact.consent_proof,
            "restricted_at": contact.restricted_at,
            "joined_at": contact.created_at,
            "last_active_at": contact.last_active_at,
        }
        data["groups"] = [
            {"name": m.group.name, "lawful_basis": m.group.lawful_basis, "added_at": m.added_at}
            for m in contact.memberships.select_related("group")
        ]
    entry = OptOut.objects.filter(e164=e164).first()
    if entry is not None:
        data["opt_out"] = {"at": entry.at, "channel": entry.channel, "reason": entry.reason}
    data["data_subject_requests"] = list(
        DataSubjectRequest.objects.filter(e164=e164).values("kind", "received_at", "state", "completed_at")
    )
    data["import_rejects"] = list(ImportReject.objects.filter(raw__contains=e164[3:]).values("job_id", "line", "reason")[:1000])
    data.update(hooks.subject_records(e164))
    audit.record("contacts.dsr_export", contact, object_type="contacts.contact" if contact is None else "",
                 object_repr=mask(e164), changes={"number": mask(e164)}, actor=by)
    return data


def subject_export_json(e164: str, *, by: Any = None) -> str:
    return json.dumps(subject_export(e164, by=by), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


@transaction.atomic
def restrict(e164: str, *, by: Any = None, lift: bool = False) -> int:
    changed = Contact.objects.filter(e164=e164).update(restricted_at=None if lift else timezone.now())
    audit.record("contacts.restrict_lift" if lift else "contacts.restrict", None, object_type="contacts.contact",
                 object_repr=mask(e164), changes={"number": mask(e164)}, actor=by)
    return changed


def _pseudonym() -> str:
    # Random, not a hash: a hash of an 11-digit number is reversed by trying them all.
    return "~" + secrets.token_hex(7)


@transaction.atomic
def erase(e164: str, *, by: Any = None, reason: str = "dsr") -> dict[str, int]:
    """Anonymise a person everywhere the number is held; rows stay so aggregate counts stay.

    The suppression entry, if any, is kept: honouring the person's objection needs the number,
    and it holds nothing else (docs/privacy.md)."""
    pseudonym = _pseudonym()
    counts = {"contacts": 0, "requests": 0, "import_rejects": 0, "other_apps": 0}
    counts["contacts"] = Contact.objects.filter(e164=e164).update(
        e164=pseudonym, name="", tags="", consent_proof="", anonymised_at=timezone.now(), restricted_at=None,
    )
    counts["import_rejects"] = ImportReject.objects.filter(raw__contains=e164[3:]).update(raw="", detail="")
    counts["requests"] = DataSubjectRequest.objects.filter(e164=e164).update(e164=mask(e164))
    counts["other_apps"] = hooks.anonymise_number(e164, pseudonym)
    audit.record("contacts.erase", None, object_type="contacts.contact", object_repr=mask(e164),
                 changes={"number": mask(e164), "reason": reason, **counts}, actor=by)
    return counts


@transaction.atomic
def close_request(request: DataSubjectRequest, state: str, *, notes: str = "", by: Any = None) -> DataSubjectRequest:
    request.state = state
    request.completed_at = timezone.now()
    if notes:
        request.notes = (request.notes + "\n" + notes).strip()
    # The full number was needed while handling; a closed request keeps only the masked one.
    if not request.e164.startswith("~") and "*" not in request.e164:
        request.e164 = mask(request.e164)
    request.save()
    audit.record("contacts.dsr_close", request, changes={"state": state, "on_time": request.completed_at <= request.due_at}, actor=by)
    return request


def escalate_overdue(now: datetime | None = None) -> list[DataSubjectRequest]:
    """Flag open requests past their 3×24-hour deadline (once each) and e-mail the administrators."""
    from django.core.mail import send_mail

    from warta.accounts.models import Role, User

    now = now or timezone.now()
    overdue = list(DataSubjectRequest.objects.filter(state=RequestState.OPEN, due_at__lt=now, escalated_at__isnull=True))
    if not overdue:
        return []
    DataSubjectRequest.objects.filter(pk__in=[r.pk for r in overdue]).update(escalated_at=now)
    for request in overdue:
        audit.record("contacts.dsr_escalate", request, changes={"due_at": request.due_at.isoformat()})
    recipients = list(User.objects.filter(role=Role.ADMIN, is_active=True).exclude(email="").values_list("email", flat=True))
    if recipients:
        lines = [f"#{r.pk} {r.get_kind_display()} {r.masked}, batas {timezone.localtime(r.due_at):%d-%m-%Y %H:%M} WIB" for r in overdue]
        send_mail(
            _("[Warta] %(n)d permintaan subjek data melewati batas 3×24 jam") % {"n": len(overdue)},
            "\n".join(lines), None, recipients, fail_silently=True,
        )
    return overdue


# ---------------------------------------------------------------------------------------------
# Retention


def retention(*, dry_run: bool = False, now: datetime | None = None, batch: int = 1000) -> dict[str, Any]:
    """Anonymise contacts inactive for ``WARTA_RETENTION_DAYS`` and ask other apps (inbox) to
    anonymise inbound texts older than that. Opted-out numbers keep their suppression entry."""
    now = now or timezone.now()
    days = conf.get("WARTA_RETENTION_DAYS")
    cutoff = now - timedelta(days=days)
    stale = Contact.objects.filter(last_active_at__lt=cutoff, anonymised_at__isnull=True)
    result: dict[str, Any] = {"retention_days": days, "cutoff": cutoff.isoformat(), "dry_run": dry_run,
                              "contacts": stale.count(), "other_apps": 0}
    if not dry_run:
        anonymised = 0
        while True:
            numbers = list(stale.values_list("e164", flat=True)[:batch])
            if not numbers:
                break
            with transaction.atomic():
                for e164 in numbers:
                    pseudonym = _pseudonym()
                    Contact.objects.filter(e164=e164).update(
                        e164=pseudonym, name="", tags="", consent_proof="", anonymised_at=now)
                    hooks.anonymise_number(e164, pseudonym)
                    anonymised += 1
        result["contacts"] = anonymised
    result["other_apps"] = hooks.retention_anonymise(cutoff, dry_run)
    if not dry_run:
        audit.record("contacts.retention", None, object_type="contacts.contact", object_repr="retensi",
                     changes={k: v for k, v in result.items() if k != "dry_run"})
    return result


# ---------------------------------------------------------------------------------------------
# Batch upsert (the REST API's ``POST /contacts``)


def upsert_batch(records: list[dict[str, Any]], *, source: str, tag: str = "", by: Any = None) -> dict[str, Any]:
    """Create or update up to a few thousand contacts in one transaction, the import's way.

    ``records`` are dicts with ``phone`` and optional ``name``, ``region`` (a Kemendagri code),
    ``tags`` (list) and ``language``. Like an import: a new contact gets ``source`` and the lawful
    basis *public task*; an existing one has name/region/language replaced when given and tags
    added (never removed); numbers on the suppression list are refused, not re-created; invalid
    and duplicate numbers are refused. ``tag`` is added to every contact of the batch (the API's
    unit tag). Returns counts and ``rejected``: ``[{"index", "phone", "reason", "message"}]``.
    """
    from .imports import _select_existing, _upsert
    from .models import Region, normalise_tag

    rejected: list[dict[str, Any]] = []
    wanted: dict[str, tuple[int, dict[str, Any], str]] = {}
    codes = {r.get("region") for r in records if r.get("region")}
    regions = dict(Region.objects.filter(code__in=codes).values_list("code", "pk")) if codes else {}
    for i, rec in enumerate(records):
        raw = str(rec.get("phone") or "")
        info = parse_number(raw)
        if info.kind is not NumberKind.MOBILE or info.e164 is None:
            message = info.reason.message_id if info.reason is not None else _("Bukan nomor seluler.")
            rejected.append({"index": i, "phone": raw[:32], "reason": "invalid", "message": str(message)})
            continue
        if info.e164 in wanted:
            rejected.append({"index": i, "phone": raw[:32], "reason": "duplicate",
                             "message": _("Nomor ini sudah ada di baris sebelumnya pada kiriman yang sama.")})
            continue
        if rec.get("region") and rec["region"] not in regions:
            rejected.append({"index": i, "phone": raw[:32], "reason": "unknown_region",
                             "message": _("Kode wilayah tidak dikenal; gunakan kode Kemendagri, mis. 31.71.01.1001.")})
            continue
        wanted[info.e164] = (i, rec, str(info.operator))
    numbers = list(wanted)
    created = updated = unchanged = 0
    with transaction.atomic():
        for (e164,) in _select_existing(OptOut._meta.db_table, ("e164",), numbers):
            i, _rec, _op = wanted.pop(e164)
            rejected.append({"index": i, "phone": mask(e164), "reason": "opted_out",
                             "message": _("Nomor ini sudah berhenti berlangganan; tidak ditambahkan.")})
        existing = {row[1]: row for row in _select_existing(
            Contact._meta.db_table, ("id", "e164", "name", "region_id", "tags", "language"), list(wanted))}
        now = timezone.now()
        rows: list[tuple[Any, ...]] = []
        extra = {normalise_tag(tag)} - {""} if tag else set()
        for e164, (_i, rec, operator) in wanted.items():
            tags = {t for t in (normalise_tag(x) for x in rec.get("tags") or []) if t} | extra
            name = (rec.get("name") or "")[:200]
            region_id = regions.get(rec.get("region") or "")
            language = (rec.get("language") or "")[:2]
            old = existing.get(e164)
            if old is None:
                created += 1
                rows.append((e164, name, region_id, _tag_field(tags), operator, language or "id", source,
                             LawfulBasis.PUBLIC_TASK, None, "", "", now, now))
                continue
            _pk, _e, old_name, old_region, old_tags, old_language = old
            new = (name or old_name, region_id if region_id is not None else old_region,
                   _tag_field(tags | {t for t in old_tags.split(",") if t}) if tags else old_tags,
                   language or old_language)
            if new == (old_name, old_region, old_tags, old_language):
                unchanged += 1
                continue
            updated += 1
            rows.append((e164, new[0], new[1], new[2], operator, new[3], "", "", None, "", "", now, now))
        _upsert(rows)
        if created or updated:
            audit.record("contacts.batch_upserted", None, actor=by, object_type="contacts.contact",
                         changes={"source": source, "created": created, "updated": updated,
                                  "unchanged": unchanged, "rejected": len(rejected)})
    rejected.sort(key=lambda r: r["index"])
    return {"created": created, "updated": updated, "unchanged": unchanged, "rejected": rejected}


def _tag_field(tags: set[str]) -> str:
    return "," + ",".join(sorted(tags)) + "," if tags else ""
