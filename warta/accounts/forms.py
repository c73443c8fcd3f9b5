from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Role, Unit, User


class LoginForm(AuthenticationForm):
    # One message for a wrong password and for an unknown account: the page must not reveal
    # which accounts exist.
    error_messages = {
        "invalid_login": _(
            "Nama pengguna atau kata sandi salah. Periksa kembali lalu coba lagi."
        ),
        "inactive": _("Nama pengguna atau kata sandi salah. Periksa kembali lalu coba lagi."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Nama pengguna")
        self.fields["password"].label = _("Kata sandi")
        # The page is novalidate (the browser's own bubbles are English-only and easy to miss):
        # an empty field is answered next to the field, in Indonesian.
        self.fields["username"].error_messages["required"] = _("Isi nama pengguna Anda.")
        self.fields["password"].error_messages["required"] = _("Isi kata sandi Anda.")


class OTPTokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Kode 6 angka dari aplikasi autentikator"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Kode harus 6 angka.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class UserForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Kata sandi awal"), widget=forms.PasswordInput, required=False,
        help_text=_("Wajib untuk pengguna baru; kosongkan untuk tidak mengubah."),
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "phone", "role", "unit", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("role") == Role.LIAISON and not data.get("unit"):
            self.add_error("unit", _("Penghubung unit harus memiliki unit."))
        if self.instance.pk is None and not data.get("password"):
            self.add_error("password", _("Pengguna baru memerlukan kata sandi awal."))
        if data.get("password"):
            from django.contrib.auth.password_validation import validate_password

            try:
                validate_password(data["password"], self.instance)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data

    def save(self, commit: bool = True) -> User:
        user: User = super().save(commit=False)
        if self.cleaned_data.get("password"):
            user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


class UnitForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "parent", "email", "is_active"]

    def clean_parent(self) -> Unit | None:
        parent: Unit | None = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk is not None:
            if parent.pk == self.instance.pk or self.instance.pk in {u.pk for u in parent.ancestors()}:
                raise forms.ValidationError(_("Unit tidak boleh menjadi induk bagi dirinya sendiri."))
        return parent


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Pelaku"), required=False)
    action = forms.CharField(label=_("Tindakan"), required=False)
    object_type = forms.CharField(label=_("Jenis objek"), required=False)
    date_from = forms.DateField(label=_("Dari tanggal"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Sampai tanggal"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("Tanggal akhir harus sesudah tanggal awal."))
        return data
