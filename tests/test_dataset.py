"""Recorded datasets: reading them, and the checks that judge them.

The bundled datasets (fixtures/datasets, written by scripts/make_fixtures.py) carry their
truth in meta/so101_truth.json, which no check reads: a healthy teleoperated recording,
the same with the leader 17 deg off on elbow_flex (lerobot #3758), and the same written
in sim radians.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_so101.checks.base import Inputs
from pytest_so101.checks.datasets import (
    MIN_REST_FRAMES,
    check_rest_offset,
    dataset_frame_map,
    rest_offset,
    run_dataset_checks,
)
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.dataset import ACTION, STATE, load_dataset
from pytest_so101.core.joints import MOTOR_NAMES, SO101_NEW_CALIB_LIMITS
from pytest_so101.core.mapping import load_mapping
from pytest_so101.core.tolerances import Tolerances
from pytest_so101.synthetic.recording import read_through, teleop_recording, write_dataset
from tests.helpers import EXAMPLE_CALIBRATION, FIXTURES, MAPPINGS, raises_config_error

DATASETS = FIXTURES / "datasets"
DEGREES = load_mapping(MAPPINGS / "so101_degrees.toml")
RANGE = load_mapping(MAPPINGS / "so101_range.toml")


def truth(name: str) -> dict:
    return json.loads((DATASETS / name / "meta" / "so101_truth.json").read_text())


def failures(name_or_path, mapping=DEGREES, calibration=None) -> dict[str, list]:
    ds = load_dataset(name_or_path if not isinstance(name_or_path, str)
                      else DATASETS / name_or_path)
    results, _ = run_dataset_checks(ds, Inputs(calibration=calibration, mapping=mapping,
                                               model_limits=SO101_NEW_CALIB_LIMITS))
    return {r.title: r.failed for r in results if r.failed}


def test_every_result_has_the_suite_parameter_name():
    results, _ = run_dataset_checks(load_dataset(DATASETS / "healthy"), Inputs(
        mapping=DEGREES, model_limits=SO101_NEW_CALIB_LIMITS))
    from pytest_so101.checks.datasets import result_names

    assert [r.name for r in results] == list(result_names())


def small(tmp_path, *, drift: dict[str, float] | None = None, mapping=DEGREES, seed=3,
          name="ds", **kwargs):
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=seed,
                           reach=0.7)
    chain = dataset_frame_map(Inputs(mapping=mapping,
                                     calibration=kwargs.pop("calibration", None)))
    state = read_through(rec.follower_rad, chain)
    action = read_through(rec.leader_rad, chain)
    for joint, deg in (drift or {}).items():
        action[:, MOTOR_NAMES.index(joint)] += deg * chain.slope[MOTOR_NAMES.index(joint)] \
            / np.rad2deg(1.0)
    return write_dataset(tmp_path / name, state, action, rec.episode, rec.fps, **kwargs)


# -- the bundled datasets: the must-shows -----------------------------------------

def test_the_healthy_dataset_passes_every_check():
    assert failures("healthy") == {}


def test_the_drifted_dataset_names_the_joint_and_the_drift_within_a_degree():
    (joint, true_deg), = truth("drifted_joint")["rest_offset_deg"].items()
    failed = failures("drifted_joint")
    assert list(failed) == ["action - state at rest"]
    (m,) = failed["action - state at rest"]
    assert m.joint == joint
    assert abs(m.value - true_deg) <= 1.0, m.summary()
    assert f"{m.value:+.1f} deg" in m.cause and "lerobot #3758" in m.cause


def test_the_radians_dataset_is_named_as_radians():
    failed = failures("radians")
    frame = failed[f"stats frame ({STATE}, from the frames)"]
    assert {m.joint for m in frame} == set(MOTOR_NAMES)
    assert all("radians" in m.cause for m in frame), frame[0].summary()
    assert "57.2958 * x" in frame[1].fix
    assert f"stats frame ({ACTION}, from the frames)" in failed


def test_the_bundled_datasets_are_what_the_generator_writes(tmp_path):
    """The parquet bytes name the pyarrow that wrote them; their content must not drift."""
    from scripts.make_fixtures import build_datasets

    build_datasets(tmp_path)
    for name in ("healthy", "drifted_joint", "radians"):
        ours, fresh = load_dataset(DATASETS / name), load_dataset(tmp_path / name)
        np.testing.assert_array_equal(ours.state, fresh.state)
        np.testing.assert_array_equal(ours.action, fresh.action)
        for rel in ("meta/info.json", "meta/stats.json", "meta/so101_truth.json"):
            assert (DATASETS / name / rel).read_text() == (tmp_path / name / rel).read_text()


# -- the offset at rest ------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(joint=st.sampled_from(MOTOR_NAMES[:5]), drift=st.floats(-30, 30).filter(
    lambda d: abs(d) > 3), seed=st.integers(0, 1000))
def test_a_leader_offset_is_measured_within_a_degree(tmp_path_factory, joint, drift, seed):
    root = small(tmp_path_factory.mktemp("d"), drift={joint: drift}, seed=seed)
    offset = rest_offset(load_dataset(root), dataset_frame_map(Inputs(mapping=DEGREES)))
    j = MOTOR_NAMES.index(joint)
    from pytest_so101.synthetic.recording import GRAVITY_SAG_DEG

    assert abs(offset.median_deg[j] - (drift - GRAVITY_SAG_DEG[j])) < 0.2
    failed = [m for m in check_rest_offset(offset, Tolerances().tracking_deg) if not m.passed]
    assert [m.joint for m in failed] == [joint]


def test_the_offset_is_in_degrees_of_the_joint_in_the_range_frame_too(tmp_path):
    cal = load_calibration(EXAMPLE_CALIBRATION)
    root = small(tmp_path, drift={"wrist_flex": -12.0}, mapping=RANGE, calibration=cal)
    failed = failures(root, RANGE, cal)
    (m,) = failed["action - state at rest"]
    assert m.joint == "wrist_flex" and abs(m.value - (-12.0 - 0.1)) < 0.3, m.summary()


def test_a_gripper_held_open_by_an_object_is_only_marginal(tmp_path):
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=5)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    state, action = read_through(rec.follower_rad, chain), read_through(rec.leader_rad, chain)
    action[:, 5] -= 20                               # squeezing: the jaw stops on the object
    ds = load_dataset(write_dataset(tmp_path / "grasp", state, action, rec.episode, rec.fps))
    (m,) = [m for m in check_rest_offset(rest_offset(ds, chain), Tolerances().tracking_deg)
            if m.joint == "gripper"]
    assert m.outcome == "MARGINAL" and m.passed and "grasped object" in m.detail


def test_a_dataset_that_never_rests_says_so(tmp_path):
    n = 600
    t = np.arange(n) / 30.0
    q = np.stack([0.5 * np.sin(t * (1 + j)) for j in range(6)], axis=1)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    root = write_dataset(tmp_path / "busy", chain.apply(q), chain.apply(q),
                         np.zeros(n, dtype=np.int64), 30.0)
    results, offset = run_dataset_checks(load_dataset(root), Inputs(mapping=DEGREES))
    assert offset is None
    (rest,) = [r for r in results if r.title == "action - state at rest"]
    assert rest.measurements == [] and f"fewer than {MIN_REST_FRAMES} frames" in rest.skipped


# -- the stats file and the frame count --------------------------------------------------

def test_a_stats_file_from_other_data_is_caught(tmp_path):
    other = small(tmp_path, seed=9, name="other")
    stale = json.loads((other / "meta" / "stats.json").read_text())
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=3, reach=0.7)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    root = write_dataset(tmp_path / "ds", read_through(rec.follower_rad, chain),
                         read_through(rec.leader_rad, chain), rec.episode, rec.fps,
                         stats=stale)
    failed = failures(root)
    assert f"meta/stats.json vs the frames ({STATE})" in failed
    m = failed[f"meta/stats.json vs the frames ({STATE})"][0]
    assert "stats.json" in m.detail and "recompute the stats" in m.fix


def test_missing_frames_are_counted(tmp_path):
    root = small(tmp_path)
    info = json.loads((root / "meta" / "info.json").read_text())
    info["total_frames"] += 90
    (root / "meta" / "info.json").write_text(json.dumps(info))
    (m,) = failures(root)["frames in data/ vs info.json"]
    assert m.value == -90


def test_without_a_mapping_the_frame_checks_say_what_they_need():
    results, offset = run_dataset_checks(load_dataset(DATASETS / "healthy"), Inputs())
    skipped = [r for r in results if r.skipped]
    assert offset is None and skipped
    assert all("--so101-mapping" in r.skipped for r in skipped if "at rest" in r.title)


# -- reading: layouts LeRobot writes, and what it must refuse ------------------------------

def test_columns_come_back_in_motor_order_whatever_the_names_order(tmp_path):
    root = small(tmp_path)
    ds = load_dataset(root)
    table = pq.read_table(next((root / "data").rglob("*.parquet")))
    order = [5, 0, 4, 1, 3, 2]
    shuffled = {}
    for name in (STATE, ACTION):
        values = np.asarray(table.column(name).to_pylist())[:, order]
        shuffled[name] = pa.array(values.tolist(), pa.list_(pa.float32()))
    pq.write_table(table.set_column(table.column_names.index(STATE), STATE, shuffled[STATE])
                   .set_column(table.column_names.index(ACTION), ACTION, shuffled[ACTION]),
                   next((root / "data").rglob("*.parquet")))
    info = json.loads((root / "meta" / "info.json").read_text())
    for name in (STATE, ACTION):                     # v2.0 style: {"motors": [...]}
        info["features"][name]["names"] = {"motors": [f"main_{MOTOR_NAMES[i]}" for i in order]}
    (root / "meta" / "info.json").write_text(json.dumps(info))
    again = load_dataset(root)
    np.testing.assert_allclose(again.state, ds.state, atol=1e-4)
    np.testing.assert_allclose(again.action, ds.action, atol=1e-4)


@pytest.mark.parametrize("edit, parts", [
    (lambda root: (root / "meta" / "info.json").unlink(), ["not a LeRobot dataset",
                                                           "meta/info.json"]),
    (lambda root: (root / "meta" / "info.json").write_text("{"), ["info.json"]),
    (lambda root: _info(root, lambda i: i["features"].pop(ACTION)), ["no action feature"]),
    (lambda root: _info(root, lambda i: i.update(fps=0)), ["fps", "positive"]),
    (lambda root: _info(root, lambda i: i["features"][STATE].update(
        names=["a", "b", "c", "d", "e", "f"])), ["no shoulder_pan column", STATE]),
    (lambda root: _info(root, lambda i: i["features"][STATE].update(
        names=[f"{m}.pos" for m in MOTOR_NAMES] + ["extra.pos"])), ["7 values per frame"]),
    (lambda root: shutil.rmtree(root / "data"), ["no frames", "parquet"]),
    (lambda root: next((root / "data").rglob("*.parquet")).write_bytes(b"PAR1 broken"),
     ["not a readable parquet file", "file-000.parquet"]),
])
def test_a_broken_dataset_is_one_line_naming_the_file(tmp_path, edit, parts):
    root = small(tmp_path)
    edit(root)
    with raises_config_error(*parts):
        load_dataset(root)


def _info(root, change) -> None:
    path = root / "meta" / "info.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def _rewrite(root, column: str, values) -> None:
    path = next((root / "data").rglob("*.parquet"))
    table = pq.read_table(path)
    pq.write_table(table.set_column(table.column_names.index(column), column, values), path)


def test_a_non_finite_value_names_the_frame_the_joint_and_the_feature(tmp_path):
    root = small(tmp_path)
    values = np.asarray(pq.read_table(next((root / "data").rglob("*.parquet")))
                        .column(ACTION).to_pylist())
    values[123, 2] = np.nan
    _rewrite(root, ACTION, pa.array(values.tolist(), pa.list_(pa.float32())))
    with raises_config_error("frame 123", "elbow_flex", ACTION, "not finite"):
        load_dataset(root)


def test_a_frame_with_five_values_is_refused(tmp_path):
    root = small(tmp_path)
    rows = pq.read_table(next((root / "data").rglob("*.parquet"))).column(STATE).to_pylist()
    rows[7] = rows[7][:5]
    _rewrite(root, STATE, pa.array(rows, pa.list_(pa.float32())))
    with raises_config_error("frame 7 holds 5 values", STATE):
        load_dataset(root)


def test_text_in_a_joint_column_is_refused(tmp_path):
    root = small(tmp_path)
    n = pq.read_metadata(next((root / "data").rglob("*.parquet"))).num_rows
    _rewrite(root, STATE, pa.array([["x"] * 6] * n, pa.list_(pa.string())))
    with raises_config_error("must hold numbers", STATE):
        load_dataset(root)


def test_writing_never_replaces_a_dataset(tmp_path):
    root = small(tmp_path)
    before = (root / "meta" / "stats.json").read_bytes()
    with pytest.raises(FileExistsError):
        small(tmp_path)
    assert (root / "meta" / "stats.json").read_bytes() == before


# -- so101-diagnose --dataset ----------------------------------------------------------------

def test_diagnose_names_the_drifted_joint_and_exits_1(capsys):
    from pytest_so101.cli import diagnose as diagnose_cli

    code = diagnose_cli.main(["--dataset", str(DATASETS / "drifted_joint"), "--mapping",
                              str(MAPPINGS / "so101_degrees.toml"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and not report["ok"]
    failed = [m for c in report["checks"] for m in c["measurements"] if m["outcome"] == "FAIL"]
    assert [(m["joint"], m["check"]) for m in failed] == [("elbow_flex",
                                                          "action - state at rest")]
    assert diagnose_cli.main(["--dataset", str(DATASETS / "healthy"), "--mapping",
                              str(MAPPINGS / "so101_degrees.toml")]) == 0


def test_a_joint_that_never_moved_is_no_false_alarm(tmp_path):
    """Stats aggregated in float32 differ from the frames by rounding only; a joint held
    still the whole dataset has a zero std to compare with."""
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=4)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    state, action = read_through(rec.follower_rad, chain), read_through(rec.leader_rad, chain)
    state[:, 4] = action[:, 4] = 37.25                 # wrist_roll never turned
    root = write_dataset(tmp_path / "still", state, action, rec.episode, rec.fps)
    stats = json.loads((root / "meta" / "stats.json").read_text())
    for feature in stats.values():                    # float32 rounding of an aggregation
        feature["mean"] = [float(np.float32(v) * np.float32(1 + 3e-7)) for v in feature["mean"]]
    (root / "meta" / "stats.json").write_text(json.dumps(stats))
    assert not any("stats.json" in title for title in failures(root))


# -- review findings: wrong data that passed, input that crashed ----------------------------

def test_one_drifted_episode_among_several_is_not_outvoted(tmp_path):
    """A recalibration (or a slipped horn) during a recording: one episode of four off."""
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=4, seconds=12.0, seed=6,
                           reach=0.7)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    state, action = read_through(rec.follower_rad, chain), read_through(rec.leader_rad, chain)
    last = rec.episode == rec.episode.max()
    action[last, 2] += 17.0                       # elbow_flex, in degrees of the joint
    root = write_dataset(tmp_path / "late", state, action, rec.episode, rec.fps)
    (m,) = failures(root)["action - state at rest"]
    assert m.joint == "elbow_flex" and abs(m.value - 17.0) < 1.0, m.summary()
    assert f"episode {int(rec.episode.max())}" in m.detail
    assert "episodes disagree" in m.cause


def test_sensor_noise_on_a_still_arm_does_not_hide_the_offset(tmp_path):
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=3,
                           reach=0.7)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    noise = np.random.default_rng(0)
    state = read_through(rec.follower_rad, chain) + noise.normal(0, 0.4, (len(rec.episode), 6))
    action = read_through(rec.leader_rad, chain) + noise.normal(0, 0.4, (len(rec.episode), 6))
    action[:, 2] += 17.0
    root = write_dataset(tmp_path / "noisy", state, action, rec.episode, rec.fps)
    (m,) = failures(root)["action - state at rest"]
    assert m.joint == "elbow_flex" and abs(m.value - 17.0) < 1.0, m.summary()


@pytest.mark.parametrize("edit, what", [
    (lambda root: (root / "meta" / "stats.json").unlink(), "not found"),
    (lambda root: (root / "meta" / "stats.json").write_text('{"observation.state": '),
     "stats.json"),
    (lambda root: _stats(root, lambda s: s.pop(ACTION)), ACTION),
])
def test_a_missing_or_broken_stats_file_fails_not_skips(tmp_path, edit, what):
    root = small(tmp_path)
    edit(root)
    failed = failures(root)
    titles = [t for t in failed if t.startswith("meta/stats.json vs the frames")]
    assert titles, failed
    m = failed[titles[-1]][0]
    assert what in m.detail and "recompute the stats" in m.fix and m.joint == "all"


def test_a_min_max_only_stats_file_is_compared_on_what_it_holds(tmp_path):
    root = small(tmp_path)
    _stats(root, lambda s: [s[f].pop(k) for f in (STATE, ACTION) for k in ("mean", "std")])
    assert not any("stats.json" in title for title in failures(root))
    _stats(root, lambda s: s[STATE]["max"].__setitem__(1, s[STATE]["max"][1] + 5))
    (m,) = failures(root)[f"meta/stats.json vs the frames ({STATE})"]
    assert m.joint == "shoulder_lift" and "max" in m.detail


def _stats(root, change) -> None:
    path = root / "meta" / "stats.json"
    stats = json.loads(path.read_text())
    change(stats)
    path.write_text(json.dumps(stats))


def test_a_dataset_without_frames_or_with_absurd_values_is_one_line(tmp_path):
    root = small(tmp_path)
    table = pq.read_table(next((root / "data").rglob("*.parquet")))
    pq.write_table(table.slice(0, 0), next((root / "data").rglob("*.parquet")))
    with raises_config_error("no frames", "hold no rows"):
        load_dataset(root)
    root = small(tmp_path, name="huge")
    values = np.asarray(pq.read_table(next((root / "data").rglob("*.parquet")))
                        .column(STATE).to_pylist())
    values[40, 1] = 1e30
    _rewrite(root, STATE, pa.array(values.tolist(), pa.list_(pa.float32())))
    with raises_config_error("frame 40", "shoulder_lift", STATE, "no joint position"):
        load_dataset(root)
    with raises_config_error("a dataset is a folder", "info.json"):
        load_dataset(root / "meta" / "info.json")


def test_diagnose_refuses_a_dataset_without_a_mapping(capsys):
    from pytest_so101.cli import diagnose as diagnose_cli

    with pytest.raises(SystemExit) as exit_info:
        diagnose_cli.main(["--dataset", str(DATASETS / "radians")])
    assert exit_info.value.code == 2
    assert "--dataset needs --mapping" in capsys.readouterr().err


def test_a_broken_dataset_stops_the_suite_with_one_line_before_collection(run, tmp_path):
    from tests.helpers import REPO

    root = small(tmp_path)
    (root / "meta" / "info.json").write_text("{")
    result = run(str(REPO / "suites" / "test_dataset.py"), "--so101-dataset", str(root),
                 "--so101-mapping", str(MAPPINGS / "so101_degrees.toml"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    lines = [x for x in result.stderr.str().splitlines() if "pytest-so101" in x]
    assert len(lines) == 1 and "info.json" in lines[0], result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


# -- the servo's tick grid: evidence from the numbers' steps, not their size -----------------

EXAMPLE = load_calibration(EXAMPLE_CALIBRATION)


def lerobot_recorded(tmp_path, units: str = "degrees", *, calibration=EXAMPLE, seed: int = 3,
                     edit=None, name: str = "real"):
    """A recording as LeRobot writes it from a real arm: whole servo ticks, each read in
    the unit (``frames.ticks_to_units``); ``edit(state, action)`` changes it afterwards."""
    from pytest_so101.core.frames import expand_units, ticks_to_units, units_to_ticks

    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=seed,
                           reach=0.7)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    degrees_units = expand_units("degrees")
    out = []
    for q in (rec.follower_rad, rec.leader_rad):
        ticks = units_to_ticks(read_through(q, chain), calibration, degrees_units,
                               rounding="nearest")
        out.append(ticks_to_units(ticks, calibration, expand_units(units)))
    state, action = out
    if edit is not None:
        edit(state, action)
    return write_dataset(tmp_path / name, state, action, rec.episode, rec.fps)


def grid(root, mapping=DEGREES, calibration=EXAMPLE) -> dict[str, list]:
    results, _ = run_dataset_checks(load_dataset(root), Inputs(
        calibration=calibration, mapping=mapping, model_limits=SO101_NEW_CALIB_LIMITS))
    return {r.name: r for r in results if r.name.startswith("tick-grid")}


def test_values_a_servo_reported_in_the_declared_unit_lie_on_its_grid(tmp_path):
    results = grid(lerobot_recorded(tmp_path))
    # the action is the leader's reading: its gripper's 0..100 grid is the leader's
    # calibration's, which the follower's file does not give
    for feature, joints in ((STATE, MOTOR_NAMES), (ACTION, MOTOR_NAMES[:5])):
        result = results[f"tick-grid-{feature}"]
        assert [m.joint for m in result.measurements] == list(joints), result.skipped
        assert all(m.passed and m.value == 100.0 for m in result.measurements)


def test_one_joint_in_radians_is_named_with_the_conversion(tmp_path):
    def wrist_in_radians(state, action):
        state[:, 3] = np.deg2rad(state[:, 3])
        action[:, 3] = np.deg2rad(action[:, 3])

    root = lerobot_recorded(tmp_path, edit=wrist_in_radians)
    failed = failures(root, DEGREES, EXAMPLE)
    for feature in (STATE, ACTION):
        (m,) = failed[f"values on the servo's tick grid ({feature})"]
        assert m.joint == "wrist_flex" and "recorded in radians" in m.cause, m.summary()
        assert "57.2958" in m.fix


def test_a_leader_on_its_own_range_grid_is_no_false_alarm(tmp_path):
    """Range units: the action lies on the leader's grid (200 / its sweep), which may be
    any step, even exactly the degrees step (a 2275-tick sweep): never claimed."""
    motors = {name: type(m)(m.id, m.drive_mode, m.homing_offset, 2048 - 1137, 2048 + 1138)
              for name, m in EXAMPLE.motors.items()}
    leader = type(EXAMPLE)(motors, source="leader.json")          # sweeps of 2275 ticks

    def on_the_leader_grid(state, action):
        from pytest_so101.core.frames import expand_units, ticks_to_units, units_to_ticks

        units = expand_units("range_m100_100")
        action[:] = ticks_to_units(units_to_ticks(action, EXAMPLE, units, rounding="nearest"),
                                   leader, units)

    root = lerobot_recorded(tmp_path, "range_m100_100", edit=on_the_leader_grid)
    assert not grid(root, RANGE, EXAMPLE)[f"tick-grid-{ACTION}"].failed


def test_range_values_declared_as_degrees_are_named(tmp_path):
    """-100..100 over a sweep of S ticks is degrees scaled by 2275 / S (the same zero): a
    slip wherever S is more than 1 % from 2275 ticks."""
    root = lerobot_recorded(tmp_path, "range_m100_100")
    failed = failures(root, DEGREES, EXAMPLE)[f"values on the servo's tick grid ({STATE})"]
    sweeps = EXAMPLE.range_max - EXAMPLE.range_min
    slipped = {joint for joint, sweep in zip(MOTOR_NAMES[:5], sweeps, strict=False)
               if abs(sweep / 2275 - 1) > 0.01}
    assert slipped and {m.joint for m in failed} == slipped
    assert all("recorded in -100..100, not degrees" in m.cause for m in failed)


@pytest.mark.parametrize("scale, unit", [(0.01, "0..1"), (None, "degrees")])
def test_a_mis_scaled_gripper_is_named(tmp_path, scale, unit):
    from pytest_so101.core.frames import expand_units, ticks_to_degrees, units_to_ticks

    def gripper(state, action):
        for values in (state, action):
            if scale:                        # 0..1 instead of 0..100
                values[:, 5] *= scale
            else:                            # read in degrees, not 0..100
                ticks = units_to_ticks(values, EXAMPLE, expand_units("degrees"),
                                       rounding="nearest")
                values[:, 5] = ticks_to_degrees(ticks, EXAMPLE)[:, 5]

    root = lerobot_recorded(tmp_path, edit=gripper)
    (m,) = failures(root, DEGREES, EXAMPLE)[f"values on the servo's tick grid ({STATE})"]
    assert m.joint == "gripper" and f"recorded in {unit}, not 0..100" in m.cause, m.summary()


def test_numbers_a_servo_never_reported_are_not_judged(tmp_path):
    """A simulator's numbers (no servo, no tick grid) get no verdict, whatever the unit."""
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=8)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    sim = write_dataset(tmp_path / "sim", chain.apply(rec.follower_rad),
                        chain.apply(rec.leader_rad), rec.episode, rec.fps)
    for result in grid(sim).values():
        assert not result.measurements and "on no servo grid" in result.skipped


