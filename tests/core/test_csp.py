"""The Content-Security-Policy header: strict for scripts, shipped inline styles by hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warta.core.csp import _sha256, inline_styles


def test_every_page_carries_a_policy_without_inline_script(client: Any, db: Any) -> None:
    policy = client.get("/akun/masuk/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_has_an_inline_handler_or_script() -> None:
    import re

    from django.conf import settings

    roots = [Path(settings.BASE_DIR)]
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    for root in roots:
        for path in root.rglob("templates/**/*.html"):
            text = path.read_text()
            assert not handler.search(text), path
            assert not script.search(text), path


def test_inline_styles_in_templates_are_allowed_by_hash(tmp_path: Path, client: Any, db: Any) -> None:
    (tmp_path / "x.html").write_text('<style>.a{color:red}</style><p style="display:inline">{{ v }}</p>'
                                     '<p style="width:{{ w }}px"></p>')
    assert inline_styles([tmp_path]) == {".a{color:red}", "display:inline"}
    assert _sha256("display:inline") in client.get("/akun/masuk/")["Content-Security-Policy"]


def test_no_template_has_an_inline_style_the_policy_would_refuse() -> None:
    # An inline style holding a template variable or tag changes per page, so its hash is not in
    # the policy and the browser drops it (the dashboard's heat bars rendered without width).
    import re

    from django.conf import settings

    dynamic = re.compile(r"""\sstyle=(?:"[^"]*\{[{%][^"]*"|'[^']*\{[{%][^']*')""", re.I)
    block = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
    for path in Path(settings.BASE_DIR).rglob("templates/**/*.html"):
        if path.name == "pdf.html":  # rendered to PDF on the server, never served under the policy
            continue
        text = path.read_text()
        assert not dynamic.search(text), path
        assert not any("{{" in b or "{%" in b for b in block.findall(text)), path
