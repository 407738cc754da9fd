"""Mechanical quality per joint through the servo's own encoder: repeatability, backlash
and tracking (docs/health.md).

One motion sequence measures all three. Every joint returns to a target N times,
alternately from below and from above (all joints at once, each from its own side, a few
degrees away). The settled readings from one side scatter by the joint's repeatability
(ticks, and mm at the ``gripperframe`` site through the model's forward kinematics); the
two sides differ by its backlash (the STS3215's encoder reads the output shaft, so a
joint that settles within its play reads where it settled); each return is a step whose
steady-state error and settle time are its tracking. Numpy only: the arm is passed in
(a :class:`~pytest_so101.bus.arm.Arm`, so every move goes through the safety envelope and a
frozen joint is never turned).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core.frames import DEG_PER_TICK
from ..core.joints import MOTOR_NAMES
from ..core.measurement import Evidence, Measurement
from ..core.tolerances import Tolerances
from .base import Check, on_arms

#: Returns to the target from each side.
RETURNS_PER_SIDE = 3
#: How far from the target each return starts (deg): beyond any play it measures.
APPROACH_DEG = 3.0
#: A return counts as settled when the joint reads its target or stops moving.
SETTLE_TICKS = 0.5


@dataclass(frozen=True)
class Bounds:
    """The mechanics bounds (pytest options ``--so101-backlash-deg`` ...; docs/health.md
    cites the measured SO-101 figures behind each default)."""

    backlash_deg: float = 1.5
    repeatability_ticks: float = 4.0
    repeatability_mm: float = 2.0
    tracking_deg: float = Tolerances.tracking_deg
    settle_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: dict) -> Bounds:
        """From the run's resolved options (``options.resolve_settings``)."""
        return cls(**{name: float(settings[name].value) for name in cls.__dataclass_fields__})

    def approach_ticks(self) -> float:
        """How far from the target a return starts: twice the backlash bound, at least
        APPROACH_DEG (a play wider than the approach would read as the approach)."""
        return max(APPROACH_DEG, 2 * self.backlash_deg) / DEG_PER_TICK


@dataclass(frozen=True)
class Returns:
    """What the sequence read, ticks in the servo's frame per joint (motor order):
    ``below`` and ``above`` the settled readings of the returns from each side (one row
    per return), ``settle_s`` how long each return took to settle, ``held`` the joints
    that were not moved (frozen), and on the twin the observer's joint angles (sim rad) at
    each settled return."""

    target: np.ndarray
    approach: np.ndarray
    below: np.ndarray
    above: np.ndarray
    settle_s: np.ndarray
    held: np.ndarray
    observed_below: np.ndarray | None = None
    observed_above: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def moved(self) -> list[int]:
        return [j for j in range(len(MOTOR_NAMES)) if not self.held[j]]


def plan_target(present: np.ndarray, low: np.ndarray, high: np.ndarray,
                approach: float) -> np.ndarray:
    """Per joint, the target nearest where it is that leaves ``approach`` ticks of room on
    both sides inside the envelope ``[low, high]``."""
    return np.rint(np.clip(present, low + approach + 1, high - approach - 1))


def measure_returns(arm, bounds: Bounds, *, returns_per_side: int = RETURNS_PER_SIDE,
                    observe: Callable[[], np.ndarray] | None = None,
                    clock: Callable[[], float] = time.monotonic) -> Returns:
    """Run the sequence on ``arm`` (torque on for it, off however it ends): from where the
    arm is, to a target per joint, approached ``returns_per_side`` times from below and as
    often from above, alternately. Frozen joints hold still. ``observe`` (the twin's
    ground truth) is read at each settled return."""
    present = np.asarray(arm.read_ticks(), dtype=float)
    held = np.array([joint in arm.frozen for joint in MOTOR_NAMES])
    approach = np.where(held, 0.0, bounds.approach_ticks())
    target = np.where(held, present, plan_target(present, arm.envelope.low_ticks,
                                                 arm.envelope.high_ticks,
                                                 bounds.approach_ticks()))
    reached: dict[int, list[np.ndarray]] = {-1: [], 1: []}
    observed: dict[int, list[np.ndarray]] = {-1: [], 1: []}
    settle = []
    with arm.motion():
        for k in range(2 * returns_per_side):
            side = -1 if k % 2 == 0 else 1
            arm.move_ticks(np.rint(target + side * approach), settle_ticks=approach.max() / 4)
            start = clock()
            reached[side].append(np.asarray(arm.move_ticks(target, settle_ticks=SETTLE_TICKS),
                                            dtype=float))
            settle.append(clock() - start)
            if observe is not None:
                observed[side].append(np.asarray(observe(), dtype=float))
    obs = (np.array(observed[-1]), np.array(observed[1])) if observe else (None, None)
    return Returns(target, approach, np.array(reached[-1]), np.array(reached[1]),
                   np.array(settle), held, *obs)


