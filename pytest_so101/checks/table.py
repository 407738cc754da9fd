"""The checks of a configuration (no arm, no motion), as one table.

Each :class:`Check` declares what it needs (calibration, stats, mapping tables, a model
file), the evidence it gives, its tolerance, what it catches and its default cause and
fix. ``suites/test_configuration.py``, ``suites/test_normalization.py``,
``suites/test_roundtrip.py``, ``so101-diagnose`` and ``benchmarks/fault_catalog.py`` all
iterate :data:`CHECKS` through :func:`run_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ..core.calibration import Calibration
from ..core.chain import reference_sim_to_policy
from ..core.errors import So101ConfigError
from ..core.joints import SO101_NEW_CALIB_LIMITS, JointLimits
from ..core.mapping import JointMap, MappingFile
from ..core.measurement import Evidence, Measurement
from ..core.stats import NormStats
from ..core.tolerances import Tolerances
from .diagnosis import (
    COVERAGE_TOLERANCE_DEG,
    SCALE_TOLERANCE,
    SWEEP_SLACK_DEG,
    check_calibrated_ranges,
    check_drive_modes,
    check_model_matches_mapping,
    check_robot_units_match_policy_frame,
    check_sim_to_robot_covers_calibration,
    check_sim_to_robot_scale,
    check_stats_frame,
    check_stats_key,
    decide_frame,
)
from .invariants import (
    EXTREMES_MARGIN_DEG,
    NARROW_SPREAD_DEG,
    check_map_matches_reference,
    check_normalized_near_zero,
    check_stats_extremes_within_limits,
    check_stats_mean_within_limits,
    check_stats_spread_plausible,
    check_stds_positive,
)

SUITES = ("configuration", "normalization", "roundtrip")


@dataclass(frozen=True)
class Inputs:
    """What the user gave. ``model_limits`` are those of a model *file* in use (an MJCF);
    without one, checks use the limits of the model the mapping names."""

    calibration: Calibration | None = None
    stats: NormStats | None = None
    mapping: MappingFile | None = None
    model_limits: JointLimits | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)

    @property
    def limits(self) -> JointLimits:
        if self.model_limits is not None:
            return self.model_limits
        return self.mapping.joint_limits if self.mapping is not None else SO101_NEW_CALIB_LIMITS

    def chain(self, name: str) -> JointMap:
        """The sim -> policy chain ``reference`` (known conversions) or ``declared``."""
        if name == "declared":
            return self.mapping.sim_to_policy
        return reference_sim_to_policy(self.mapping, self.calibration)


@dataclass(frozen=True)
class Need:
    """One input a check needs: how to tell it is there, and how to ask for it."""

    present: Callable[[Inputs], bool]
    pytest_text: str
    cli_text: str

    def text(self, flavor: str) -> str:
        """How to ask for it in ``pytest`` or in ``so101-diagnose`` (``cli``)."""
        return self.cli_text if flavor == "cli" else self.pytest_text


def _table(name: str) -> Callable[[Inputs], bool]:
    return lambda i: i.mapping is not None and getattr(i.mapping, name) is not None


NEEDS: dict[str, Need] = {
    "calibration": Need(lambda i: i.calibration is not None,
                        "a calibration (--so101-calibration)", "a calibration (--calibration)"),
    "stats": Need(lambda i: i.stats is not None, "stats (--so101-stats)", "stats (--stats)"),
    "mapping": Need(lambda i: i.mapping is not None, "a mapping (--so101-mapping)",
                    "a mapping (--mapping)"),
    "sim_to_robot": Need(_table("sim_to_robot"), "a [sim_to_robot] map in the mapping",
                         "a [sim_to_robot] map in the mapping"),
    "policy_frame": Need(_table("policy_frame"), "the [policy] frame in the mapping",
                         "the [policy] frame in the mapping"),
    "sim_to_policy": Need(_table("sim_to_policy"), "a [sim_to_policy] map in the mapping",
                          "a [sim_to_policy] map in the mapping"),
    "model": Need(lambda i: i.model_limits is not None,
                  "the model file (--so101-mjcf; the embedded model when the mapping names "
                  "so101-new-calib)",
                  "the model file (--mjcf): without it the mapping's model would be compared "
                  "with itself"),
}


@dataclass(frozen=True)
class Check:
    """One check: a small unit iterated by the suites, ``so101-diagnose`` and the
    benchmark. ``measure`` returns per-joint measurements; ``cause``/``fix`` fill those a
    measurement leaves empty. An advisory check (``firm`` False) never fails a run."""

    name: str
    title: str
    suite: str
    needs: tuple[str, ...]
    measure: Callable[[Inputs], list[Measurement]]
    catches: str
    tolerance: str
    cause: str = ""
    fix: str = ""
    evidence: Evidence = Evidence.FILES
    firm: bool = True
    per_joint: bool = True
    #: Why the check has nothing to say when it returns no measurement.
    empty_reason: str = "does not apply to these files"

    def missing(self, inputs: Inputs) -> list[str]:
        return [n for n in self.needs if not NEEDS[n].present(inputs)]


@dataclass
class CheckResult:
    """One check run: its measurements, or why it did not run."""

    check: Check
    measurements: list[Measurement] = field(default_factory=list)
    skipped: str = ""
    error: str = ""          # the check could not run although it should have: a failure

    @property
    def title(self) -> str:
        return self.check.title

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.passed]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error


def _stats_frame(i: Inputs) -> list[Measurement]:
    return check_stats_frame(i.stats, i.mapping, i.calibration, i.limits,
                             tolerance_deg=i.tolerances.deg)


def _spread(i: Inputs) -> list[Measurement]:
    best, formulas = decide_frame(i.stats, i.mapping, i.calibration, i.limits)
    return check_stats_spread_plausible(
        i.stats, i.chain("reference"), frame=i.mapping.policy_frame, chain_name="reference",
        other_frame=best, conversion=formulas)


def _per_chain(name: str) -> list[Check]:
    """The checks of the stats through one sim -> policy chain."""
    needs = ("stats", "sim_to_robot", "policy_frame") + \
        (("sim_to_policy",) if name == "declared" else ())
    return [
        Check(f"stats-mean-in-limits-{name}", f"stats mean in limits ({name} chain)",
              "normalization", needs,
              lambda i: check_stats_mean_within_limits(
                  i.stats, i.chain(name), i.limits, frame=i.mapping.policy_frame,
                  chain_name=name),
              catches="stats recorded in another frame than declared (seed 000), or for "
              "another model", tolerance="the model's joint limits"),
        Check(f"stats-extremes-in-limits-{name}", f"stats min/max in limits ({name} chain)",
              "normalization", needs,
              lambda i: check_stats_extremes_within_limits(
                  i.stats, i.chain(name), i.limits, frame=i.mapping.policy_frame,
                  chain_name=name),
              catches="data that reached where the joint cannot go: another frame or model",
              tolerance=f"the model's joint limits + {EXTREMES_MARGIN_DEG:g} deg",
              empty_reason="the stats hold no min/max"),
        Check(f"reference-pose-near-zero-{name}",
              f"reference pose normalizes near 0 ({name} chain)", "normalization", needs,
              lambda i: check_normalized_near_zero(
                  i.stats, i.chain(name), i.mapping.reference_pose_rad,
                  tolerance=i.tolerances.z, frame=i.mapping.policy_frame, chain_name=name,
                  pose_name=i.mapping.reference_pose_name),
              catches="(advisory) a chain or stats far from the data around the reference "
              "pose", tolerance="--so101-tolerance-z std (advisory: MARGINAL, never FAIL)",
              firm=False),
    ]


CHECKS: tuple[Check, ...] = (
    Check("calibrated-range", "calibrated ranges", "configuration", ("calibration",),
          lambda i: check_calibrated_ranges(i.calibration, i.limits),
          catches="a range recorded across the 0/4095 seam (lerobot #3586, #3587)",
          tolerance=f"the model's range + {SWEEP_SLACK_DEG:g} deg (at most 350 deg)"),
    Check("drive-mode", "drive modes", "configuration", ("calibration", "sim_to_robot"),
          lambda i: check_drive_modes(i.calibration, i.mapping.robot_units),
          catches="drive_mode 1 on a joint read in degrees, where LeRobot ignores it",
          tolerance="drive_mode 0 on joints read in degrees"),
    Check("model-vs-mapping", "model vs mapping", "configuration", ("mapping", "model"),
          lambda i: check_model_matches_mapping(i.mapping, i.model_limits),
          catches="an SO-100 / old-calib model used with a map written for so101_new_calib",
          tolerance="every joint limit within 0.02 rad"),
    Check("sim-to-robot-scale", "sim_to_robot scale", "configuration", ("sim_to_robot",),
          lambda i: check_sim_to_robot_scale(i.mapping, i.calibration),
          catches="radians taken for degrees, the gripper's 0..100 taken for degrees, a map "
          "written for other units", tolerance=f"one servo turn per joint turn, "
          f"+-{SCALE_TOLERANCE:.0%}"),
    Check("model-range-on-calibrated-range", "sim_to_robot vs calibrated range",
          "configuration", ("sim_to_robot", "calibration"),
          lambda i: check_sim_to_robot_covers_calibration(i.mapping, i.calibration, i.limits),
          catches="a pi/2 offset (old-calib model), a wrong zero in [sim_to_robot]",
          tolerance=f"{COVERAGE_TOLERANCE_DEG:g} deg at either end"),
    Check("robot-units-vs-policy-frame", "robot units vs policy frame", "configuration",
          ("sim_to_robot", "policy_frame"),
          lambda i: check_robot_units_match_policy_frame(
              i.mapping, i.calibration, i.limits, tolerance_deg=i.tolerances.deg),
          catches="use_degrees flipped between recording and deployment (LeRobot 0.4.4)",
          tolerance="--so101-tolerance-deg over the joint range",
          empty_reason="the legacy frame is converted through the declared [sim_to_policy], "
          "which sim-to-policy-vs-reference judges"),
    Check("stats-frame", "stats frame", "configuration", ("stats", "sim_to_robot",
                                                          "policy_frame"),
          _stats_frame,
          catches="stats recorded in another frame than declared (legacy degrees, radians, "
          "ticks), with the conversion", tolerance="--so101-tolerance-deg over the joint range"),
    Check("stats-spread", "stats spread plausible", "configuration",
          ("stats", "sim_to_robot", "policy_frame"), _spread,
          catches="radians read as degrees (every arm joint still), ticks read as degrees "
          "(more than a turn)",
          tolerance=f"some arm joint spreads >= {NARROW_SPREAD_DEG:g} deg; no std beyond "
          "half a turn"),
    Check("stats-key", "stats key", "normalization", ("stats",),
          lambda i: check_stats_key(i.stats),
          catches="stats keyed per dataset or missing: LeRobot's normalizer passes inputs "
          "through unnormalized (lerobot #4415, #1763)", tolerance="the key present",
          per_joint=False),
    Check("stats-std", "stats std", "normalization", ("stats",),
          lambda i: check_stds_positive(i.stats),
          catches="a zero or negative spread: normalization divides by ~eps",
          tolerance="> 0"),
    *_per_chain("reference"),
    *_per_chain("declared"),
    Check("sim-to-policy-vs-reference", "sim_to_policy vs reference chain", "roundtrip",
          ("sim_to_robot", "policy_frame", "sim_to_policy"),
          lambda i: check_map_matches_reference(
              i.chain("declared"), i.chain("reference"), i.limits,
              tolerance_deg=i.tolerances.deg, frame=i.mapping.policy_frame),
          catches="a declared [sim_to_policy] map that is not sim -> robot -> policy frame "
          "(seed 000's offset-only fix)", tolerance="--so101-tolerance-deg over the range"),
)
BY_NAME: dict[str, Check] = {c.name: c for c in CHECKS}


def for_suite(suite: str) -> tuple[Check, ...]:
    """The checks a suite runs, in table order."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")
    return tuple(c for c in CHECKS if c.suite == suite)


