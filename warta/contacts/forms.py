"""Forms of the contacts pages: each parses one request for one service call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.core.labels import OPERATOR_LABELS
from warta.lib.ids import IdModelMultipleChoiceField
from warta.sms.numbers import Operator

from . import services
from .imports import FIELD_LABELS, FIELDS
from .models import ContactGroup, LawfulBasis, Region, RegionLevel, RequestKind, Segment


class NumberField(forms.CharField):
    """A mobile number as typed; cleans to E.164 with the number engine's Indonesian message."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return value
        try:
            return services.normalise(value)
        except services.ContactError as exc:
            raise forms.ValidationError(str(exc)) from exc


def region_choices(levels: tuple[str, ...] = (RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.VILLAGE)) -> list[tuple[str, str]]:
    prefix = {RegionLevel.CITY: "", RegionLevel.DISTRICT: "— ", RegionLevel.VILLAGE: "— — "}
    return [(code, prefix[level] + name) for code, level, name in
            Region.objects.filter(level__in=levels).order_by("code").values_list("code", "level", "name")]


OPERATOR_CHOICES = [(o.value, OPERATOR_LABELS[o.value]) for o in Operator]  # brands: XL, Telkomsel…


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Cari nama atau nomor"), required=False)
    region = forms.ChoiceField(label=_("Wilayah"), required=False)
    group = forms.ModelChoiceField(label=_("Grup"), queryset=ContactGroup.objects.all(), required=False)
    tag = forms.CharField(label=_("Label"), required=False)
    operator = forms.ChoiceField(label=_("Operator"), required=False, choices=[("", "—"), *OPERATOR_CHOICES])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", "—"), ("active", _("Dapat dikirimi")), ("opted_out", _("Berhenti berlangganan")),
        ("restricted", _("Dibatasi")), ("anonymised", _("Dianonimkan")),
    ])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "—"), *region_choices((RegionLevel.CITY, RegionLevel.DISTRICT))]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Berkas CSV atau XLSX"))


class MappingForm(forms.Form):
    has_header = forms.BooleanField(label=_("Baris pertama adalah judul kolom"), required=False)
    group = forms.ModelChoiceField(label=_("Masukkan ke grup"), queryset=ContactGroup.objects.all(), required=False,
                                   help_text=_("Dasar pemrosesan kontak baru mengikuti grup."))
    add_tags = forms.CharField(label=_("Tambahkan label"), required=False, max_length=200)
    consent_basis = forms.ChoiceField(label=_("Dasar pemrosesan (tanpa grup)"), choices=LawfulBasis.choices)

    def __init__(self, *args: Any, columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— tidak dipakai —")), *[(str(i), c) for i, c in enumerate(columns)]]
        for name in FIELDS:
            self.fields[f"map_{name}"] = forms.ChoiceField(label=FIELD_LABELS[name], choices=choices, required=name == "phone")

    def mapping(self) -> dict[str, int]:
        return {name: int(self.cleaned_data[f"map_{name}"]) for name in FIELDS if self.cleaned_data.get(f"map_{name}") not in (None, "")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        used = [data.get(f"map_{name}") for name in FIELDS if data.get(f"map_{name}") not in (None, "")]
        if len(used) != len(set(used)):
            raise forms.ValidationError(_("Satu kolom hanya boleh dipetakan ke satu isian."))
        return data


class OptOutForm(forms.Form):
    number = NumberField(label=_("Nomor ponsel"))
    reason = forms.CharField(label=_("Alasan"), required=False, max_length=200)


class OptInForm(forms.Form):
    proof = forms.CharField(label=_("Bukti persetujuan"), max_length=300,
                            help_text=_("Misalnya: formulir bertanda tangan no. …, atau SMS DAFTAR tanggal …"))


class GroupForm(forms.ModelForm):
    class Meta:
        model = ContactGroup
        fields = ["name", "description", "lawful_basis", "consent_proof"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("lawful_basis") == LawfulBasis.CONSENT and not (data.get("consent_proof") or "").strip():
            self.add_error("consent_proof", _("Daftar berbasis persetujuan wajib menyertakan bukti persetujuan."))
        return data


class SegmentFilterForm(forms.Form):
    # Checkbox lists, not <select multiple>: no Ctrl-click, usable on a phone (issue 12).
    regions = forms.MultipleChoiceField(label=_("Wilayah"), required=False,
                                        widget=forms.CheckboxSelectMultiple(attrs={"class": "checklist"}))
    tags = forms.CharField(label=_("Label (salah satu, dipisah koma)"), required=False)
    operators = forms.MultipleChoiceField(label=_("Operator"), required=False, choices=OPERATOR_CHOICES,
                                          widget=forms.CheckboxSelectMultiple(attrs={"class": "checklist"}))
    groups = IdModelMultipleChoiceField(label=_("Grup"), queryset=ContactGroup.objects.all(), required=False,
                                            widget=forms.CheckboxSelectMultiple(attrs={"class": "checklist"}))
    joined_since = forms.DateField(label=_("Bergabung sejak"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    replied_to_blast = forms.IntegerField(label=_("Membalas blast nomor"), required=False, min_value=1,
                                          help_text=_("Diisi oleh Kotak Masuk setelah modul itu aktif."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = region_choices()

    def filters(self) -> dict[str, Any]:
        d = self.cleaned_data
        filters: dict[str, Any] = {}
        if d.get("regions"):
            filters["regions"] = list(d["regions"])
        tags = [t.strip() for t in (d.get("tags") or "").split(",") if t.strip()]
        if tags:
            filters["tags"] = tags
        if d.get("operators"):
            filters["operators"] = list(d["operators"])
        if d.get("groups"):
            filters["groups"] = [g.pk for g in d["groups"]]
        if d.get("joined_since"):
            filters["joined_since"] = d["joined_since"].isoformat()
        if d.get("replied_to_blast"):
            filters["replied_to_blast"] = d["replied_to_blast"]
        return filters


class SegmentForm(SegmentFilterForm):
    name = forms.CharField(label=_("Nama segmen"), max_length=120)
    description = forms.CharField(label=_("Keterangan"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["name", "description"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if Segment.objects.filter(name=name).exists():
            raise forms.ValidationError(_("Nama segmen sudah dipakai."))
        return name


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Jenis permintaan"), choices=RequestKind.choices)
    number = NumberField(label=_("Nomor ponsel subjek data"))
    requester = forms.CharField(label=_("Pemohon (nama, cara verifikasi identitas)"), max_length=200, required=False)
    details = forms.CharField(label=_("Rincian"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    received_at = forms.DateTimeField(label=_("Diterima pada (kosong = sekarang)"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class CorrectionForm(forms.Form):
    name = forms.CharField(label=_("Nama"), max_length=200, required=False)
    region = forms.ChoiceField(label=_("Wilayah"), required=False)
    language = forms.ChoiceField(label=_("Bahasa"), choices=[("id", "Bahasa Indonesia"), ("en", "English")])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "—"), *region_choices()]


class CloseRequestForm(forms.Form):
    state = forms.ChoiceField(choices=[("done", _("Selesai")), ("rejected", _("Ditolak"))])
    notes = forms.CharField(label=_("Catatan"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
