"""The MuJoCo twin: scripted calibration, assemblies and their faults, holding still,
Present_Load, and the suites on it (interrupts: tests/test_interrupts.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from pytest_so101.bus.feetech import FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.bus.twin import (
    CHUNK_STEPS,
    MAX_BACKLOG_STEPS,
    TICK_STEPS,
    TwinFault,
    build_twin,
)
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.frames import TOOTH_TICKS, expand_units, ticks_to_units
from pytest_so101.core.joints import MOTOR_NAMES
from tests.helpers import EXAMPLE_CALIBRATION, MAPPINGS, REAL, REPO, STATS

SUITES = REPO / "suites"
SUITE_FILES = ["--so101-mapping", str(MAPPINGS / "so101_legacy_policy.toml"),
               "--so101-stats", str(STATS / "legacy_model")]


def test_scripted_calibration_is_what_lerobot_would_write():
    arm, servos, cal = build_twin()
    assert cal.homing_offset.tolist() == [-1500, 0, 1500, -1500, 0, 1500]
    assert (cal.range_min[4], cal.range_max[4]) == (0, 4095)        # wrist_roll fixed
    assert cal.drive_mode.tolist() == [0] * 6
    # the held pose (sim zero) reads 2047; the sweep ends read range_min / range_max
    arm.place(np.zeros(6))
    assert [s.present_ticks(0.0) for s in servos] == [2047] * 6
    arm.place(arm.sim.limits.lower_rad)
    assert [s.present_ticks(0.0) for s in servos][:4] == cal.range_min[:4].tolist()


@pytest.mark.parametrize("source", ["scripted", "example"])
def test_twin_reads_lerobot_degrees_equal_to_sim_degrees(source):
    """So the identity map LeRobot assumes (deg = rad2deg(q)) holds on the twin."""
    given = load_calibration(EXAMPLE_CALIBRATION) if source == "example" else None
    arm, servos, cal = build_twin(calibration=given)
    rng = np.random.default_rng(1)
    units = expand_units("degrees")
    for q in rng.uniform(arm.sim.limits.lower_rad, arm.sim.limits.upper_rad, size=(20, 6)):
        arm.place(q)
        ticks = np.array([s.present_ticks(0.0) for s in servos])
        reading = ticks_to_units(ticks, cal, units, clamp=False)
        np.testing.assert_allclose(reading[:5], np.rad2deg(q[:5]), atol=0.15)
        np.testing.assert_allclose(reading[5], (np.rad2deg(q[5]) + 10) / 110 * 100, atol=0.2)


def test_twin_faults_change_the_assembly_as_named():
    _, servos, _ = build_twin()
    _, reseated, _ = build_twin(faults=[TwinFault.parse("elbow_flex:reseat")])
    _, mirrored, _ = build_twin(faults=[TwinFault.parse("wrist_flex:mirror")])
    assert reseated[2].shaft.assembly.raw_at_zero - servos[2].shaft.assembly.raw_at_zero == \
        pytest.approx(TOOTH_TICKS)
    assert mirrored[3].shaft.assembly.direction == -1
    with pytest.raises(ValueError, match="JOINT:KIND"):
        TwinFault.parse("elbow:reseat")


def test_torque_on_tracks_goals_and_torque_off_leaves_the_joint_passive():
    with EmulatorProcess() as twin, FeetechBus(twin.port) as bus:
        start = twin.q_sim_rad()
        bus.torque(True)
        goal = bus.read_positions()
        goal[1] += 150
        bus.write_goals(goal, _loose_envelope())
        time.sleep(0.5)
        assert abs(bus.read_positions()[1] - goal[1]) <= 3
        assert twin.q_sim_rad()[1] - start[1] == pytest.approx(150 / 4096 * 2 * np.pi, abs=0.01)
        bus.torque(False)
        state = twin.state()
        assert all(s["torque"] == 0 for s in state.values())


def test_the_physics_loop_keeps_time_and_a_request_catches_up_a_few_steps():
    """Served, a loop steps the physics each time a tick is due (in chunks while it is far
    behind, the bus answered in between); a request finds at most a tick due and steps at
    most CHUNK_STEPS, so it is answered from the state within a step of the wall clock
    instead of stepping up to a second of physics first. More than 1 s behind (the
    process was stopped) is dropped, as before."""
    arm, _, _ = build_twin()
    arm.start(0.0)
    dt = arm.model.opt.timestep
    assert arm.tick(0.0) == pytest.approx(TICK_STEPS * dt)
    now = 1.0 + dt / 2                        # a second without a turn of the loop
    turns = [arm.tick(now) for _ in range(MAX_BACKLOG_STEPS // CHUNK_STEPS)]
    assert turns[:-1] == [0.0] * (len(turns) - 1)        # behind: called again at once
    assert arm.behind(now) == 0 and arm.physics_time == pytest.approx(1.0)
    assert 0 < turns[-1] <= TICK_STEPS * dt
    assert arm.tick(now + 2 * dt) > 0 and arm.behind(now + 2 * dt) == 2   # no tick due yet
    assert arm.catch_up(now + 2 * dt) == 2 and arm.behind(now + 2 * dt) == 0
    later = now + 2 * dt + 0.5                # the loop starved for half a second
    assert arm.behind(later) == 250
    assert arm.catch_up(later) == CHUNK_STEPS
    assert arm.behind(later) == 250 - CHUNK_STEPS                     # the loop's to do
    assert arm.behind(later + 10.0) == MAX_BACKLOG_STEPS             # beyond 1 s: dropped
    arm.frozen = True
    assert arm.catch_up(later + 20.0) == 0 and arm.behind(later + 20.0) == 0


def test_a_read_after_idle_time_waits_for_a_few_steps_not_for_the_idle_time():
    """The twin stepped all the physics of the bus's idle time when a request came (up
    to 500 steps: 9 ms on an idle machine, 28-40 ms under load, past the SDK's 34 ms
    timeout). Now its loop steps while the bus is idle, and the reply is the truth."""
    with EmulatorProcess() as twin, FeetechBus(twin.port) as bus:
        idle_steps = 300                        # 0.6 s of idle bus
        time.sleep(idle_steps * 0.002)
        assert twin.command(cmd="state")["physics"]["behind_steps"] < idle_steps // 2
        time.sleep(idle_steps * 0.002)
        positions = bus.read_positions()
        state = twin.command(cmd="state")
        assert state["physics"]["most_request_steps"] <= CHUNK_STEPS
        assert positions.tolist() == [s["present"] for s in state["servos"].values()]


def _loose_envelope():
    from pytest_so101.core.safety import SafetyEnvelope

    return SafetyEnvelope(np.zeros(6), np.full(6, 4095.0), 400)


def test_calibration_out_writes_once_and_never_overwrites(tmp_path):
    out = tmp_path / "twin.json"
    with EmulatorProcess("--calibration-out", str(out)):
        pass
    written = json.loads(out.read_text())
    assert list(written) == list(MOTOR_NAMES)
    before = out.read_bytes()
    done = subprocess.run([sys.executable, "-m", "pytest_so101.cli.twin", "serve",
                           "--calibration-out", str(out)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0 and "exists; not overwriting it" in done.stderr
    assert out.read_bytes() == before


def test_suites_pass_on_the_twin_with_its_own_calibration(run):
    result = run(str(SUITES), *SUITE_FILES, "--so101-guided")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert outcomes["passed"] >= 120
    # skipped: the acceptance suite (no baseline yet: 6), wrist_roll's fixed range (1), the
    # gripper's model range against its calibrated range (1: its map comes from it),
    # robot units vs policy frame (6: the legacy frame is converted through [sim_to_policy]),
    # min/max in limits (12: these stats have none), and the registers against the file
    # (7: the six joints and the arm's whole block; the twin wrote both, one source), the
    # dataset suite (19: no --so101-dataset),
    # the person-guided teleoperation (1: on the twin a scripted person teleoperates), and
    # whether a mirror would show at rest (6: the twin's observer sees mirrors)
    assert outcomes["skipped"] == 59


def test_suites_pass_with_hardware_on_the_pty_of_so101_twin_serve(run, tmp_path):
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)) as twin:
        result = run(str(SUITES), *SUITE_FILES, "--hardware", "--so101-port", twin.port,
                     "--so101-calibration", str(calibration), "--allow-motion", "-rs")
        assert result.ret == 0, result.stdout.str()[-3000:]
        result.stdout.fnmatch_lines([f"so101: real arm on {twin.port} (motion allowed)"])
        # skipped: the checks that need the twin's observer (6), the jog (6: on a real arm
        # only the servo's own reading would observe it), acceptance (no baseline: 6),
        # wrist_roll's fixed range (1), the gripper's model range against its calibrated
        # range (1: its map comes from it), robot units vs the converted legacy frame (6),
        # min/max in limits (12: these stats have none), guided (6: no --so101-guided),
        # the dataset suite (19: no --so101-dataset), teleoperation (15: no leader), a mirror
        # at rest on the loaded joints (3: the gravity check sees their direction)
        assert result.parseoutcomes().get("skipped", 0) == 81
        # shoulder_pan rests at its calibrated middle: a mirror would not show, and without
        # --so101-guided the run says its direction was not checked (MARGINAL)
        result.stdout.re_match_lines([r"shoulder_pan .* a mirror image's distance from the "
                                      r"rest pose: margin -\d+ deg \(value 0 deg, MARGINAL\)"])
        # and in words: the verdict names the MARGINAL joints, each with why
        result.stdout.re_match_lines([r"so101: PASS; MARGINAL: shoulder_pan, wrist_roll$",
                                      r"  shoulder_pan: a mirror image's distance from the rest "
                                      r"pose = 0 deg \(limit >= \d+ deg\): .*--so101-guided"])
        assert all(s["torque"] == 0 for s in twin.state().values())


#: The suites that read the arm at rest and move it (the rest need no watching).
MOTION_SUITES = ("test_rest_pose.py", "test_gravity.py", "test_hil.py")
REST_SUITE = ("test_rest_pose.py",)


def _hardware_run(run, twin, *args, suites: tuple[str, ...] = MOTION_SUITES):
    """Run suites on the hardware path against the twin's pty, as a user with an arm."""
    return run(*[str(SUITES / name) for name in suites], *SUITE_FILES, "--hardware",
               "--so101-port", twin.port, *args)


