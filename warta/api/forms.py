"""Forms of the token pages: they parse; ``services`` decides and records."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.accounts.models import Unit


class ClientForm(forms.Form):
    name = forms.SlugField(label=_("Nama klien"), max_length=60,
                           help_text=_("Huruf kecil, angka dan tanda hubung, mis. bpbd-siaga"))
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.filter(is_active=True))


class TokenForm(forms.Form):
    expires_in_days = forms.IntegerField(label=_("Berlaku (hari)"), min_value=1, max_value=3650, required=False,
                                         help_text=_("Kosongkan agar berlaku sampai dicabut."))
