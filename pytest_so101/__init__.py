"""pytest-so101: validate that an SO-101 arm, its MuJoCo model and a policy's stats agree.

The package is in layers, each a folder (docs/architecture.md): ``core`` (joints, frames,
calibration, mapping, stats: numpy only), ``sim`` (MuJoCo), ``bus`` (the servo protocol,
the emulated arm, the real bus), ``checks`` (every check, declared), ``report``,
``plugin`` (pytest), ``cli`` (so101-diagnose, so101-monitor, so101-twin) and
``synthetic`` (fault scenarios and recordings for tests). ``strategies`` holds the public
Hypothesis strategies.

Importing the package is cheap: it imports no submodule (so neither numpy, mujoco,
pyserial nor scservo_sdk). Modules that moved into the layers keep their old names
(``pytest_so101.frames`` is ``pytest_so101.core.frames``), resolved on first import.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

#: Old module names (before the layers were folders) -> where the module is now.
MOVED_MODULES: dict[str, str] = {
    "joints": "core.joints", "errors": "core.errors", "measurement": "core.measurement",
    "tolerances": "core.tolerances", "features": "core.features", "files": "core.files",
    "frames": "core.frames", "calibration": "core.calibration", "mapping": "core.mapping",
    "stats": "core.stats", "chain": "core.chain", "poses": "core.poses",
    "dataset": "core.dataset", "safety": "core.safety", "fleet": "core.arms",
    "fingerprint": "checks.fingerprint", "gravity": "checks.gravity",
    "health": "checks.health", "mechanics": "checks.mechanics", "teleop": "checks.teleop",
    "tick_grid": "checks.tick_grid", "dataset_checks": "checks.datasets",
    "guided": "sim.guided", "arm": "bus.arm", "scenarios": "synthetic.scenarios",
    "recording": "synthetic.recording", "fixtures": "plugin.fixtures",
    "options": "plugin.options", "context": "plugin.context", "stash": "plugin.stash",
    "fleet_plugin": "plugin.fleet", "interrupts": "plugin.interrupts",
    "suite_tools": "plugin.suite_tools", "report_header": "plugin.header",
    "report.session": "plugin.reporter", "diagnose_cli": "cli.diagnose",
    "monitor_cli": "cli.monitor", "bus.cli": "cli.twin",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name as the module where it lives now (one module object,
    registered under both names)."""

    def find_spec(self, fullname, path=None, target=None):
        prefix = __name__ + "."
        if fullname.startswith(prefix) and fullname[len(prefix):] in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        moved = MOVED_MODULES[module.__name__[len(__name__) + 1:]]
        # the import system returns what sys.modules holds under the name after this
        sys.modules[module.__name__] = importlib.import_module(f"{__name__}.{moved}")


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())
