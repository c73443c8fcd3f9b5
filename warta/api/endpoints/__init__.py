"""The API's routers, one module per area; ``register`` mounts them on the API."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import NinjaAPI, Path, Query

from ..api import ErrorOut

# Database ids are 64-bit: a larger number in a path or a cursor is "not valid" (422), never a 500.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
After = Annotated[int, Query(ge=0, le=MAX_ID, description="next_after dari halaman sebelumnya")]

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
