from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.accounts.models import Unit, User
from warta.accounts.permissions import CAPABILITIES

from .models import (
    BlockedNumber,
    CannedReply,
    Holiday,
    Keyword,
    NoticeTemplate,
    RoutingRule,
    TicketStatus,
)


def _topic_choices() -> list[tuple[str, Any]]:
    from . import hooks

    return [("", "—"), *hooks.topic_choices()]


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Cari"), required=False, max_length=200)
    number = forms.CharField(label=_("Nomor"), required=False, max_length=32)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Semua terbuka")), ("all", _("Semua"))] + list(TicketStatus.choices))
    unit = forms.ModelChoiceField(label=_("Unit"), required=False, queryset=Unit.objects.none())
    topic = forms.ChoiceField(label=_("Topik"), required=False, choices=_topic_choices)
    date_from = forms.DateField(label=_("Dari"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Sampai"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(label=_("Hanya yang terlambat"), required=False)
    mine = forms.BooleanField(label=_("Ditugaskan ke saya"), required=False)

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Balasan SMS"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    close = forms.BooleanField(label=_("Tutup tiket (Selesai) setelah membalas"), required=False)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Catatan internal"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=TicketStatus.choices)
    note = forms.CharField(label=_("Keterangan"), required=False, max_length=500)


class AssignForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit tujuan"), required=False, queryset=Unit.objects.filter(is_active=True))
    assignee = forms.ModelChoiceField(
        label=_("Petugas"), required=False,
        queryset=User.objects.filter(is_active=True, role__in=CAPABILITIES["inbox.work"]).exclude(role="liaison"))


class DetailsForm(forms.Form):
    topic = forms.ChoiceField(label=_("Topik"), required=False, choices=_topic_choices)
    region = forms.CharField(label=_("Wilayah (kelurahan/kecamatan)"), required=False, max_length=100)


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    action = forms.ChoiceField(choices=[("assign", _("Teruskan ke unit")), ("status", _("Ubah status")),
                                        ("spam", _("Tandai spam")), ("assign_me", _("Tugaskan ke saya"))])
    unit = forms.ModelChoiceField(required=False, queryset=Unit.objects.filter(is_active=True))
    status = forms.ChoiceField(required=False, choices=[("", "—")] + list(TicketStatus.choices))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any ids are accepted by the form; the service narrows them to what the user may see.
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(v, v) for v in raw]  # type: ignore[attr-defined]


class BlockForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = BlockedNumber
        fields = ["address", "reason"]


class KeywordForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Keyword
        fields = ["word", "action", "reply", "reply_error", "is_active"]
        widgets = {"reply": forms.Textarea(attrs={"rows": 2}), "reply_error": forms.Textarea(attrs={"rows": 2})}


class RoutingRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RoutingRule
        fields = ["kind", "pattern", "unit", "priority", "is_active"]


class CannedReplyForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CannedReply
        fields = ["title", "text", "unit", "is_active"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}


class HolidayForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}


class NoticeTemplateForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = NoticeTemplate
        fields = ["kind", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
