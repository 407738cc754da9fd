"""Architecture rules, checked on the source: lower layers never import upper ones, and
mujoco, serial and scservo_sdk are imported only where they belong."""

from __future__ import annotations

import ast

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "pytest_so101"
LOWER = ["frames", "mapping", "calibration", "stats", "joints", "errors", "options",
         "measurement", "chain", "invariants", "fingerprint", "diagnosis", "scenarios",
         "checks", "gravity", "tolerances", "features", "files", "poses", "dataset",
         "dataset_checks", "recording", "teleop", "tick_grid"]
UPPER = ("sim", "bus", "plugin", "arm", "report_header", "suites", "guided", "suite_tools",
         "fixtures")


def imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


@pytest.mark.parametrize("module", LOWER)
def test_lower_layers_import_no_upper_layer(module):
    found = imports(PACKAGE / f"{module}.py")
    bad = {name for name in found if name.lstrip(".").split(".")[0] in UPPER
           or name.split(".")[0] in ("mujoco", "serial", "scservo_sdk", "pytest")}
    assert not bad, f"{module}.py imports {bad}"


def test_mujoco_is_imported_only_in_the_sim_layer():
    offenders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
                 if "mujoco" in {n.split(".")[0] for n in imports(p)}
                 and p.parent.name != "sim"]
    assert offenders == []


def test_the_serial_stack_is_imported_only_by_the_real_bus():
    offenders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
                 if {"serial", "scservo_sdk"} & {n.split(".")[0] for n in imports(p)}
                 and p.name != "feetech.py"]
    assert offenders == []
