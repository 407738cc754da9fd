"""The fixtures of pytest-so101: the user's files, the sim, the bus (twin or real arm),
the arm with its safety envelope, baselines, and per-joint checks.

Each imports its implementation lazily, so a run that uses none pays for none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..core.errors import So101ConfigError
from ..core.measurement import USER_PROPERTY, Evidence
from .stash import (
    ARM_LEFT_KEY,
    BASELINE_PROPERTY,
    FLEET_KEY,
    MEASUREMENTS_KEY,
    REPORTER_KEY,
    context_of,
    frozen_joints,
    in_the_suites,
)

if TYPE_CHECKING:
    from ..checks.base import CheckResult
    from ..core.calibration import Calibration
    from ..core.joints import JointLimits
    from ..core.mapping import MappingFile
    from ..core.measurement import Measurement
    from ..core.stats import NormStats
    from ..core.tolerances import Tolerances
    from .context import So101Context

EMBEDDED_MODEL = "so101-new-calib"     # the model the twin embeds


@pytest.fixture(scope="session")
def so101_fleet_arm(request: pytest.FixtureRequest) -> str | None:
    """The arm of the arms file this test runs on (``--so101-arms``): its id, a
    session-scoped parameter, so every arm fixture is set up once per arm, one arm at a
    time (fleet_plugin.py); None in a run of one arm."""
    return getattr(request, "param", None)


@pytest.fixture(scope="session")
def so101_context(pytestconfig: pytest.Config, so101_fleet_arm: str | None) -> So101Context:
    """Everything this run loaded: options (with where each came from) and the user's files;
    in a fleet run, the current arm's."""
    if so101_fleet_arm is None:
        return context_of(pytestconfig)
    return pytestconfig.stash[FLEET_KEY].contexts[so101_fleet_arm]


@pytest.fixture(scope="session")
def so101_calibration(so101_context: So101Context, request: pytest.FixtureRequest
                      ) -> Calibration:
    """The calibration under test (``--so101-calibration``). Without one, on the twin, the
    calibration the twin's scripted LeRobot procedure wrote; on hardware, a skip."""
    if so101_context.calibration is not None:
        return so101_context.calibration
    if so101_context.settings["hardware"].value:
        pytest.skip("no calibration: pass --so101-calibration PATH_OR_ARM_ID "
                    "(or ini so101_calibration)")
    return request.getfixturevalue("so101_twin").calibration


@pytest.fixture(scope="session")
def so101_stats(so101_context: So101Context) -> NormStats:
    """The policy's normalization stats (``--so101-stats``); skips when none were given, or
    when they are a two-arm recording's and --so101-arm-side chose no arm."""
    if so101_context.stats is None and len(so101_context.stats_by_arm) > 1:
        pytest.skip("the stats hold two arms (a bimanual recording): choose one with "
                    "--so101-arm-side left|right")
    if so101_context.stats is None:
        pytest.skip("no normalization stats: pass --so101-stats PATH (or ini so101_stats)")
    return so101_context.stats


@pytest.fixture(scope="session")
def so101_mapping(so101_context: So101Context, request: pytest.FixtureRequest) -> MappingFile:
    """The declared sim/robot/policy mapping (``--so101-mapping``), its calibration-derived
    joints read with the calibration under test; skips when none was given."""
    mapping = so101_context.mapping
    if mapping is None:
        pytest.skip("no mapping: pass --so101-mapping PATH (or ini so101_mapping)")
    if not (mapping.robot_derived or mapping.policy_derived):
        return mapping
    return mapping.for_calibration(_calibration_or_none(request))


def _calibration_or_none(request: pytest.FixtureRequest) -> Calibration | None:
    """The calibration under test, or None where there is none (on hardware, not given)."""
    try:
        return request.getfixturevalue("so101_calibration")
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="session")
def so101_tolerances(so101_context: So101Context) -> Tolerances:
    """Tolerances of this run (``--so101-tolerance-deg``, ``-z``, ``-ticks``)."""
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
    from ..core.joints import SO101_NEW_CALIB_LIMITS

    return SO101_NEW_CALIB_LIMITS


