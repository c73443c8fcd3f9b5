"""Keeping secrets and personal data out of logs, the web server's access log included.

Connection URLs (``smpp://user:password@host``), ``password=…`` pairs and bearer tokens are masked
before any handler sees the record, so a traceback or a debug line cannot leak them. URLs are
masked too, wherever they appear (Django's "Not Found: /…" lines, gunicorn's access log through
``RedactingAccessLogger``): the values of query parameters that carry secrets or personal data
(``token``, ``key``, ``q`` — a search for a number or a name — ``nomor``, ``to`` …), the uid and
token of a password-reset link, and anything shaped like an Indonesian mobile number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS = [
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)([^\s&,;]+)"), r"\1\2***"),
    (re.compile(r"(?i)(authorization:\s*\w+\s+)\S+"), r"\1***"),
    # Query parameters whose value is a secret or personal data, also inside an URL-encoded
    # ?next=… (where "?", "&" and "=" are %3F, %26 and %3D, or %253F… when encoded twice).
    (re.compile(r"(?i)((?:[?&;]|%(?:25)?3F|%(?:25)?26)(?:q|search|cari|nomor|number|phone|ponsel|hp|to|from|"
                r"msisdn|address|alamat|email|surel|token|key|api_?key|secret|password|code|kode|otp|"
                r"signature|sig|uid)(?:=|%(?:25)?3D))(?:(?!%(?:25)?26)[^&#\s\"'])*"),
     r"\1***"),
    # Password-reset links: /akun/atur-ulang/<uid>/<token>/.
    (re.compile(r"(/akun/atur-ulang/)[^/\s?\"']+/[^/\s?\"']+/"), r"\1***/***/"),
    # Indonesian mobile numbers (+62 8…, 62 8…, 08…), also URL-encoded: the middle digits go.
    (re.compile(r"(?<!\d)((?:\+|%2B|%252B)?(?:62|0)8\d)\d{5,10}(\d{3})(?!\d)"), r"\1****\2"),
]
_SECRET_HEADERS = {"{authorization}i", "{cookie}i", "{x-csrftoken}i", "{set-cookie}o",
                   "{http_authorization}e", "{http_cookie}e", "{http_x_csrftoken}e"}


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logged as is rather than lost
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency; this keeps the module importable
    _GunicornLogger = object  # type: ignore[assignment,misc]


class RedactingAccessLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger (``warta web`` passes it as ``--logger-class``) whose access-log atoms —
    request line, path, query, referrer, headers — go through ``redact_text`` first."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in _SECRET_HEADERS:
                atoms[key] = "***"
            elif isinstance(value, str):
                atoms[key] = redact_text(value)
        return atoms
