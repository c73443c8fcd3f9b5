"""Indonesian phone numbers: normalise to E.164, classify, name the operator, mask.

Theory of operation
-------------------
Numbers arrive from spreadsheets, forms and citizens' SMS in every shape: ``0812…``,
``+62 812-…``, ``62812…``, ``812…``, ``(021) 3288 1818``, ``0062 812…``. We hand the work to
``phonenumbers`` (Google's libphonenumber metadata, see docs/decisions/phonenumbers.md) with
Indonesia as the default region, and keep only three decisions here:

* **Kind.** ``mobile`` and ``fixed`` from phonenumbers' number type; any other valid type
  (toll-free 0800, premium, UAN 1500…) is ``other`` with the type named in ``line_type``.
  Anything else is ``invalid`` with one :class:`InvalidReason`, which has an Indonesian and an
  English message. A valid number outside Indonesia is ``invalid``/``not_indonesian`` unless the
  caller passes ``allow_foreign=True``.
* **Operator.** phonenumbers' carrier data names the operator a prefix was allocated to (number
  portability is not visible to anyone without the operators' database). We map its names to
  stable codes (:class:`Operator`); 'XL' and 'AXIS' are one company and one code, ``xl``. A name
  we do not know, or no name, is ``unknown``: we never guess from a prefix table of our own.
  Tri (3) has been part of Indosat Ooredoo Hutchison since 2022 and the carrier data names its
  089x prefixes so, hence ``indosat``; ``tri`` stays for data that still says "3"/"Tri".
* **Speed.** An import runs this over a million rows. ``phonenumbers.parse`` is the dominant
  cost, so the common clean shapes (``+62…`` and ``0…`` with separators) skip it: we build the
  number directly and let phonenumbers validate it. Everything else goes through ``parse``. The
  tests check that both paths agree. Carrier names are cached per leading digits, which is where
  carrier data keys them.

``to_national`` and ``mask`` are plain string functions on E.164 values we produced, so the
web pages that mask a thousand numbers per screen never touch phonenumbers.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from types import MappingProxyType

import phonenumbers
from phonenumbers import PhoneNumberType, ValidationResult, carrier
from phonenumbers.phonemetadata import PhoneMetadata

__all__ = [
    "REASON_MESSAGES",
    "InvalidReason",
    "NumberInfo",
    "NumberKind",
    "Operator",
    "mask",
    "normalise_operator",
    "parse_number",
    "to_national",
]

COUNTRY_CODE = 62
REGION = "ID"
JAKARTA_AREA_CODE = "021"


class NumberKind(enum.StrEnum):
    MOBILE = "mobile"  # can receive SMS
    FIXED = "fixed"  # fixed line, area code in area_code
    OTHER = "other"  # valid but neither: toll-free, premium, UAN, VoIP…; see line_type
    INVALID = "invalid"  # see reason


class Operator(enum.StrEnum):
    TELKOMSEL = "telkomsel"
    INDOSAT = "indosat"  # Indosat Ooredoo Hutchison (IM3, Mentari, and Tri since 2022)
    XL = "xl"  # XL Axiata, including AXIS
    TRI = "tri"  # Hutchison 3, when carrier data still names it so
    SMARTFREN = "smartfren"
    UNKNOWN = "unknown"  # no carrier data for the prefix, or a name we do not map


class InvalidReason(enum.StrEnum):
    EMPTY = "empty"  # nothing but blanks
    NOT_A_NUMBER = "not_a_number"  # letters or symbols other than + ( ) - . / and spaces
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_COUNTRY_CODE = "invalid_country_code"  # +999…
    NOT_INDONESIAN = "not_indonesian"  # valid, but not +62 (allow_foreign=False)
    INVALID_PREFIX = "invalid_prefix"  # the leading digits are not allocated
    INVALID_NUMBER = "invalid_number"  # plausible length and prefix, still not a valid number
    MISSING_AREA_CODE = "missing_area_code"  # a local landline number written without 0xx

    @property
    def message_id(self) -> str:
        return REASON_MESSAGES[self][0]

    @property
    def message_en(self) -> str:
        return REASON_MESSAGES[self][1]


# reason -> (Bahasa Indonesia, English). Each says what happened and what to do.
REASON_MESSAGES: MappingProxyType[InvalidReason, tuple[str, str]] = MappingProxyType(
    {
        InvalidReason.EMPTY: (
            "Nomor kosong. Isi nomor telepon.",
            "The number is empty. Enter a phone number.",
        ),
        InvalidReason.NOT_A_NUMBER: (
            "Bukan nomor telepon: hanya angka, spasi, +, -, (, ), titik dan / yang boleh.",
            "Not a phone number: only digits, spaces, +, -, (, ), dots and / are allowed.",
        ),
        InvalidReason.TOO_SHORT: (
            "Nomor terlalu pendek. Periksa apakah ada angka yang hilang atau kode area.",
            "The number is too short. Check for missing digits or a missing area code.",
        ),
        InvalidReason.TOO_LONG: (
            "Nomor terlalu panjang. Periksa apakah ada angka yang berlebih.",
            "The number is too long. Check for extra digits.",
        ),
        InvalidReason.MISSING_AREA_CODE: (
            "Nomor telepon rumah tanpa kode area. Tulis dengan kode area, misalnya 021 3288 1818.",
            "A landline number without its area code. Write it with the area code, e.g. 021 3288 1818.",
        ),
        InvalidReason.INVALID_COUNTRY_CODE: (
            "Kode negara tidak dikenal. Nomor Indonesia diawali +62 atau 0.",
            "Unknown country code. Indonesian numbers start with +62 or 0.",
        ),
        InvalidReason.NOT_INDONESIAN: (
            "Nomor luar negeri. Hanya nomor Indonesia (+62) yang diterima.",
            "Foreign number. Only Indonesian (+62) numbers are accepted.",
        ),
        InvalidReason.INVALID_PREFIX: (
            "Awalan nomor tidak dipakai operator mana pun. Periksa angka-angka pertamanya.",
            "No operator uses this prefix. Check the first digits.",
        ),
        InvalidReason.INVALID_NUMBER: (
            "Nomor tidak valid untuk awalan ini. Periksa panjang dan angka-angkanya.",
            "The number is not valid for its prefix. Check its length and digits.",
        ),
    }
)

# Carrier names as phonenumbers spells them (English), lower-cased -> our code. A test walks the
# installed carrier data and fails when a name appears that this table does not know, so a
# phonenumbers upgrade cannot silently turn an operator into "unknown".
_OPERATOR_NAMES: dict[str, Operator] = {
    "telkomsel": Operator.TELKOMSEL,
    "indosat": Operator.INDOSAT,
    "indosat ooredoo": Operator.INDOSAT,
    "indosat ooredoo hutchison": Operator.INDOSAT,
    "im3": Operator.INDOSAT,
    "xl": Operator.XL,
    "xl axiata": Operator.XL,
    "axis": Operator.XL,
    "3": Operator.TRI,
    "tri": Operator.TRI,
    "three": Operator.TRI,
    "hutchison 3": Operator.TRI,
    "smartfren": Operator.SMARTFREN,
}

_LINE_TYPES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}

# Characters people put in numbers. Anything else (letters, "ext", "#") makes the value
# not_a_number: phonenumbers would read letters as a vanity number (1-800-FLOWERS) or an
# extension, neither of which an SMS can reach.
_ALLOWED = re.compile(r"[0-9+()\-./\s\u00a0]+")
_SEPARATORS = re.compile(r"[()\-./\s\u00a0]+")

_ID_META = PhoneMetadata.metadata_for_region(REGION)
assert _ID_META is not None and _ID_META.mobile is not None and _ID_META.fixed_line is not None
_MOBILE_LENGTHS = _ID_META.mobile.possible_length
_FIXED_LENGTHS = _ID_META.fixed_line.possible_length


def normalise_operator(carrier_name: str) -> Operator:
    """Map a carrier name from phonenumbers to an :class:`Operator` code."""
    return _OPERATOR_NAMES.get(carrier_name.strip().lower(), Operator.UNKNOWN)


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """One number, parsed. ``e164`` is set whenever the number is valid."""

    raw: str
    kind: NumberKind
    e164: str | None = None
    region: str | None = None  # "ID", or the foreign region when allow_foreign=True
    operator: Operator = Operator.UNKNOWN  # only mobile numbers have one
    carrier_name: str = ""  # the carrier data's own spelling, for display; "" when none
    area_code: str | None = None  # fixed lines: national area code with its 0, e.g. "021"
    line_type: str | None = None  # phonenumbers' type, e.g. "toll_free" for kind "other"
    reason: InvalidReason | None = None  # set exactly when kind is invalid

    @property
    def is_valid(self) -> bool:
        return self.kind is not NumberKind.INVALID

    @property
    def is_jakarta(self) -> bool:
        """A fixed line in area 021 (DKI Jakarta and the Jabodetabek ring)."""
        return self.area_code == JAKARTA_AREA_CODE

    @property
    def national(self) -> str | None:
        """``0812…`` for Indonesian numbers; None otherwise."""
        if self.e164 is None or self.region != REGION:
            return None
        return to_national(self.e164)


def _invalid(raw: str, reason: InvalidReason) -> NumberInfo:
    return NumberInfo(raw=raw, kind=NumberKind.INVALID, reason=reason)


def _fast_number(compact: str) -> phonenumbers.PhoneNumber | None:
    """Build the number without ``phonenumbers.parse`` for ``+62…`` and ``0…`` inputs.

    Only shapes whose meaning is unambiguous take this path: ``+62`` or a single national ``0``
    followed by a digit other than 0. Everything else (``62…``, ``812…``, ``0062…``) is
    ambiguous enough that parse's heuristics should decide.
    """
    if compact.startswith("+62"):
        nsn = compact[3:]
    elif compact.startswith("0"):
        nsn = compact[1:]
    else:
        return None
    if not nsn.isdigit() or not nsn.isascii() or nsn[0] == "0" or len(nsn) > 13:
        return None
    # A national number shorter than the shortest Indonesian number is one parse would keep
    # the national prefix in (and so judge differently); let it decide.
    if len(nsn) < min(_FIXED_LENGTHS):
        return None
    return phonenumbers.PhoneNumber(country_code=COUNTRY_CODE, national_number=int(nsn))


# Not in phonenumbers' type stubs; without it we would not know a safe key, so do not cache.
_CARRIER_PREFIX_DIGITS = int(getattr(carrier, "CARRIER_LONGEST_PREFIX", 0))
_CARRIER_CACHE_MAX = 65_536
_carrier_cache: dict[str, str] = {}


def _carrier_name(e164: str, number: phonenumbers.PhoneNumber) -> str:
    # Carrier data maps prefixes of at most CARRIER_LONGEST_PREFIX digits (country code
    # included), so numbers sharing that many leading digits share a carrier name: exact, not a
    # heuristic. Bounded so a pathological import cannot grow it without limit.
    if not _CARRIER_PREFIX_DIGITS:
        return str(carrier.name_for_valid_number(number, "en"))
    key = e164[1 : 1 + _CARRIER_PREFIX_DIGITS]
    name = _carrier_cache.get(key)
    if name is None:
        name = str(carrier.name_for_valid_number(number, "en"))
        if len(_carrier_cache) >= _CARRIER_CACHE_MAX:
            _carrier_cache.clear()
        _carrier_cache[key] = name
    return name


def _reason_for_invalid_indonesian(number: phonenumbers.PhoneNumber) -> InvalidReason:
    nsn = phonenumbers.national_significant_number(number)
    if nsn.startswith("0"):
        # parse keeps the national 0 when stripping it would leave too few digits (021 1234).
        nsn = nsn[1:]
    if not nsn or nsn[0] in "01":
        # 1xx are short codes and service numbers that phonenumbers knows individually.
        if len(nsn) < min(_FIXED_LENGTHS):
            return InvalidReason.TOO_SHORT
        return InvalidReason.INVALID_PREFIX
    lengths = _MOBILE_LENGTHS if nsn[0] == "8" else _FIXED_LENGTHS
    if len(nsn) < min(lengths):
        return InvalidReason.TOO_SHORT
    if len(nsn) > max(lengths):
        return InvalidReason.TOO_LONG
    if nsn[0] == "8":
        # Right length for a mobile number, so it is the 08xx prefix that no operator holds.
        return InvalidReason.INVALID_PREFIX
    return InvalidReason.INVALID_NUMBER


def _reason_from_possibility(number: phonenumbers.PhoneNumber) -> InvalidReason:
    result = phonenumbers.is_possible_number_with_reason(number)
    if result in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return InvalidReason.TOO_SHORT
    if result == ValidationResult.TOO_LONG:
        return InvalidReason.TOO_LONG
    if result == ValidationResult.INVALID_COUNTRY_CODE:
        return InvalidReason.INVALID_COUNTRY_CODE
    return InvalidReason.INVALID_NUMBER


_PARSE_ERRORS: dict[int, InvalidReason] = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: InvalidReason.INVALID_COUNTRY_CODE,
    phonenumbers.NumberParseException.NOT_A_NUMBER: InvalidReason.NOT_A_NUMBER,
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: InvalidReason.TOO_SHORT,
    phonenumbers.NumberParseException.TOO_SHORT_NSN: InvalidReason.TOO_SHORT,
    phonenumbers.NumberParseException.TOO_LONG: InvalidReason.TOO_LONG,
}


def parse_number(raw: str, *, allow_foreign: bool = False) -> NumberInfo:
    """Normalise and classify one number as written by a person or a spreadsheet."""
    text = raw.strip()
    if not text:
        return _invalid(raw, InvalidReason.EMPTY)
    if _ALLOWED.fullmatch(text) is None:
        return _invalid(raw, InvalidReason.NOT_A_NUMBER)
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("0062"):
        # Spreadsheets often carry "0062…" for +62 (00 is the international prefix in many
        # countries, though not Indonesia's 001/007/008); read it as the person meant it.
        compact = "+" + compact[2:]
    if "+" in compact[1:]:
        return _invalid(raw, InvalidReason.NOT_A_NUMBER)
    number = _fast_number(compact)
    if number is None:
        try:
            number = phonenumbers.parse(compact, REGION)
        except phonenumbers.NumberParseException as exc:
            return _invalid(raw, _PARSE_ERRORS.get(exc.error_type, InvalidReason.NOT_A_NUMBER))

    if number.country_code == COUNTRY_CODE:
        region: str | None = REGION
        # number_type matches the same patterns is_valid_number would; calling it alone halves
        # the regex work for the common Indonesian case.
        number_type = phonenumbers.number_type(number)
        if number_type == PhoneNumberType.UNKNOWN:
            return _invalid(raw, _reason_for_invalid_indonesian(number))
    else:
        region = phonenumbers.region_code_for_number(number)
        if not phonenumbers.is_valid_number(number):
            return _invalid(raw, _reason_from_possibility(number))
        if not allow_foreign:
            return _invalid(raw, InvalidReason.NOT_INDONESIAN)
        number_type = phonenumbers.number_type(number)

    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    line_type = _LINE_TYPES.get(number_type, "unknown")
    if number_type == PhoneNumberType.MOBILE:
        name = _carrier_name(e164, number)
        operator = normalise_operator(name) if region == REGION else Operator.UNKNOWN
        return NumberInfo(
            raw=raw,
            kind=NumberKind.MOBILE,
            e164=e164,
            region=region,
            operator=operator,
            carrier_name=name,
            line_type=line_type,
        )
    if number_type == PhoneNumberType.FIXED_LINE:
        if not compact.startswith(("0", "+", "62")) and len(compact) <= 8:
            # "3288 1818" is a Jakarta number missing its 021 far more often than a 0328 number
            # missing its 0; the two cannot be told apart, so ask rather than guess.
            # (Longer inputs such as "2132881818" are a spreadsheet's dropped leading zero.)
            return _invalid(raw, InvalidReason.MISSING_AREA_CODE)
        area: str | None = None
        if region == REGION:
            nsn = phonenumbers.national_significant_number(number)
            area_length = phonenumbers.length_of_geographical_area_code(number)
            area = "0" + nsn[:area_length] if area_length else None
        return NumberInfo(
            raw=raw,
            kind=NumberKind.FIXED,
            e164=e164,
            region=region,
            area_code=area,
            line_type=line_type,
        )
    return NumberInfo(raw=raw, kind=NumberKind.OTHER, e164=e164, region=region, line_type=line_type)


def _check_e164(e164: str) -> str:
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isdigit() or not digits.isascii():
        raise ValueError(f"not an E.164 number: {e164!r}")
    return digits


def to_national(e164: str) -> str:
    """``+6281234567890`` -> ``081234567890``. Only for Indonesian (+62) numbers."""
    digits = _check_e164(e164)
    if not digits.startswith("62"):
        raise ValueError(f"not an Indonesian number: {e164!r}")
    return "0" + digits[2:]


def mask(e164: str) -> str:
    """Hide the middle digits for personal-data protection: ``+6281234565678`` ->
    ``0812****5678``.

    Indonesian numbers are shown in national form; others keep their ``+`` and country digits
    masked the same way. Four digits stay visible at each end when the number has ten or more,
    two otherwise, so that at least a third of the digits is always hidden.
    """
    digits = _check_e164(e164)
    shown = to_national(e164) if digits.startswith("62") else "+" + digits
    prefix_len = 1 if shown.startswith("+") else 0
    body = shown[prefix_len:]
    keep = 4 if len(body) >= 10 else 2
    if len(body) <= 2 * keep:
        keep = max(0, len(body) // 3)
    hidden = len(body) - 2 * keep
    return shown[:prefix_len] + body[:keep] + "*" * hidden + body[len(body) - keep :]
