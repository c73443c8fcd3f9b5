"""A bind's adaptive pace (``BindSlot.throttled`` / ``accepted``) against SMSCs that throttle
without telling their limit, in simulated time: pure, no sockets, no database.

The SMSC model counts accepted submit_sm per wall-clock second, as the Net::SMPP SMSC of
``bench/engine.py --throttled`` does and as many operators' SMSCs do; the engine would offer
up to 1,000 a second if nothing held it back."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from warta.gateway.engine._types import BindSlot
from warta.gateway.smppclient import TokenBucket

TICK = 0.001  # one offer at most per millisecond: an engine that could do 1,000/s


def bind_slot(window: int = 64) -> BindSlot:
    return BindSlot(conn_id=1, conn_name="op", slot=0, window=window, bind=SimpleNamespace(bound=True))


def run(limit: int, seconds: float, slot: BindSlot | None = None, start: float = 0.0) -> tuple[dict[int, int], int]:
    """Offer as fast as the slot allows for ``seconds``; the SMSC accepts ``limit`` per wall
    second and throttles the rest. Returns accepted per second and the throttled count."""
    bs = slot or bind_slot()
    accepted: dict[int, int] = {}
    throttled = 0
    for tick in range(int(seconds / TICK)):
        now = start + tick * TICK
        if not bs.take(1, now):
            continue
        bs.inflight -= 1  # the answer comes at once
        sec = int(now)
        if accepted.get(sec, 0) < limit:
            accepted[sec] = accepted.get(sec, 0) + 1
            bs.accepted(now)
        else:
            throttled += 1
            bs.throttled(now)
    return accepted, throttled


@pytest.mark.parametrize("limit", [150, 300])
def test_a_bind_settles_just_under_an_smsc_limit_it_was_not_told(limit: int) -> None:
    accepted, throttled = run(limit, 60.0)
    first_minute = sum(accepted.values())
    # The goal of issue 13 item 3 is 95% over the first minute. In this model the pace now
    # gives 99.6-99.8%; a fixed 15% cut per throttle (the pace before) gave 96.1-96.2%, as
    # bench/engine.py --throttled did (96%).
    assert first_minute >= 0.98 * limit * 60, (first_minute, throttled)
    # And it does not keep hammering the SMSC: a throttled answer is a wasted round trip.
    assert throttled < 0.05 * first_minute
    # After the start, no second falls far below the limit (the sawtooth stays shallow).
    assert min(accepted[s] for s in range(5, 59)) >= 0.9 * limit


def test_a_raised_limit_is_found_again_and_a_lowered_one_respected() -> None:
    bs = bind_slot()
    run(200, 20.0, bs)
    raised, _ = run(400, 20.0, bs, start=20.0)
    assert sum(raised[s] for s in range(30, 40)) >= 0.95 * 400 * 10
    lowered, throttled = run(100, 20.0, bs, start=40.0)
    assert sum(lowered[s] for s in range(45, 60)) >= 0.95 * 100 * 15
    assert bs.bucket is not None and bs.bucket.rate < 110


def test_a_cut_leaves_nothing_saved_up() -> None:
    bucket = TokenBucket(100, now=0.0)
    assert bucket.try_take(0.0)
    bucket.slow_down(50, now=0.0)
    assert not bucket.try_take(0.001)  # no fresh burst after "too fast"
    assert bucket.try_take(0.021)  # one token per 20 ms at the new rate
    assert (bucket.rate, bucket.burst) == (50.0, 5.0)


def test_the_first_cut_of_a_young_bind_is_deep_because_its_count_is_inflated() -> None:
    """Within its first seconds a bind's count of accepts covers the SMSC's burst allowance:
    the second cut takes at most 85% of the rate that was too fast, whatever the count says."""
    bs = bind_slot()
    for i in range(400):
        bs.accepted(i * 0.001)  # 400 accepted in 0.4 s: "800/s" by the count
    bs.throttled(0.4)
    assert bs.bucket is not None and bs.bucket.rate == pytest.approx(400 / 0.5 * 0.97)
    first = bs.bucket.rate
    bs.throttled(0.7)
    assert bs.bucket.rate <= first * 0.85
