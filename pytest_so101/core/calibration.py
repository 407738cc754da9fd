"""LeRobot calibration files: find by arm id, load, validate, compare.

A calibration file is a JSON object keyed by motor name, each entry holding the
integers ``id``, ``drive_mode``, ``homing_offset``, ``range_min``, ``range_max``
(docs/domain.md section 2). This module never writes a user's calibration file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import files
from .errors import config_error
from .joints import MOTOR_IDS, MOTOR_NAMES

TICKS_PER_TURN = 4096
MAX_TICK = TICKS_PER_TURN - 1
#: What every joint reads where it was held while homing: LeRobot's set_half_turn_homings
#: writes Homing_Offset = present - int(MAX_TICK / 2), so the held pose reads 2047.
HOMING_POSE_TICKS = MAX_TICK // 2
MAX_HOMING_OFFSET = 2047
FIELDS = ("id", "drive_mode", "homing_offset", "range_min", "range_max")

#: Robot-name folders LeRobot has used for SO-100/SO-101 arms, newest first.
ROBOT_FOLDERS = (
    "robots/so_follower",
    "robots/so101_follower",
    "robots/so100_follower",
    "teleoperators/so_leader",
    "teleoperators/so101_leader",
    "teleoperators/so100_leader",
)


@dataclass(frozen=True)
class MotorCalibration:
    """One motor's calibration, exactly the fields LeRobot writes (all ticks but id/drive_mode)."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int


@dataclass(frozen=True)
class Calibration:
    """A validated six-motor calibration; arrays are in motor order."""

    motors: dict[str, MotorCalibration]
    source: str = "<memory>"
    homing_offset: np.ndarray = field(init=False, repr=False, compare=False)
    range_min: np.ndarray = field(init=False, repr=False, compare=False)
    range_max: np.ndarray = field(init=False, repr=False, compare=False)
    drive_mode: np.ndarray = field(init=False, repr=False, compare=False)
    ids: np.ndarray = field(init=False, repr=False, compare=False)

    def __repr__(self) -> str:           # short: Hypothesis prints fixtures it was given
        return f"Calibration({self.source!r})"

    _repr_pretty_ = files.pretty_as_repr

    def __post_init__(self) -> None:
        validate_motors(self.motors, source=self.source)
        for name in ("homing_offset", "range_min", "range_max", "drive_mode", "id"):
            values = np.array([getattr(self.motors[m], name) for m in MOTOR_NAMES], dtype=np.int64)
            values.setflags(write=False)
            object.__setattr__(self, "ids" if name == "id" else name, values)

    @property
    def range_mid(self) -> np.ndarray:
        """Middle of each recorded sweep in ticks: LeRobot's DEGREES zero."""
        return (self.range_min + self.range_max) / 2

    def to_json_dict(self) -> dict[str, dict[str, int]]:
        """The LeRobot on-disk layout (motor order)."""
        return {name: asdict(self.motors[name]) for name in MOTOR_NAMES}

    def to_json_text(self) -> str:
        """The file's text as LeRobot writes it (JSON, indent 4): what a generated
        calibration is hashed as, and what the twin writes."""
        return json.dumps(self.to_json_dict(), indent=4) + "\n"

    def replace(self, joint: str, **changes: int) -> Calibration:
        """A copy with one motor's fields changed (for what-if checks and tests)."""
        motors = dict(self.motors)
        motors[joint] = MotorCalibration(**{**asdict(motors[joint]), **changes})
        return Calibration(motors, source=self.source)