@pytest.fixture(scope="session")
def so101_configuration(so101_context: So101Context, request: pytest.FixtureRequest
                        ) -> dict[str, CheckResult]:
    """Every check of the configuration table (:mod:`pytest_so101.checks`) run once on the
    user's files: check name -> result. The model check uses the MJCF in use (the embedded
    one when the mapping names it)."""
    from ..checks.base import Inputs, run_per_arm
    from ..checks.catalog import FILE_CHECKS

    calibration = so101_context.calibration
    if calibration is None and not so101_context.settings["hardware"].value:
        calibration = request.getfixturevalue("so101_twin").calibration
    try:
        model_limits = request.getfixturevalue("so101_sim").limits
    except pytest.skip.Exception:
        model_limits = None
    inputs = {arm: Inputs(calibration, stats, so101_context.mapping, model_limits,
                          so101_context.tolerances)
              for arm, stats in (so101_context.stats_by_arm or {None: None}).items()}
    return {r.check.name: r for r in run_per_arm(inputs, FILE_CHECKS)}


def run_setup(ctx: So101Context):
    """Where this run's arm-side checks run (:class:`~pytest_so101.checks.base.Setup`)."""
    from ..checks.base import Setup

    s = ctx.settings
    if not s["hardware"].value:
        return Setup.TWIN
    if s["guided"].value:
        return Setup.GUIDED
    return Setup.MOTION if s["allow_motion"].value else Setup.HARDWARE


@pytest.fixture(scope="session")
def so101_inputs(so101_context: So101Context, so101_joint_limits: JointLimits,
                 request: pytest.FixtureRequest):
    """What the declared checks of an arm are given (:class:`~pytest_so101.checks.base.
    Inputs`): the calibration under test, the mapping, the stats, the model's limits, the
    tolerances and this run's setup; a test adds what it measured with ``with_readings``."""
    from ..checks.base import Inputs

    return Inputs(_calibration_or_none(request), so101_context.stats, so101_context.mapping,
                  so101_joint_limits, so101_context.tolerances, run_setup(so101_context))


@pytest.fixture(scope="session")
def so101_rest_pose(so101_context: So101Context, request: pytest.FixtureRequest):
    """The rest pose: the mapping's ``[sim] rest_pose``, else the model's ``rest`` keyframe;
    skips naming ``[sim] rest_pose`` when there is neither (never the reference pose)."""
    from ..core.poses import RestPose

    mapping = so101_context.mapping
    if mapping is not None and mapping.rest_pose_rad is not None:
        return RestPose(mapping.rest_pose_rad, f"[sim] rest_pose of {mapping.source}")
    try:
        sim = request.getfixturevalue("so101_sim")
    except pytest.skip.Exception:
        pytest.skip(f"no rest pose: {mapping.source} declares no [sim] rest_pose and its "
                    f"model {mapping.model} is not shipped; add [sim] rest_pose (sim rad) or "
                    "pass --so101-mjcf with a 'rest' keyframe")
    if "rest" not in sim.keyframes:
        where = f" in {mapping.source}" if mapping is not None else " in a mapping file"
        pytest.skip(f"no rest pose: {sim.source} has no 'rest' keyframe (the upstream SO-101 "
                    f"models have none); declare [sim] rest_pose{where}")
    return RestPose(sim.keyframe("rest"), f"the 'rest' keyframe of {sim.source}")


@pytest.fixture
def so101_arm_at_rest(so101_arm, so101_twin, so101_mapping):
    """The arm folded at rest: a real arm must rest there when the run starts (the
    ``so101_at_rest`` tests run first); the twin is folded by its scripted person first
    (its own rest keyframe) and put back where it was after the test."""
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    if so101_twin is None:
        yield so101_arm
        return
    before = so101_twin.q_sim_rad()
    place_twin_at_rest(so101_twin)
    yield so101_arm
    so101_twin.place(before.tolist())


