"""Routing rules: which unit a ticket goes to, by a word in the message, its topic or its region.

Rules are checked in priority order and the first match wins. ``compile_rules`` turns the table
into plain tuples once per ingest batch so matching 2,000 messages costs no queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: int
    kind: str
    pattern: str
    regex: re.Pattern[str] | None
    unit_id: int


def compile_rules(rules: Any = None) -> list[CompiledRule]:
    from .models import RoutingRule

    if rules is None:
        rules = RoutingRule.objects.filter(is_active=True, unit__is_active=True).order_by("priority", "id")
    compiled = []
    for rule in rules:
        pattern = rule.pattern.strip()
        if not pattern:
            continue
        regex = None
        if rule.kind in ("keyword", "region"):
            # Whole words only: "banjir" must not match "banjiri", a region "Gambir" not "Gambiran".
            regex = re.compile(r"(?<!\w)" + re.escape(pattern) + r"(?!\w)", re.IGNORECASE)
        compiled.append(CompiledRule(rule.pk, rule.kind, pattern.lower(), regex, rule.unit_id))
    return compiled


def route(rules: list[CompiledRule], *, text: str = "", topic: str = "", region: str = "") -> CompiledRule | None:
    """The first rule that matches the message text, the ticket's topic or its region."""
    for rule in rules:
        if rule.kind == "keyword" and rule.regex is not None and rule.regex.search(text):
            return rule
        if rule.kind == "topic" and topic and topic.lower() == rule.pattern:
            return rule
        if rule.kind == "region" and rule.regex is not None and (
            (region and rule.regex.search(region)) or rule.regex.search(text)
        ):
            return rule
    return None