def validate_motors(motors: Mapping[str, MotorCalibration], *, source: str) -> None:
    """Check the six motors against LeRobot's rules; raise naming file, joint and value."""
    missing = [m for m in MOTOR_NAMES if m not in motors]
    extra = [m for m in motors if m not in MOTOR_NAMES]
    if extra:
        raise config_error(f"unknown motor name; expected {', '.join(MOTOR_NAMES)}",
                           source=source, joint=extra[0])
    if missing:
        raise config_error("motor missing from calibration", source=source, joint=missing[0])
    for name, expected_id in zip(MOTOR_NAMES, MOTOR_IDS, strict=True):
        motor = motors[name]
        for field_name in FIELDS:
            files.integer(getattr(motor, field_name), source=source, joint=name,
                          field=field_name)
        if motor.id != expected_id:
            raise config_error(f"SO-101 {name} is servo id {expected_id}", source=source,
                               joint=name, field="id", value=motor.id)
        if motor.drive_mode not in (0, 1):
            raise config_error("drive_mode must be 0 or 1", source=source, joint=name,
                               field="drive_mode", value=motor.drive_mode)
        if abs(motor.homing_offset) > MAX_HOMING_OFFSET:
            raise config_error(
                f"|homing_offset| must be <= {MAX_HOMING_OFFSET} (sign-magnitude, sign bit 11)",
                source=source, joint=name, field="homing_offset", value=motor.homing_offset)
        for field_name in ("range_min", "range_max"):
            ticks = getattr(motor, field_name)
            if not 0 <= ticks <= MAX_TICK:
                raise config_error(f"must be within 0..{MAX_TICK} ticks", source=source,
                                   joint=name, field=field_name, value=ticks)
        if motor.range_min >= motor.range_max:
            raise config_error("range_min must be < range_max", source=source, joint=name,
                               field="range_min, range_max",
                               value=(motor.range_min, motor.range_max))


#: Keys of LeRobot's calibration format before 0.2 (lists in motor order, offsets applied
#: in software): ``.cache/calibration/so100/main_follower.json``.
PRE_02_KEYS = frozenset({"motor_names", "homing_offset", "drive_mode", "start_pos", "end_pos",
                         "calib_mode"})


def parse_calibration(data: object, *, source: str = "<memory>") -> Calibration:
    """Build a :class:`Calibration` from the decoded JSON object of a LeRobot file."""
    if not isinstance(data, dict):
        raise config_error("calibration must be a JSON object keyed by motor name",
                           source=source, value=type(data).__name__)
    if len(PRE_02_KEYS & set(map(str, data))) >= 2:
        raise config_error(
            "LeRobot's calibration format from before 0.2 (lists of motor_names, "
            "homing_offset, drive_mode, start_pos, end_pos, calib_mode, as in "
            ".cache/calibration/so100/main_follower.json): it applied its offsets in "
            "software, in its own degrees, and recorded no sweep, so it has no exact "
            "counterpart in today's format (offsets written to the servos, range_min/max "
            "swept); recalibrate the arm with today's LeRobot: lerobot-calibrate "
            "--robot.type=so101_follower --robot.id=ARM_ID", source=source)
    motors: dict[str, MotorCalibration] = {}
    for name, entry in data.items():
        if name not in MOTOR_NAMES:
            raise config_error(f"unknown motor name; expected {', '.join(MOTOR_NAMES)}",
                               source=source, joint=str(name))
        if not isinstance(entry, dict):
            raise config_error("entry must be an object with " + ", ".join(FIELDS),
                               source=source, joint=name, value=entry)
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise config_error("unknown field; LeRobot writes " + ", ".join(FIELDS),
                               source=source, joint=name, field=unknown[0])
        absent = [f for f in FIELDS if f not in entry]
        if absent:
            raise config_error("field missing", source=source, joint=name, field=absent[0])
        values = {f: files.integer(entry[f], source=source, joint=name, field=f)
                  for f in FIELDS}
        motors[name] = MotorCalibration(**values)
    return Calibration(motors, source=source)


def load_calibration(path: str | Path) -> Calibration:
    """Load and validate a LeRobot calibration JSON file."""
    source = str(path)
    return parse_calibration(files.read_json(path, "calibration file"), source=source)


