"""Content-Security-Policy: the browser runs no script Warta did not ship as a file.

Theory of operation: ``script-src 'self'`` with no ``'unsafe-inline'`` and no ``'unsafe-eval'``, so
an injected ``<script>``, ``onclick=`` or ``javascript:`` URL does nothing even if an escaping bug
let it into a page; pages use the two static scripts (htmx, warta.js) and data attributes
(``data-autosubmit``) instead of inline handlers, and htmx is configured not to eval
(``allowEval: false``, base.html). Styles: ``'self'`` plus the SHA-256 of each inline ``<style>``
block and ``style="…"`` attribute found in Warta's own templates at start-up (``'unsafe-hashes'``
lets exactly those attribute values through): what an app ships works, anything injected does not.
A template whose inline style holds a ``{{ variable }}`` would change per page and is not
allowed; use a class. ``frame-ancestors 'none'``, ``base-uri 'none'``, ``form-action 'self'`` and
``object-src 'none'`` close the remaining classic holes; ``img-src`` allows ``data:`` for Pico's
inline SVG icons.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse

_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTR = re.compile(r"""\sstyle=(?:"([^"]*)"|'([^']*)')""", re.I)


def template_dirs() -> list[Path]:
    from django.apps import apps
    from django.conf import settings

    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [Path(app.path) / "templates" for app in apps.get_app_configs() if app.name.startswith("warta")]
    return [d for d in dirs if d.is_dir()]


def inline_styles(dirs: Iterable[Path]) -> set[str]:
    found: set[str] = set()
    for folder in dirs:
        for path in folder.rglob("*.html"):
            text = path.read_text(encoding="utf-8", errors="replace")
            found.update(m.group(1) for m in _STYLE_BLOCK.finditer(text) if "{{" not in m.group(1))
            found.update(m.group(1) if m.group(1) is not None else m.group(2)
                         for m in _STYLE_ATTR.finditer(text))
    return {s for s in found if "{{" not in s and "{%" not in s}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=1)
def policy() -> str:
    styles = " ".join(sorted(_sha256(s) for s in inline_styles(template_dirs())))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' 'unsafe-hashes' {styles}".rstrip(),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy())
        return response
