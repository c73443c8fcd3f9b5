"""Audiences: who a blast goes to, counted and iterated for a million recipients.

Theory of operation
-------------------
``resolve(groups=…, segments=…, regions=…, numbers=…)`` returns an :class:`Audience`, a
description, not a list: nothing is loaded until asked. Selectors are ORed (a contact in any of
the groups, matching any segment, living in any of the regions); within a segment its filters are
ANDed. The candidate contacts are one queryset built from ``EXISTS`` subqueries (never joins, so
no duplicates and no ``DISTINCT`` over a million rows).

* ``counts()`` — deliverable and excluded by reason, in one aggregate query over the contacts
  plus the parsing of ``numbers``.
* ``iter_deliverable(batch_size)`` — lists of ``(contact_id, e164, operator)`` by keyset
  pagination on the primary key (``WHERE id > last ORDER BY id LIMIT n``): each batch is an index
  range scan, whatever the depth. Extra ``numbers`` that are not contacts come last with
  ``contact_id=None``. Opted-out, restricted and erased contacts are never yielded.

The blasts app freezes an audience by iterating it into the outbox; the delivery engine checks
:func:`warta.contacts.services.is_suppressed` again at send time, because a citizen may text
BERHENTI between the two.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from warta.sms.numbers import NumberKind, parse_number

from . import hooks
from .models import Contact, ContactGroup, Membership, OptOut, Region, Segment, tags_to_field


class Excluded(enum.StrEnum):
    OPTED_OUT = "opted_out"  # on the suppression list
    RESTRICTED = "restricted"  # processing restricted by a data-subject request
    ERASED = "erased"  # anonymised (erasure or retention): no number left
    INVALID = "invalid"  # an extra number that is not a phone number
    NOT_MOBILE = "not_mobile"  # an extra number that is a fixed line or a service number
    DUPLICATE = "duplicate"  # an extra number given twice, or already in the selection


EXCLUDED_LABELS = {
    Excluded.OPTED_OUT: _("berhenti berlangganan"),
    Excluded.RESTRICTED: _("pemrosesan dibatasi"),
    Excluded.ERASED: _("dianonimkan"),
    Excluded.INVALID: _("nomor tidak valid"),
    Excluded.NOT_MOBILE: _("bukan nomor seluler"),
    Excluded.DUPLICATE: _("duplikat"),
}

# Extra numbers are meant for a handful of recipients typed into a form, not for a list.
MAX_EXTRA_NUMBERS = 10_000


@dataclass(frozen=True)
class Counts:
    deliverable: int
    excluded: dict[str, int]
    total: int

    def as_dict(self) -> dict[str, Any]:
        return {"deliverable": self.deliverable, "excluded": self.excluded, "total": self.total}

    def excluded_labelled(self) -> list[tuple[str, int]]:
        return [(str(EXCLUDED_LABELS[Excluded(k)]), v) for k, v in self.excluded.items() if v]


def _region_ids(codes_or_regions: Iterable[Any]) -> list[int]:
    q = Q(pk__in=[])
    for item in codes_or_regions:
        code = item.code if isinstance(item, Region) else str(item)
        q |= Q(code=code) | Q(code__startswith=code + ".")
    return list(Region.objects.filter(q).values_list("pk", flat=True))


def filters_q(filters: dict[str, Any]) -> Q:
    """The Q of one segment's filters (see :class:`~warta.contacts.models.Segment`)."""
    q = Q()
    if filters.get("regions"):
        q &= Q(region_id__in=_region_ids(filters["regions"]))
    if filters.get("tags"):
        tag_q = Q(pk__in=[])
        for tag in filters["tags"]:
            field_value = tags_to_field([tag])
            if field_value:
                tag_q |= Q(tags__contains=field_value)
        q &= tag_q
    if filters.get("operators"):
        q &= Q(operator__in=list(filters["operators"]))
    if filters.get("groups"):
        q &= Q(Exists(Membership.objects.filter(contact_id=OuterRef("pk"), group_id__in=[int(g) for g in filters["groups"]])))
    if filters.get("joined_since"):
        since = filters["joined_since"]
        if isinstance(since, str):
            since = date.fromisoformat(since)
        if not isinstance(since, datetime):
            since = datetime.combine(since, datetime.min.time())
        from django.utils import timezone

        if timezone.is_naive(since):
            since = timezone.make_aware(since)
        q &= Q(created_at__gte=since)
    if filters.get("replied_to_blast"):
        q &= Q(e164__in=hooks.replied_to_blast(int(filters["replied_to_blast"])))
    return q


def _ids(items: Iterable[Any]) -> list[int]:
    return [int(getattr(item, "pk", item)) for item in items]


