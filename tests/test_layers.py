"""Architecture rules, checked on the source: the layers are folders, and a layer imports
only layers below it (core -> sim, bus -> checks -> report, synthetic -> plugin, cli);
mujoco, serial and scservo_sdk are imported only where they belong."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "pytest_so101"
#: Each folder of the package, and the folders below it that it may import.
BELOW: dict[str, set[str]] = {
    "core": set(),
    "sim": {"core"},
    "bus": {"core", "sim"},
    "checks": {"core", "sim", "bus"},
    "report": {"core", "sim", "bus", "checks"},
    "synthetic": {"core", "sim", "bus", "checks"},
    "plugin": {"core", "sim", "bus", "checks", "report", "synthetic"},
    "cli": {"core", "sim", "bus", "checks", "report", "synthetic"},
}
#: Modules loose at the top of the package, and what they may import.
TOP = {"__init__": set(), "strategies": {"core"}, "api": {"core", "sim", "bus", "checks"}}
#: Third-party packages each layer may not import.
FORBIDDEN = {"core": {"mujoco", "serial", "scservo_sdk", "pytest"},
             "checks": {"mujoco", "serial", "scservo_sdk", "pytest"},
             "report": {"serial", "scservo_sdk"}}


def imports(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    package = list(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names |= {f"{module}.{a.name}" for a in node.names} if not node.module \
                    else {module}
            else:
                names.add(node.module or "")
    return names


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "pytest_so101" or len(parts) < 2:
        return None
    return parts[1]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def violations(path: Path, source: str | None = None) -> list[str]:
    """What ``path`` imports that its layer may not: upper layers, forbidden packages."""
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1:
        layer, allowed = rel.stem, TOP[rel.stem]
    else:
        layer = rel.parts[0]
        allowed = BELOW[layer] | {layer}
    found = imports(path, source)
    upward = sorted(n for n in found if layer_of(n) not in (None, *allowed))
    third_party = sorted(n for n in found if n.split(".")[0] in FORBIDDEN.get(layer, set()))
    return [f"{rel} ({layer}) imports {name}; it may import {sorted(allowed)}"
            for name in upward + third_party]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_layers_below_it(path):
    assert violations(path) == []


def test_every_module_is_in_a_layer_and_few_are_loose():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(BELOW), f"layer folders {sorted(folders)}; declared {sorted(BELOW)}"
    loose = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert set(loose) <= set(TOP) and len(loose) <= 8, loose


def test_mujoco_is_imported_only_in_the_sim_layer():
    offenders = [str(p.relative_to(REPO)) for p in modules()
                 if "mujoco" in {n.split(".")[0] for n in imports(p)}
                 and p.parent.name != "sim"]
    assert offenders == []


def test_the_serial_stack_is_imported_only_by_the_real_bus():
    offenders = [str(p.relative_to(REPO)) for p in modules()
                 if {"serial", "scservo_sdk"} & {n.split(".")[0] for n in imports(p)}
                 and p.name != "feetech.py"]
    assert offenders == []


@pytest.mark.parametrize(("module", "source", "named"), [
    ("core/frames.py", "from ..plugin.fixtures import so101_arm\n", "pytest_so101.plugin"),
    ("core/frames.py", "import pytest\n", "pytest"),
    ("checks/gravity.py", "from ..report import record\n", "pytest_so101.report"),
    ("sim/model.py", "from pytest_so101.bus.twin import build_twin\n", "pytest_so101.bus"),
    ("strategies.py", "from .plugin import stash\n", "pytest_so101.plugin"),
])
def test_a_violation_is_named(module, source, named):
    """The rule can fail: an upward import, or a forbidden package, is named."""
    found = violations(PACKAGE / module, source)
    assert found and named in found[0], found


@pytest.mark.parametrize("old", sorted(__import__("pytest_so101").MOVED_MODULES))
def test_a_moved_module_keeps_its_old_name(old):
    """``import pytest_so101.frames`` still works: one module object under both names."""
    import importlib

    from pytest_so101 import MOVED_MODULES

    assert importlib.import_module(f"pytest_so101.{old}") is \
        importlib.import_module(f"pytest_so101.{MOVED_MODULES[old]}")