def _watched_run(run, twin, *args, suites: tuple[str, ...] = MOTION_SUITES):
    """:func:`_hardware_run` while watching the twin's true joint angles through its
    control socket; return the result and the largest excursion (deg)."""
    with twin.watching() as watch:
        result = _hardware_run(run, twin, *args, suites=suites)
    return result, np.array(watch.worst_deg)


@pytest.mark.slow
def test_mirrored_elbow_on_the_hardware_path_fails_by_gravity_and_never_swings(run, tmp_path):
    """The mirrored elbow that once passed the jog and swung 178 deg: gravity names it,
    nothing moves it more than 3 deg during the whole run (motion allowed)."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--twin-fault", "elbow_flex:mirror",
                         "--calibration-out", str(calibration)) as twin:
        result, worst = _watched_run(run, twin, "--so101-calibration", str(calibration),
                                     "--allow-motion")
        assert result.ret == 1
        result.stdout.re_match_lines([
            r"elbow_flex: gravity load direction = -[\d.]+ x .* FAIL: held at rest .*Likely "
            r"cause: .*direction reversed: a mirrored motor"])
        result.stdout.re_match_lines([r"elbow_flex: rest reading vs mapped rest pose = .* "
                                      r"Likely cause: direction reversed: a mirrored motor"])
        assert worst[2] <= 3.0, worst
        assert all(s["torque"] == 0 for s in twin.state().values())


def test_an_arm_not_at_rest_is_named_as_such(run, tmp_path):
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--calibration-out", str(calibration)) as twin:     # at its zero
        result = _hardware_run(run, twin, "--so101-calibration", str(calibration),
                               suites=REST_SUITE)
        assert result.ret == 1
        result.stdout.re_match_lines([
            r"elbow_flex: rest reading vs mapped rest pose = .* Likely cause: the arm is "
            r"not folded in its rest pose: it stands near the middle of each joint's travel, "
            r"where it was held while calibrating; \d of 6 joints .*Fix: fold the arm into its "
            r"rest pose .*--start rest"])


def test_a_passive_twin_joint_holds_still_while_a_hand_still_moves_it():
    """Gearbox friction: at rest with torque off a joint creeps at most 1 tick in 10
    minutes (of simulated time), yet a person can still turn it."""
    arm, servos, _ = build_twin(start_keyframe="rest")
    arm.start(0.0)
    start = [s.present_ticks(0.0) for s in servos]
    for second in range(1, 601):
        arm.advance(float(second))
    after = [s.present_ticks(600.0) for s in servos]
    assert max(abs(a - b) for a, b in zip(after, start, strict=True)) <= 1, (start, after)
    servos[2].shaft.set_raw(servos[2].shaft.raw(600.0) + 200)
    arm.advance(601.0)
    assert servos[2].present_ticks(601.0) - after[2] == pytest.approx(200, abs=1)


def test_present_load_is_the_holding_torque_in_the_servos_own_direction():
    """Torque on at rest: Present_Load (0.1 % of the 3.35 N m force limit, sign bit 10) is
    the model's gravity torque; a mirrored motor reports it with the other sign."""
    from pytest_so101.bus.protocol import REGISTERS

    for fault, sign in (([], 1), ([TwinFault.parse("elbow_flex:mirror")], -1)):
        arm, servos, _ = build_twin(start_keyframe="rest", faults=fault)
        arm.start(0.0)
        for s in servos:
            s.write(REGISTERS["Torque_Enable"].address, b"\x01", 0.0)
        arm.advance(0.5)
        gravity = arm.sim.gravity_torque(arm.sim.keyframe("rest"))
        load = servos[2].read(REGISTERS["Present_Load"].address, 2, 0.5)
        raw = int.from_bytes(load, "little")
        assert raw & (1 << 10) == (0 if sign * gravity[2] > 0 else 1 << 10)
        assert (raw & 0x3FF) == pytest.approx(abs(gravity[2]) / 3.35 * 1000, abs=5)


