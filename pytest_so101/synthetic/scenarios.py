"""The fault catalog as reproducible scenarios (docs/faults.md).

A scenario is a known sim-to-real mistake (or a correct configuration it is compared
with): a set of files under ``fixtures/scenarios/NAME/`` (written by
scripts/make_fixtures.py), optionally a twin that differs from what the files say (a
fault of the physical arm), the suite that must catch it and the message it must print.
``so101-twin serve --scenario NAME`` starts the twin of a scenario; :func:`pytest_args`
gives the options for the suites.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: File names inside a scenario folder, and the pytest option each one feeds.
FILE_OPTIONS = {
    "calibration.json": "--so101-calibration",
    "stats": "--so101-stats",
    "stats.json": "--so101-stats",
    "mapping.toml": "--so101-mapping",
    "model.xml": "--so101-mjcf",
}
#: The twin is the arm this file describes (when the user's calibration is not its own).
ARM_FILE = "arm.json"


@dataclass(frozen=True)
class Scenario:
    """One catalog scenario. ``expect`` is a regex the failing output must contain (empty
    for a correct configuration, which must pass)."""

    name: str
    entry: str                      # the catalog entry (docs/faults.md section)
    files: tuple[str, ...]          # names in fixtures/scenarios/NAME/
    suites: tuple[str, ...]         # suite files that run; one of them must catch it
    expect: str = ""
    select: str = ""                # pytest -k expression: the tests that catch it
    twin_faults: tuple[str, ...] = ()
    twin_self_calibrates: bool = False   # the twin calibrates itself (its own file)
    options: tuple[str, ...] = ()
    static: bool = False            # so101-diagnose catches it from the files alone
    correct: str = ""               # the correct configuration it is compared with

    @property
    def is_fault(self) -> bool:
        return bool(self.expect)

    @property
    def twin_arm(self) -> str | None:
        return ARM_FILE if ARM_FILE in self.files else None

    def serve_args(self, folder: Path) -> list[str]:
        """``so101-twin serve`` options for this scenario's twin."""
        args = [f for fault in self.twin_faults for f in ("--twin-fault", fault)]
        if self.twin_arm:
            args += ["--calibration", str(folder / self.twin_arm)]
        elif not self.twin_self_calibrates and "calibration.json" in self.files:
            args += ["--calibration", str(folder / "calibration.json")]
        return args

    def pytest_args(self, folder: Path) -> list[str]:
        """Options for the suites: the user's files, and the twin's faults and arm."""
        args: list[str] = []
        for name in self.files:
            if name in FILE_OPTIONS and not (self.twin_self_calibrates
                                             and name == "calibration.json"):
                args += [FILE_OPTIONS[name], str(folder / name)]
        if self.twin_faults:
            args += ["--so101-twin-fault", ",".join(self.twin_faults)]
        if self.twin_arm:
            args += ["--so101-twin-arm", str(folder / self.twin_arm)]
        args += list(self.options)
        if self.select:
            args += ["-k", self.select]
        return args

    def diagnose_args(self, folder: Path) -> list[str]:
        """``so101-diagnose`` options: the files (the twin's own calibration is not one)."""
        args = [a for name in self.files if name in FILE_OPTIONS
                for a in (FILE_OPTIONS[name], str(folder / name))] + list(self.options)
        return [a.replace("--so101-", "--") for a in args]


