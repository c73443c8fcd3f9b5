"""One registry of named hooks, for the seams through which an app above fills what an app below
asks (``warta/contacts/hooks.py``, ``warta/gateway/hooks.py``).

A hook is a name with a list of provider functions; a "single" hook keeps only the last one
registered (one answer, e.g. the inbox storing citizens' messages), the others call every
provider and combine the answers as the owning module says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Hooks:
    def __init__(self, area: str, names: Iterable[str], single: Iterable[str] = ()) -> None:
        self.area = area
        self.single = frozenset(single)
        #: name → provider functions, in registration order.
        self.providers: dict[str, list[Callable[..., Any]]] = {name: [] for name in names}

    def register(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        if name not in self.providers:
            raise ValueError(f"unknown {self.area} hook {name!r}; known: {', '.join(self.providers)}")
        if name in self.single:
            self.providers[name] = [function]
        elif function not in self.providers[name]:
            self.providers[name].append(function)
        return function

    def unregister(self, name: str, function: Callable[..., Any]) -> None:
        if function in self.providers.get(name, []):
            self.providers[name].remove(function)

    def is_provided(self, name: str) -> bool:
        return bool(self.providers[name])