@dataclass
class Audience:
    group_ids: list[int] = field(default_factory=list)
    segment_filters: list[dict[str, Any]] = field(default_factory=list)
    region_ids: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    _extras: tuple[list[str], dict[str, int], list[str]] | None = field(default=None, repr=False)

    # -- the selection -----------------------------------------------------------------------

    def selection_q(self) -> Q:
        q = Q(pk__in=[])  # matches nothing: an empty audience is empty, not "everyone"
        if self.group_ids:
            q |= Q(Exists(Membership.objects.filter(contact_id=OuterRef("pk"), group_id__in=self.group_ids)))
        for filters in self.segment_filters:
            q |= filters_q(filters)
        if self.region_ids:
            q |= Q(region_id__in=self.region_ids)
        valid, _excluded, _dupes = self._parse_extras()
        if valid:
            q |= Q(e164__in=valid)
        return q

    def contacts(self) -> QuerySet[Contact]:
        """Every selected contact, deliverable or not."""
        return Contact.objects.filter(self.selection_q())

    def deliverable(self) -> QuerySet[Contact]:
        return self.contacts().filter(
            ~Exists(OptOut.objects.filter(e164=OuterRef("e164"))),
            restricted_at__isnull=True,
            anonymised_at__isnull=True,
        )

    def _parse_extras(self) -> tuple[list[str], dict[str, int], list[str]]:
        """Extra numbers -> (valid mobile E.164, excluded counts, duplicates)."""
        if self._extras is None:
            if len(self.numbers) > MAX_EXTRA_NUMBERS:
                raise ValueError(f"at most {MAX_EXTRA_NUMBERS} extra numbers; put larger lists in a group")
            valid: dict[str, None] = {}
            excluded = {Excluded.INVALID.value: 0, Excluded.NOT_MOBILE.value: 0, Excluded.DUPLICATE.value: 0}
            dupes: list[str] = []
            for raw in self.numbers:
                info = parse_number(raw)
                if info.kind is NumberKind.INVALID:
                    excluded[Excluded.INVALID] += 1
                elif info.kind is not NumberKind.MOBILE:
                    excluded[Excluded.NOT_MOBILE] += 1
                elif info.e164 in valid:
                    excluded[Excluded.DUPLICATE] += 1
                    dupes.append(info.e164)  # type: ignore[arg-type]
                else:
                    valid[info.e164] = None  # type: ignore[index]
            self._extras = (list(valid), excluded, dupes)
        return self._extras

    def _extra_non_contacts(self) -> list[str]:
        valid, _excluded, _dupes = self._parse_extras()
        known: set[str] = set()
        for start in range(0, len(valid), 5000):
            known.update(Contact.objects.filter(e164__in=valid[start : start + 5000]).values_list("e164", flat=True))
        return [n for n in valid if n not in known]

    # -- counting ----------------------------------------------------------------------------

    def counts(self) -> Counts:
        annotated = self.contacts().annotate(_opted=Exists(OptOut.objects.filter(e164=OuterRef("e164"))))
        agg = annotated.aggregate(
            total=Count("pk"),
            opted_out=Count("pk", filter=Q(_opted=True)),
            erased=Count("pk", filter=Q(anonymised_at__isnull=False)),
            restricted=Count("pk", filter=Q(restricted_at__isnull=False, anonymised_at__isnull=True, _opted=False)),
        )
        excluded = {
            Excluded.OPTED_OUT.value: agg["opted_out"],
            Excluded.RESTRICTED.value: agg["restricted"],
            Excluded.ERASED.value: agg["erased"],
        }
        deliverable = agg["total"] - sum(excluded.values())
        valid, extra_excluded, _dupes = self._parse_extras()
        excluded.update(extra_excluded)
        total = agg["total"] + sum(extra_excluded.values())
        if valid:
            outsiders = self._extra_non_contacts()
            suppressed = OptOut.objects.filter(e164__in=outsiders).count() if outsiders else 0
            excluded[Excluded.OPTED_OUT] += suppressed
            deliverable += len(outsiders) - suppressed
            total += len(outsiders)
        return Counts(deliverable=deliverable, excluded=excluded, total=total)

    # -- iterating ---------------------------------------------------------------------------

    def iter_deliverable(self, batch_size: int = 10_000) -> Iterator[list[tuple[int | None, str, str]]]:
        """Batches of ``(contact_id, e164, operator)``, keyset-paginated on the contact id."""
        qs = self.deliverable().order_by("pk").values_list("pk", "e164", "operator")
        last = 0
        while True:
            batch = list(qs.filter(pk__gt=last)[:batch_size])
            if not batch:
                break
            last = batch[-1][0]
            yield batch
        outsiders = self._extra_non_contacts()
        if outsiders:
            from .services import is_suppressed

            suppressed = is_suppressed(outsiders)
            rows: list[tuple[int | None, str, str]] = []
            for e164 in outsiders:
                if e164 not in suppressed:
                    rows.append((None, e164, str(parse_number(e164).operator)))
            for start in range(0, len(rows), batch_size):
                yield rows[start : start + batch_size]


def resolve(
    groups: Iterable[ContactGroup | int] = (),
    segments: Iterable[Segment | int | dict[str, Any]] = (),
    regions: Iterable[Region | str] = (),
    numbers: Iterable[str] = (),
) -> Audience:
    """Describe an audience. ``segments`` may be Segment rows, their ids, or raw filter dicts;
    ``regions`` Region rows or Kemendagri codes (a kota includes its kecamatan and kelurahan)."""
    segment_filters: list[dict[str, Any]] = []
    segment_ids: list[int] = []
    for segment in segments:
        if isinstance(segment, dict):
            segment_filters.append(segment)
        elif isinstance(segment, Segment):
            segment_filters.append(segment.filters)
        else:
            segment_ids.append(int(segment))
    if segment_ids:
        segment_filters.extend(Segment.objects.filter(pk__in=segment_ids).values_list("filters", flat=True))
    return Audience(
        group_ids=_ids(groups),
        segment_filters=segment_filters,
        region_ids=_region_ids(regions),
        numbers=list(numbers),
    )
