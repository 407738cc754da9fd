"""Calibrate the twin with LeRobot's own ``lerobot-calibrate``, a scripted person at hand.

LeRobot's calibration of an SO follower (``SOFollower.calibrate``, the same text in 0.4.4
and 0.6.1) asks on stdin, in order:

1. only when a file for that id exists: ``Press ENTER to use provided calibration file
   ..., or type 'c' and press ENTER to run calibration`` (answered ``c``);
2. ``Move ... to the middle of its range of motion and press ENTER....``: the person holds
   the arm there, LeRobot writes ``Homing_Offset = p - 2047`` (``set_half_turn_homings``);
3. ``Move all joints except 'wrist_roll' sequentially through their entire ranges of
   motion. Recording positions. Press ENTER to stop...``: LeRobot reads Present_Position
   every 20 ms (``record_ranges_of_motion``), printing a table per read, while the person
   sweeps each joint; on Enter it keeps each joint's min and max (wrist_roll 0..4095),
   writes them to the servos and saves the file (``Calibration saved to PATH``).

The driver answers the prompts and performs the person's moves through the twin's control
socket (``place``, torque off as a hand would): it holds the arm at the sim zero (the
middle of every swept joint's travel, and the pose wrist_roll, which is never swept, must
read as its zero; off by DEG where ``--twin-fault JOINT:homing=DEG`` says), then turns
each joint but wrist_roll from its lower to its upper limit in ``steps`` poses, waiting
at each pose until LeRobot has printed two more tables (a read taken after the pose was
set: no timing assumed). A :class:`Sweep` can shorten or
skip a joint's sweep, as a person in a hurry would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.joints import MOTOR_NAMES, WRIST_ROLL
from .process import EmulatorProcess

#: What LeRobot prints, in order (lerobot/robots/so_follower/so_follower.py, motors_bus.py).
PROMPT_REUSE = "type 'c' and press ENTER to run calibration"
PROMPT_HOMING = "to the middle of its range of motion and press ENTER"
PROMPT_SWEEP = "Press ENTER to stop"
TABLE_HEADER = "|    MIN |    POS |    MAX"
SAVED = re.compile(r"Calibration saved to (.+\.json)")
#: The joints LeRobot asks the person to sweep (all but wrist_roll, fixed to 0..4095).
SWEPT = tuple(name for j, name in enumerate(MOTOR_NAMES) if j != WRIST_ROLL)


class LeRobotCalibrateError(RuntimeError):
    """lerobot-calibrate failed or stopped answering; the message ends with its output."""


@dataclass(frozen=True)
class Sweep:
    """How the scripted person sweeps during LeRobot's range recording.

    ``fractions``: per joint, the part of the model's range covered, from its lower limit
    (1 = end to end, the default; 0 = the joint is not moved at all). ``steps``: poses per
    joint, each held until LeRobot has read it.
    """

    fractions: Mapping[str, float] = field(default_factory=dict)
    steps: int = 24

    def fraction(self, joint: str) -> float:
        return float(self.fractions.get(joint, 1.0))


def lerobot_calibrate_executable() -> str:
    """``lerobot-calibrate`` of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "lerobot-calibrate"
    if beside.is_file():
        return str(beside)
    found = shutil.which("lerobot-calibrate")
    if found is None:
        raise LeRobotCalibrateError("lerobot-calibrate not found: install LeRobot in this "
                                    "environment (docs/lerobot.md)")
    return found


