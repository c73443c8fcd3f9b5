"""Forms of the blast workflow: they parse and validate input; services decide and change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from warta.contacts.models import ContactGroup, Region, Segment
from warta.lib.ids import IdModelMultipleChoiceField
from warta.sms.numbers import Operator

from .models import (
    BlackoutPeriod,
    Materi,
    SenderID,
    SenderRegistration,
    Tariff,
    Template,
    WatchWord,
)

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 5
ATTACHMENT_TYPES = {".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".txt"}

# An uploaded number list up to this size is read in the composer; a larger file is handed whole
# to a contacts import (far more than the composer's 10,000 numbers anyway).
NUMBERS_FILE_INLINE_BYTES = 2 * 1024 * 1024

DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(sorted(ATTACHMENT_TYPES))}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(_("Lampiran paling banyak %(n)d berkas.") % {"n": MAX_ATTACHMENTS})
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        for f in cleaned:
            if Path(f.name).suffix.lower() not in ATTACHMENT_TYPES:
                raise forms.ValidationError(_("Jenis berkas %(name)s tidak diterima. Yang diterima: PDF, gambar "
                                              "JPG/PNG, dokumen Word/Excel/ODT, teks.") % {"name": f.name})
            if f.size > MAX_ATTACHMENT_BYTES:
                raise forms.ValidationError(_("Berkas %(name)s lebih dari 5 MB.") % {"name": f.name})
        return cleaned


def quiet_hours_label() -> str:
    from django.conf import settings

    return str(getattr(settings, "WARTA", {}).get("QUIET_HOURS", "21:00-06:00")).replace("-", "–")


class MateriForm(forms.ModelForm):
    attachments = MultipleFileField(label=_("Lampiran"), required=False,
                                    help_text=_("Maksimal 5 berkas, masing-masing 5 MB."))

    class Meta:
        model = Materi
        fields = ["title", "content", "background", "window_start", "window_end", "audience_note",
                  "contact_person", "contact_phone"]
        widgets = {"window_start": DT, "window_end": DT,
                   "content": forms.Textarea(attrs={"rows": 5}), "background": forms.Textarea(attrs={"rows": 3}),
                   "audience_note": forms.Textarea(attrs={"rows": 2})}

    def clean_contact_phone(self) -> str:
        from warta.sms.numbers import NumberKind, parse_number

        raw = (self.cleaned_data.get("contact_phone") or "").strip()
        if raw and parse_number(raw).kind is NumberKind.INVALID:
            raise forms.ValidationError(_("Nomor telepon narahubung tidak valid; tulis nomor ponsel atau kantor "
                                          "lengkap, mis. 0812xxxxxxxx atau 021xxxxxxx."))
        return raw

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("window_start") and data.get("window_end") and data["window_end"] <= data["window_start"]:
            self.add_error("window_end", _("Batas akhir harus setelah waktu paling cepat."))
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Alasan penolakan"), widget=forms.Textarea(attrs={"rows": 2}))


class DraftForm(forms.Form):
    title = forms.CharField(label=_("Judul"), max_length=200)
    sender = forms.ModelChoiceField(label=_("Sender ID"), queryset=SenderID.objects.none(), empty_label=None)
    text = forms.CharField(label=_("Teks SMS"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    justification = forms.CharField(label=_("Alasan lebih dari dua segmen"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    # Checkbox lists, not <select multiple>: no Ctrl-click, usable on a phone (issue 12).
    groups = IdModelMultipleChoiceField(label=_("Grup"), queryset=ContactGroup.objects.all(), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    segments = IdModelMultipleChoiceField(label=_("Segmen"), queryset=Segment.objects.all(), required=False,
                                              widget=forms.CheckboxSelectMultiple)
    regions = forms.ModelMultipleChoiceField(label=_("Wilayah"), required=False, to_field_name="code",
                                             queryset=Region.objects.exclude(level="kelurahan"),
                                             widget=forms.CheckboxSelectMultiple)
    numbers = forms.CharField(label=_("Nomor tambahan / daftar unggahan"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Satu nomor per baris atau dipisah koma."))
    numbers_file = forms.FileField(label=_("Unggah daftar nomor (CSV/TXT)"), required=False)
    test_numbers = forms.CharField(label=_("Nomor uji"), required=False,
                                   help_text=_("Maksimal 10 nomor staf terverifikasi, dipisah koma; SMS uji bertanda "
                                               "[UJI]."))
    send_at = forms.DateTimeField(label=_("Waktu kirim"), required=False, widget=DT,
                                  help_text=_("Kosongkan untuk kirim segera setelah disetujui."))
    window_end = forms.DateTimeField(label=_("Batas akhir kirim"), required=False, widget=DT,
                                     help_text=_("Pesan yang belum terkirim saat itu kedaluwarsa."))
    emergency = forms.BooleanField(label=_("Blast darurat"), required=False,
                                   widget=forms.CheckboxInput(attrs={"aria-describedby": "emergency-help"}),
                                   help_text=_("Melewati jam tenang dan antrean biasa; wajib beralasan."))
    emergency_reason = forms.CharField(label=_("Alasan darurat"), required=False)

    def __init__(self, *args: Any, senders: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if senders is not None:
            self.fields["sender"].queryset = senders

    def clean_test_numbers(self) -> str:
        from .testsends import check_test_numbers

        raw = self.cleaned_data.get("test_numbers") or ""
        _good, errors = check_test_numbers(raw)
        if errors:
            raise forms.ValidationError(errors)
        return raw

    def clean(self) -> dict[str, Any]:
        from django.utils import timezone

        from .services import in_quiet_hours, quiet_hours_end

        data = super().clean()
        if not (data.get("text") or "").strip():
            self.add_error("text", _("Teks SMS kosong."))
        if data.get("emergency") and not (data.get("emergency_reason") or "").strip():
            self.add_error("emergency_reason", _("Blast darurat wajib disertai alasan."))
        # Checked on save, next to the field, so a draft is not refused only at submit.
        now = timezone.now()
        send_at, window_end = data.get("send_at"), data.get("window_end")
        before = self.initial.get("send_at")
        if send_at and before and send_at == before.replace(second=0, microsecond=0):
            send_at = None  # unchanged on an existing draft (e.g. a title fix): judged when it was set
        if send_at and send_at < now - timedelta(minutes=1):
            self.add_error("send_at", _("Waktu kirim sudah lewat; pilih waktu yang akan datang atau kosongkan untuk "
                                        "kirim segera setelah disetujui."))
        elif send_at and not data.get("emergency") and in_quiet_hours(send_at):
            self.add_error("send_at", _("Waktu kirim jatuh di jam tenang (%(q)s WIB); blast biasa paling cepat %(t)s "
                                        "WIB. Pilih waktu lain, atau tandai darurat bila memang darurat.")
                           % {"q": quiet_hours_label(),
                              "t": timezone.localtime(quiet_hours_end(send_at)).strftime("%d-%m-%Y %H:%M")})
        if window_end and window_end <= max(data.get("send_at") or now, now):
            self.add_error("window_end", _("Batas akhir kirim harus setelah waktu kirim."))
        numbers = [n.strip() for n in (data.get("numbers") or "").replace(",", "\n").splitlines() if n.strip()]
        upload = data.get("numbers_file")
        data["numbers_upload"] = None
        if upload and upload.size > NUMBERS_FILE_INLINE_BYTES:
            # Far more than the composer resolves: the whole file goes to a contacts import
            # (reading only its start, as before, silently dropped the rest of the list).
            data["numbers_upload"] = upload
        elif upload:
            raw = upload.read(NUMBERS_FILE_INLINE_BYTES).decode("utf-8-sig", errors="replace")
            for line in raw.splitlines():
                cell = line.split(",")[0].split(";")[0].strip().strip('"')
                if cell and any(ch.isdigit() for ch in cell):
                    numbers.append(cell)
        data["number_list"] = numbers
        return data

    def service_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        audience: dict[str, Any] = {}
        if d.get("groups"):
            audience["groups"] = sorted(g.pk for g in d["groups"])
        if d.get("segments"):
            audience["segments"] = sorted(s.pk for s in d["segments"])
        if d.get("regions"):
            audience["regions"] = sorted(r.code for r in d["regions"])
        if d.get("number_list"):
            audience["numbers"] = d["number_list"]
        return {"title": d["title"], "sender": d["sender"], "text": d["text"], "justification": d["justification"],
                "numbers_upload": d.get("numbers_upload"),
                "audience": audience, "test_numbers": d["test_numbers"], "send_at": d["send_at"],
                "window_end": d["window_end"], "emergency": d["emergency"],
                "emergency_reason": d["emergency_reason"] if d["emergency"] else ""}

    @classmethod
    def initial_for(cls, draft: Any) -> dict[str, Any]:
        a = draft.audience or {}
        return {"title": draft.title, "sender": draft.sender_id, "text": draft.text,
                "justification": draft.justification, "groups": a.get("groups", []),
                "segments": a.get("segments", []), "regions": a.get("regions", []),
                "numbers": "\n".join(a.get("numbers", [])), "test_numbers": draft.test_numbers,
                "send_at": draft.send_at, "window_end": draft.window_end, "emergency": draft.emergency,
                "emergency_reason": draft.emergency_reason}


class DecisionForm(forms.Form):
    comment = forms.CharField(label=_("Komentar"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    seen_hash = forms.CharField(widget=forms.HiddenInput, required=False)


class HistoryFilter(forms.Form):
    q = forms.CharField(label=_("Teks"), required=False)
    sender = forms.CharField(label=_("Sender ID"), required=False)
    unit = forms.CharField(label=_("Kode unit"), required=False)
    date_from = forms.DateField(label=_("Dari"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Sampai"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class RegistrationForm(forms.Form):
    """A plain form: saving a (sender, operator) pair again updates its row (update_or_create)."""

    sender = forms.ModelChoiceField(label=_("Sender ID"), queryset=SenderID.objects.all())
    operator = forms.ChoiceField(label=_("Operator"), choices=[(o.value, o.value) for o in Operator
                                                               if o is not Operator.UNKNOWN])
    status = forms.ChoiceField(label=_("Status"), choices=SenderRegistration.Status.choices)
    since = forms.DateField(label=_("Tanggal"), widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(label=_("Berlaku sampai"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Catatan"), required=False, max_length=200)


class BlackoutForm(forms.ModelForm):
    class Meta:
        model = BlackoutPeriod
        fields = ["name", "starts_at", "ends_at", "senders", "reason"]
        widgets = {"starts_at": DT, "ends_at": DT, "reason": forms.Textarea(attrs={"rows": 2})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("Selesai harus setelah mulai."))
        return data


class WatchWordForm(forms.ModelForm):
    class Meta:
        model = WatchWord
        fields = ["word", "category"]


class TariffForm(forms.ModelForm):
    operator = forms.ChoiceField(label=_("Operator"), choices=[(o.value, o.value) for o in Operator])

    class Meta:
        model = Tariff
        fields = ["operator", "price_per_segment"]

    def clean_price_per_segment(self) -> Any:
        price = self.cleaned_data["price_per_segment"]
        if price <= 0:
            raise forms.ValidationError(_("Harga per segmen harus lebih dari nol."))
        return price


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ["name", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def clean_text(self) -> str:
        from . import composer

        text = self.cleaned_data["text"].strip()
        if not text:
            raise forms.ValidationError(_("Teks templat kosong."))
        unknown = composer.unknown_fields(text)
        if unknown:
            raise forms.ValidationError(
                _("Kolom personalisasi tidak dikenal: %(f)s.") % {"f": ", ".join(f"{{{u}}}" for u in unknown)})
        return text


class ChainForm(forms.Form):
    sender = forms.ModelChoiceField(label=_("Sender ID"), queryset=SenderID.objects.all())
    steps = forms.CharField(label=_("Langkah (urut, dipisah koma)"),
                            help_text=_("Per langkah sebuah peran (verifier, approver) atau seorang pejabat "
                                        "(@namapengguna). Contoh: verifier,@kabid.humas,approver. Langkah terakhir "
                                        "selalu pemilik sender ID atau wakilnya."))
    require_opt_out_line = forms.BooleanField(label=_("Wajib baris berhenti berlangganan"), required=False)

    def clean_steps(self) -> list[tuple[str, Any]]:
        from warta.accounts.models import Role, User

        out: list[tuple[str, Any]] = []
        for token in (t.strip() for t in self.cleaned_data["steps"].split(",")):
            if not token:
                continue
            if token.startswith("@"):
                user = User.objects.filter(username=token[1:], is_active=True).first()
                if user is None or user.role not in (Role.VERIFIER, Role.APPROVER):
                    raise forms.ValidationError(
                        _("%(u)s bukan pengguna aktif dengan peran Verifikator atau Penyetuju.") % {"u": token})
                out.append((user.role, user))
            elif token.lower() in ("verifier", "approver"):
                out.append((token.lower(), None))
            else:
                raise forms.ValidationError(_("Tulis peran 'verifier' atau 'approver', atau @namapengguna, dipisah "
                                              "koma."))
        if not out:
            raise forms.ValidationError(_("Rantai persetujuan minimal satu langkah."))
        return out


class OwnerForm(forms.Form):
    """The sender ID's owner: the official whose approval (or a delegate's) is the last step."""

    sender = forms.ModelChoiceField(label=_("Sender ID"), queryset=SenderID.objects.all())
    owner = forms.ModelChoiceField(label=_("Pemilik"), queryset=None)  # type: ignore[arg-type]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from warta.accounts.models import Role, User

        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, role__in=[Role.VERIFIER, Role.APPROVER]).order_by("username")


class ReceiptWaitForm(forms.Form):
    """How long a sender ID's messages wait for their delivery receipt (then "tidak ada laporan")."""

    sender = forms.ModelChoiceField(label=_("Sender ID"), queryset=SenderID.objects.all())
    hours = forms.IntegerField(label=_("batas tunggu laporan (jam)"), min_value=1, max_value=720, initial=48,
                               help_text=_("Pesan tanpa laporan terkirim setelah sekian jam dianggap kedaluwarsa."))


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(label=_("Wakil"), queryset=None)  # type: ignore[arg-type]
    starts_on = forms.DateField(label=_("Mulai"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Sampai"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Alasan"), max_length=200, required=False,
                             help_text=_("Mis. cuti, dinas luar."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from warta.accounts.models import Role, User

        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, role__in=[Role.VERIFIER, Role.APPROVER]).order_by("username")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("Tanggal selesai harus sama dengan atau setelah tanggal mulai."))
        return data
