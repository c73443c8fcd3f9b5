"""What forces UCS-2, the suggested replacements, and the cost of each choice."""

from __future__ import annotations

import pytest

from warta.sms.analyse import REPLACEMENTS, analyse, replace_suggested, suggest_replacement
from warta.sms.gsm import is_gsm7
from warta.sms.segments import Encoding


@pytest.mark.parametrize(
    ("char", "replacement"),
    [
        ("’", "'"),
        ("‘", "'"),
        ("‛", "'"),
        ("′", "'"),
        ("“", '"'),
        ("”", '"'),
        ("„", '"'),
        ("″", '"'),
        ("–", "-"),
        ("—", "-"),
        ("…", "..."),
        ("\u00a0", " "),
        ("\u2009", " "),
        ("\u202f", " "),
        ("•", "-"),
        ("\u200b", ""),
        ("`", "'"),
    ],
)
def test_typographic_characters_have_gsm_replacements(char: str, replacement: str) -> None:
    assert suggest_replacement(char) == replacement


def test_accented_letters_lose_their_accent() -> None:
    assert suggest_replacement("á") == "a"
    assert suggest_replacement("ç") == "c"
    assert suggest_replacement("Ô") == "O"


@pytest.mark.parametrize("char", ["😀", "中", "ł", "①", "°"])
def test_characters_without_a_gsm_equivalent_have_no_replacement(char: str) -> None:
    assert suggest_replacement(char) is None


def test_every_table_entry_is_a_non_gsm_character_mapped_to_gsm() -> None:
    for char, replacement in REPLACEMENTS.items():
        assert not is_gsm7(char), char
        assert is_gsm7(replacement), char


def test_analyse_reports_each_forcing_character_with_positions() -> None:
    a = analyse("Jum’at “Bersih” – ’")
    assert a.encoding is Encoding.UCS2
    by_char = {f.char: f for f in a.forcing}
    assert by_char["’"].positions == (3, 18)
    assert by_char["’"].count == 2
    assert by_char["’"].replacement == "'"
    assert by_char["’"].codepoint == "U+2019"
    assert by_char["“"].positions == (7,)
    assert [f.char for f in a.forcing] == ["’", "“", "”", "–"]
    assert a.unreplaceable == ()


def test_gsm_text_has_nothing_to_report() -> None:
    a = analyse("Halo warga Jakarta")
    assert a.forcing == ()
    assert (a.segments_as_is, a.segments_replaced) == (1, 1)
    assert a.suggested_text == "Halo warga Jakarta"


def test_one_curly_apostrophe_in_150_characters_costs_three_segments_instead_of_one() -> None:
    text = "a" * 149 + "’"
    a = analyse(text)
    assert (a.segments_as_is, a.segments_replaced) == (3, 1)
    assert a.encoding_replaced is Encoding.GSM7
    assert a.replacing_helps
    assert a.suggested_text == "a" * 149 + "'"


def test_emoji_is_reported_as_unreplaceable_and_text_stays_ucs2() -> None:
    a = analyse("Selamat 😀 “pagi”")
    assert a.unreplaceable == ("😀",)
    assert a.encoding_replaced is Encoding.UCS2
    assert a.replaced_text == 'Selamat 😀 "pagi"'


def test_replacement_that_costs_more_segments_is_not_suggested() -> None:
    # 70 ellipses: one UCS-2 segment; 210 septets of "..." would be two.
    text = "…" * 70
    a = analyse(text)
    assert (a.segments_as_is, a.segments_replaced) == (1, 2)
    assert not a.replacing_helps
    assert a.suggested_text == text


def test_replace_suggested_replaces_only_what_has_a_suggestion() -> None:
    assert replace_suggested("“Banjir”\u00a0— cek… 😀") == '"Banjir" - cek... 😀'
    assert replace_suggested("ok") == "ok"
