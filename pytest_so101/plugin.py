"""The pytest plugin: options and their ini twins, markers, fixtures and the report header.

Thin by design: parsing, loading and checking live in the core modules, which work
without pytest. Loading the plugin imports only the standard library; the user's files
are loaded (and validated, stopping the run with one line on a problem) only when an
option names them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .errors import So101ConfigError
from .options import OPTIONS, Setting, resolve_settings

if TYPE_CHECKING:
    from .calibration import Calibration
    from .context import So101Context
    from .joints import JointLimits
    from .mapping import MappingFile
    from .measurement import Measurement
    from .options import Tolerances
    from .stats import NormStats

SETTINGS_KEY = pytest.StashKey[dict[str, Setting]]()
CONTEXT_KEY = pytest.StashKey["So101Context"]()
MEASUREMENTS_KEY = pytest.StashKey[list["Measurement"]]()
FILE_OPTIONS = ("calibration", "stats", "mapping")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("so101", "SO-101 arm / sim / policy validation (pytest-so101)")
    for spec in OPTIONS:
        env = f" [env {spec.env}]" if spec.env else ""
        default = f" (default {spec.default})" if spec.default not in (None, False) else ""
        if spec.kind == "bool":
            group.addoption(spec.flag, action="store_true", default=None, dest=spec.dest,
                            help=f"{spec.help}{env}")
        else:
            group.addoption(spec.flag, default=None, dest=spec.dest,
                            help=f"{spec.help}{default}{env}")
        parser.addini(spec.ini, f"ini twin of {spec.flag}", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "so101_hardware: needs a real arm (skipped without "
                            "--hardware)")
    config.addinivalue_line("markers", "so101_motion: moves the arm (on hardware, skipped "
                            "without --allow-motion)")
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    try:
        settings = resolve_settings(
            {spec.name: config.getoption(spec.dest) for spec in OPTIONS},
            {spec.name: config.getini(spec.ini) for spec in OPTIONS},
            cwd=Path(config.invocation_params.dir), ini_dir=Path(ini_dir))
        config.stash[SETTINGS_KEY] = settings
        if any(settings[name].value is not None for name in FILE_OPTIONS):
            from .context import load_context

            config.stash[CONTEXT_KEY] = load_context(settings)
    except So101ConfigError as exc:
        raise pytest.UsageError(f"pytest-so101: {exc}") from None


def _context(config: pytest.Config) -> So101Context:
    if CONTEXT_KEY not in config.stash:
        from .context import load_context

        config.stash[CONTEXT_KEY] = load_context(config.stash[SETTINGS_KEY])
    return config.stash[CONTEXT_KEY]


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or not (settings["hardware"].value or CONTEXT_KEY in config.stash):
        return []
    from .report_header import header_lines

    return header_lines(_context(config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip hardware tests without --hardware, and motion on hardware without --allow-motion."""
    settings = config.stash[SETTINGS_KEY]
    on_hardware = bool(settings["hardware"].value)
    no_arm = pytest.mark.skip(reason="needs a real arm: run with --hardware --so101-port PATH")
    no_motion = pytest.mark.skip(
        reason="moves the arm: pass --allow-motion to permit motion on hardware")
    for item in items:
        if item.get_closest_marker("so101_hardware") and not on_hardware:
            item.add_marker(no_arm)
        elif item.get_closest_marker("so101_motion") and on_hardware and \
                not settings["allow_motion"].value:
            item.add_marker(no_motion)


@pytest.fixture(scope="session")
def so101_context(pytestconfig: pytest.Config) -> So101Context:
    """Everything this run loaded: options (with where each came from) and the user's files."""
    return _context(pytestconfig)


@pytest.fixture(scope="session")
def so101_calibration(so101_context: So101Context) -> Calibration:
    """The arm's LeRobot calibration (``--so101-calibration``); skips when none was given."""
    if so101_context.calibration is None:
        pytest.skip("no calibration: pass --so101-calibration PATH_OR_ARM_ID "
                    "(or ini so101_calibration)")
    return so101_context.calibration