def test_the_bundled_recordings_lie_on_the_degrees_grid():
    for name in ("healthy", "drifted_joint"):
        for calibration, joints in ((None, MOTOR_NAMES[:5]), (EXAMPLE, MOTOR_NAMES)):
            result = grid(DATASETS / name, calibration=calibration)[f"tick-grid-{STATE}"]
            assert [m.joint for m in result.measurements] == list(joints)
            assert all(m.outcome == "PASS" for m in result.measurements)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), units=st.sampled_from(["degrees", "range_m100_100"]),
       low=st.integers(0, 300), high=st.integers(0, 300))
def test_no_false_alarm_on_a_correctly_declared_recording(tmp_path_factory, seed, units,
                                                          low, high):
    """Other calibrated ranges (``low``/``high`` ticks narrower), either use_degrees: the
    grid of the declared unit holds on every joint."""
    motors = {name: type(m)(m.id, m.drive_mode, m.homing_offset, m.range_min + low,
                            m.range_max - high)
              for name, m in EXAMPLE.motors.items()}
    cal = type(EXAMPLE)(motors, source="random.json")
    root = lerobot_recorded(tmp_path_factory.mktemp("g"), units, calibration=cal, seed=seed)
    mapping = DEGREES if units == "degrees" else RANGE
    for name, result in grid(root, mapping, cal).items():
        assert not result.failed, [m.summary() for m in result.failed]
        if name == f"tick-grid-{STATE}":
            assert len(result.measurements) >= 5, result.skipped     # judged, not skipped


