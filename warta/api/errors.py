"""The one error shape of the API, in Indonesian and English.

Theory of operation: every refusal is ``{"code", "message", "message_en", "field"}`` (plus
``errors``, a list of the same per field, when input is invalid). ``message`` is Indonesian,
``message_en`` English, whatever ``Accept-Language`` says, so that a unit's system can log the
one and show the other. Messages are therefore kept as *lazy* translations (``gettext_lazy``)
with their parameters and rendered twice, under each language, when the response is written.
A message that reaches us already rendered (from another app's exception) is looked up in the
English catalogue as it is; when it carried parameters the lookup misses and both fields hold the
Indonesian text — still correct, only untranslated.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

# A fault of Warta's (status 500, code ``server_error``): still this JSON shape, never an HTML page.
SERVER_ERROR = gettext_lazy("Terjadi kesalahan di server Warta. Coba lagi nanti; bila berulang, hubungi "
                            "administrator Warta.")


class ApiError(Exception):
    """A refusal answered with ``status`` and the documented shape."""

    def __init__(self, status: int, code: str, message: Any, params: dict[str, Any] | None = None,
                 field: str | None = None, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(str(message))
        self.status, self.code, self.msg, self.params = status, code, message, params or {}
        self.field, self.errors, self.headers = field, errors, headers or {}

    @property
    def message(self) -> str:
        return render(self.msg, self.params, "id")


def render(message: Any, params: dict[str, Any] | None, language: str) -> str:
    with translation.override(language):
        text = str(message)
        if isinstance(message, str) and language != "id":
            text = gettext(message)  # an already-rendered Indonesian msgid from another app
        return text % params if params else text


def body(code: str, message: Any, params: dict[str, Any] | None = None, field: str | None = None,
         errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": render(message, params, "id"),
                           "message_en": render(message, params, "en"), "field": field}
    if errors is not None:
        out["errors"] = errors
    return out


def field_error(field: str, message: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"field": field, "message": render(message, params, "id"), "message_en": render(message, params, "en")}
