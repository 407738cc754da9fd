"""What a check is: one declared unit, the same for every domain.

A :class:`Check` declares what it needs (files, readings of an arm, a dataset), the
evidence it gives in each setup (files, the emulated arm, a real arm read-only, with
motion, with a person), its tolerance, what it catches and its default cause and fix. Its
``measure`` turns :class:`Inputs` into per-joint measurements. The suites, ``so101-diagnose``,
the LeRobot integration and the fault-catalog benchmark all run checks through
:func:`run_check`, and ``so101-diagnose --list-checks`` and ``docs/checks.md`` are made from
the declarations (``catalog.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ..core.calibration import Calibration
from ..core.chain import reference_sim_to_policy
from ..core.errors import So101ConfigError
from ..core.joints import SO101_NEW_CALIB_LIMITS, JointLimits
from ..core.mapping import JointMap, MappingFile
from ..core.measurement import Evidence, Measurement
from ..core.stats import NormStats
from ..core.tolerances import Tolerances


class Setup(StrEnum):
    """Where a check runs: what is there to compare the files with."""

    FILES = "files"          # no arm: so101-diagnose, the configuration suites
    TWIN = "twin"            # the emulated arm (pytest suites without --hardware)
    HARDWARE = "hardware"    # a real arm, read-only (--hardware, so101-diagnose --port)
    MOTION = "motion"        # a real arm that may move (--hardware --allow-motion)
    GUIDED = "guided"        # a person moves a real arm when asked (--so101-guided)


#: A check of the files alone gives the same evidence wherever it runs.
FILES_EVERYWHERE: Mapping[Setup, Evidence] = {s: Evidence.FILES for s in Setup}


def on_arms(*, twin: Evidence | None = Evidence.TWIN, hardware: Evidence | None = None,
            motion: Evidence | None = None, guided: Evidence | None = None
            ) -> dict[Setup, Evidence]:
    """Evidence per setup of a check of an arm (None: it does not run there). On a real arm
    ``motion`` and ``guided`` default to what it gives read-only."""
    motion = motion or hardware
    guided = guided or motion
    found = {Setup.TWIN: twin, Setup.HARDWARE: hardware, Setup.MOTION: motion,
             Setup.GUIDED: guided}
    return {s: e for s, e in found.items() if e is not None}


@dataclass(frozen=True)
class Inputs:
    """What a check is given: the user's files (``model_limits`` are those of a model *file*
    in use, an MJCF; without one, checks use the limits of the model the mapping names), the
    setup, and ``readings``: what an arm, a dataset or a run measured, by need name."""

    calibration: Calibration | None = None
    stats: NormStats | None = None
    mapping: MappingFile | None = None
    model_limits: JointLimits | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)
    setup: Setup = Setup.FILES
    readings: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """A mapping whose joints come from the calibration is read with this one."""
        if self.mapping is not None:
            object.__setattr__(self, "mapping", self.mapping.for_calibration(self.calibration))

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

    def __getitem__(self, need: str) -> object:
        """A reading by its need name (``records``, ``rest``...)."""
        return self.readings[need]

    def with_readings(self, **readings: object) -> Inputs:
        """A copy with these readings added."""
        return replace(self, readings={**self.readings, **readings})

    def __repr__(self) -> str:
        given = [name for name in ("calibration", "stats", "mapping") if getattr(self, name)]
        return f"Inputs({self.setup.value}; {', '.join(given + list(self.readings)) or 'empty'})"


@dataclass(frozen=True)
class Need:
    """One input a check needs: how to tell it is there, and how to ask for it (in pytest,
    in so101-diagnose)."""

    present: Callable[[Inputs], bool]
    pytest_text: str
    cli_text: str

    def text(self, flavor: str) -> str:
        return self.cli_text if flavor == "cli" else self.pytest_text


def _table(name: str) -> Callable[[Inputs], bool]:
    return lambda i: i.mapping is not None and getattr(i.mapping, name) is not None


def _reading(name: str) -> Callable[[Inputs], bool]:
    return lambda i: i.readings.get(name) is not None


def _arm_need(what: str, pytest_text: str, cli_text: str = "") -> Need:
    return Need(_reading(what), pytest_text,
                cli_text or f"{pytest_text}: run the suites (pytest suites)")


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
    "poses": Need(_reading("poses"), "paired poses (so101-diagnose --solve-map POSES.toml)",
                  "paired poses (--solve-map POSES.toml)"),
    "dataset": Need(_reading("dataset"), "a dataset (--so101-dataset)",
                    "a dataset (--dataset)"),
    # what an arm gave, read-only (so101-diagnose --port reads them too)
    "servos": _arm_need("servos", "the arm's servos (the bus)", "the arm (--port)"),
    "registers": _arm_need("registers", "the arm's calibration registers (the bus)",
                           "the arm (--port)"),
    "positions": _arm_need("positions", "the arm's positions (the bus)", "the arm (--port)"),
    "records": _arm_need("records", "the servos' registers (the bus)", "the arm (--port)"),
    "trace": _arm_need("trace", "the servos' health trace (the bus)", "the arm (--port)"),
    "scan": _arm_need("scan", "a scan of the bus", "the arm (--port)"),
    "rest_pose": Need(_reading("rest_pose"), "a rest pose ([sim] rest_pose in the mapping, or "
                      "the model's rest keyframe)", "a rest pose ([sim] rest_pose in --mapping, "
                      "or the embedded model's rest keyframe)"),
    # what only a run of the suites gives: an observer, motion, a person, a leader
    "observer": _arm_need("observer", "the twin's observer of the true joint angles"),
    "jog": _arm_need("jog", "a jog of each joint (motion)"),
    "reached": _arm_need("reached", "moves to drawn targets (motion)"),
    "rest_motion": _arm_need("rest_motion", "the mapped rest pose sent to the arm (motion)"),
    "gravity": _arm_need("gravity", "the arm held still under gravity (motion)"),
    "returns": _arm_need("returns", "returns to targets from both sides (motion)"),
    "guided": _arm_need("guided", "a person's move of a named joint (--so101-guided)"),
    "leader": _arm_need("leader", "a leader's calibration (--so101-leader-calibration)",
                        "a leader's calibration: run the teleoperation suite"),
    "leader_positions": _arm_need("leader_positions", "the leader's positions (its bus)"),
    "teleop": _arm_need("teleop", "a teleoperated pair (motion)"),
    "baseline": _arm_need("baseline", "an accepted baseline (--so101-accept stores one)"),
}


@dataclass(frozen=True)
class Check:
    """One check: a small unit run by the suites, ``so101-diagnose``, the LeRobot
    integration and the benchmark. ``measure`` returns per-joint measurements;
    ``cause``/``fix`` fill those a measurement leaves empty; ``evidence`` says what it
    proves in each setup where it runs. An advisory check (``firm`` False) never fails a
    run."""

    name: str
    title: str
    domain: str
    needs: tuple[str, ...]
    measure: Callable[[Inputs], list[Measurement]]
    catches: str
    tolerance: str
    cause: str = ""
    fix: str = ""
    evidence: Mapping[Setup, Evidence] = field(default_factory=lambda: dict(FILES_EVERYWHERE))
    firm: bool = True
    per_joint: bool = True
    #: The suite (file of ``suites/``) that runs it, and its test parameter group.
    suite: str = ""
    #: Why the check has nothing to say when it returns no measurement.
    empty_reason: str = "does not apply to these files"

    def missing(self, inputs: Inputs) -> list[str]:
        return [n for n in self.needs if not NEEDS[n].present(inputs)]

    @property
    def files_only(self) -> bool:
        """Judges the user's files alone (with paired poses or a dataset), with no arm."""
        return Setup.FILES in self.evidence and all(n in FILE_NEEDS for n in self.needs)

    @property
    def read_only_arm(self) -> bool:
        """Judges a real arm read-only, needing nothing a run of the suites alone gives."""
        return not self.files_only and Setup.HARDWARE in self.evidence and \
            all(n in FILE_NEEDS or n in READ_ONLY_NEEDS for n in self.needs)

    def __repr__(self) -> str:
        return f"Check({self.name!r})"