def test_a_joint_parked_on_one_reading_is_no_false_alarm(tmp_path):
    """A gripper held closed for most of the recording, opened a few times: frame by frame
    it lies on every grid; its distinct values are judged, not its frames."""
    def parked(state, action):
        for values in (state, action):
            closed = values[:, 5].min()
            values[:, 5] = np.where(np.arange(len(values)) % 400 < 392, closed, values[:, 5])

    root = lerobot_recorded(tmp_path, edit=parked)
    for calibration in (EXAMPLE, None):
        for result in grid(root, calibration=calibration).values():
            assert not result.failed, [m.summary() for m in result.failed]


def _shorter_sweep(joint: str, ticks: int):
    """The example calibration with ``joint``'s sweep ``ticks`` shorter (range_min up)."""
    motors = dict(EXAMPLE.motors)
    m = motors[joint]
    motors[joint] = type(m)(m.id, m.drive_mode, m.homing_offset, m.range_min + ticks,
                            m.range_max)
    return type(EXAMPLE)(motors, source="then.json")


def test_a_calibration_other_than_the_recordings_is_named_on_its_joint(tmp_path):
    """Range units: elbow_flex recalibrated since (a sweep 60 ticks shorter than the file
    given): its values lie on a grid the file does not give."""
    then = _shorter_sweep("elbow_flex", 60)
    root = lerobot_recorded(tmp_path, "range_m100_100", calibration=then)
    (m,) = grid(root, RANGE, EXAMPLE)[f"tick-grid-{STATE}"].failed
    assert m.joint == "elbow_flex" and "whole ticks of" in m.cause, m.summary()
    assert f"-100..100 over a sweep of {then.range_max[2] - then.range_min[2]} ticks" in m.cause


