"""Read-only reference data: topics, regions, sender IDs with their policies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_api import bearer, issue
from tests.blasts.helpers import create_sender

pytestmark = pytest.mark.django_db


def test_any_key_reads_topics_regions_and_senders_with_their_chains(client: Any, units: dict[str, Any]) -> None:
    _t, value = issue(units["bpbd"], scopes=[])
    topics = client.get("/api/v1/topics", **bearer(value)).json()
    assert any(t["code"] == "banjir" and t["label"].startswith("Banjir") for t in topics)
    cities = client.get("/api/v1/regions?level=kota_kabupaten", **bearer(value)).json()
    assert any(r["code"] == "31.71" for r in cities) and all(r["parent"] == "31" for r in cities)
    kec = client.get("/api/v1/regions?parent=31.71", **bearer(value)).json()
    assert kec and all(r["level"] == "kecamatan" for r in kec)
    create_sender("GubDKI")
    gone = create_sender("Lama")
    gone.is_active = False
    gone.save()
    senders = client.get("/api/v1/senders", **bearer(value)).json()
    assert [s["name"] for s in senders] == ["GubDKI"]
    assert senders[0]["approval_chain"] and {s["role"] for s in senders[0]["approval_chain"]} <= {"verifier", "approver"}
    assert "BERHENTI" in senders[0]["opt_out_words"]
