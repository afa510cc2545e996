"""The shape of the code, checked: dependencies point one way, rules are pure, reasons
mean one thing everywhere. Read with the stdlib ``ast``, so nothing is imported to check
imports."""

from __future__ import annotations

import ast
import enum
import importlib
from pathlib import Path

import pytest

import seawall

ROOT = Path(seawall.__file__).parent
SUITES = ("tls", "https", "isolation", "at_rest")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def seawall_imports(path: Path) -> set[str]:
    """Every seawall module a file imports (absolute names)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("seawall"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                continue  # no relative imports are used; a relative one would be caught below
            if node.module.startswith("seawall"):
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


FILES = sorted(ROOT.rglob("*.py"))

# package prefix -> seawall modules it may import (besides itself)
ALLOWED: dict[str, tuple[str, ...]] = {
    "seawall.model": (),
    "seawall.errors": (),
    "seawall.reasons": (),
    "seawall.targets": (),
    "seawall.report": ("seawall.model",),
    "seawall.runtime": ("seawall.targets", "seawall.errors"),
    "seawall.config": ("seawall.errors", "seawall.targets", "seawall.model", "seawall.reasons"),
}


def _allowed(mod: str, imported: str) -> bool:
    for prefix, allowed in ALLOWED.items():
        if mod == prefix or mod.startswith(prefix + "."):
            if imported == prefix or imported.startswith(prefix + "."):
                return True
            return any(imported == a or imported.startswith(a + ".") for a in allowed)
    return True


@pytest.mark.parametrize("path", FILES, ids=[module_name(p) for p in FILES])
def test_dependencies_point_one_way(path: Path) -> None:
    mod = module_name(path)
    bad = sorted(i for i in seawall_imports(path) if not _allowed(mod, i))
    assert not bad, f"{mod} may not import {bad} (see CONVENTIONS.md: the shape of Seawall)"


@pytest.mark.parametrize("path", FILES, ids=[module_name(p) for p in FILES])
def test_suites_do_not_reach_into_the_plugin_or_reporters(path: Path) -> None:
    mod = module_name(path)
    if mod.split(".")[1:2] and mod.split(".")[1] in SUITES:
        bad = {
            i
            for i in seawall_imports(path)
            if i.startswith(("seawall.plugin", "seawall.bridge", "seawall.report", "seawall.cli"))
        }
        assert not bad, f"{mod} imports {sorted(bad)}: suites know nothing of reporting"


RULES = sorted(p for s in SUITES for p in (ROOT / s).glob("rules.py"))


@pytest.mark.parametrize("path", RULES, ids=[module_name(p) for p in RULES])
def test_rules_are_pure(path: Path) -> None:
    io = {"trio", "socket", "ssl", "httpx", "subprocess", "os", "scapy", "datadog"}
    bad = sorted(all_imports(path) & io)
    assert not bad, f"{module_name(path)} imports {bad}: rules judge facts, they do no I/O"


def _reason_enums() -> list[type[enum.StrEnum]]:
    # every module file, also in folders without __init__.py (pkgutil would skip those)
    for path in FILES:
        name = module_name(path)
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)
    seen: list[type[enum.StrEnum]] = []
    stack: list[type] = [enum.StrEnum]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("seawall") and sub.__name__.endswith("Reason"):
                seen.append(sub)
    return seen


def test_reasons_are_unique_snake_case_across_suites() -> None:
    owners: dict[str, str] = {}
    enums = _reason_enums()
    assert any(e.__module__ == "seawall.reasons" for e in enums)
    for cls in enums:
        for member in cls:
            value = member.value
            assert value.isidentifier() and value == value.lower(), f"{cls}: {value!r}"
            where = f"{cls.__module__}.{cls.__name__}"
            assert value not in owners, f"reason {value!r} in both {owners[value]} and {where}"
            owners[value] = where