def test_a_leader_on_range_units_beside_a_follower_on_degrees_is_named(tmp_path):
    """The leader on use_degrees=False, the follower on True: the action is -100..100."""
    from pytest_so101.core.frames import expand_units, ticks_to_units, units_to_ticks

    def leader_in_range(state, action):
        ticks = units_to_ticks(action, EXAMPLE, expand_units("degrees"), rounding="nearest")
        action[:] = ticks_to_units(ticks, EXAMPLE, expand_units("range_m100_100"))

    root = lerobot_recorded(tmp_path, edit=leader_in_range)
    failed = grid(root)[f"tick-grid-{ACTION}"].failed
    sweeps = EXAMPLE.range_max - EXAMPLE.range_min      # 2275 ticks is degrees' own step
    assert {m.joint for m in failed} == {joint for joint, sweep in zip(
        MOTOR_NAMES[:5], sweeps, strict=False) if abs(sweep / 2275 - 1) > 0.01}
    assert all("-100..100 over a sweep of" in m.cause for m in failed)


def test_values_spanning_more_ticks_than_the_sweep_are_named(tmp_path):
    """A gripper written in -100..100 where 0..100 is declared lies on the 0..100 grid too
    (every other point), but spans twice the calibrated sweep."""
    from pytest_so101.core.frames import RobotUnit, expand_units, ticks_to_units, units_to_ticks

    def gripper_m100(state, action):
        for values in (state, action):
            ticks = units_to_ticks(values, EXAMPLE, expand_units("degrees"), rounding="nearest")
            units = (*expand_units("degrees")[:5], RobotUnit.RANGE_M100_100)
            values[:, 5] = ticks_to_units(ticks, EXAMPLE, units)[:, 5]

    root = lerobot_recorded(tmp_path, edit=gripper_m100)
    (m,) = grid(root)[f"tick-grid-{STATE}"].failed
    assert m.joint == "gripper" and "than the calibrated sweep" in m.cause, m.summary()


