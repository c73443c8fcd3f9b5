"""Log filter that keeps secrets out of logs.

Connection URLs (``smpp://user:password@host``), ``password=…`` pairs and bearer tokens are masked
before any handler sees the record, so a traceback or a debug line cannot leak them.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)([^\s&,;]+)"), r"\1\2***"),
    (re.compile(r"(?i)(authorization:\s*\w+\s+)\S+"), r"\1***"),
]


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