#: Needs the user's files give (with so101-diagnose's --solve-map and --dataset).
FILE_NEEDS = frozenset({"calibration", "stats", "mapping", "sim_to_robot", "policy_frame",
                        "sim_to_policy", "model", "poses", "dataset", "rest_pose", "leader"})
#: Needs an arm gives without moving (so101-diagnose --port, LeRobot's connect).
READ_ONLY_NEEDS = frozenset({"servos", "registers", "positions", "records", "trace", "scan"})


class NotApplicable(Exception):  # noqa: N818 (not an error: a check with nothing to judge)
    """Raised by a check's ``measure`` that has nothing to judge in these inputs; the
    message says why (the run records the check as skipped with it)."""


@dataclass
class CheckResult:
    """One check run: its measurements, or why it did not run."""

    check: Check
    measurements: list[Measurement] = field(default_factory=list)
    skipped: str = ""
    error: str = ""          # the check could not run although it should have: a failure

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def title(self) -> str:
        return self.check.title

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.passed]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error


def _with_defaults(check: Check, m: Measurement, evidence: Evidence) -> Measurement:
    return replace(m, cause=m.cause or check.cause, fix=m.fix or check.fix,
                   evidence=evidence, advisory=m.advisory or not check.firm)


def run_check(check: Check, inputs: Inputs, *, flavor: str = "pytest") -> CheckResult:
    """Run one check, or say what it needs (``flavor`` names the options: pytest or cli)."""
    evidence = check.evidence.get(inputs.setup)
    if evidence is None:
        where = ", ".join(s.value for s in check.evidence) or "nowhere"
        return CheckResult(check, skipped=f"gives no evidence on {inputs.setup.value} "
                           f"(it runs on: {where})")
    missing = check.missing(inputs)
    if missing:
        texts = [NEEDS[n].text(flavor) for n in missing]
        return CheckResult(check, skipped="needs " + " and ".join(texts))
    try:
        measurements = [_with_defaults(check, m, evidence) for m in check.measure(inputs)]
    except NotApplicable as exc:
        return CheckResult(check, skipped=str(exc))
    except So101ConfigError as exc:          # e.g. a conversion that needs the calibration
        hint = f": give {NEEDS['calibration'].text(flavor)}" if inputs.calibration is None \
            and "calibration" in str(exc) else ""
        return CheckResult(check, skipped=f"{exc}{hint}")
    return CheckResult(check, measurements, "" if measurements else check.empty_reason)


