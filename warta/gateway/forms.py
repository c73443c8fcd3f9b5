from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.blasts.models import SenderID

from .services import OPERATORS, GatewayError, validate_url


class ConnectionForm(forms.Form):
    name = forms.SlugField(label=_("Nama"), max_length=50)
    url = forms.CharField(label=_("URL"), max_length=500, required=False, widget=forms.PasswordInput(render_value=False),
                          help_text=_("smpp://SYSTEM_ID:SANDI@HOST:PORT?bind=trx&window=64&tps=200&binds=2 · "
                                      "kannel://USER:SANDI@HOST:13013?secret=… · gammu+sqlite:///path/smsd.db. "
                                      "Saat mengubah, kosongkan untuk mempertahankan URL lama."))
    senders = forms.ModelMultipleChoiceField(label=_("Sender ID yang dibawa"), queryset=SenderID.objects.all(),
                                             required=False, widget=forms.CheckboxSelectMultiple,
                                             help_text=_("Kosong: semua sender ID."))
    operators = forms.MultipleChoiceField(label=_("Operator yang dilayani"), choices=[(o, o) for o in OPERATORS],
                                          required=False, widget=forms.CheckboxSelectMultiple,
                                          help_text=_("Kosong: semua operator."))
    prefixes = forms.CharField(label=_("Awalan nomor yang dilayani"), required=False, max_length=500,
                               help_text=_("Dipisah koma, misalnya +62811, +62812. Kosong: semua nomor."))
    priority = forms.IntegerField(label=_("Prioritas"), initial=0, help_text=_("Angka kecil dipakai lebih dulu."))
    is_active = forms.BooleanField(label=_("Aktif"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["name"].disabled = True

    def clean_prefixes(self) -> list[str]:
        prefixes = []
        for raw in self.cleaned_data.get("prefixes", "").replace(";", ",").split(","):
            item = raw.strip().replace(" ", "").replace("-", "")
            if not item:
                continue
            if item.startswith("0"):
                item = "+62" + item[1:]  # 0812 → +62812, as operators write prefixes
            if not re.fullmatch(r"\+\d{3,15}", item):
                raise forms.ValidationError(
                    _("Awalan %(p)r tidak dikenal: tulis seperti +62812 atau 0812.") % {"p": raw.strip()})
            prefixes.append(item)
        return prefixes

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "").strip()
        if not url:
            if not self.editing:
                raise forms.ValidationError(_("URL wajib diisi."))
            return ""
        try:
            return validate_url(url)
        except GatewayError as exc:
            raise forms.ValidationError(str(exc)) from None
