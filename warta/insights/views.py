"""Pages of /analisis/: the dashboard, chart downloads, corrections, topics, lexicon, models,
polls and blast impact. Thin: parse a form, call a service, render. Every page reads counters."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from warta.accounts import audit
from warta.accounts.models import Unit
from warta.accounts.permissions import area_required, has_capability

from . import charts, services
from . import topics as topic_services
from .models import Classification, LexiconEntry, LexiconKind, ModelVersion, Poll, Topic


def _require(user: Any, capability: str) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(_("Peran Anda tidak memiliki hak untuk tindakan ini."))


def _central(request: HttpRequest) -> None:
    """Topics, lexicon, models, polls and blast impact are the SMS Center's, not a unit's slice."""
    if not request.user.sees_all_units:  # type: ignore[union-attr]
        raise PermissionDenied(_("Halaman ini hanya untuk Pusat SMS."))


class FilterForm(forms.Form):
    start = forms.DateField(label=_l("Dari"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_l("Sampai"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.ModelChoiceField(label=_l("Unit"), required=False, queryset=Unit.objects.filter(is_active=True))
    topic = forms.ChoiceField(label=_l("Topik"), required=False)
    region = forms.ChoiceField(label=_l("Wilayah"), required=False)
    sender = forms.ChoiceField(label=_l("Sender ID"), required=False)
    period = forms.ChoiceField(label=_l("Per"), required=False,
                               choices=[("day", _l("hari")), ("week", _l("minggu")), ("month", _l("bulan"))])

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from warta.blasts.models import SenderID
        from warta.contacts.models import Region

        self.fields["topic"].choices = [("", "—"), *Topic.objects.values_list("code", "name")]
        self.fields["region"].choices = [("", "—"), *(
            (code, ("— " if level == "kecamatan" else "") + name)
            for code, name, level in Region.objects.filter(level__in=["kota_kabupaten", "kecamatan"])
            .values_list("code", "name", "level"))]
        self.fields["sender"].choices = [("", "—"), *SenderID.objects.values_list("name", "name")]
        if user is not None and not user.sees_all_units:
            self.fields["unit"].queryset = Unit.objects.filter(pk__in=user.unit.descendant_ids() if user.unit else [])


def _filters(request: HttpRequest) -> dict[str, Any]:
    """Parsed filters; a liaison is always narrowed to their unit's subtree (server-side)."""
    user: Any = request.user
    form = FilterForm(request.GET or None, user=user)
    data = form.cleaned_data if form.is_valid() else {}
    today = services.today_wib()
    end = data.get("end") or today
    start = data.get("start") or (end - timedelta(days=29))
    if start > end:
        start, end = end, start
    if (end - start).days > 800:
        start = end - timedelta(days=800)
    unit = data.get("unit")
    if not user.sees_all_units:
        if user.unit is None:
            raise PermissionDenied(_("Akun Anda belum terhubung ke unit; hubungi administrator."))
        if unit is None or unit.pk not in user.unit.descendant_ids():
            unit = user.unit
    region = None
    if data.get("region"):
        from warta.contacts.models import Region

        region = Region.objects.filter(code=data["region"]).first()
    topic = Topic.objects.filter(code=data["topic"]).first() if data.get("topic") else None
    return {"form": form, "start": start, "end": end, "unit": unit, "topic": topic, "region": region,
            "sender": data.get("sender") or "", "period": data.get("period") or "day"}


FIGURES_TTL = 30  # seconds: a page and its seven chart requests compute the figures once


def _fig(f: dict[str, Any]) -> dict[str, Any]:
    from django.core.cache import cache

    key = "insights-fig:" + ":".join(str(x) for x in (
        f["start"], f["end"], f["unit"].pk if f["unit"] else "", f["topic"].pk if f["topic"] else "",
        f["region"].pk if f["region"] else ""))
    fig = cache.get(key)
    if fig is None:
        fig = services.figures(f["start"], f["end"], unit=f["unit"], topic=f["topic"], region=f["region"])
        cache.set(key, fig, FIGURES_TTL)
    if f["period"] in ("week", "month"):
        fig = _regroup(fig, f["period"])
    return fig


