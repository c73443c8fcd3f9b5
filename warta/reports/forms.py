from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.accounts.models import Unit


class GenerateForm(forms.Form):
    month = forms.RegexField(label=_("Bulan"), regex=r"^\d{4}-\d{2}$",
                             widget=forms.TextInput(attrs={"type": "month"}),
                             error_messages={"invalid": _("Tulis bulan sebagai TTTT-BB, mis. 2026-11.")})


class NarrativeForm(forms.Form):
    highlights = forms.CharField(label=_("Hal menonjol"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    problems = forms.CharField(label=_("Kendala"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    recommendations = forms.CharField(label=_("Rekomendasi"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    public_summary = forms.CharField(label=_("Ringkasan untuk publik (PPID)"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 3}),
                                     help_text=_("Tanpa data pribadi; tampil di arsip publik bila bulan ini dipublikasikan."))


class ApproveForm(forms.Form):
    name = forms.CharField(label=_("Nama penanda tangan"), max_length=150)
    nip = forms.CharField(label=_("NIP"), max_length=30)
    token = forms.CharField(label=_("Kode TOTP"), max_length=8,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class SendBackForm(forms.Form):
    comment = forms.CharField(label=_("Alasan pengembalian"), widget=forms.Textarea(attrs={"rows": 3}))


class BudgetForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.filter(is_active=True))
    amount = forms.DecimalField(label=_("Anggaran (Rp)"), min_value=Decimal(0), max_digits=14, decimal_places=2)
    month = forms.RegexField(label=_("Bulan (kosong: setiap bulan)"), regex=r"^\d{4}-\d{2}$", required=False,
                             widget=forms.TextInput(attrs={"type": "month"}))
    note = forms.CharField(label=_("Catatan"), max_length=200, required=False)