def place_twin_at_rest(twin) -> None:
    """Fold the twin into its own rest pose (its model's ``rest`` keyframe), as a person
    would: never the pose the mapping declares, which would then be compared with itself.
    Skips when the twin's model has no rest keyframe."""
    from ..bus.process import EmulatorError

    try:
        twin.place("rest")
    except EmulatorError:
        pytest.skip("the twin's model has no 'rest' keyframe: its rest pose would be the "
                    "declared [sim] rest_pose itself, compared with itself; check the rest "
                    "pose on the arm (--hardware)")


@pytest.fixture
def so101_emulator(so101_context: So101Context):
    """Start a fresh emulated arm (``so101-twin serve`` options) for one test, e.g. to
    inject faults; stopped, and checked to exit cleanly, at teardown."""
    from ..bus.process import EmulatorProcess

    started: list[EmulatorProcess] = []

    def start(*args: str, calibrated: bool = True) -> EmulatorProcess:
        base = _twin_args(so101_context) if calibrated else []
        emulator = EmulatorProcess(*base, *args).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def _twin_args(ctx: So101Context) -> list[str]:
    """``so101-twin serve`` options for the run's twin: the model, and the arm it is (the
    ``--so101-twin-arm`` file; without one the twin calibrates itself). Never the
    calibration under test: a twin built from that file would agree with it by
    construction."""
    args = ["--mjcf", str(ctx.settings["mjcf"].value)] if ctx.settings["mjcf"].value else []
    if ctx.settings["twin_arm"].value:
        args += ["--calibration", str(ctx.settings["twin_arm"].value)]
    for fault in str(ctx.settings["twin_fault"].value or "").split(","):
        if fault.strip():
            args += ["--twin-fault", fault.strip()]
    return args


@pytest.fixture(scope="session")
def so101_twin(so101_context: So101Context, tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest):
    """The MuJoCo twin behind the emulated bus (None with ``--hardware``): an arm of its own
    (its scripted calibration, or ``--so101-twin-arm``), with its port, its control socket
    (ground truth joint angles, placing the arm) and its calibration."""
    if so101_context.settings["hardware"].value:
        yield None
        return
    from ..bus.process import EmulatorProcess
    from ..core.calibration import load_calibration

    args = _twin_args(so101_context)
    out = None
    if "--calibration" not in args:
        out = tmp_path_factory.mktemp("twin") / "twin_calibration.json"
        args += ["--calibration-out", str(out)]
    emulator = EmulatorProcess(*args).start()
    try:
        emulator.calibration = load_calibration(out or so101_context.settings["twin_arm"].value)
        reporter = request.config.stash.get(REPORTER_KEY, None)
        if reporter is not None:
            reporter.twin_calibration = emulator.calibration
        yield emulator
    finally:
        emulator.stop()


@dataclass(frozen=True)
class ArmPresence:
    """Is an arm that the calibration under test describes on the bus, and what do its
    readings prove? ``self_calibrated``: the calibration under test is the one the twin
    wrote into its own registers (registers vs file would compare one source)."""

    present: bool
    reason: str = ""
    evidence: Evidence = Evidence.SERVO
    self_calibrated: bool = False
    hardware: bool = False
    #: the twin is built from the calibration under test: no evidence about that file, an
    #: arm your own code can be tested on (so101_arm serves tests outside the suites)
    built_from_file: bool = False


