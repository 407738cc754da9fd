"""LeRobot calibration files: find by arm id, load, validate, compare.

A calibration file is a JSON object keyed by motor name, each entry holding the
integers ``id``, ``drive_mode``, ``homing_offset``, ``range_min``, ``range_max``
(domain.md section 2). This module never writes a user's calibration file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import config_error
from .joints import MOTOR_IDS, MOTOR_NAMES

TICKS_PER_TURN = 4096
MAX_TICK = TICKS_PER_TURN - 1
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

    def replace(self, joint: str, **changes: int) -> Calibration:
        """A copy with one motor's fields changed (for what-if checks and tests)."""
        motors = dict(self.motors)
        motors[joint] = MotorCalibration(**{**asdict(motors[joint]), **changes})
        return Calibration(motors, source=self.source)


def _check_int(value: object, *, source: str, joint: str, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise config_error("must be an integer", source=source, joint=joint, field=field_name,
                           value=value)
    return value


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
            _check_int(getattr(motor, field_name), source=source, joint=name, field_name=field_name)
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


def parse_calibration(data: object, *, source: str = "<memory>") -> Calibration:
    """Build a :class:`Calibration` from the decoded JSON object of a LeRobot file."""
    if not isinstance(data, dict):
        raise config_error("calibration must be a JSON object keyed by motor name",
                           source=source, value=type(data).__name__)
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
        values = {f: _check_int(entry[f], source=source, joint=name, field_name=f) for f in FIELDS}
        motors[name] = MotorCalibration(**values)
    return Calibration(motors, source=source)


def load_calibration(path: str | Path) -> Calibration:
    """Load and validate a LeRobot calibration JSON file."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise config_error("calibration file not found", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise config_error(f"cannot read calibration file ({exc.__class__.__name__})",
                           source=source) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise config_error(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                           source=source) from None
    return parse_calibration(data, source=source)


def calibration_root(environ: Mapping[str, str] | None = None) -> Path:
    """``HF_LEROBOT_CALIBRATION``; defaults through HF_LEROBOT_HOME and HF_HOME as in LeRobot."""
    env = os.environ if environ is None else environ
    if env.get("HF_LEROBOT_CALIBRATION"):
        return Path(env["HF_LEROBOT_CALIBRATION"]).expanduser()
    if env.get("HF_LEROBOT_HOME"):
        return Path(env["HF_LEROBOT_HOME"]).expanduser() / "calibration"
    hf_home = Path(env.get("HF_HOME") or "~/.cache/huggingface").expanduser()
    return hf_home / "lerobot" / "calibration"


def find_calibration(arm_id: str, environ: Mapping[str, str] | None = None) -> Path:
    """Path of ``<arm_id>.json`` under every robot-name folder LeRobot has used.

    Followers are preferred over leaders; an id found in two follower folders with
    different contents is ambiguous and an error.
    """
    root = calibration_root(environ)
    hits = [root / folder / f"{arm_id}.json" for folder in ROBOT_FOLDERS]
    hits = [p for p in hits if p.is_file()]
    if not hits:
        known = sorted({p.stem for folder in ROBOT_FOLDERS for p in (root / folder).glob("*.json")})
        listing = ", ".join(known) if known else "none"
        raise config_error(
            f"no calibration for this arm id under {root} "
            f"(searched {', '.join(ROBOT_FOLDERS)}; arm ids found: {listing})",
            source="--so101-calibration", value=arm_id)
    followers = [p for p in hits if p.parent.parent.name == "robots"]
    chosen = followers or hits
    contents = {p.read_bytes() for p in chosen}
    if len(contents) > 1:
        raise config_error(
            "arm id is ambiguous: differing files in " + ", ".join(str(p) for p in chosen),
            source="--so101-calibration", value=arm_id)
    return chosen[0]


def resolve_calibration(path_or_id: str, environ: Mapping[str, str] | None = None) -> Calibration:
    """Load a calibration given a file path or an arm id."""
    candidate = Path(path_or_id).expanduser()
    looks_like_path = candidate.suffix == ".json" or os.sep in path_or_id or "/" in path_or_id
    if candidate.is_file() or looks_like_path:
        return load_calibration(candidate)
    return load_calibration(find_calibration(path_or_id, environ))


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
