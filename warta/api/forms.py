"""Forms of the token pages: they parse; ``services`` decides and records."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.accounts.models import Unit

from .models import Scope


class ClientForm(forms.Form):
    name = forms.SlugField(label=_("Nama klien"), max_length=60,
                           help_text=_("Huruf kecil, angka dan tanda hubung, mis. bpbd-siaga"))
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.filter(is_active=True))


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Nama token"), max_length=60, required=False)
    scopes = forms.MultipleChoiceField(label=_("Cakupan"), widget=forms.CheckboxSelectMultiple, required=False,
                                       choices=[(s.value, f"{s.value} — {s.label}") for s in Scope],
                                       initial=["materi:write"])
    expires_in_days = forms.IntegerField(label=_("Berlaku (hari)"), min_value=1, max_value=3650, required=False,
                                         help_text=_("Kosongkan agar berlaku sampai dicabut."))


class WebhookForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.filter(is_active=True))
    url = forms.URLField(label=_("URL penerima"), max_length=500, assume_scheme="https",
                         help_text=_("Alamat HTTPS sistem unit yang menerima POST JSON."))
    events = forms.MultipleChoiceField(label=_("Peristiwa"), widget=forms.CheckboxSelectMultiple, choices=[])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        from .models import WebhookEvent

        self.fields["events"].choices = [(e.value, e.label) for e in WebhookEvent if e != WebhookEvent.TEST]
        self.fields["events"].initial = [c for c, _label in self.fields["events"].choices]
