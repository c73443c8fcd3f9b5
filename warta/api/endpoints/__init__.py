"""The API's routers, one module per area; ``register`` mounts them on the API."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, NinjaAPI, Path, Query, Schema
from ninja.pagination import PageNumberPagination

from ..api import ErrorOut

# Database ids are 64-bit signed: a larger number in a path, a cursor or a page is "not valid"
# (422 in the error shape), never a database error (500). Every id the API reads goes through these.
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
Cursor = Annotated[int, Query(ge=0, le=MAX_ID, description="next_after dari halaman sebelumnya")]


class BoundedPageNumberPagination(PageNumberPagination):
    """ninja's page numbers with an upper bound: ``?page=9223372036854775808`` is a 422."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE)

# Every refusal an endpoint can answer, in the one documented shape (``ErrorOut``).
ERRORS: dict[Any, Any] = {frozenset({400, 401, 403, 404, 409, 413, 422, 429}): ErrorOut}

# Documented on every creating POST: a retry with the same key returns the first answer.
IDEMPOTENCY: dict[str, Any] = {"parameters": [{
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": 255},
    "description": "Kunci unik per permintaan (mis. UUID). Permintaan ulang dengan kunci yang sama "
                   "mengembalikan jawaban pertama dan tidak membuat apa pun lagi (disimpan 24 jam).",
}]}


def register(api: NinjaAPI) -> None:
    from . import blasts, contacts, inbox, insights, materi, reference

    for module in (materi, blasts, contacts, inbox, reference, insights):
        api.add_router("/", module.router)