def test_legacy_lerobot_degrees_lie_on_the_legacy_grid(tmp_path):
    """Legacy LeRobot read degrees as ticks * 180 / 2048 (a 360 / 4096 step)."""
    from pytest_so101.core.frames import degrees_to_legacy_degrees

    legacy = load_mapping(MAPPINGS / "so101_legacy_policy.toml")
    rec = teleop_recording(SO101_NEW_CALIB_LIMITS, episodes=2, seconds=12.0, seed=3,
                           reach=0.7)
    chain = dataset_frame_map(Inputs(mapping=DEGREES))
    step = 360 / 4096
    state, action = (degrees_to_legacy_degrees(np.round(read_through(q, chain) / step) * step)
                     for q in (rec.follower_rad, rec.leader_rad))
    root = write_dataset(tmp_path / "legacy", state, action, rec.episode, rec.fps)
    result = grid(root, legacy, None)[f"tick-grid-{STATE}"]
    assert [m.joint for m in result.measurements if m.outcome == "PASS"] == \
        list(MOTOR_NAMES[:5]), [m.summary() for m in result.measurements]
    # declared as today's degrees their scale agrees within 0.03 %: no unit slip for the
    # grid (the frame fingerprint names the legacy zero)
    result = grid(root, DEGREES, None)[f"tick-grid-{STATE}"]
    scale = [m for m in result.measurements if m.check == "tick grid step vs the declared unit's"]
    assert not result.failed and [m.joint for m in scale] == list(MOTOR_NAMES[:5])
    assert all(m.outcome == "PASS" and abs(m.value + 0.0244) < 1e-3 for m in scale)