@pytest.fixture(scope="session")
def so101_stats(so101_context: So101Context) -> NormStats:
    """The policy's normalization stats (``--so101-stats``); skips when none were given."""
    if so101_context.stats is None:
        pytest.skip("no normalization stats: pass --so101-stats PATH (or ini so101_stats)")
    return so101_context.stats


@pytest.fixture(scope="session")
def so101_mapping(so101_context: So101Context) -> MappingFile:
    """The declared sim/robot/policy mapping (``--so101-mapping``); skips when none was given."""
    if so101_context.mapping is None:
        pytest.skip("no mapping: pass --so101-mapping PATH (or ini so101_mapping)")
    return so101_context.mapping


@pytest.fixture(scope="session")
def so101_tolerances(so101_context: So101Context) -> Tolerances:
    """Tolerances of this run (``--so101-tolerance-deg``, ``--so101-tolerance-z``)."""
    return so101_context.tolerances


@pytest.fixture(scope="session")
def so101_joint_limits(so101_context: So101Context) -> JointLimits:
    """Joint limits (sim radians) of the model the mapping names; default: the SO-101."""
    if so101_context.mapping is not None:
        return so101_context.mapping.joint_limits
    from .joints import SO101_NEW_CALIB_LIMITS

    return SO101_NEW_CALIB_LIMITS


def emulator_args_for(calibration: Calibration | None) -> list[str]:
    """``so101-twin serve`` options for the twin of an arm calibrated as ``calibration``
    (a file); without one the twin calibrates itself by the scripted LeRobot procedure."""
    if calibration is None or not Path(calibration.source).is_file():
        return []
    return ["--calibration", calibration.source]


@pytest.fixture
def so101_emulator(so101_context: So101Context):
    """Start a fresh emulated arm (``so101-twin serve`` options) for one test, e.g. to
    inject faults; stopped, and checked to exit cleanly, at teardown."""
    from .bus.process import EmulatorProcess

    started: list[EmulatorProcess] = []

    def start(*args: str, calibrated: bool = True) -> EmulatorProcess:
        base = emulator_args_for(so101_context.calibration) if calibrated else []
        emulator = EmulatorProcess(*base, *args).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture(scope="session")
def so101_bus(so101_context: So101Context):
    """The arm's bus: the real one with ``--hardware`` (on ``--so101-port``), otherwise an
    emulated arm in its own process, calibrated like ``--so101-calibration`` if given."""
    from .bus.feetech import FeetechBus
    from .bus.process import EmulatorProcess

    emulator = None
    port = so101_context.settings["port"].value
    if not so101_context.settings["hardware"].value:
        emulator = EmulatorProcess(*emulator_args_for(so101_context.calibration)).start()
        port = emulator.port
    bus = FeetechBus(str(port)).connect()
    try:
        yield bus
    finally:
        bus.close()
        if emulator is not None:
            emulator.stop()


@pytest.fixture
def so101_check(request: pytest.FixtureRequest) -> Callable[..., list[Measurement]]:
    """Record per-joint measurements on the test and fail with one line per failing joint."""
    recorded = request.node.stash.setdefault(MEASUREMENTS_KEY, [])

    def check(measurements: Iterable[Measurement], *, joint: str | None = None
              ) -> list[Measurement]:
        selected = [m for m in measurements if joint is None or m.joint == joint]
        recorded.extend(selected)
        for m in selected:
            request.node.user_properties.append(
                (f"so101:{m.check}:{m.joint}", f"{m.value:.6g} {m.unit} {m.outcome.value}"))
        failed = [m for m in selected if not m.passed]
        if failed:
            pytest.fail("\n".join(m.summary() for m in failed), pytrace=False)
        return selected

    return check