def test_torque_is_not_switched_on_with_a_joint_outside_its_servo_limits(run, tmp_path):
    """A servo clamps the held goal into its position limits: torque on would swing a
    joint resting outside them. The run refuses, names the joint, and nothing moves."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration),
                         "--limits", "3=1100:2900") as twin:     # the elbow rests at 3048
        result, worst = _watched_run(run, twin, "--so101-calibration", str(calibration),
                                     "--allow-motion", "-k", "gravity")
        assert result.ret == 1
        result.stdout.re_match_lines([r".*elbow_flex: rests at 30\d\d ticks, outside its "
                                      r"servo's position limits \[1100, 2900\]"])
        assert worst[2] <= 0.5, worst
        assert all(s["torque"] == 0 for s in twin.state().values())


@pytest.mark.parametrize("off_deg, passes", [(3.0, True), (9.0, False)])
def test_a_base_placed_by_eye_is_allowed_a_few_degrees_at_rest(run, tmp_path, off_deg, passes):
    """No stop holds shoulder_pan (or wrist_roll) in the folded pose: a person places it by
    eye. A few degrees off passes on a real arm; beyond that the message says so first."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)) as twin:
        rest = twin.q_sim_rad()                  # folded on its stops by --start rest
        rest[0] += np.deg2rad(off_deg)
        twin.place(rest.tolist())
        result = _hardware_run(run, twin, "--so101-calibration", str(calibration),
                               "-k", "maps_to_the_reading", suites=REST_SUITE)
    assert result.ret == (0 if passes else 1), result.stdout.str()[-2000:]
    if not passes:
        result.stdout.re_match_lines([r"shoulder_pan: rest reading vs mapped rest pose = [89].* "
                                      r"FAIL: .*placed by eye.*Likely cause: shoulder_pan is "
                                      r"not where it was folded: no stop holds it"])


