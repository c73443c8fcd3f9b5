"""Layering: an app imports only apps below it (``DESIGN.md``: an app talks to another through
that app's functions, and upward only through hooks). A new import that goes up or sideways
fails here; the few that remain are listed in ``KNOWN`` with the reason, so the list can only
shrink."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "warta"

#: Lower numbers are lower layers. Pure cores and helpers at the bottom; composition at the top.
LAYERS = {
    "sms": 0, "smpp": 0, "lib": 0, "core.metrics": 0, "core.labels": 0,
    "accounts": 1,
    "contacts": 2,
    "blasts": 3,
    "gateway": 4,
    "inbox": 5,
    "insights": 6,
    "reports": 7,  # reads insights' figures and charts
    "api": 8,
    "core": 9,  # composition: the scheduler, the home page and the demo call every app
    "urls": 10, "cli": 10, "settings": 10, "wsgi": 10, "__main__": 11,
}

#: (importing module, imported app): existing upward imports, each with why it is still there.
KNOWN: dict[tuple[str, str], str] = {
}


def _layer_of(module: str) -> tuple[str, int] | None:
    parts = module.split(".")
    if parts[0] != "warta" or len(parts) < 2:
        return None
    two = ".".join(parts[1:3])
    if two in LAYERS:
        return two, LAYERS[two]
    if parts[1] in LAYERS:
        return parts[1], LAYERS[parts[1]]
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):  # function-level imports count too
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            # ``from warta.core import metrics`` is an import of warta.core.metrics, not of core.
            out.update(f"{name}.{alias.name}" for alias in node.names)
    return out


def cross_layer_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = _module_name(path)
        mine = _layer_of(module)
        if mine is None:
            continue
        for name in _imports(path, module):
            theirs = _layer_of(name)
            if theirs is None or theirs[0] == mine[0] or theirs[0].split(".")[0] == mine[0].split(".")[0]:
                continue
            if theirs[1] >= mine[1]:
                found.add((module, theirs[0].split(".")[0] if theirs[0] != "core.metrics" else theirs[0]))
    return found


def test_no_app_imports_an_app_above_or_beside_it():
    new = {pair for pair in cross_layer_imports() if pair not in KNOWN}
    assert not new, "imports that go up or sideways (use a hook, as contacts/hooks.py and gateway/hooks.py do): " + \
        ", ".join(f"{m} → {a}" for m, a in sorted(new))


def test_the_known_exceptions_are_still_real():
    # A fixed exception must leave KNOWN, or the list would hide the next one.
    assert set(KNOWN) <= cross_layer_imports()


def test_the_gateway_does_not_import_the_inbox():
    assert not {m for m, a in cross_layer_imports() if m.startswith("warta.gateway") and a == "inbox"} - {
        m for m, _a in KNOWN}


def test_it_catches_a_new_upward_import(tmp_path):
    path = ROOT / "gateway" / "_layering_probe.py"
    path.write_text("from warta.inbox import services\n", encoding="utf-8")
    try:
        assert ("warta.gateway._layering_probe", "inbox") in cross_layer_imports()
    finally:
        path.unlink()