LEGACY = ("stats", "mapping.toml")
S = Scenario
SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    # -- correct configurations --------------------------------------------------------
    S("smolvla_legacy_frame", "correct", LEGACY,
      ("test_configuration.py", "test_normalization.py", "test_roundtrip.py")),
    S("degrees_policy_on_degrees_robot", "correct", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py", "test_normalization.py")),
    S("range_policy_on_range_robot", "correct", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py", "test_normalization.py")),
    S("twin_as_built", "correct", ("calibration.json", ARM_FILE, *LEGACY),
      ("test_configuration.py", "test_hil.py", "test_rest_pose.py", "test_gravity.py")),
    S("old_calib_model_old_calib_map", "correct", ("calibration.json", "model.xml", *LEGACY),
      ("test_configuration.py",)),
    # -- faults ------------------------------------------------------------------------
    S("smolvla_stats_as_degrees", "stats-outside-limits", ("stats", "mapping.toml"),
      ("test_normalization.py", "test_configuration.py"),
      expect=r"shoulder_lift: stats frame fingerprint = .* FAIL: .*Likely cause: the stats "
      r"were recorded in lerobot-legacy-degrees, not lerobot-degrees\. Fix: .*convert: "
      r"shoulder_lift = -\(x - 90\)",
      static=True, correct="smolvla_legacy_frame"),
    S("smolvla_offset_only_fix", "offset-only-fix", LEGACY, ("test_roundtrip.py",),
      expect=r"shoulder_lift: sim_to_policy vs reference = 230 deg .* FAIL: direction reversed"
      r".*shoulder_lift = -\(x - 90\)",
      static=True, correct="smolvla_legacy_frame"),
    S("degrees_policy_on_range_robot", "units-mismatch", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py",),
      expect=r"shoulder_pan: robot units vs policy frame = .* FAIL: the robot reports -100\.\.100 "
      r"\(use_degrees=False\), the policy's stats are in lerobot-degrees.*Fix: run the robot "
      r"with --robot\.use_degrees=true",
      static=True, correct="degrees_policy_on_degrees_robot"),
    S("range_policy_on_degrees_robot", "units-mismatch", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py",),
      expect=r"shoulder_pan: robot units vs policy frame = .* FAIL: the robot reports degrees "
      r"\(use_degrees=True\), the policy's stats are in lerobot-range.*Fix: run the robot "
      r"with --robot\.use_degrees=false",
      static=True, correct="range_policy_on_range_robot"),
    S("radians_for_degrees_map", "radians-for-degrees", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py",),
      expect=r"elbow_flex: sim_to_robot scale / expected = 0\.01745 .* FAIL: .*Likely cause: "
      r"radians taken for degrees.*Fix: set \[sim_to_robot\] scale for elbow_flex to 57\.3",
      static=True, correct="degrees_policy_on_degrees_robot"),
    S("radians_for_degrees_stats", "radians-for-degrees", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py",),
      expect=r"elbow_flex: stats frame fingerprint = .* FAIL: .*Likely cause: the stats were "
      r"recorded in sim radians \(MuJoCo qpos\), not lerobot-degrees.*elbow_flex = "
      r"57\.2958 \* x",
      static=True, correct="degrees_policy_on_degrees_robot"),
    S("radians_stats_gripper_percent", "radians-for-degrees", ("calibration.json",
      "stats.json", "mapping.toml"), ("test_configuration.py",),
      expect=r"elbow_flex: stats frame fingerprint = .* FAIL: .*Likely cause: the stats were "
      r"recorded in radians \(LeRobot degrees written in radians\), not lerobot-degrees.*"
      r"elbow_flex = 57\.2958 \* x",
      static=True, correct="degrees_policy_on_degrees_robot"),
    S("mirrored_elbow", "mirrored-motor", ("calibration.json", ARM_FILE, *LEGACY),
      ("test_gravity.py", "test_hil.py"), twin_faults=("elbow_flex:mirror",),
      expect=r"elbow_flex: gravity load direction = -[\d.]+ x .* FAIL: .*Likely cause: the "
      r"servo pushes against gravity the other way round .*direction reversed: a mirrored "
      r"motor.*Fix: .*set direction = -1 for elbow_flex",
      correct="twin_as_built"),
    S("drive_mode_on_healthy_motor", "mirrored-motor", ("calibration.json", ARM_FILE,
      "stats.json", "mapping.toml"), ("test_hil.py",), select="jog and wrist_flex",
      expect=r"wrist_flex: jog response error = .* FAIL: .*Likely cause: direction reversed: "
      r"wrist_flex has drive_mode 1 in the calibration file, which reverses it in LeRobot's "
      r"range units, but the motor is not mirrored .*Fix: set wrist_flex drive_mode to 0",
      correct="range_policy_on_range_robot"),
    S("drive_mode_ignored_in_degrees", "mirrored-motor", ("calibration.json", ARM_FILE,
      *LEGACY), ("test_configuration.py",), twin_faults=("elbow_flex:mirror",),
      expect=r"elbow_flex: drive_mode with these units = 1 .* FAIL: .*Likely cause: drive_mode 1 "
      r"marks a mirrored motor, but LeRobot's DEGREES mode ignores drive_mode",
      static=True, correct="twin_as_built"),
    S("reseated_horn", "stale-calibration", ("calibration.json", ARM_FILE, *LEGACY),
      ("test_hil.py",), select="observed", twin_faults=("shoulder_lift:reseat",),
      expect=r"shoulder_lift: reading vs observed pose = 14\.\d+ deg .* FAIL: .*Likely cause: "
      r"the horn was re-seated 1 spline tooth",
      correct="twin_as_built"),
    S("slipped_horn", "stale-calibration", ("calibration.json", ARM_FILE, *LEGACY),
      ("test_hil.py",), select="observed", twin_faults=("wrist_flex:stale=60",),
      expect=r"wrist_flex: reading vs observed pose = 5\.\d+ deg .* FAIL: .*Likely cause: the "
      r"assembly changed since calibrating",
      correct="twin_as_built"),
    S("another_arms_calibration", "another-arm", ("calibration.json", ARM_FILE, *LEGACY),
      ("test_hil.py",), select="registers",
      expect=r"shoulder_pan: servo homing_offset - file = .* FAIL: .*Likely cause: the "
      r"calibration file belongs to another arm",
      correct="twin_as_built"),
    S("range_across_seam", "seam", ("calibration.json", *LEGACY),
      ("test_configuration.py", "test_hil.py"), select="calibrated-range or observed",
      twin_faults=("shoulder_pan:homing=100",), twin_self_calibrates=True,
      expect=r"shoulder_pan: calibrated range width = 35\d\.\d+ deg .* FAIL: .*Likely cause: the "
      r"sweep crossed the encoder's 0/4095 seam",
      static=True, correct="twin_as_built"),
    S("stats_keyed_per_dataset", "stats-key", ("stats", "mapping.toml"),
      ("test_normalization.py",), options=("--so101-stats-dataset", "so100-blue"),
      select="stats-key",
      expect=r"LeRobot's normalizer looks up 'normalize_inputs\.buffer_observation_state' for "
      r"observation\.state, which is missing.*Fix: store the stats",
      static=True, correct="smolvla_legacy_frame"),
    S("stats_without_state", "stats-key", ("stats.json", "mapping.toml"),
      ("test_normalization.py",),
      expect=r"no stats for feature 'observation\.state'; the file holds: action",
      static=True, correct="smolvla_legacy_frame"),
    S("old_calib_model_new_calib_map", "old-calib-model", ("calibration.json", "model.xml",
      *LEGACY), ("test_configuration.py",),
      expect=r"shoulder_lift: model limits vs the mapping's model = .* FAIL: .*Likely cause: "
      r"the MJCF is the so101-old-calib model",
      static=True, correct="old_calib_model_old_calib_map"),
    S("gripper_as_degrees", "gripper-as-degrees", ("calibration.json", "stats.json",
      "mapping.toml"), ("test_configuration.py",),
      expect=r"gripper: sim_to_robot scale / expected = 1\.1\d* .* FAIL: .*Likely cause: the "
      r"gripper's 0\.\.100 range treated as degrees",
      static=True, correct="degrees_policy_on_degrees_robot"),
)}


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; a clear error listing the names otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