@pytest.mark.slow
def test_gear_play_inside_the_backlash_bound_is_no_reach_failure(run, tmp_path):
    """1 deg of play on the gripper (under the 1.5 deg backlash bound; new STS3215 have
    about that): the reach test judges steady-state error against the tracking bound."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--twin-fault", "gripper:backlash=1",
                         "--calibration-out", str(calibration)) as twin:
        result = run(str(SUITES / "test_hil.py"), *SUITE_FILES, "--hardware", "--so101-port",
                     twin.port, "--so101-calibration", str(calibration), "--allow-motion",
                     "-k", "reached_pose")
    assert result.ret == 0, result.stdout.str()[-2000:]


def test_a_reading_near_the_middle_names_a_mirror_beside_a_shift():
    """wrist_roll mirrored, resting 3 deg from its calibrated middle: the reading is the
    mirror image (6 deg off), too close to the middle to be sure: both causes are named."""
    from pytest_so101.checks.causes import explain_reading

    middle, true = 0.0, np.deg2rad(3.0)
    cause, fix = explain_reading(4, 2 * middle - true, true, middle, -68.0)
    assert "or a mirrored motor" in cause and "--so101-guided" in fix
    cause, _ = explain_reading(4, true + np.deg2rad(6.0), true, middle, 68.0)   # a shift
    assert "mirrored" not in cause


def test_a_refused_motion_is_one_line_naming_the_joint(run, tmp_path):
    """A joint resting outside its servo's limits: torque is refused, in one line."""
    calibration = tmp_path / "healthy.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)):
        pass
    with EmulatorProcess("--start", "rest", "--twin-fault", "gripper:stale=-200") as twin:
        result = run(str(SUITES / "test_gravity.py"), *SUITE_FILES, "--hardware",
                     "--so101-port", twin.port, "--so101-calibration", str(calibration),
                     "--allow-motion")
        assert all(s["torque"] == 0 for s in twin.state().values())
    assert result.ret == 1
    result.stdout.fnmatch_lines(["pytest-so101: MotionRefusedError: gripper: rests at * ticks, "
                                 "outside its servo's position limits *"])
    assert "arm.py" not in result.stdout.str()


