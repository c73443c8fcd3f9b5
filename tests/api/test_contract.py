"""The API's contract, fuzzed by schemathesis from its own OpenAPI document.

Every generated request (valid and invalid bodies, query strings and path ids) is sent through
the WSGI app with a key of BPBD that holds every scope, and again with a key of Dinas Kesehatan
(the wrong unit for BPBD's objects): no answer may be a 5xx, and every answer must be one the
document lists, in the shape it documents. Examples per operation are bounded (``EXAMPLES``) so
the run stays short in ``make test``; Hypothesis' database keeps failures it found for next time.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from warta.api.api import api

EXAMPLES = 8

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def world(django_db_blocker: Any) -> dict[str, str]:
    """BPBD's objects (a materi, a ticket, a draft and blast with recipients) and two keys."""
    from tests.api.test_api import issue
    from tests.api.test_blasts import _blast_with
    from tests.blasts.helpers import create_materi, create_sender
    from tests.conftest import create_unit, create_user
    from tests.inbox.conftest import create_ticket
    from warta.blasts.models import Draft
    from warta.inbox.services import assign

    bpbd, dinkes, kominfo = create_unit("bpbd", "BPBD"), create_unit("dinkes", "Dinkes"), create_unit("kominfo")
    liaison, operator = create_user("liaison", bpbd), create_user("operator", kominfo)
    m = create_materi(liaison)
    blast = _blast_with(30, {3: "delivered"})
    Draft.objects.create(materi=m, sender=create_sender("GubDKI"), author=operator, title="t", text="x",
                         state="released", blast=blast)
    assign(create_ticket("Banjir"), actor=operator, unit=bpbd)
    return {"bpbd": issue(bpbd, scopes=["all"], rate=0)[1],
            "dinkes": issue(dinkes, name="dinkes-sim", scopes=["all"], rate=0)[1]}


def _run(case: Any, token: str) -> None:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from warta.wsgi import application

    # As Django's test client does: the test's transaction holds the connection, so the end of a
    # request must not close it (PostgreSQL would lose every row the fixture made).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        case.call_and_validate(app=application, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@pytest.mark.django_db
def test_contract_with_the_units_own_key(case: Any, world: dict[str, str]) -> None:
    _run(case, world["bpbd"])


@schema.parametrize()
@settings(max_examples=EXAMPLES // 2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@pytest.mark.django_db
def test_contract_with_another_units_key(case: Any, world: dict[str, str]) -> None:
    _run(case, world["dinkes"])