def _expand(path: str) -> Path:
    """``~`` expanded where it can be (an unknown ``~user`` stays as written)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def calibration_root(environ: Mapping[str, str] | None = None) -> Path:
    """``HF_LEROBOT_CALIBRATION``; defaults through HF_LEROBOT_HOME and HF_HOME as in LeRobot."""
    env = os.environ if environ is None else environ
    if env.get("HF_LEROBOT_CALIBRATION"):
        return _expand(env["HF_LEROBOT_CALIBRATION"])
    if env.get("HF_LEROBOT_HOME"):
        return _expand(env["HF_LEROBOT_HOME"]) / "calibration"
    return _expand(env.get("HF_HOME") or "~/.cache/huggingface") / "lerobot" / "calibration"


def _arm_ids(root: Path) -> list[str]:
    """The arm ids that have a calibration file under ``root`` (unreadable folders: none)."""
    found: set[str] = set()
    for folder in ROBOT_FOLDERS:
        try:
            found.update(p.stem for p in (root / folder).glob("*.json"))
        except OSError:
            continue
    return sorted(found)


def find_calibration(arm_id: str, environ: Mapping[str, str] | None = None, *,
                     option: str = "--so101-calibration", leader: bool = False) -> Path:
    """Path of ``<arm_id>.json`` under every robot-name folder LeRobot has used.

    A follower's id is looked up among LeRobot's robots, a leader's (``leader``) among its
    teleoperators, never the other kind; an id found in two folders of that kind with
    different contents is ambiguous and an error.
    ``option`` is the command-line flag the id came from, named in messages.
    """
    root = calibration_root(environ)
    candidates = [root / folder / f"{arm_id}.json" for folder in ROBOT_FOLDERS]
    hits = [p for p in candidates if files.exists(p)]   # a pipe there is named when read
    if not hits:
        listing = ", ".join(_arm_ids(root)) or "none"
        raise config_error(
            f"no calibration for this arm id under {root} "
            f"(searched {', '.join(ROBOT_FOLDERS)}; arm ids found: {listing})",
            source=option, value=arm_id)
    wanted = "teleoperators" if leader else "robots"
    chosen = [p for p in hits if p.parent.parent.name == wanted]
    if not chosen:
        kind, other = ("leader", "follower") if leader else ("follower", "leader")
        raise config_error(
            f"this arm id has only a {other}'s calibration ({', '.join(map(str, hits))}), "
            f"and a {other}'s calibration is not a {kind}'s: give the {kind}'s id, or the "
            "file's path if that file really is this arm's", source=option, value=arm_id)
    if len({files.read_bytes(p, "calibration file") for p in chosen}) > 1:
        raise config_error(
            "arm id is ambiguous: differing files in " + ", ".join(str(p) for p in chosen),
            source=option, value=arm_id)
    return chosen[0]


def resolve_calibration(path_or_id: str, environ: Mapping[str, str] | None = None, *,
                        option: str = "--so101-calibration", leader: bool = False
                        ) -> Calibration:
    """Load a calibration given a file path or an arm id (``option`` names the flag; an id
    is looked up among leaders first with ``leader``)."""
    candidate = _expand(path_or_id)
    looks_like_path = candidate.suffix == ".json" or os.sep in path_or_id or "/" in path_or_id
    if looks_like_path or files.is_regular(candidate):
        return load_calibration(candidate)
    return load_calibration(find_calibration(path_or_id, environ, option=option,
                                             leader=leader))


@dataclass(frozen=True)
class CalibrationDelta:
    """How one joint's calibration changed from ``before`` to ``after`` (ticks)."""

    joint: str
    homing_offset_ticks: int
    range_min_ticks: int
    range_max_ticks: int
    range_mid_ticks: float
    drive_mode_changed: bool
    id_changed: bool

    @property
    def homing_offset_deg(self) -> float:
        return self.homing_offset_ticks * 360.0 / TICKS_PER_TURN

    @property
    def zero_shift_deg(self) -> float:
        return self.zero_shift_ticks * 360.0 / TICKS_PER_TURN

    @property
    def zero_shift_ticks(self) -> float:
        """Shift of the LeRobot DEGREES zero of a fixed physical pose, in ticks.

        Present_Position = raw - homing_offset, and the DEGREES zero is the range
        middle in Present_Position ticks: a pose's reading in degrees moves by
        -(delta homing + delta mid).
        """
        return self.homing_offset_ticks + self.range_mid_ticks

    @property
    def changed(self) -> bool:
        return bool(self.homing_offset_ticks or self.range_min_ticks or self.range_max_ticks
                    or self.drive_mode_changed or self.id_changed)


def compare_calibrations(before: Calibration, after: Calibration) -> list[CalibrationDelta]:
    """Per-joint differences between two calibrations, in motor order."""
    deltas = []
    for name in MOTOR_NAMES:
        a, b = before.motors[name], after.motors[name]
        deltas.append(CalibrationDelta(
            joint=name,
            homing_offset_ticks=b.homing_offset - a.homing_offset,
            range_min_ticks=b.range_min - a.range_min,
            range_max_ticks=b.range_max - a.range_max,
            range_mid_ticks=(b.range_min + b.range_max - a.range_min - a.range_max) / 2,
            drive_mode_changed=a.drive_mode != b.drive_mode,
            id_changed=a.id != b.id,
        ))
    return deltas
