"""``warta sms inspect TEXT`` and ``warta sms number NUMBER…``: the SMS engine from the shell.

Thin on purpose: it parses arguments, calls :mod:`warta.sms` and prints. Human output is in
Bahasa Indonesia through gettext; ``--json`` keys are English and stable.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from warta.sms import (
    Analysis,
    Encoding,
    InvalidReason,
    NumberInfo,
    NumberKind,
    Operator,
    analyse,
    measure,
    parse_number,
    split_text,
)


def _encoding_label(encoding: Encoding) -> str:
    return "GSM-7" if encoding is Encoding.GSM7 else "UCS-2"


def _unit_label(encoding: Encoding) -> str:
    return _("septet") if encoding is Encoding.GSM7 else _("unit UCS-2")


def _kind_label(kind: NumberKind) -> str:
    return {
        NumberKind.MOBILE: _("seluler"),
        NumberKind.FIXED: _("telepon tetap"),
        NumberKind.OTHER: _("nomor layanan"),
        NumberKind.INVALID: _("tidak valid"),
    }[kind]


def _operator_label(operator: Operator) -> str:
    return {
        Operator.TELKOMSEL: "Telkomsel",
        Operator.INDOSAT: "Indosat Ooredoo Hutchison",
        Operator.XL: "XL Axiata",
        Operator.TRI: "Tri",
        Operator.SMARTFREN: "Smartfren",
        Operator.UNKNOWN: _("operator tidak diketahui"),
    }[operator]


def _reason_message(reason: InvalidReason) -> str:
    # The pure core carries both languages; pick the active one rather than re-translating.
    language = get_language() or "id"
    return reason.message_id if language.startswith("id") else reason.message_en


def _inspect_json(text: str, analysis: Analysis) -> dict[str, Any]:
    m = measure(text)
    _, parts = split_text(text)
    return {
        "encoding": m.encoding.value,
        "characters": m.characters,
        "units": m.units,
        "segments": m.segments,
        "per_segment": m.per_segment,
        "remaining": m.remaining,
        "parts": [
            {"sequence": i, "text": part, "units": measure(part).units}
            for i, part in enumerate(parts, start=1)
        ],
        "forcing": [
            {
                "char": f.char,
                "codepoint": f.codepoint,
                "name": f.name,
                "positions": list(f.positions),
                "count": f.count,
                "replacement": f.replacement,
            }
            for f in analysis.forcing
        ],
        "cost": {
            "as_is": {"encoding": analysis.encoding.value, "segments": analysis.segments_as_is},
            "replaced": {
                "encoding": analysis.encoding_replaced.value,
                "segments": analysis.segments_replaced,
                "text": analysis.replaced_text,
            },
            "replacing_helps": analysis.replacing_helps,
        },
    }


def _number_json(info: NumberInfo) -> dict[str, Any]:
    return {
        "input": info.raw,
        "valid": info.is_valid,
        "e164": info.e164,
        "national": info.national,
        "kind": info.kind.value,
        "operator": info.operator.value if info.kind is NumberKind.MOBILE else None,
        "carrier_name": info.carrier_name or None,
        "area_code": info.area_code,
        "line_type": info.line_type,
        "reason": info.reason.value if info.reason else None,
        "message": _reason_message(info.reason) if info.reason else None,
    }


class Command(BaseCommand):
    help = _("Periksa teks SMS (pengodean, segmen) atau nomor telepon Indonesia.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        inspect = sub.add_parser("inspect", help=_("Hitung pengodean dan segmen sebuah teks SMS."))
        inspect.add_argument("text", help=_("Teks SMS; '-' untuk membaca dari stdin."))
        inspect.add_argument("--json", action="store_true", help=_("Keluaran JSON."))
        number = sub.add_parser(
            "number", help=_("Normalkan dan golongkan nomor telepon (E.164, jenis, operator).")
        )
        number.add_argument("numbers", nargs="+", metavar="NUMBER")
        number.add_argument("--json", action="store_true", help=_("Keluaran JSON."))
        number.add_argument(
            "--allow-foreign", action="store_true", help=_("Terima nomor luar negeri.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "inspect":
            self._inspect(options["text"], as_json=options["json"])
        else:
            self._number(
                options["numbers"], as_json=options["json"], allow_foreign=options["allow_foreign"]
            )

    def _inspect(self, text: str, *, as_json: bool) -> None:
        if text == "-":
            text = sys.stdin.read()
        analysis = analyse(text)
        data = _inspect_json(text, analysis)
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        encoding = analysis.encoding
        w = self.stdout.write
        w(_("Pengodean: %(encoding)s") % {"encoding": _encoding_label(encoding)})
        w(_("Karakter: %(n)d") % {"n": data["characters"]})
        w(_("Panjang: %(n)d %(unit)s") % {"n": data["units"], "unit": _unit_label(encoding)})
        w(
            _("Segmen: %(n)d (maks. %(limit)d %(unit)s per segmen, sisa %(left)d)")
            % {
                "n": data["segments"],
                "limit": data["per_segment"],
                "unit": _unit_label(encoding),
                "left": data["remaining"],
            }
        )
        for part in data["parts"]:
            w(
                _("Segmen %(i)d/%(total)d (%(units)d %(unit)s): %(text)s")
                % {
                    "i": part["sequence"],
                    "total": data["segments"],
                    "units": part["units"],
                    "unit": _unit_label(encoding),
                    "text": json.dumps(part["text"], ensure_ascii=False),
                }
            )
        if not analysis.forcing:
            return
        w(_("Karakter yang memaksa UCS-2:"))
        for f in analysis.forcing:
            if f.replacement is None:
                advice = _("tidak ada pengganti GSM")
            elif f.replacement == "":
                advice = _("hapus")
            else:
                advice = _("ganti dengan %(r)s") % {
                    "r": json.dumps(f.replacement, ensure_ascii=False)
                }
            w(
                _("  %(char)s %(cp)s %(name)s: %(count)d× di posisi %(pos)s; %(advice)s")
                % {
                    "char": json.dumps(f.char, ensure_ascii=False),
                    "cp": f.codepoint,
                    "name": f.name,
                    "count": f.count,
                    "pos": ", ".join(str(p) for p in f.positions),
                    "advice": advice,
                }
            )
        w(
            _("Biaya apa adanya: %(n)d segmen (%(enc)s)")
            % {"n": analysis.segments_as_is, "enc": _encoding_label(analysis.encoding)}
        )
        w(
            _("Biaya setelah diganti: %(n)d segmen (%(enc)s)")
            % {
                "n": analysis.segments_replaced,
                "enc": _encoding_label(analysis.encoding_replaced),
            }
        )
        if analysis.unreplaceable:
            w(_("Tetap UCS-2 karena: %(chars)s") % {"chars": " ".join(analysis.unreplaceable)})

    def _number(self, numbers: list[str], *, as_json: bool, allow_foreign: bool) -> None:
        infos = [parse_number(raw, allow_foreign=allow_foreign) for raw in numbers]
        if as_json:
            self.stdout.write(
                json.dumps([_number_json(i) for i in infos], ensure_ascii=False, indent=2)
            )
        else:
            for info in infos:
                self.stdout.write(self._number_line(info))
        invalid = sum(1 for i in infos if not i.is_valid)
        if invalid:
            raise CommandError(
                _("%(n)d dari %(total)d nomor tidak valid.") % {"n": invalid, "total": len(infos)},
                returncode=1,
            )

    def _number_line(self, info: NumberInfo) -> str:
        if info.reason is not None:
            return _("%(raw)s: tidak valid (%(code)s): %(msg)s") % {
                "raw": info.raw,
                "code": info.reason.value,
                "msg": _reason_message(info.reason),
            }
        details = [_kind_label(info.kind)]
        if info.kind is NumberKind.MOBILE:
            details.append(_operator_label(info.operator))
        if info.area_code:
            details.append(_("kode area %(code)s") % {"code": info.area_code})
            if info.is_jakarta:
                details.append(_("Jakarta"))
        if info.kind is NumberKind.OTHER and info.line_type:
            details.append(info.line_type)
        return f"{info.raw}: {info.e164} ({', '.join(details)})"