class _Transcript:
    """What a child process prints, collected by a thread: the text, the number of range
    tables printed so far, and waits for either."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._text = ""
        self.tables = 0
        self._done = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            with self._changed:
                start = max(0, len(self._text) - len(TABLE_HEADER) + 1)
                self._text += chunk.decode(errors="replace")
                self.tables += self._text.count(TABLE_HEADER, start)
                self._changed.notify_all()
        with self._changed:
            self._done = True
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return self._text

    def _wait(self, ready, what: str, deadline: float) -> None:
        with self._changed:
            while not ready():
                if self._done:
                    raise self.error(f"lerobot-calibrate ended before printing {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self.error(f"lerobot-calibrate did not print {what} in time")
                self._changed.wait(left)

    def wait_for(self, needles: Sequence[str], deadline: float) -> str:
        """Wait until one of ``needles`` has been printed; return it."""
        found: list[str] = []

        def ready() -> bool:
            found[:] = [needle for needle in needles if needle in self._text]
            return bool(found)

        self._wait(ready, repr(needles[0]), deadline)
        return found[0]

    def wait_for_tables(self, count: int, deadline: float) -> None:
        """Wait until LeRobot has printed ``count`` range tables in all (one per read)."""
        self._wait(lambda: self.tables >= count, f"range table {count}", deadline)

    def finish(self, deadline: float) -> None:
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def error(self, what: str) -> LeRobotCalibrateError:
        tail = "\n".join(line for line in self._text.splitlines()[-12:]
                         if TABLE_HEADER not in line)
        return LeRobotCalibrateError(f"{what}; its last output:\n{tail}")


def _send(proc: subprocess.Popen[bytes], line: str) -> None:
    """Type a line on LeRobot's stdin (a LeRobot that died meanwhile is reported by its
    exit status)."""
    try:
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()
    except BrokenPipeError:
        pass


def _sweep_poses(limits_lower: Sequence[float], limits_upper: Sequence[float], joint: int,
                 fraction: float, steps: int) -> list[list[float]]:
    """Poses (sim radians) turning ``joint`` from its lower limit over ``fraction`` of its
    range, every other joint at the sim zero."""
    low = limits_lower[joint]
    high = low + fraction * (limits_upper[joint] - low)
    poses = []
    for i in range(steps):
        pose = [0.0] * len(MOTOR_NAMES)
        pose[joint] = low + (high - low) * i / (steps - 1)
        poses.append(pose)
    return poses


def hold_pose(serve_args: Sequence[str]) -> list[float]:
    """The pose the scripted person holds the arm in while LeRobot homes it (sim rad): the
    middle of every joint's travel (the sim zero), but where a ``--twin-fault
    JOINT:homing=DEG`` of the serve options says the person held it off by DEG."""
    import math

    from .twin_fault import TwinFault

    pose = [0.0] * len(MOTOR_NAMES)
    args = list(serve_args)
    for k, arg in enumerate(args):
        value = args[k + 1] if arg == "--twin-fault" and k + 1 < len(args) else \
            arg.partition("=")[2] if arg.startswith("--twin-fault=") else None
        for text in (value or "").split(","):
            if text.strip():
                fault = TwinFault.parse(text)
                if fault.kind == "homing":
                    pose[fault.joint] = math.radians(fault.value)
    return pose


def run_lerobot_calibrate(emulator: EmulatorProcess, robot_id: str, out_dir: str | Path, *,
                          sweep: Sweep | None = None, timeout_s: float = 180.0,
                          held: Sequence[float] | None = None) -> Path:
    """Run ``lerobot-calibrate --robot.type=so101_follower`` against ``emulator``'s pty,
    with ``HF_LEROBOT_CALIBRATION=out_dir``, answering its prompts and sweeping the joints
    through the control socket; return the calibration file LeRobot wrote.

    ``held``: the pose the person holds while homing (sim rad; default the sim zero, the
    middle of every joint's travel: see :func:`hold_pose`).

    Raises :class:`LeRobotCalibrateError` with LeRobot's last lines when it fails (e.g.
    ``Some motors have the same min and max values`` for a joint that was not swept).
    """
    from ..sim.model import SimModel

    sweep = sweep or Sweep()
    limits = SimModel().limits
    deadline = time.monotonic() + timeout_s
    env = dict(os.environ, HF_LEROBOT_CALIBRATION=str(Path(out_dir).resolve()),
               PYTHONUNBUFFERED="1")
    cmd = [lerobot_calibrate_executable(), "--robot.type=so101_follower",
           f"--robot.port={emulator.port}", f"--robot.id={robot_id}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    out = _Transcript(proc)
    try:
        if out.wait_for([PROMPT_REUSE, PROMPT_HOMING], deadline) == PROMPT_REUSE:
            _send(proc, "c")
            out.wait_for([PROMPT_HOMING], deadline)
        emulator.place(list(held or [0.0] * len(MOTOR_NAMES)))   # the person holds it
        _send(proc, "")
        out.wait_for([PROMPT_SWEEP], deadline)
        for joint, name in enumerate(MOTOR_NAMES):
            if name not in SWEPT or sweep.fraction(name) <= 0:
                continue
            for pose in _sweep_poses(limits.lower_rad, limits.upper_rad, joint,
                                     sweep.fraction(name), sweep.steps):
                emulator.place(pose)
                out.wait_for_tables(out.tables + 2, deadline)
        emulator.place([0.0] * len(MOTOR_NAMES))
        _send(proc, "")
        proc.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise out.error("lerobot-calibrate did not exit in time") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.finish(deadline)
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except BrokenPipeError:
                pass
    saved = SAVED.search(out.text)
    if proc.returncode != 0 or saved is None:
        raise out.error(f"lerobot-calibrate exited with status {proc.returncode}")
    return Path(saved.group(1))


@dataclass
class LeRobotCalibratedTwin:
    """A running twin that LeRobot calibrated, and the file LeRobot wrote."""

    emulator: EmulatorProcess
    calibration_path: Path

    @property
    def port(self) -> str:
        return self.emulator.port


@contextmanager
def lerobot_calibrated_twin(robot_id: str, out_dir: str | Path, serve_args: Sequence[str] = (),
                            *, sweep: Sweep | None = None, end_pose: str | None = "rest",
                            timeout_s: float = 180.0) -> Iterator[LeRobotCalibratedTwin]:
    """Start ``so101-twin serve SERVE_ARGS`` (with a control socket), calibrate it with
    ``lerobot-calibrate`` (:func:`run_lerobot_calibrate`), then place the arm in
    ``end_pose`` (a keyframe; default folded at rest, as the suites expect) and yield it;
    the twin stops on exit."""
    with EmulatorProcess(*serve_args) as emulator:
        path = run_lerobot_calibrate(emulator, robot_id, out_dir, sweep=sweep,
                                     timeout_s=timeout_s, held=hold_pose(serve_args))
        if end_pose:
            emulator.place(end_pose)
        yield LeRobotCalibratedTwin(emulator, path)
