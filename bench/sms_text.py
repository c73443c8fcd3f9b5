"""Throughput of the SMS text engine: segment plans and number normalisation per second.

Run: ``.venv/bin/python bench/sms_text.py``. Prints figures only; tests assert behaviour.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from warta.sms import analyse, measure, parse_number, plan
from warta.sms import numbers as numbers_module

TEXTS = [
    "Pemprov DKI: waspada genangan di Jakarta Utara. Info 021 3288 1818.",
    "Yth. warga, vaksinasi gratis Sabtu 08.00-12.00 di Puskesmas Kec. Menteng. " * 3,
    "Jum’at “Bersih” – mari kerja bakti… ",
    "Selamat Hari Raya Idul Fitri 1447 H 🙏 dari Gubernur DKI Jakarta.",
    "Harga {tiket} ~ €5 | [info] " * 10,
    "a" * 159,
]

PREFIXES = ["0812", "0813", "0856", "0817", "0831", "0896", "0881", "+62 852", "62877", "021"]


def rate(label: str, items: list[str], fn: Callable[[str], object], repeat: int = 1) -> None:
    start = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            fn(item)
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {len(items) * repeat / elapsed:>12,.0f} /s")


def main() -> None:
    texts = TEXTS * 500
    rate("measure (mixed texts)", texts, measure)
    rate("plan with payloads (mixed texts)", texts, lambda t: plan(t, reference=7))
    rate("analyse (mixed texts)", texts, analyse)

    rng = random.Random(1818)
    numbers = [
        f"{rng.choice(PREFIXES)} {rng.randrange(10**7, 10**8)}"
        if rng.random() < 0.95
        else rng.choice(["abc", "0812", "+1 650 253 0000", ""])
        for _ in range(50_000)
    ]
    numbers_module._carrier_cache.clear()
    rate("parse_number (95% valid, 10 prefixes)", numbers, parse_number)
    # Shapes that miss the fast path and go through phonenumbers.parse.
    slow = [n.replace(" ", "").removeprefix("0") for n in numbers[:20_000]]
    rate("parse_number (812… shape, via parse)", slow, parse_number)
    masked = [i.e164 for i in map(parse_number, numbers[:20_000]) if i.e164]
    rate("mask", masked, numbers_module.mask, repeat=5)


if __name__ == "__main__":
    main()