def test_a_joint_off_every_grid_beside_joints_on_it_is_marginal(tmp_path):
    def filled_in(state, action):
        noise = np.random.default_rng(1).normal(0, 0.01, len(state))
        state[:, 1] += noise                      # shoulder_lift: not a servo's readings

    root = lerobot_recorded(tmp_path, edit=filled_in)
    result = grid(root)[f"tick-grid-{STATE}"]
    (m,) = [m for m in result.measurements if m.joint == "shoulder_lift"]
    assert m.outcome == "MARGINAL" and "partly from a servo" in m.detail
    assert not result.failed


def test_degrees_of_another_resolution_are_no_unit_slip(tmp_path):
    """A script that quantizes to 4096 ticks a turn writes degrees on a 360 / 4096 grid:
    0.02 % from LeRobot's, the same unit; never a failure."""
    result = grid(small(tmp_path), calibration=None)[f"tick-grid-{STATE}"]
    scale = [m for m in result.measurements if m.check == "tick grid step vs the declared unit's"]
    assert not result.failed and [m.joint for m in scale] == list(MOTOR_NAMES[:5])
    assert all(m.outcome == "PASS" and "the same unit read another way" in m.detail
               for m in scale)


def test_a_recalibrated_sweep_a_few_ticks_off_is_a_scale_measurement(tmp_path):
    """Range units, elbow_flex recorded with a sweep 20 ticks (0.9 %) shorter than the file
    given: not dropped, a scale measurement near its 1 % limit (MARGINAL)."""
    root = lerobot_recorded(tmp_path, "range_m100_100",
                            calibration=_shorter_sweep("elbow_flex", 20))
    result = grid(root, RANGE, EXAMPLE)[f"tick-grid-{STATE}"]
    (m,) = [m for m in result.measurements if m.joint == "elbow_flex"]
    assert m.check == "tick grid step vs the declared unit's" and m.outcome == "MARGINAL"
    assert abs(m.value - (2204 / 2184 - 1) * 100) < 0.01, m.summary()


