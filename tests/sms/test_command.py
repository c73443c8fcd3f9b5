"""``warta sms inspect`` and ``warta sms number`` through call_command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args: str) -> str:
    out = StringIO()
    call_command("sms", *args, stdout=out)
    return out.getvalue()


def test_inspect_reports_gsm_text_in_indonesian() -> None:
    out = run("inspect", "Halo warga Jakarta")
    assert "Pengodean: GSM-7" in out
    assert "Karakter: 18" in out
    assert "Segmen: 1" in out
    assert "memaksa UCS-2" not in out


def test_inspect_names_the_forcing_character_and_both_costs() -> None:
    out = run("inspect", "a" * 149 + "’")
    assert "Pengodean: UCS-2" in out
    assert "U+2019" in out
    assert 'ganti dengan "\'"' in out
    assert "Biaya apa adanya: 3 segmen (UCS-2)" in out
    assert "Biaya setelah diganti: 1 segmen (GSM-7)" in out


def test_inspect_json_lists_parts_and_forcing_characters() -> None:
    data = json.loads(run("inspect", "--json", "a" * 152 + "€" + "😀"))
    assert data["encoding"] == "ucs2"
    assert data["segments"] == 3
    assert "".join(p["text"] for p in data["parts"]) == "a" * 152 + "€" + "😀"
    assert data["forcing"] == [
        {
            "char": "😀",
            "codepoint": "U+1F600",
            "name": "GRINNING FACE",
            "positions": [153],
            "count": 1,
            "replacement": None,
        }
    ]
    assert data["cost"]["replaced"]["segments"] == 3
    assert data["cost"]["replacing_helps"] is False


def test_number_prints_e164_kind_and_operator() -> None:
    out = run("number", "0812 3456 7890", "(021) 3288 1818", "0831-1234-5678")
    assert "+6281234567890 (seluler, Telkomsel)" in out
    assert "+622132881818 (telepon tetap, kode area 021, Jakarta)" in out
    assert "+6283112345678 (seluler, XL Axiata)" in out


def test_number_with_an_invalid_entry_prints_the_reason_and_exits_1() -> None:
    out = StringIO()
    with pytest.raises(CommandError) as err:
        call_command("sms", "number", "0812 3456 7890", "abc", stdout=out)
    assert err.value.returncode == 1
    assert "abc: tidak valid (not_a_number)" in out.getvalue()
    assert "+6281234567890" in out.getvalue()


def test_number_json_uses_english_keys_and_reason_codes() -> None:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("sms", "number", "--json", "0817 1234 5678", "+1 650 253 0000", stdout=out)
    data = json.loads(out.getvalue())
    assert data[0]["e164"] == "+6281712345678"
    assert data[0]["operator"] == "xl"
    assert data[0]["kind"] == "mobile"
    assert data[1]["valid"] is False
    assert data[1]["reason"] == "not_indonesian"


def test_number_accepts_foreign_numbers_when_asked() -> None:
    data = json.loads(run("number", "--json", "--allow-foreign", "+44 7911 123456"))
    assert data[0]["valid"] is True
    assert data[0]["e164"] == "+447911123456"
