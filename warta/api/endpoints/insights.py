"""The unit's analysis figures (scope ``insights:read``): the insights app's ``figures`` for the
caller's unit subtree — the same slice a liaison sees on the dashboard, read from the counter
tables (never ``COUNT(*)`` over messages)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema

from warta.contacts.models import Region
from warta.insights import services as insights
from warta.insights.models import Topic

from ..api import caller, invalid
from . import ERRORS

router = Router(tags=["insights"])
MAX_DAYS = 366


class DayCount(Schema):
    day: str
    count: int


class TopicCount(Schema):
    code: str
    name: str
    count: int
    retired: bool


class SentimentOut(Schema):
    positif: int
    netral: int
    negatif: int


class SentimentDay(SentimentOut):
    day: str


class RegionCount(Schema):
    code: str
    name: str
    level: str
    count: int
    urgent: int


class UnitRow(Schema):
    unit_id: int
    name: str
    messages: int
    forwarded: int
    closed: int
    within_sla: int
    sla_rate: float | None
    avg_response_hours: float | None
    avg_resolution_hours: float | None


class TermCount(Schema):
    term: str
    count: int


class FiguresOut(Schema):
    start: str
    end: str
    unit: str
    total: int = Field(..., description="Pesan warga yang diklasifikasikan dalam rentang ini")
    urgent: int
    by_day: list[DayCount]
    by_topic: list[TopicCount]
    sentiment: SentimentOut
    sentiment_by_day: list[SentimentDay]
    regions: list[RegionCount]
    units: list[UnitRow] = Field(..., description="Unit ini dan sub-unitnya: tiket, SLA, waktu tanggap")
    top_terms: list[TermCount]
    topics_by_day: dict[str, list[int]]


@router.get("/insights/figures", response={200: FiguresOut, **ERRORS}, summary="Angka analisis unit")
def figures(request: HttpRequest, start: date, end: date, topic: str = "", region: str = "") -> dict[str, Any]:
    """Pesan warga per hari, topik, sentimen, wilayah dan kinerja SLA unit untuk [start, end] (tanggal WIB,
    maks. 366 hari). Saring dengan `topic` (kode) dan `region` (kode Kemendagri)."""
    c = caller(request, "insights:read")
    if end < start:
        raise invalid({"end": [gettext_lazy("Tanggal akhir harus sama dengan atau setelah tanggal awal.")]})
    if (end - start).days >= MAX_DAYS:
        raise invalid({"end": [gettext_lazy("Rentang maksimal 366 hari.")]})
    topic_obj = None
    if topic:
        topic_obj = Topic.objects.filter(code=topic).first()
        if topic_obj is None:
            raise invalid({"topic": [gettext_lazy("Topik tidak dikenal; lihat GET /topics.")]})
    region_obj = None
    if region:
        region_obj = Region.objects.filter(code=region).first()
        if region_obj is None:
            raise invalid({"region": [gettext_lazy("Kode wilayah tidak dikenal; lihat GET /regions.")]})
    data = insights.figures(start, end, unit=c.unit, topic=topic_obj, region=region_obj)
    return {**data, "unit": c.unit.code}
