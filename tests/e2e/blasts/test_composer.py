"""The composer in Chromium: counters follow a paste (issue 12 item 5), the emergency checkbox
takes its own clicks (item 9)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.blasts.test_blast_sop import sign_in


@pytest.fixture
def composer_world(actors: dict[str, Any], transactional_db: Any) -> dict[str, Any]:
    from tests.blasts.helpers import create_group_with, create_sender

    create_sender("HumasDKI")
    group = create_group_with(2)
    return {"group": group}


def test_counters_follow_a_paste(browser: Any, live_server: Any, composer_world: dict[str, Any]) -> None:
    op = sign_in(browser, live_server, "operator")
    op.goto("/blast/naskah/baru/")
    # A paste is an ``input`` event with no key pressed; fill() produces exactly that.
    op.fill("textarea[name=text]", "Waspada banjir € di bantaran Ciliwung")
    op.wait_for_function("document.querySelector('#c-chars').innerText === '37'")
    assert op.inner_text("#c-encoding") == "GSM-7"
    op.fill("textarea[name=text]", "Waspada banjir ’")
    op.wait_for_function("document.querySelector('#c-encoding').innerText === 'UCS-2'")
    assert op.inner_text("#c-chars") == "16"


def test_the_emergency_help_text_does_not_cover_its_checkbox(browser: Any, live_server: Any,
                                                              composer_world: dict[str, Any]) -> None:
    op = sign_in(browser, live_server, "operator")
    op.goto("/blast/naskah/baru/")
    box = op.locator("#id_emergency")
    box.scroll_into_view_if_needed()
    b = box.bounding_box()
    assert b is not None
    # Every part of the checkbox answers a click itself, not the help text below it.
    for fx, fy in ((0.5, 0.5), (0.2, 0.85), (0.8, 0.85), (0.5, 0.95)):
        hit = op.evaluate("([x, y]) => document.elementFromPoint(x, y)?.id",
                          [b["x"] + b["width"] * fx, b["y"] + b["height"] * fy])
        assert hit == "id_emergency", (fx, fy, hit)
    help_box = op.locator("label:has(#id_emergency) small, #emergency-help").bounding_box()
    assert help_box is not None and help_box["y"] >= b["y"] + b["height"]
    box.click(position={"x": b["width"] / 2, "y": b["height"] - 2}, timeout=3000)
    assert box.is_checked()