def test_a_full_turn_sweep_is_a_step_a_range_unit_may_have():
    """wrist_roll's sweep is the whole turn (0..4095): 200 / 4096 per tick, give or take a
    least-squares rounding, is a -100..100 step, never claimed as another unit."""
    from pytest_so101.checks.datasets import _could_be

    for sweep in (4095, 4096, 100):
        assert _could_be("-100..100", 200 / sweep * (1 - 1e-6), [])
        assert _could_be("0..100", 100 / sweep * (1 + 1e-6), [])
    assert not _could_be("-100..100", 360 / 4095 / 57.2958, [])            # radians


def _two_arms(tmp_path, drifted_deg: float = 0.0):
    """The healthy recording as a two-arm one (LeRobot's bi_so101_follower: 12 values a
    frame named left_... and right_...), the right arm's leader off on elbow_flex by
    ``drifted_deg``; its meta/stats.json recomputed."""
    root = tmp_path / "two_arms"
    shutil.copytree(DATASETS / "healthy", root)
    info = json.loads((root / "meta/info.json").read_text())
    stats = {}
    for data_file in sorted((root / "data").rglob("*.parquet")):
        table = pq.read_table(data_file)
        columns = {}
        for feature in (STATE, ACTION):
            one = np.array(table.column(feature).to_pylist())
            other = one.copy()
            if feature == ACTION:
                other[:, MOTOR_NAMES.index("elbow_flex")] += drifted_deg
            both = np.concatenate([one, other], axis=1)
            columns[feature] = pa.array(both.tolist(), type=pa.list_(pa.float32()))
            stats.setdefault(feature, []).append(both)
        table = table.set_column(table.column_names.index(STATE), STATE, columns[STATE])
        table = table.set_column(table.column_names.index(ACTION), ACTION, columns[ACTION])
        pq.write_table(table, data_file)
    for feature in (STATE, ACTION):
        info["features"][feature]["names"] = [f"{side}_{m}.pos" for side in ("left", "right")
                                              for m in MOTOR_NAMES]
        info["features"][feature]["shape"] = [12]
    (root / "meta/info.json").write_text(json.dumps(info))
    (root / "meta/stats.json").write_text(json.dumps({
        f: {"mean": np.concatenate(v).mean(axis=0).tolist(),
            "std": np.concatenate(v).std(axis=0).tolist(),
            "min": np.concatenate(v).min(axis=0).tolist(),
            "max": np.concatenate(v).max(axis=0).tolist()} for f, v in stats.items()}))
    return root


