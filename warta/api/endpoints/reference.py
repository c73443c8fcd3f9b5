"""Reference data, read-only: topics, regions, sender IDs with their approval policies.

Any valid token may read these (no scope): they are what a unit's system needs to fill in a
draft or a contact correctly, and hold nothing personal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from warta.blasts import services as blasts
from warta.blasts.models import SenderID
from warta.contacts.models import Region

from . import ERRORS

router = Router(tags=["reference"])


class TopicOut(Schema):
    code: str
    label: str
    description: str


class RegionOut(Schema):
    code: str = Field(..., description="Kode Kemendagri")
    name: str
    level: str = Field(..., description="provinsi | kota_kabupaten | kecamatan | kelurahan")
    parent: str | None


class PolicyStepOut(Schema):
    position: int
    label: str
    role: str = Field(..., description="verifier | approver")
    named_official: bool = Field(..., description="Langkah ini menunggu satu pejabat tertentu")


class RegistrationOut(Schema):
    operator: str
    status: str = Field(..., description="registered | pending | expired")
    expires_on: date | None


class BlackoutOut(Schema):
    name: str
    starts_at: datetime
    ends_at: datetime


class SenderOut(Schema):
    name: str
    description: str
    approval_chain: list[PolicyStepOut]
    require_opt_out_line: bool
    opt_out_words: list[str]
    registrations: list[RegistrationOut] = Field(..., description="Kosong: registri operator tidak dicatat")
    blackouts: list[BlackoutOut] = Field(..., description="Periode kini/mendatang: hanya blast darurat")


def topics_list() -> list[dict[str, Any]]:
    """The insights app's topic table: the live topics (retired and merged ones are history)."""
    from warta.insights.models import Topic

    return [{"code": t.code, "label": t.name, "description": t.description}
            for t in Topic.objects.filter(retired=False).order_by("order", "code")]


@router.get("/topics", response={200: list[TopicOut], **ERRORS}, summary="Topik")
def topics(request: HttpRequest) -> list[dict[str, Any]]:
    return topics_list()


@router.get("/regions", response={200: list[RegionOut], **ERRORS}, summary="Wilayah DKI Jakarta")
def regions(request: HttpRequest, parent: str = "",
            level: Literal["provinsi", "kota_kabupaten", "kecamatan", "kelurahan"] | None = None,
            q: str = Query("", max_length=100, description="Cari nama")) -> list[dict[str, Any]]:
    """Pohon wilayah (kode Kemendagri). `?parent=31.71` memberi anak langsungnya."""
    qs = Region.objects.select_related("parent").order_by("code")
    if parent:
        qs = qs.filter(parent__code=parent)
    if level:
        qs = qs.filter(level=level)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__startswith=q))
    if not (parent or level or q):
        qs = qs.exclude(level="kelurahan")  # the whole tree is ~300 rows; villages on request
    return [{"code": r.code, "name": r.name, "level": r.level, "parent": r.parent.code if r.parent else None}
            for r in qs[:1000]]


@router.get("/senders", response={200: list[SenderOut], **ERRORS}, summary="Sender ID dan kebijakannya")
def senders(request: HttpRequest) -> list[dict[str, Any]]:
    """Sender ID yang dapat dipakai naskah, rantai persetujuannya, registrasi operator, periode blackout."""
    now = timezone.now()
    out = []
    for s in SenderID.objects.filter(is_active=True).prefetch_related("registrations", "blackouts").order_by("name"):
        policy = blasts.policy_for(s)
        out.append({
            "name": s.name, "description": s.description,
            "approval_chain": [{"position": st.position, "label": st.label, "role": st.role,
                                "named_official": st.user_id is not None} for st in policy.steps.order_by("position")],
            "require_opt_out_line": policy.require_opt_out_line,
            "opt_out_words": [w.strip() for w in policy.opt_out_words.split(",") if w.strip()],
            "registrations": [{"operator": r.operator, "status": r.status, "expires_on": r.expires_on}
                              for r in s.registrations.all()],
            "blackouts": [{"name": b.name, "starts_at": b.starts_at, "ends_at": b.ends_at}
                          for b in s.blackouts.all() if b.ends_at > now],
        })
    return out