# -- a real arm's safety around the evidence (the hardware path on the twin) ------------------

def test_a_mirrored_base_is_held_still_without_a_person(run, tmp_path):
    """A mirrored shoulder_pan reads the same at rest and carries no weight: no read-only
    check can see it. Without a person at a terminal the run holds it still (MARGINAL,
    saying why) instead of swinging it the wrong way; the others move."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--twin-fault", "shoulder_pan:mirror",
                         "--calibration-out", str(calibration)) as twin:
        result, worst = _watched_run(run, twin, "--so101-calibration", str(calibration),
                                     "--allow-motion")
        assert all(s["torque"] == 0 for s in twin.state().values())
    text = result.stdout.str()
    assert worst[0] <= 1.0, worst                     # at most a probe: here, held still
    assert worst[1:5].max() > 3.0, worst              # the checked joints did move
    assert "its direction is not checked in this run" in text
    result.stdout.re_match_lines([r"shoulder_pan .* a mirror image's distance from the "
                                  r"rest pose: margin .* \(value 0 deg, MARGINAL\)"])


def test_an_unfolded_arm_moves_nothing(run, tmp_path):
    """Left at its zero pose (not folded): the arm fails as a whole, once, and no joint
    moves for the rest of the run (it once swung shoulder_pan 75 deg)."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--calibration-out", str(calibration)) as twin:     # at its zero
        result, worst = _watched_run(run, twin, "--so101-calibration", str(calibration),
                                     "--allow-motion")
        assert all(s["torque"] == 0 for s in twin.state().values())
    assert result.ret == 1
    assert worst.max() <= 0.5, worst
    result.stdout.re_match_lines([r"all: joints off the rest pose = [3-6] joints .* FAIL: .*"
                                  r"Likely cause: the arm is not folded in its rest pose: it "
                                  r"stands near the middle of each joint's travel"])
    assert "the arm as a whole failed a read-only check" in result.stdout.str()


