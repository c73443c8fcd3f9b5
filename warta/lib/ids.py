"""Ids from the outside world (query strings, form fields) that cannot crash a query.

A database id is a positive 64-bit integer. ``int("'")`` raises ValueError and an id past
2**63-1 overflows SQLite's integer (OverflowError) or PostgreSQL's bigint (DataError); Django's
``get_object_or_404`` and model choice fields let both through as a 500. Here they are "not
valid" (no object), as any other unknown id.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

MAX_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    """The id in ``value``, or None when it is not a positive 64-bit integer."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField (integer primary keys) that refuses out-of-range ids as invalid
    choices instead of passing them to the database."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if parse_id(pk) is None:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                      params={"pk": str(pk)[:40]})
        return super()._check_values(value)