def spread_mm(points_m: np.ndarray) -> float:
    """The largest distance between two of the points (m in, mm out)."""
    p = np.asarray(points_m, dtype=float)
    return float(np.max(np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1))) * 1000


def site_spreads_mm(returns: Returns, to_sim: Callable[[np.ndarray], np.ndarray],
                    site_m: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per joint, the repeatability at the site in mm: the other joints at their target,
    this joint at each settled reading, the site's spread on the worse side."""
    base = to_sim(returns.target)
    out = np.zeros(len(MOTOR_NAMES))
    for j in returns.moved():
        worst = 0.0
        for side in (returns.below, returns.above):
            poses = np.repeat(base[None, :], len(side), axis=0)
            poses[:, j] = to_sim(side)[:, j]
            worst = max(worst, spread_mm(site_m(poses)))
        out[j] = worst
    return out


def check_repeatability(returns: Returns, bounds: Bounds, evidence: Evidence,
                        site_mm: np.ndarray | None = None) -> list[Measurement]:
    """Per moved joint, the spread of its returns from one side (the worse side), in ticks
    and, when the model's kinematics are at hand, in mm at the gripperframe site."""
    out = []
    for j in returns.moved():
        joint = MOTOR_NAMES[j]
        below, above = returns.below[:, j], returns.above[:, j]
        worst = max(np.ptp(below), np.ptp(above))
        detail = (f"{len(below)} returns to {returns.target[j]:.0f} ticks from below read "
                  f"{below.min():.0f}..{below.max():.0f}, {len(above)} from above "
                  f"{above.min():.0f}..{above.max():.0f} ticks")
        cause = (f"{joint} does not settle at the same place twice: a loose horn screw or "
                 "printed part, worn gears, or a servo whose loop stops early (a low P "
                 "coefficient, lerobot #3400)")
        fix = (f"tighten {joint}'s horn screw and check its printed parts for play; check its "
               "P_Coefficient (LeRobot writes 16); replace the servo if it persists")
        out.append(Measurement("repeatability", joint, float(worst), "ticks", None,
                               bounds.repeatability_ticks, detail, cause=cause, fix=fix,
                               evidence=evidence))
        if site_mm is not None:
            out.append(Measurement(
                "repeatability at the gripper", joint, float(site_mm[j]), "mm", None,
                bounds.repeatability_mm, "the gripperframe site over the same returns, the "
                "other joints at their target (the model's forward kinematics)",
                cause=cause, fix=fix, evidence=evidence))
    return out


def check_backlash(returns: Returns, bounds: Bounds, evidence: Evidence
                   ) -> list[Measurement]:
    """Per moved joint, the gap between the target approached from above and from below
    (mean settled readings), in deg."""
    out = []
    for j in returns.moved():
        joint = MOTOR_NAMES[j]
        gap_ticks = returns.above[:, j].mean() - returns.below[:, j].mean()
        gap_deg = gap_ticks * DEG_PER_TICK
        approach_deg = returns.approach[j] * DEG_PER_TICK
        at_least = " (at least: as wide as the approach)" if \
            abs(gap_deg) >= 0.95 * approach_deg else ""
        out.append(Measurement(
            "backlash", joint, float(gap_deg), "deg", -bounds.backlash_deg,
            bounds.backlash_deg,
            f"approached from {approach_deg:.1f} deg below reads "
            f"{returns.below[:, j].mean():.1f} ticks, from above "
            f"{returns.above[:, j].mean():.1f}: a gap of {gap_ticks:+.1f} ticks{at_least}",
            cause=f"{joint} has {abs(gap_deg):.2f} deg of play between its motor and its "
                  "output (worn or damaged gears, a loose horn or horn screw; SO-ARM100 #134 "
                  "measured ~1 deg on new STS3215)",
            fix=f"tighten {joint}'s horn screw; if the play stays, replace the servo's gears "
                "(or the servo); meanwhile approach targets from one side",
            evidence=evidence))
    return out


def tracking_error(check: str, joint: str, errors_ticks: np.ndarray, bound_deg: float,
                   detail: str, evidence: Evidence = Evidence.SERVO) -> Measurement:
    """The worst of a joint's steady-state errors (reading - target, ticks) in deg against
    the tracking bound (``--so101-tracking-deg``), with the causes of a joint stopping
    short."""
    worst = float(errors_ticks[np.argmax(np.abs(errors_ticks))])
    return Measurement(
        check, joint, worst * DEG_PER_TICK, "deg", -bound_deg, bound_deg, detail,
        cause=f"{joint} stops short of its goal: a load beyond its torque (Torque_Limit, "
              "Max_Torque_Limit), a binding joint, a low supply voltage or a low P "
              "coefficient",
        fix=f"check {joint} turns freely by hand with torque off, the supply (the health "
            "suite) and its torque limits and P_Coefficient", evidence=evidence)


def check_tracking(returns: Returns, bounds: Bounds, evidence: Evidence,
                   sag_ticks: np.ndarray | None = None) -> list[Measurement]:
    """Per moved joint, the worst steady-state error after a step (deg, reading - target,
    less the sag the model's servo stiffness gives under gravity at the target,
    ``sag_ticks``) and the longest settle time (s; advisory: it depends on the host's
    timing)."""
    reached = np.concatenate([returns.below, returns.above])
    sag = np.zeros(len(MOTOR_NAMES)) if sag_ticks is None else np.asarray(sag_ticks)
    out = []
    for j in returns.moved():
        joint = MOTOR_NAMES[j]
        errors = reached[:, j] - returns.target[j]
        less = f", less the model's sag under gravity ({sag[j]:+.0f} ticks)" \
            if abs(sag[j]) >= 1 else ""
        out.append(tracking_error(
            "tracking error", joint, errors - sag[j], bounds.tracking_deg,
            f"after steps of {returns.approach[j] * DEG_PER_TICK:.1f} deg from either side: "
            f"{errors.min():+.0f}..{errors.max():+.0f} ticks from the target{less}",
            evidence))
    slowest = float(returns.settle_s.max()) if len(returns.settle_s) else 0.0
    for j in returns.moved():
        out.append(Measurement(
            "settle time", MOTOR_NAMES[j], slowest, "s", None, bounds.settle_s,
            f"the slowest of {len(returns.settle_s)} steps, all joints at once, read every "
            "50 ms (advisory: the host's timing counts)", advisory=True, evidence=evidence))
    return out


def check_against_observer(returns: Returns, evidence: Evidence = Evidence.TWIN
                           ) -> list[Measurement]:
    """The twin only: the backlash the encoder measured against the one its observer saw
    (the encoder reads the output shaft: they agree within a tick's rounding each side)."""
    if returns.observed_below is None:
        return []
    out = []
    tolerance = 2 * DEG_PER_TICK
    for j in returns.moved():
        joint = MOTOR_NAMES[j]
        encoder = abs(returns.above[:, j].mean() - returns.below[:, j].mean()) * DEG_PER_TICK
        observed = abs(np.rad2deg(returns.observed_above[:, j].mean()
                                  - returns.observed_below[:, j].mean()))
        out.append(Measurement(
            "backlash vs observer", joint, float(encoder - observed), "deg", -tolerance,
            tolerance, f"encoder {encoder:.3f} deg, the twin's observer {observed:.3f} deg",
            marginal_fraction=1.0,
            cause="the encoder does not read the joint where it settled (the twin's model of "
                  "the encoder on the output shaft is broken)",
            fix="a twin bug: report it with this run", evidence=evidence))
    return out


@dataclass(frozen=True)
class MechanicsRun:
    """The returns the sequence measured, the bounds it is judged by, and the
    repeatability at the gripperframe site (mm per joint; None without a model and map)."""

    returns: Returns
    bounds: Bounds
    site_mm: np.ndarray | None = None
    sag_ticks: np.ndarray | None = None      # at the target, from the model (see hil.Reached)


_S = Evidence.SERVO     # the functions' own evidence; the runner sets the setup's
MECHANICS_EVIDENCE = on_arms(twin=Evidence.TWIN, motion=Evidence.SERVO)


def _check(name: str, title: str, measure, catches: str, tolerance: str, **kwargs) -> Check:
    kwargs.setdefault("evidence", MECHANICS_EVIDENCE)
    return Check(name, title, "mechanics", ("returns",), measure, catches, tolerance,
                 suite="mechanics", **kwargs)


CHECKS: tuple[Check, ...] = (
    _check("repeatability", "repeatability", lambda i: check_repeatability(
        i["returns"].returns, i["returns"].bounds, _S, i["returns"].site_mm),
        "a worn or loose joint: returns to one target from one side scatter",
        "--so101-repeatability-ticks, and --so101-repeatability-mm at the gripperframe site"),
    _check("backlash", "backlash", lambda i: check_backlash(
        i["returns"].returns, i["returns"].bounds, _S),
        "gear play beyond a new STS3215's (SO-ARM100 #134: about 1 deg)",
        "--so101-backlash-deg"),
    _check("tracking", "tracking and settle time", lambda i: check_tracking(
        i["returns"].returns, i["returns"].bounds, _S, i["returns"].sag_ticks),
        "a joint that stops short of its goal (load, binding, low supply, low P gain); a slow "
        "settle (advisory)", "--so101-tracking-deg; --so101-settle-s (advisory)"),
    _check("backlash-vs-observer", "backlash: encoder vs the twin's observer",
           lambda i: check_against_observer(i["returns"].returns),
           "a twin whose encoder does not read the output shaft (a twin bug)",
           "two ticks' worth", evidence=on_arms(twin=Evidence.TWIN),
           empty_reason="needs the twin's observer"),
)