def run_checks(inputs: Inputs, checks: Iterable[Check], *, flavor: str = "pytest"
               ) -> list[CheckResult]:
    """Run every check of ``checks`` the inputs allow, in order."""
    return [run_check(c, inputs, flavor=flavor) for c in checks]


def run_per_arm(inputs: Mapping[str | None, Inputs], checks: Iterable[Check], *,
                flavor: str = "pytest") -> list[CheckResult]:
    """Run ``checks`` on each arm's inputs (a two-arm recording's left and right; one arm:
    the key None) and merge them check by check: each measurement's check says its arm."""
    checks = list(checks)
    if list(inputs) == [None]:
        return run_checks(inputs[None], checks, flavor=flavor)
    per_arm = {arm: run_checks(i, checks, flavor=flavor) for arm, i in inputs.items()}
    merged = []
    for k, check in enumerate(checks):
        results = {arm: found[k] for arm, found in per_arm.items()}
        measurements = [replace(m, check=f"{m.check} ({arm} arm)")
                        for arm, r in results.items() for m in r.measurements]
        skipped = "; ".join(f"{arm} arm: {r.skipped}" for arm, r in results.items()
                            if r.skipped and not r.measurements)
        errors = "; ".join(f"{arm} arm: {r.error}" for arm, r in results.items() if r.error)
        merged.append(CheckResult(check, measurements, skipped, errors))
    return merged
