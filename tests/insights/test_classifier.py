"""The classifier: SMS Indonesian, topics, urgency, places, bad input, the CLI contract."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from warta.insights import engine
from warta.insights.classifier import Classifier, read_lexicon_file
from warta.insights.textnorm import Normaliser

pytestmark = pytest.mark.django_db


@pytest.fixture
def lexicon_only() -> Classifier:
    engine.reset()
    return engine.build(None)


def test_normaliser_expands_slang_squeezes_shouting_and_repeats():
    norm = Normaliser({"sampah": 5, "menumpuk": 3, "jalan": 9, "banjir": 9, "di": 50, "lewat": 2})
    assert norm("TLG yg DIJALAN gak bs lewat BANJIRRR") == ["tolong", "yang", "di", "jalan", "tidak", "bisa",
                                                           "lewat", "banjir"]
    assert norm("sampahmenumpuk") == ["sampah", "menumpuk"]
    assert norm("sampha") == ["sampah"]  # one typo towards a known word


def test_flood_in_a_named_kelurahan_is_banjir_urgent_and_placed(lexicon_only):
    r = lexicon_only.classify("TLG JLN DPN RMH SY BANJIR SDH SEDADA!!! kel. kp melayu")
    assert (r.topic, r.urgent, r.sentiment) == ("banjir", True, "negatif")
    assert r.place == {"code": "31.75.03.1001", "name": "Kampung Melayu", "level": "kelurahan"}
    assert "banjir" in r.why and "sedada" in r.why


def test_jatinegara_alone_is_the_kecamatan(lexicon_only):
    r = lexicon_only.classify("sampah numpuk di jatinegara")
    assert r.place is not None and r.place["level"] == "kecamatan" and r.place["name"] == "Jatinegara"


@pytest.mark.parametrize("text", ["", "   ", "😀🙏🔥", "0812345678 999", "Hello, I would like to ask about the weather",
                                  "x" * 2000, "\x00\x01\x02", "asdkjh qwpeoiu zxcmnb"])
def test_bad_input_is_lainnya_netral_not_urgent_without_place(lexicon_only, text):
    r = lexicon_only.classify(text)
    assert (r.topic, r.sentiment, r.urgent, r.place) == ("lainnya", "netral", False, None)


def test_binary_messages_are_not_read(lexicon_only):
    r = lexicon_only.classify("banjir sedada", binary=True)
    assert (r.topic, r.urgent) == ("lainnya", False)


def test_a_retired_topic_is_never_predicted_and_a_merged_one_counts_as_its_target():
    rows = read_lexicon_file()
    regions = engine.region_rows()
    topics = [(c, False, None) for c in {t for k, t, *_ in rows if k == "topic"} | {"lainnya"}]
    topics = [(c, c == "pungli", None) for c, _r, _m in topics]
    clf = Classifier(rows, regions, None, topics=topics)
    assert clf.classify("ada pungli di kantor kelurahan").topic != "pungli"
    merged = [(c, c == "air", "lingkungan" if c == "air" else None) for c, _r, _m in topics]
    assert Classifier(rows, regions, None, topics=merged).classify("air pam mati tiga hari").topic == "lingkungan"


def test_cli_classify_json_is_one_array_in_input_order(capsys, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("banjir sedada di kel. kp melayu\nterima kasih petugas sampah\n\n😀\n", encoding="utf-8")
    call_command("insights", "classify", "--json", "--file", str(path))
    out = json.loads(capsys.readouterr().out)
    assert [o["text"] for o in out] == ["banjir sedada di kel. kp melayu", "terima kasih petugas sampah", "", "😀"]
    assert set(out[0]) == {"text", "topic", "sentiment", "urgent", "place", "why"}
    assert out[0]["topic"] == "banjir" and out[0]["urgent"] is True and out[0]["place"]["code"] == "31.75.03.1001"
    assert out[1]["topic"] == "apresiasi" and out[1]["sentiment"] == "positif"
    assert out[2] == {"text": "", "topic": "lainnya", "sentiment": "netral", "urgent": False, "place": None, "why": []}


def test_cli_evaluate_meets_the_goals_on_the_held_out_set(capsys):
    call_command("insights", "evaluate", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["macro_f1"] >= 0.85
    assert report["urgent"]["recall"] >= 0.95
    assert report["place"]["kecamatan_accuracy"] >= 0.90
    assert "banjir" in report["confusion"] and "precision" in report["topics"]["banjir"]


def test_a_sentiment_phrase_does_not_hide_the_topic_word_inside_it(lexicon_only):
    # "belum diangkut" is a negative phrase; "diangkut" inside it still votes for sampah.
    r = lexicon_only.classify("Sampah di pinggir Kali Ciliwung dekat Bukit Duri belum diangkut seminggu, bau sekali.")
    assert r.topic == "sampah" and "diangkut" in r.why and r.sentiment == "negatif"
    assert r.place is not None and r.place["name"] == "Bukit Duri"
