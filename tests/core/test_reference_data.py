"""Reference data loaded by migrations (regions, keywords) is there in every test, even right
after a transactional test flushed the database."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_runs_first(db: Any) -> None:
    from warta.contacts.models import Region

    assert Region.objects.filter(level="kelurahan").count() == 267


def test_regions_and_keywords_are_still_there_afterwards(db: Any) -> None:
    from warta.contacts.models import Region
    from warta.inbox.models import Keyword

    assert Region.objects.filter(level="kelurahan").count() == 267
    assert Region.objects.filter(level="kecamatan").count() == 44
    assert set(Keyword.objects.values_list("word", flat=True)) >= {"BERHENTI", "STOP", "DAFTAR", "STATUS", "INFO"}
