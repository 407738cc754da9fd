"""The fixtures of pytest-so101: the user's files, the sim, the bus (twin or real arm),
the arm with its safety envelope, baselines, and per-joint checks.

Each imports its implementation lazily, so a run that uses none pays for none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .errors import So101ConfigError
from .measurement import USER_PROPERTY
from .stash import MEASUREMENTS_KEY, REPORTER_KEY, context_of

if TYPE_CHECKING:
    from .calibration import Calibration
    from .context import So101Context
    from .joints import JointLimits
    from .mapping import MappingFile
    from .measurement import Measurement
    from .stats import NormStats
    from .tolerances import Tolerances

EMBEDDED_MODEL = "so101-new-calib"     # the model the twin embeds


@pytest.fixture(scope="session")
def so101_context(pytestconfig: pytest.Config) -> So101Context:
    """Everything this run loaded: options (with where each came from) and the user's files."""
    return context_of(pytestconfig)


@pytest.fixture(scope="session")
def so101_calibration(so101_context: So101Context, request: pytest.FixtureRequest
                      ) -> Calibration:
    """The arm's LeRobot calibration (``--so101-calibration``). Without one, on the twin,
    the calibration the twin's scripted LeRobot procedure wrote; on hardware, a skip."""
    if so101_context.calibration is not None:
        return so101_context.calibration
    if so101_context.settings["hardware"].value:
        pytest.skip("no calibration: pass --so101-calibration PATH_OR_ARM_ID "
                    "(or ini so101_calibration)")
    twin = request.getfixturevalue("so101_twin")
    if twin.calibration is None:
        pytest.skip("no calibration: pass --so101-calibration PATH_OR_ARM_ID "
                    "(or ini so101_calibration)")
    return twin.calibration


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
def so101_joint_limits(so101_context: So101Context, request: pytest.FixtureRequest
                       ) -> JointLimits:
    """Joint limits (sim radians): of ``--so101-mjcf`` if given, else of the model the
    mapping names; default the SO-101."""
    if so101_context.settings["mjcf"].value:
        return request.getfixturevalue("so101_sim").limits
    if so101_context.mapping is not None:
        return so101_context.mapping.joint_limits
    from .joints import SO101_NEW_CALIB_LIMITS

    return SO101_NEW_CALIB_LIMITS


def emulator_args_for(calibration: Calibration | None, mjcf: object = None,
                      twin_arm: object = None) -> list[str]:
    """``so101-twin serve`` options for the twin of an arm calibrated as ``twin_arm`` (a
    file), else as ``calibration``; without either the twin calibrates itself by the
    scripted LeRobot procedure."""
    args = ["--mjcf", str(mjcf)] if mjcf else []
    if twin_arm:
        args += ["--calibration", str(twin_arm)]
    elif calibration is not None and Path(calibration.source).is_file():
        args += ["--calibration", calibration.source]
    return args


@pytest.fixture
def so101_emulator(so101_context: So101Context):
    """Start a fresh emulated arm (``so101-twin serve`` options) for one test, e.g. to
    inject faults; stopped, and checked to exit cleanly, at teardown."""
    from .bus.process import EmulatorProcess

    started: list[EmulatorProcess] = []

    def start(*args: str, calibrated: bool = True) -> EmulatorProcess:
        base = emulator_args_for(so101_context.calibration,
                                 so101_context.settings["mjcf"].value) if calibrated else []
        emulator = EmulatorProcess(*base, *args).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture(scope="session")
def so101_twin(so101_context: So101Context, tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest):
    """The MuJoCo twin behind the emulated bus (None with ``--hardware``): its port, its
    control socket (ground truth joint angles, placing the arm) and its calibration."""
    if so101_context.settings["hardware"].value:
        yield None
        return
    from .bus.process import EmulatorProcess
    from .calibration import load_calibration

    twin_arm = so101_context.settings["twin_arm"].value
    args = emulator_args_for(so101_context.calibration, so101_context.settings["mjcf"].value,
                             twin_arm)
    faults = so101_context.settings["twin_fault"].value
    for fault in str(faults or "").split(","):
        if fault.strip():
            args += ["--twin-fault", fault.strip()]
    out = None
    if "--calibration" not in args:
        out = tmp_path_factory.mktemp("twin") / "twin_calibration.json"
        args += ["--calibration-out", str(out)]
    emulator = EmulatorProcess(*args).start()
    emulator.calibration = load_calibration(out) if out else (
        so101_context.calibration or load_calibration(str(twin_arm)))
    reporter = request.config.stash.get(REPORTER_KEY, None)
    if reporter is not None:
        reporter.twin_calibration = emulator.calibration
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def so101_observer(so101_twin, so101_context: So101Context):
    """The twin's ground truth joint angles, in the mapping's sim frame: an observer of the
    physical arm independent of the servos. Skips on hardware and when the mapping's sim
    model is not the twin's."""
    if so101_twin is None:
        pytest.skip("needs an observer of the physical joint angles independent of the servos "
                    "(the twin has one); on a real arm the rest-pose suite checks a known pose")
    mapping = so101_context.mapping
    if mapping is not None and mapping.model != EMBEDDED_MODEL and \
            not so101_context.settings["mjcf"].value:
        pytest.skip(f"the twin is the {EMBEDDED_MODEL} model; {mapping.source} describes "
                    f"{mapping.model}: its joint angles are not in that frame")
    return so101_twin