def test_a_two_arm_recording_is_checked_arm_by_arm(tmp_path):
    """Both arms pass where both are healthy; a leader whose elbow is 17 deg off on the right
    arm is named on that arm only."""
    from pytest_so101.core.dataset import load_datasets

    healthy = load_datasets(_two_arms(tmp_path))
    assert set(healthy) == {"left", "right"} and healthy["left"].state.shape[1] == 6
    results, offset = run_dataset_checks(healthy, Inputs(mapping=DEGREES))
    assert offset is None and all(r.ok for r in results), \
        [m.summary() for r in results for m in r.failed]
    drifted = load_datasets(_two_arms(tmp_path / "drift", drifted_deg=17.0))
    results, _ = run_dataset_checks(drifted, Inputs(mapping=DEGREES))
    failed = [m for r in results for m in r.failed]
    assert {(m.check, m.joint) for m in failed} >= {
        ("action - state at rest (right arm)", "elbow_flex")}
    assert not any("(left arm)" in m.check for m in failed)


def test_one_arm_of_a_two_arm_recording_is_chosen_or_asked_for(tmp_path):
    root = _two_arms(tmp_path)
    assert load_dataset(root, "right").arm == "right"
    with raises_config_error(str(root), "two arms", "--so101-arm-side"):
        load_dataset(root)
    with raises_config_error(str(DATASETS / "healthy"), "one arm", "'left'"):
        load_dataset(DATASETS / "healthy", "left")


def _rewrite_frames(root, change):
    path = next((root / "data").rglob("*.parquet"))
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def _rewrite_info(root, change):
    path = root / "meta" / "info.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def _set_column(name, values):
    def change(table):
        i = table.column_names.index(name)
        return table.set_column(i, name, pa.array(values(table.num_rows)))
    return change


@pytest.mark.parametrize(("frames", "info", "parts"), [
    (_set_column("episode_index", lambda n: np.full(n, 2**62, dtype=np.int64)), None,
     ["episode_index", "no episode number", "4611686018427387904"]),
    (_set_column("episode_index", lambda n: np.full(n, -1, dtype=np.int64)), None,
     ["episode_index", "frame 0 holds no episode number", "-1"]),
    (_set_column("timestamp", lambda n: np.full(n, np.nan, dtype=np.float32)), None,
     ["timestamp", "is no time", "nan"]),
    (lambda t: t.drop_columns(["episode_index"]), None,
     ["no episode_index column", "LeRobot writes one on every frame"]),
    (None, lambda info: info.update(codebase_version="v2.1"),
     ["codebase_version", "'v2.1'", "convert_dataset_v21_to_v30"]),
    (None, lambda info: info["features"][STATE].update(shape="[6]"),
     [f"features.{STATE}.shape", "list of whole numbers"]),
    (None, lambda info: info["features"][ACTION].update(shape=[7]),
     [f"features.{ACTION}.shape", "must be [6]"]),
    (None, lambda info: info.update(padding="x" * (4 * 1024 * 1024)),
     ["info.json", "4 MiB"]),
])
def test_a_dataset_that_no_recording_could_be_is_refused_in_one_line(tmp_path, frames, info,
                                                                     parts):
    """Each was 'all checks hold' before: refused now, naming the file, field and value."""
    root = small(tmp_path)
    if frames:
        _rewrite_frames(root, frames)
    if info:
        _rewrite_info(root, info)
    with raises_config_error(*parts):
        load_dataset(root)
