"""Indonesian numbers: E.164, kind, operator, invalid reasons, masking."""

from __future__ import annotations

import importlib
import pkgutil

import phonenumbers.carrierdata
import pytest

from warta.sms.numbers import (
    REASON_MESSAGES,
    InvalidReason,
    NumberKind,
    Operator,
    mask,
    normalise_operator,
    parse_number,
    to_national,
)


@pytest.mark.parametrize(
    "raw",
    [
        "0812 3456 7890",
        "+62 812-3456-7890",
        "6281234567890",
        "81234567890",
        "0062 812 3456 7890",
        "+62 (0) 812 3456 7890",
        "0812.3456.7890",
        "\u00a00812 3456 7890 ",
    ],
)
def test_written_forms_of_one_mobile_number_normalise_to_the_same_e164(raw: str) -> None:
    info = parse_number(raw)
    assert info.e164 == "+6281234567890"
    assert info.kind is NumberKind.MOBILE
    assert info.operator is Operator.TELKOMSEL
    assert info.national == "081234567890"
    assert info.reason is None


@pytest.mark.parametrize(
    ("raw", "operator", "carrier_name"),
    [
        ("0811 1234 5678", Operator.TELKOMSEL, "Telkomsel"),
        ("0852 1234 5678", Operator.TELKOMSEL, "Telkomsel"),
        ("0856 1234 5678", Operator.INDOSAT, "Indosat Ooredoo Hutchison"),
        ("0815 1234 5678", Operator.INDOSAT, "Indosat Ooredoo Hutchison"),
        ("0817 1234 5678", Operator.XL, "XL"),
        ("0877 1234 5678", Operator.XL, "XL"),
        ("0831 1234 5678", Operator.XL, "AXIS"),
        ("0838 1234 5678", Operator.XL, "AXIS"),
        # Tri's prefixes belong to Indosat Ooredoo Hutchison since the 2022 merger.
        ("0896 1234 5678", Operator.INDOSAT, "Indosat Ooredoo Hutchison"),
        ("0881 1234 5678", Operator.SMARTFREN, "Smartfren"),
        ("0889 1234 5678", Operator.SMARTFREN, "Smartfren"),
    ],
)
def test_mobile_operator_comes_from_carrier_data(
    raw: str, operator: Operator, carrier_name: str
) -> None:
    info = parse_number(raw)
    assert info.kind is NumberKind.MOBILE
    assert info.operator is operator
    assert info.carrier_name == carrier_name


def test_valid_mobile_prefix_without_carrier_data_is_unknown_not_guessed() -> None:
    info = parse_number("0828 1234 5678")
    assert info.kind is NumberKind.MOBILE
    assert info.carrier_name == ""
    assert info.operator is Operator.UNKNOWN


@pytest.mark.parametrize(
    ("name", "operator"),
    [
        ("XL", Operator.XL),
        ("AXIS", Operator.XL),
        ("3", Operator.TRI),
        ("Tri", Operator.TRI),
        (" telkomsel ", Operator.TELKOMSEL),
        ("Byru", Operator.UNKNOWN),
        ("", Operator.UNKNOWN),
    ],
)
def test_carrier_names_normalise_to_stable_codes(name: str, operator: Operator) -> None:
    assert normalise_operator(name) is operator


def test_every_indonesian_carrier_name_in_phonenumbers_data_maps_to_an_operator() -> None:
    # Fails when a phonenumbers upgrade renames an operator, instead of silently going unknown.
    names: set[str] = set()
    for module in pkgutil.iter_modules(phonenumbers.carrierdata.__path__):
        if module.name.startswith("data"):
            data = importlib.import_module(f"phonenumbers.carrierdata.{module.name}").data
            names |= {v["en"] for k, v in data.items() if k.startswith("62") and "en" in v}
    assert names, "no Indonesian carrier data found"
    assert {n for n in names if normalise_operator(n) is Operator.UNKNOWN} == set()