def test_an_open_gripper_is_named_as_possibly_open(run, tmp_path):
    """A gripper left 30 deg open at rest is a gripper left open, or a stale calibration:
    both, the open one first, never "recalibrate" alone."""
    calibration = tmp_path / "twin_arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration)) as twin:
        rest = twin.q_sim_rad()
        rest[5] += np.deg2rad(30.0)
        twin.place(rest.tolist())
        result = _hardware_run(run, twin, "--so101-calibration", str(calibration),
                               "-k", "maps_to_the_reading or folded", suites=REST_SUITE)
    assert result.ret == 1
    result.stdout.re_match_lines([r"gripper: rest reading vs mapped rest pose = 30.* FAIL: .*"
                                  r"Likely cause: gripper reads \+30.\d deg from the rest pose: "
                                  r"if it is closed on its stop, .*if not, it is simply not "
                                  r"closed on its stop\. Fix: close it and run again; if it "
                                  r"still reads off, "])
    assert result.parseoutcomes()["failed"] == 1         # the gripper; the arm as a whole holds


def test_another_arms_calibration_in_the_servos_is_told_from_an_unfolded_arm(run, tmp_path):
    """The servos carry a calibration that is not this arm's (the file agrees with them):
    every joint off at rest, one of them outside the sweep it recorded, which no folded or
    unfolded arm can read: named as another arm's calibration, not as an unfolded arm."""
    calibration = tmp_path / "twin_arm.json"
    faults = ["shoulder_pan:stale=600", "shoulder_lift:stale=-700", "elbow_flex:stale=500",
              "wrist_flex:stale=-400"]
    with EmulatorProcess("--start", "rest", "--calibration-out", str(calibration),
                         *[a for f in faults for a in ("--twin-fault", f)]) as twin:
        result = _hardware_run(run, twin, "--so101-calibration", str(calibration),
                               "-k", "folded", suites=REST_SUITE)
    assert result.ret == 1
    result.stdout.re_match_lines([r"all: joints off the rest pose = \d joints .* Likely cause: "
                                  r"the calibration is not this arm's .*read outside the "
                                  r"sweep the calibration recorded"])
    assert "not folded" not in result.stdout.str()


def test_a_twin_built_from_a_published_followers_file_rests_where_its_file_says(run, tmp_path):
    """A real follower's gripper sweeps 125-136 deg of servo travel against the model's 110:
    the twin built from such a file closes its gripper at the end of the sweep it recorded
    (where LeRobot reads 0), so its rest pose reads as the file says (it read 1.8 deg off)."""
    calibration = tmp_path / "arm.json"
    calibration.write_bytes((REAL / "calibration" /
                             "01_Sachin-2007_oc_models_so101_follower.json").read_bytes())
    with EmulatorProcess("--start", "rest", "--calibration", str(calibration)) as twin:
        result = run(str(SUITES / "test_rest_pose.py"), "--hardware", "--so101-port",
                     twin.port, "--so101-calibration", str(calibration), "--so101-mapping",
                     str(MAPPINGS / "so101_degrees.toml"))
    assert result.ret == 0, result.stdout.str()[-3000:]
