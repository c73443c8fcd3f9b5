"""A tiny Prometheus text exposition registry.

Theory of operation: apps register collector functions that return samples read from counter or
rollup tables (never ``COUNT(*)`` over millions of rows); ``/metrics`` renders them. We do not use
prometheus_client's process-local registry because web workers are separate processes: the
database is the one place the numbers agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    help: str = ""
    kind: str = "gauge"


Collector = Callable[[], Iterable[Sample]]
_collectors: list[Collector] = []


def register(collector: Collector) -> Collector:
    if collector not in _collectors:
        _collectors.append(collector)
    return collector


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render() -> str:
    lines: list[str] = []
    seen: set[str] = set()
    for collector in _collectors:
        for sample in collector():
            if sample.name not in seen:
                seen.add(sample.name)
                if sample.help:
                    lines.append(f"# HELP {sample.name} {sample.help}")
                lines.append(f"# TYPE {sample.name} {sample.kind}")
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
            lines.append(f"{sample.name}{{{labels}}} {sample.value}" if labels else f"{sample.name} {sample.value}")
    return "\n".join(lines) + "\n"