def _with_defaults(check: Check, m: Measurement) -> Measurement:
    return replace(m, cause=m.cause or check.cause, fix=m.fix or check.fix,
                   evidence=check.evidence, advisory=m.advisory or not check.firm)


def run_check(check: Check, inputs: Inputs, *, flavor: str = "pytest") -> CheckResult:
    """Run one check, or say what it needs (``flavor`` names the options: pytest or cli)."""
    missing = check.missing(inputs)
    if missing:
        texts = [NEEDS[n].text(flavor) for n in missing]
        return CheckResult(check, skipped="needs " + " and ".join(texts))
    try:
        measurements = [_with_defaults(check, m) for m in check.measure(inputs)]
    except So101ConfigError as exc:          # e.g. a conversion that needs the calibration
        hint = f": give {NEEDS['calibration'].text(flavor)}" if inputs.calibration is None \
            and "calibration" in str(exc) else ""
        return CheckResult(check, skipped=f"{exc}{hint}")
    return CheckResult(check, measurements, "" if measurements else check.empty_reason)


def run_checks(inputs: Inputs, checks: Iterable[Check] = CHECKS, *, flavor: str = "pytest"
               ) -> list[CheckResult]:
    """Run every check the inputs allow, in table order."""
    return [run_check(c, inputs, flavor=flavor) for c in checks]