@pytest.mark.parametrize("raw", ["(021) 3288 1818", "021-32881818", "+62 21 3288 1818"])
def test_jakarta_fixed_line_is_fixed_with_area_021(raw: str) -> None:
    info = parse_number(raw)
    assert info.e164 == "+622132881818"
    assert info.kind is NumberKind.FIXED
    assert info.area_code == "021"
    assert info.is_jakarta
    assert info.operator is Operator.UNKNOWN


def test_fixed_line_outside_jakarta_has_its_own_area_code() -> None:
    info = parse_number("(061) 1234567")
    assert info.kind is NumberKind.FIXED
    assert info.area_code == "061"
    assert not info.is_jakarta


def test_toll_free_number_is_valid_but_other() -> None:
    info = parse_number("0800 1234567")
    assert info.kind is NumberKind.OTHER
    assert info.line_type == "toll_free"
    assert info.is_valid


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", InvalidReason.EMPTY),
        ("   ", InvalidReason.EMPTY),
        ("abc", InvalidReason.NOT_A_NUMBER),
        ("0812-ABC-DEF", InvalidReason.NOT_A_NUMBER),
        ("0812 3456 7890 ext 1", InvalidReason.NOT_A_NUMBER),
        ("+62+812345678", InvalidReason.NOT_A_NUMBER),
        ("08123", InvalidReason.TOO_SHORT),
        ("0811 1234", InvalidReason.TOO_SHORT),
        ("021 1234", InvalidReason.TOO_SHORT),
        ("12", InvalidReason.TOO_SHORT),
        ("081234567890123", InvalidReason.TOO_LONG),
        ("+999 123456", InvalidReason.INVALID_COUNTRY_CODE),
        ("+1 650 253 0000", InvalidReason.NOT_INDONESIAN),
        ("+44 7911 123456", InvalidReason.NOT_INDONESIAN),
        ("0840 1234 5678", InvalidReason.INVALID_PREFIX),
        ("+62 1234 5678", InvalidReason.INVALID_PREFIX),
        ("+62 999 12345", InvalidReason.INVALID_NUMBER),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: InvalidReason) -> None:
    info = parse_number(raw)
    assert info.kind is NumberKind.INVALID
    assert info.reason is reason
    assert info.e164 is None
    assert not info.is_valid


def test_foreign_numbers_pass_when_allowed() -> None:
    info = parse_number("+44 7911 123456", allow_foreign=True)
    assert info.kind is NumberKind.MOBILE
    assert info.e164 == "+447911123456"
    assert info.region == "GG"
    assert info.operator is Operator.UNKNOWN
    assert info.national is None


def test_every_reason_has_an_indonesian_and_english_message() -> None:
    assert set(REASON_MESSAGES) == set(InvalidReason)
    for reason in InvalidReason:
        assert reason.message_id and reason.message_en
        assert reason.message_id != reason.message_en


def test_to_national_replaces_62_with_0() -> None:
    assert to_national("+6281234567890") == "081234567890"
    assert to_national("+622132881818") == "02132881818"


@pytest.mark.parametrize("value", ["081234567890", "+44791112345", "+62abc", ""])
def test_to_national_refuses_non_indonesian_or_malformed_values(value: str) -> None:
    with pytest.raises(ValueError):
        to_national(value)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+6281234565678", "0812****5678"),
        ("+62812345678901", "0812*****8901"),
        ("+622132881818", "0213***1818"),
        ("+621500123", "01****23"),
        ("+447911123456", "+4479****3456"),
    ],
)
def test_mask_hides_the_middle_digits(e164: str, masked: str) -> None:
    assert mask(e164) == masked


def test_a_local_landline_without_area_code_is_refused_not_guessed() -> None:
    from warta.sms.numbers import InvalidReason, NumberKind, parse_number

    info = parse_number("3288 1818")
    assert info.kind == NumberKind.INVALID and info.reason == InvalidReason.MISSING_AREA_CODE
    assert "kode area" in info.reason.message_id
    # A spreadsheet's dropped leading zero keeps the area code, so it is still read.
    assert parse_number("2132881818").e164 == "+622132881818"
    assert parse_number("0328 81818").kind == NumberKind.FIXED