def arm_presence(ctx: So101Context) -> ArmPresence:
    """Which arm the arm-side checks run against (see :class:`ArmPresence`)."""
    s = ctx.settings
    if s["hardware"].value:
        return ArmPresence(True, evidence=Evidence.SERVO, hardware=True)
    if ctx.calibration is None:
        return ArmPresence(True, evidence=Evidence.TWIN, self_calibrated=True)
    twin_arm = s["twin_arm"].value
    if not twin_arm:
        return ArmPresence(False, f"no arm present: the twin is an arm of its own, not the arm "
                           f"{ctx.calibration.source} describes; run with --hardware "
                           "--so101-port PORT on that arm, or give the twin an arm with "
                           "--so101-twin-arm FILE")
    if not s["twin_fault"].value and _same_calibration(str(twin_arm), ctx.calibration):
        return ArmPresence(False, f"the twin would be built from the calibration under test "
                           f"({ctx.calibration.source}: {twin_arm} holds the same values) and "
                           "agree with it by construction: give --so101-twin-arm another "
                           "arm's file, or a physical fault with --so101-twin-fault",
                           evidence=Evidence.TWIN, built_from_file=True)
    return ArmPresence(True, evidence=Evidence.TWIN)


def _same_calibration(path: str, calibration: Calibration) -> bool:
    from ..core.calibration import load_calibration

    return load_calibration(path).to_json_dict() == calibration.to_json_dict()


@pytest.fixture(scope="session")
def so101_arm_presence(so101_context: So101Context) -> ArmPresence:
    """Whether an arm described by the calibration under test is present (see
    :class:`ArmPresence`); arm-side checks skip with its reason when not."""
    return arm_presence(so101_context)


@pytest.fixture
def so101_observer(so101_twin, so101_context: So101Context, so101_arm_presence: ArmPresence):
    """The twin's ground truth joint angles, in the mapping's sim frame: an observer of the
    physical arm independent of the servos. Skips on hardware and when the mapping's sim
    model is not the twin's."""
    if so101_twin is None:
        pytest.skip("needs an observer of the physical joint angles independent of the servos "
                    "(the twin has one); on a real arm the rest pose, gravity (--allow-motion) "
                    "and --so101-guided are the independent references")
    if not so101_arm_presence.present:
        pytest.skip(so101_arm_presence.reason)
    mapping = so101_context.mapping
    if mapping is not None and mapping.model != EMBEDDED_MODEL and \
            not so101_context.settings["mjcf"].value:
        pytest.skip(f"the twin is the {EMBEDDED_MODEL} model; {mapping.source} describes "
                    f"{mapping.model}: its joint angles are not in that frame")
    return so101_twin


@pytest.fixture(scope="session")
def so101_bus(so101_context: So101Context, request: pytest.FixtureRequest):
    """The arm's bus: the real one with ``--hardware`` (on ``--so101-port``), otherwise the
    twin (an arm of its own: see ``so101_twin``)."""
    from ..bus.feetech import BusError, FeetechBus
    from . import interrupts

    twin = request.getfixturevalue("so101_twin")
    port = twin.port if twin is not None else so101_context.settings["port"].value
    claim = _claim_fleet_arm(request.config, so101_context, str(port))
    try:
        bus, failed = FeetechBus(str(port)).connect(), None
    except BusError as exc:
        failed = str(exc)
    if failed is not None:                       # one line, outside the except: no chain
        if claim is not None:
            claim.release()
        pytest.fail(f"pytest-so101: {failed}", pytrace=False)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            interrupts.install(os.dup(2))        # a second Ctrl-C: torque off, exit now
    else:
        interrupts.install()
    interrupts.watch(bus.broadcast_torque_off)
    found = _found(bus, so101_context)
    try:
        yield bus
    finally:
        if found is not None:
            _leave_as_found(bus, so101_context, found, request.config)
        interrupts.unwatch(bus.broadcast_torque_off)
        try:
            if claim is not None:                # the next arm: nothing left switched on
                bus.disable_torque()
        finally:
            bus.close()
            if claim is not None:
                claim.release()


def _found(bus, ctx: So101Context):
    """Where a real arm is when the run starts (its rest pose), to leave it there at the
    end of a run that may move it; None otherwise (read-only, the twin, no calibration)."""
    s = ctx.settings
    if not (s["hardware"].value and s["allow_motion"].value and ctx.calibration is not None):
        return None
    from ..bus.feetech import BusError

    try:
        return bus.read_positions()
    except BusError:
        return None