@pytest.fixture(scope="session")
def so101_bus(so101_context: So101Context, request: pytest.FixtureRequest):
    """The arm's bus: the real one with ``--hardware`` (on ``--so101-port``), otherwise the
    twin, calibrated like ``--so101-calibration`` (or by its own scripted calibration)."""
    from .bus.feetech import FeetechBus

    twin = request.getfixturevalue("so101_twin")
    port = twin.port if twin is not None else so101_context.settings["port"].value
    bus = FeetechBus(str(port)).connect()
    try:
        yield bus
    finally:
        bus.close()


@pytest.fixture(scope="session")
def so101_sim(so101_context: So101Context):
    """The MuJoCo model (``--so101-mjcf`` or the embedded SO-101), joints in motor order."""
    from .sim.model import SimModel

    mapping = so101_context.mapping
    names = mapping.sim_joint_names if mapping is not None else None
    mjcf = so101_context.settings["mjcf"].value
    if not mjcf and mapping is not None and mapping.model != EMBEDDED_MODEL:
        pytest.skip(f"{mapping.source} names the model {mapping.model}, which is not shipped: "
                    "pass its MJCF with --so101-mjcf PATH")
    try:
        return SimModel(mjcf, names) if names else SimModel(mjcf)
    except So101ConfigError as exc:
        pytest.fail(f"pytest-so101: {exc}", pytrace=False)


@pytest.fixture
def so101_arm(so101_bus, so101_calibration: Calibration, so101_context: So101Context):
    """The arm: read and command joint positions (ticks or the sim frame through the
    mapping) with the safety envelope built in; torque off at teardown."""
    from .arm import Arm
    from .safety import SafetyEnvelope

    arm = Arm(so101_bus, so101_calibration, SafetyEnvelope.from_calibration(so101_calibration),
              so101_context.mapping)
    try:
        yield arm
    finally:
        if arm.torque_was_enabled:               # read-only runs write nothing at all
            with so101_bus.torque_off_on_exit():
                pass


@pytest.fixture(scope="session")
def so101_baseline(so101_context: So101Context, so101_calibration: Calibration,
                   request: pytest.FixtureRequest):
    """The accepted baseline to compare with (``--so101-baseline``, else the arm's latest
    under the report folder): ``(path, record)``; skips when there is none yet."""
    from .report.baseline import latest_baseline, load_baseline

    settings = so101_context.settings
    if settings["baseline"].value:
        path = Path(str(settings["baseline"].value))
    else:
        reporter = request.config.stash.get(REPORTER_KEY, None)
        arm_id = reporter.arm_id() if reporter is not None else Path(so101_calibration.source).stem
        path = latest_baseline(Path(str(settings["report"].value)), arm_id)
        if path is None:
            pytest.skip(f"no accepted baseline for arm {arm_id} yet: a passing run with "
                        "--so101-accept stores one")
    try:
        return path, load_baseline(path)
    except So101ConfigError as exc:
        pytest.fail(f"pytest-so101: {exc}", pytrace=False)


@pytest.fixture
def so101_check(request: pytest.FixtureRequest) -> Callable[..., list[Measurement]]:
    """Record per-joint measurements on the test and fail with one line per failing joint."""
    recorded = request.node.stash.setdefault(MEASUREMENTS_KEY, [])

    def check(measurements: Iterable[Measurement], *, joint: str | None = None
              ) -> list[Measurement]:
        from .report.record import measurement_dict

        selected = [m for m in measurements if joint is None or m.joint == joint]
        recorded.extend(selected)
        for m in selected:
            request.node.user_properties.append((USER_PROPERTY,
                                                 json.dumps(measurement_dict(m))))
        failed = [m for m in selected if not m.passed]
        if failed:
            pytest.fail("\n".join(m.summary() for m in failed), pytrace=False)
        return selected

    return check