def _regroup(fig: dict[str, Any], period: str) -> dict[str, Any]:
    """Volume and sentiment per ISO week (Monday) or month instead of per day."""

    def key(day: str) -> str:
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat() if period == "week" else d.replace(day=1).isoformat()

    vol: dict[str, int] = {}
    for r in fig["by_day"]:
        vol[key(r["day"])] = vol.get(key(r["day"]), 0) + r["count"]
    sent: dict[str, dict[str, int]] = {}
    for r in fig["sentiment_by_day"]:
        s = sent.setdefault(key(r["day"]), {"positif": 0, "netral": 0, "negatif": 0})
        for k in s:
            s[k] += r[k]
    return {**fig, "by_day": [{"day": k, "count": v} for k, v in vol.items()],
            "sentiment_by_day": [{"day": k, **v} for k, v in sent.items()]}


def _query(request: HttpRequest) -> str:
    return request.GET.urlencode()


@area_required("insights")
def index(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    fig = _fig(f)
    today = services.today_wib()
    urgent = (Classification.objects.filter(urgent=True).select_related("topic", "region", "ticket")
              .order_by("-at"))
    if f["unit"] is not None:
        urgent = urgent.filter(unit_id__in=f["unit"].descendant_ids())
    mom = services.month_over_month(f["end"].replace(day=1), unit=f["unit"])
    ctx = {
        "f": f, "form": f["form"], "fig": fig, "query": _query(request), "charts": charts.CHARTS,
        "rising": services.rising_topics(today, unit=f["unit"])[:8],
        "urgent_list": urgent[:10], "mom": mom,
        "max_region": max([r["count"] for r in fig["regions"]] or [1]),
        "impacts": _recent_impacts(f) if request.user.sees_all_units else [],  # type: ignore[union-attr]
        "can_configure": has_capability(request.user, "insights.configure"),
    }
    return render(request, "insights/index.html", ctx)


def _recent_impacts(f: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    from warta.blasts.models import Blast

    qs = Blast.objects.exclude(sender__name__regex=r"^\d+$").select_related("sender").order_by("-created_at")
    if f["sender"]:
        qs = qs.filter(sender__name=f["sender"])
    from .impact import stored

    blasts = list(qs[:limit])
    data = stored([b.pk for b in blasts])  # computed by the scheduler, never on this page
    empty = {"replies": "…", "optouts": "…", "tickets": "…", "topics": {}}
    return [{**data.get(b.pk, {"after": empty, "before": empty}), "blast": b} for b in blasts]


@area_required("insights")
def chart_download(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    if name not in charts.CHARTS or fmt not in ("svg", "png", "csv", "xlsx"):
        raise Http404
    f = _filters(request)
    fig = _fig(f)
    filename = f"warta-{name}-{f['start']:%Y%m%d}-{f['end']:%Y%m%d}"
    if fmt in ("svg", "png"):
        resp = HttpResponse(services.chart(name, fig, fmt), content_type="image/svg+xml" if fmt == "svg" else "image/png")
        if request.GET.get("download"):
            resp["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
        resp["Cache-Control"] = "private, max-age=60"
        return resp
    header, rows = services.chart_table(name, fig)
    return _table_response(header, rows, filename, fmt)


def _table_response(header: list[str], rows: list[list[Any]], filename: str, fmt: str) -> HttpResponse:
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        resp = HttpResponse(buf.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("data")
        ws.append(header)
        for row in rows:
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        resp = HttpResponse(out.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return resp


@area_required("insights")
def impact_list(request: HttpRequest) -> HttpResponse:
    _central(request)
    f = _filters(request)
    return render(request, "insights/impact.html", {"form": f["form"], "impacts": _recent_impacts(f, 30)})


@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    _require(request.user, "insights.correct")
    c = get_object_or_404(Classification, pk=pk)
    topic = Topic.objects.filter(code=request.POST.get("topic", ""), retired=False).first()
    if topic is None:
        messages.error(request, _("Topik tidak dikenal atau sudah dipensiunkan; pilih dari daftar."))
    else:
        services.correct(c, topic, actor=request.user)
        messages.success(request, _("Topik dikoreksi menjadi %(t)s; koreksi dipakai pada pelatihan berikutnya.")
                         % {"t": topic.name})
    nxt = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
        nxt = ""
    if nxt:
        return redirect(nxt)
    if c.ticket_id:
        return redirect("inbox:ticket", c.ticket_id)
    return redirect("insights:index")


# ----------------------------------------------------------------------------- topics, lexicon, models


@area_required("insights")
def topics(request: HttpRequest) -> HttpResponse:
    _central(request)
    can = has_capability(request.user, "insights.configure")
    if request.method == "POST":
        _require(request.user, "insights.configure")
        action = request.POST.get("action", "")
        try:
            if action == "add":
                topic_services.add_topic(request.POST.get("code", ""), request.POST.get("name", ""), actor=request.user)
            else:
                topic = get_object_or_404(Topic, code=request.POST.get("code", ""))
                if action == "rename":
                    topic_services.rename_topic(topic, request.POST.get("name", ""), actor=request.user)
                elif action == "retire":
                    topic_services.retire_topic(topic, actor=request.user)
                elif action == "restore":
                    topic_services.restore_topic(topic, actor=request.user)
                elif action == "merge":
                    topic_services.merge_topic(topic, get_object_or_404(Topic, code=request.POST.get("into", "")),
                                       actor=request.user)
                else:
                    raise topic_services.TopicError(_("Tindakan tidak dikenal."))
            messages.success(request, _("Tabel topik diperbarui."))
        except topic_services.TopicError as exc:
            messages.error(request, str(exc))
        return redirect("insights:topics")
    from .models import TopicEvent

    return render(request, "insights/topics.html", {
        "topics": Topic.objects.select_related("merged_into"), "can_configure": can,
        "events": TopicEvent.objects.select_related("topic", "actor")[:50]})


@area_required("insights")
def lexicon(request: HttpRequest) -> HttpResponse:
    _central(request)
    can = has_capability(request.user, "insights.configure")
    if request.method == "POST":
        _require(request.user, "insights.configure")
        from django.utils import timezone

        action = request.POST.get("action", "")
        if action == "add":
            kind = request.POST.get("kind", "")
            term = " ".join(request.POST.get("term", "").lower().split())[:80]
            topic = Topic.objects.filter(code=request.POST.get("topic", "")).first()
            if kind not in LexiconKind.values or not term or (kind == "topic" and topic is None):
                messages.error(request, _("Isi jenis, kata, dan (untuk jenis topik) topiknya."))
            else:
                try:
                    weight = float(request.POST.get("weight") or 1)
                except ValueError:
                    weight = 1.0
                entry, created = LexiconEntry.objects.update_or_create(
                    kind=kind, term=term, topic=topic if kind == "topic" else None,
                    defaults={"weight": weight, "is_active": True, "updated_by": request.user,
                              "updated_at": timezone.now(),
                              "replacement": request.POST.get("replacement", "")[:80] if kind == "slang" else ""})
                audit.record("insights.lexicon.add" if created else "insights.lexicon.edit", entry,
                             changes={"kind": kind, "term": term, "topic": topic.code if topic else "", "weight": weight})
                messages.success(request, _("Leksikon diperbarui; berlaku dalam satu menit."))
        elif action == "toggle":
            entry = get_object_or_404(LexiconEntry, pk=int(request.POST.get("id", "0") or 0))
            entry.is_active = not entry.is_active
            entry.updated_by, entry.updated_at = request.user, timezone.now()  # type: ignore[assignment]
            entry.save(update_fields=["is_active", "updated_by", "updated_at"])
            audit.record("insights.lexicon.toggle", entry, changes={"is_active": entry.is_active})
        return redirect(request.get_full_path())
    qs = LexiconEntry.objects.select_related("topic")
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    if request.GET.get("topic"):
        qs = qs.filter(topic__code=request.GET["topic"])
    return render(request, "insights/lexicon.html", {
        "entries": qs[:1000], "kinds": LexiconKind.choices, "topics": Topic.objects.filter(retired=False),
        "can_configure": can, "kind": kind})


@area_required("insights")
def models_page(request: HttpRequest) -> HttpResponse:
    _central(request)
    if request.method == "POST":
        _require(request.user, "insights.configure")
        from .tasks import retrain_model

        retrain_model.enqueue()
        audit.record("insights.model.retrain_requested", None, changes={})
        messages.success(request, _("Pelatihan ulang dijadwalkan; model baru aktif setelah pekerja (warta worker) "
                                    "selesai melatihnya."))
        return redirect("insights:models")
    pending = Classification.objects.filter(corrected_at__isnull=False)
    last = ModelVersion.objects.filter(is_active=True).first()
    if last is not None:
        pending = pending.filter(corrected_at__gt=last.created_at)
    return render(request, "insights/models.html", {
        "versions": ModelVersion.objects.defer("blob")[:20], "pending": pending.count(),
        "can_configure": has_capability(request.user, "insights.configure")})


# ----------------------------------------------------------------------------- polls


class PollForm(forms.Form):
    title = forms.CharField(label=_l("Judul"), max_length=200)
    question = forms.CharField(label=_l("Pertanyaan"), max_length=300)
    options = forms.CharField(label=_l("Pilihan (satu per baris: kunci=label, mis. 1=Setuju)"),
                              widget=forms.Textarea(attrs={"rows": 4}))
    sender = forms.ChoiceField(label=_l("Sender ID"))
    window_hours = forms.IntegerField(label=_l("Jendela balasan (jam)"), min_value=1, max_value=24 * 14, initial=72)
    regions = forms.CharField(label=_l("Wilayah penerima (kode Kemendagri, dipisah koma; kosong: semua)"),
                              required=False)
    numbers = forms.CharField(label=_l("Nomor penerima tambahan (satu per baris)"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from warta.blasts import services as blast_services

        self.fields["sender"].choices = [(s.pk, s.name) for s in blast_services.usable_senders(user)] if user else []


@area_required("insights")
def polls(request: HttpRequest) -> HttpResponse:
    _central(request)
    return render(request, "insights/polls.html", {
        "polls": Poll.objects.select_related("draft", "draft__blast")[:100],
        "can_create": has_capability(request.user, "insights.polls") and has_capability(request.user, "blasts.compose")})


@area_required("insights")
def poll_new(request: HttpRequest) -> HttpResponse:
    _central(request)
    _require(request.user, "insights.polls")
    _require(request.user, "blasts.compose")
    from . import polls as poll_services

    form = PollForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            poll = poll_services.create_poll(
                request.user, title=d["title"], question=d["question"],
                options=poll_services.parse_options(d["options"]), sender_id=int(d["sender"]),
                window_hours=d["window_hours"],
                audience={"regions": [c.strip() for c in d["regions"].split(",") if c.strip()],
                          "numbers": [n.strip() for n in d["numbers"].splitlines() if n.strip()]})
        except poll_services.PollError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Jajak pendapat dibuat sebagai naskah; ajukan untuk persetujuan seperti blast biasa."))
            return redirect("blasts:draft", poll.draft_id)
    return render(request, "insights/poll_new.html", {"form": form})


@area_required("insights")
def poll_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _central(request)
    poll = get_object_or_404(Poll.objects.select_related("draft"), pk=pk)
    from . import polls as poll_services

    poll_services.close_due()
    poll.refresh_from_db()
    results = services.poll_results(poll)
    template = "insights/_poll_results.html" if request.headers.get("HX-Request") else "insights/poll.html"
    return render(request, template, {"poll": poll, "r": results})


@area_required("insights")
def poll_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    _central(request)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    poll = get_object_or_404(Poll, pk=pk)
    r = services.poll_results(poll)
    keys = [o["key"] for o in r["options"]]
    header = ["tingkat", "kode", "wilayah", "total", *[f"pilihan {k}" for k in keys]]
    rows: list[list[Any]] = [["semua", "", "", r["total"], *[o["count"] for o in r["options"]]]]
    rows += [["kota", x["code"], x["name"], x["total"], *[x["options"][k] for k in keys]] for x in r["by_kota"]]
    rows += [["kecamatan", x["code"], x["name"], x["total"], *[x["options"][k] for k in keys]] for x in r["by_kecamatan"]]
    return _table_response(header, rows, f"warta-jajak-{poll.pk}", fmt)