def _leave_as_found(bus, ctx: So101Context, found, config: pytest.Config) -> None:
    """End a motion run with the arm back where it was found, slowly, inside the envelope,
    torque off; the summary says where it was left (also when it could not go back)."""
    from ..bus.arm import Arm
    from ..core.safety import SafetyEnvelope
    from . import interrupts

    mapping = ctx.mapping.for_calibration(ctx.calibration) if ctx.mapping else None
    arm = Arm(bus, ctx.calibration, SafetyEnvelope.from_calibration(ctx.calibration), mapping,
              frozen=frozen_joints(config, ctx.arm_id))
    try:
        if interrupts.interrupted():
            note = arm.where_left(found) + " (interrupted: not moved back)"
        else:
            note = arm.return_to(found)
    except Exception as exc:         # the bus or the envelope: say where it is, never raise
        try:
            note = f"{arm.where_left(found)} (not moved back: {exc})"
        except Exception:
            note = f"the arm could not be read at the end of the run: {exc}"
    config.stash.setdefault(ARM_LEFT_KEY, {})[ctx.arm_id] = note


def _claim_fleet_arm(config: pytest.Config, ctx: So101Context, port: str):
    """In a fleet run, the process claims the arm's port before talking on it: only an arm
    it was dealt, and only one no other process holds (a second run on the same arms, a
    worker that was not dealt it). None outside a fleet run."""
    if ctx.arm_id is None:
        return None
    from ..bus.ports import ClaimError, claim_port

    run = config.stash[FLEET_KEY]
    if ctx.arm_id not in run.mine:
        pytest.fail(f"pytest-so101: arm {ctx.arm_id} was not dealt to this process "
                    f"({', '.join(run.mine)}); it never talks to it", pytrace=False)
    worker = getattr(config, "workerinput", {}).get("workerid", "the main process")
    try:
        return claim_port(port, f"worker {worker}, arm {ctx.arm_id}")
    except ClaimError as exc:
        pytest.fail(f"pytest-so101: arm {ctx.arm_id}: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def so101_sim(so101_context: So101Context):
    """The MuJoCo model (``--so101-mjcf`` or the embedded SO-101), joints in motor order."""
    from ..sim.model import SimModel

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
def so101_arm(so101_bus, so101_calibration: Calibration, so101_context: So101Context,
              so101_arm_presence: ArmPresence, pytestconfig: pytest.Config,
              request: pytest.FixtureRequest):
    """The arm described by the calibration under test: read and command joint positions
    (ticks or the sim frame through the mapping) with the safety envelope built in; joints
    whose read-only checks failed in this run are never moved; torque off at teardown.
    Skips when no such arm is present (the twin is an arm of its own). A twin built from
    the calibration under test (``--so101-twin-arm`` the same file) serves your own tests
    (its readings prove your code, not the file); the suites, which judge the file, skip."""
    yours = so101_arm_presence.built_from_file and not in_the_suites(request.node)
    if not so101_arm_presence.present and not yours:
        pytest.skip(so101_arm_presence.reason)
    from ..bus.arm import Arm
    from ..core.safety import SafetyEnvelope

    mapping = so101_context.mapping.for_calibration(so101_calibration) \
        if so101_context.mapping is not None else None
    arm = Arm(so101_bus, so101_calibration, SafetyEnvelope.from_calibration(so101_calibration),
              mapping, frozen=frozen_joints(pytestconfig, so101_context.arm_id))
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
    from ..report.baseline import latest_baseline, load_baseline

    settings = so101_context.settings
    reporter = request.config.stash.get(REPORTER_KEY, None)
    arm_id = so101_context.arm_id or (reporter.arm_id() if reporter is not None else
                                      Path(so101_calibration.source).stem)
    try:
        path = Path(str(settings["baseline"].value)) if settings["baseline"].value else \
            latest_baseline(Path(str(settings["report"].value)), arm_id)
        if path is None:
            pytest.skip(f"no accepted baseline for arm {arm_id} yet: a passing run with "
                        "--so101-accept stores one")
        return path, load_baseline(path)
    except So101ConfigError as exc:
        pytest.fail(f"pytest-so101: {exc}", pytrace=False)


@pytest.fixture
def so101_picture(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Attach a pose pair to the test for the report's pictures of the arm: what a check
    expected and what the arm read (sim rad, the mapping's sim frame). The report draws
    the rest pose and every failing pair (report/pictures.py)."""
    from ..core.measurement import POSE_PROPERTY

    def picture(title: str, expected_q_sim_rad, read_q_sim_rad, *, failed: bool) -> None:
        try:
            sim = request.getfixturevalue("so101_sim")
            model, names = str(sim.path), list(sim.joint_names)
        except pytest.skip.Exception:
            model, names = None, []
        pair = {"title": title, "nodeid": request.node.nodeid,
                "expected_q": [float(q) for q in expected_q_sim_rad],
                "read_q": [float(q) for q in read_q_sim_rad], "model": model,
                "joint_names": names, "failed": bool(failed)}
        request.node.user_properties.append((POSE_PROPERTY, json.dumps(pair)))

    return picture


@pytest.fixture
def so101_check(request: pytest.FixtureRequest) -> Callable[..., list[Measurement]]:
    """Record per-joint measurements on the test and fail with one line per failing joint.

    A test that compares with a baseline (it uses ``so101_baseline``) in a run with
    ``--so101-accept-changes`` does not fail on what changed: its failing measurements are
    recorded as ACKNOWLEDGED, and the run may be accepted as the next baseline."""
    recorded = request.node.stash.setdefault(MEASUREMENTS_KEY, [])
    acknowledging = False
    if "so101_baseline" in request.fixturenames:
        path, _ = request.getfixturevalue("so101_baseline")
        request.node.user_properties.append((BASELINE_PROPERTY, str(path)))
        acknowledging = bool(request.getfixturevalue("so101_context").settings[
            "accept_changes"].value)

    def check(measurements: Iterable[Measurement], *, joint: str | None = None
              ) -> list[Measurement]:
        from ..report.record import measurement_dict

        selected = [m for m in measurements if joint is None or m.joint == joint]
        recorded.extend(selected)
        for m in selected:
            request.node.user_properties.append((USER_PROPERTY, json.dumps(
                measurement_dict(m, acknowledged=acknowledging))))
        failed = [m for m in selected if not m.passed and not acknowledging]
        if failed:
            pytest.fail("\n".join(m.summary() for m in failed), pytrace=False)
        return selected

    return check


@pytest.fixture(scope="session")
def so101_tracking_deg(so101_context: So101Context) -> float:
    """Largest steady-state error (deg): ``--so101-tracking-deg``."""
    return float(so101_context.settings["tracking_deg"].value)


@dataclass(frozen=True)
class Leader:
    """The leader of a teleoperated pair: its calibration file, and (when an arm that
    file describes is on a bus) the arm, read only, and what its readings prove."""

    calibration: Calibration
    arm: object | None = None            # an Arm; its torque is never switched on
    twin: object | None = None           # the leader twin's EmulatorProcess
    evidence: Evidence = Evidence.PHYSICAL
    absent: str = ""                     # why there is no arm, when there is none

    def require_arm(self) -> None:
        if self.arm is None:
            pytest.skip(self.absent)


@pytest.fixture(scope="session")
def so101_leader(so101_context: So101Context, tmp_path_factory: pytest.TempPathFactory):
    """The leader arm: on hardware ``--so101-leader-port`` with
    ``--so101-leader-calibration``; on the twin a leader twin of its own (configured as
    LeRobot's SOLeader, calibrated by the scripted procedure, ``--so101-leader-twin-fault``
    applied). With ``--so101-leader-calibration`` on the twin only the files are compared
    (the leader twin is not the arm that file describes)."""
    from ..bus.arm import Arm
    from ..bus.feetech import BusError, FeetechBus
    from ..core.calibration import load_calibration
    from ..core.safety import SafetyEnvelope

    s = so101_context.settings
    calibration = so101_context.leader_calibration     # validated before collection
    if s["hardware"].value:
        if calibration is None or not s["leader_port"].value:
            pytest.skip("no leader: give --so101-leader-port and --so101-leader-calibration")
        port, emulator = str(s["leader_port"].value), None
    elif calibration is not None:
        yield Leader(calibration, absent="no leader arm present: the twin's leader is an arm "
                     f"of its own, not the one {calibration.source} describes; run with "
                     "--hardware and --so101-leader-port")
        return
    elif so101_context.calibration is not None:
        pytest.skip(f"no leader given: {so101_context.calibration.source} is your follower's; "
                    "the leader checks compare it with your leader's file "
                    "(--so101-leader-calibration), never with the emulated pair's own leader")
    else:
        from ..bus.process import EmulatorError, EmulatorProcess

        out = tmp_path_factory.mktemp("leader") / "leader_calibration.json"
        args = ["--role", "leader", "--calibration-out", str(out)]
        args += ["--mjcf", str(s["mjcf"].value)] if s["mjcf"].value else []
        for fault in str(s["leader_twin_fault"].value or "").split(","):
            args += ["--twin-fault", fault.strip()] if fault.strip() else []
        emulator = EmulatorProcess(*args)
        try:
            emulator.start()
            calibration, port = load_calibration(out), emulator.port
        except (EmulatorError, So101ConfigError) as exc:
            emulator.stop()
            pytest.fail(f"pytest-so101: the leader twin: {exc}", pytrace=False)
    try:
        bus = FeetechBus(port).connect()
    except BusError as exc:
        if emulator is not None:
            emulator.stop()
        pytest.fail(f"pytest-so101: the leader: {exc}", pytrace=False)
    mapping = so101_context.mapping.for_calibration(calibration) \
        if so101_context.mapping is not None else None
    arm = Arm(bus, calibration, SafetyEnvelope.from_calibration(calibration), mapping)
    try:
        yield Leader(calibration, arm, emulator,
                     Evidence.TWIN if emulator is not None else Evidence.PHYSICAL)
    finally:
        bus.close()
        if emulator is not None:
            emulator.stop()


@dataclass(frozen=True)
class DatasetChecks:
    """The dataset suite's results by name (:func:`dataset_checks.result_names`), and the
    offset at rest with its histograms."""

    results: dict
    offset: object | None


@pytest.fixture(scope="session")
def so101_dataset_checks(so101_context: So101Context, so101_joint_limits: JointLimits
                         ) -> DatasetChecks:
    """Every dataset check run once on ``--so101-dataset``; skips without one."""
    from ..checks.base import Inputs
    from ..checks.datasets import run_dataset_checks

    datasets = so101_context.dataset_by_arm    # read and validated before collection
    if not datasets:
        pytest.skip("no dataset: pass --so101-dataset FOLDER (a local LeRobot dataset)")
    inputs = Inputs(so101_context.calibration, None, so101_context.mapping,
                    so101_joint_limits, so101_context.tolerances)
    results, offset = run_dataset_checks(datasets, inputs)
    return DatasetChecks({r.name: r for r in results}, offset)


@pytest.fixture
def so101_histogram(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Attach a histogram (inline SVG) to the test's row of the HTML report; nothing
    without pytest-html."""
    from ..report.html import histogram_svg

    def attach(title: str, unit: str, edges, counts, *, limit: float | None = None,
               marked: float | None = None) -> None:
        try:
            extras = request.getfixturevalue("extras")
        except pytest.FixtureLookupError:
            return
        import pytest_html

        extras.append(pytest_html.extras.html(histogram_svg(title, unit, list(edges),
                                                            list(counts), limit=limit,
                                                            marked=marked)))

    return attach
