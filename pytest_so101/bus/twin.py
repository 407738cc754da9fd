"""The digital twin: the emulated servos' shafts are the joints of a MuJoCo model.

Each servo has a hidden *assembly* (the raw encoder value at sim zero, and the mounting
direction) that plays the part of a physical arm. Goal_Position drives the joint's
position actuator, Present_Position comes from the joint angle through the assembly and
the Homing_Offset register, Present_Load from the actuator's torque. Torque off leaves
the joint passive: the gearbox's static friction holds it where it is (as on a real
SO-101) unless a torque larger than that friction acts, or a person moves it
(:meth:`TwinArm.place`). Physics steps at the model's timestep, following the wall clock:
served, a steady loop steps it (:meth:`TwinArm.advance` every ``TICK_STEPS`` due), so a
request is answered from the latest state after at most a few steps of catching up,
however long the bus was idle (it stepped up to a second of physics before answering).

Backlash (``--twin-fault JOINT:backlash=DEG``, none by default): a play of DEG in the
joint's gears. The STS3215's magnetic encoder reads the output shaft, so Present_Position
is the joint angle the twin's observer sees; the servo's loop stops pushing once the
output is inside the play around its goal, and the gearbox's friction holds it there: the
output settles anywhere within DEG/2 of the goal, on the side it came from, and a goal
moved back by less than the play does not move it at all (a play operator). Approached
from below and from above, a target reads DEG apart: what the mechanics suite measures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.calibration import Calibration, MotorCalibration
from ..core.frames import RESOLUTION, TICKS_PER_RAD
from ..core.joints import GRIPPER, MOTOR_IDS, MOTOR_NAMES, N_JOINTS, WRIST_ROLL
from ..sim.model import SimModel
from .servo import VirtualServo
from .telemetry import PHASE_FULL_ANGLE, lerobot_settings
from .twin_fault import TwinFault

#: Physics due beyond this many steps (1 s at the 2 ms timestep: the process was stopped)
#: is dropped, not stepped: the twin resumes from where it was.
MAX_BACKLOG_STEPS = 500
#: The serving loop steps the physics whenever this many steps are due (10 ms of physics
#: at the 2 ms timestep, about 0.1 ms of work), so a request finds at most this many due.
TICK_STEPS = 5
#: Most steps taken at once (50 ms of physics, about 0.3 ms of work): by the loop between
#: two looks at the bus, and by a request before it is answered. While the loop keeps
#: time a request finds fewer due, so its reply is the state within a step of the wall
#: clock; a process starved for longer answers from its latest state, the loop catching up.
CHUNK_STEPS = 25
#: Static gearbox friction of an unpowered STS3215 (N m): a real SO-101 with torque off
#: stays where it is put (gravity on its joints stays below ~0.9 N m), so a passive twin
#: joint is held exactly while the torque on it stays below this; beyond it, it slips.
PASSIVE_FRICTION_NM = 1.5
HALF_TURN = 2047


@dataclass(frozen=True)
class Assembly:
    """How a servo is mounted: raw ticks at sim zero, +1 or -1 (a mirrored motor)."""

    raw_at_zero: float
    direction: int = 1

    def raw(self, q_rad: float) -> float:
        return self.raw_at_zero + self.direction * q_rad * TICKS_PER_RAD

    def q(self, raw: float) -> float:
        return (raw - self.raw_at_zero) / (self.direction * TICKS_PER_RAD)


def assemblies_for(calibration: Calibration, limits_lower: np.ndarray) -> list[Assembly]:
    """Assemblies of an arm that this calibration describes exactly: the sim zero reads
    the middle of each recorded sweep (LeRobot's DEGREES zero), the gripper closed on its
    stop (the sim's lower limit, where its rest pose is) reads the end of its recorded
    sweep that the sweep began from (LeRobot reads it 0 there; real grippers sweep 103-136
    deg of servo travel against the model's 110, so only that end is shared), and a joint
    with drive_mode 1 has its motor mounted reversed (what drive_mode 1 declares: LeRobot's
    range units then read it the right way round)."""
    out = []
    for j in range(len(MOTOR_NAMES)):
        low, high = calibration.range_min[j], calibration.range_max[j]
        direction = -1 if calibration.drive_mode[j] == 1 else 1
        present_at_zero = (low + high) / 2
        if j == GRIPPER:
            closed = low if direction > 0 else high
            present_at_zero = closed - direction * limits_lower[j] * TICKS_PER_RAD
        out.append(Assembly(calibration.homing_offset[j] + present_at_zero, direction))
    return out


class TwinArm:
    """The MuJoCo side: joint angles, actuators switched on and off, physics in time."""

    def __init__(self, sim: SimModel, start_keyframe: str = "zero") -> None:
        self.sim = sim
        self.model, self.data = sim.model, sim.new_data()
        self._gain = self.model.actuator_gainprm.copy()
        self._bias = self.model.actuator_biasprm.copy()
        self._friction = self.model.dof_frictionloss.copy()
        self._resync = False
        self._passive: dict[int, float] = {}     # joint -> angle its friction holds it at
        self._qpos_adr = [int(a) for a in sim.qpos_adr]   # plain ints: the hold runs every
        self._dof_adr = [int(a) for a in sim.dof_adr]     # step, numpy scalars cost there
        n = len(MOTOR_NAMES)
        self._play = np.zeros(n)                 # gear play per joint (rad)
        self._output = np.zeros(n)               # where each output settles (rad)
        self.place(sim.keyframe(start_keyframe))
        for j in range(len(MOTOR_NAMES)):
            self.torque(j, False)
        self.frozen = True            # held still (being calibrated) until serving starts
        self._t0: float | None = None
        self._steps = 0               # steps of the physics clock (since _t0) taken
        self.stepped = 0              # steps taken in all (the clock resyncs on a place)

    def start(self, now: float) -> None:
        """Let the physics run from ``now`` (wall clock, s) on: serving begins."""
        self.frozen, self._t0, self._steps, self._resync = False, now, 0, False

    def _due(self, now: float) -> int:
        """Steps from the start of the physics clock to ``now`` (wall clock, s)."""
        if self._t0 is None:
            self._t0 = now
        due = int((now - self._t0) / self.model.opt.timestep)
        if self._resync:              # placed by hand: physics resumes from here
            self._steps, self._resync = due, False
        if due - self._steps > MAX_BACKLOG_STEPS:
            self._steps = due - MAX_BACKLOG_STEPS
        return due

    def advance(self, now: float, max_steps: int = MAX_BACKLOG_STEPS) -> int:
        """Step the physics toward ``now`` (wall clock, s), at most ``max_steps`` steps;
        the steps taken. Held still while frozen; physics more than 1 s behind is dropped."""
        if self.frozen:
            return 0
        todo = min(self._due(now) - self._steps, max_steps)
        for _ in range(todo):
            self.sim.step(self.data)
            self._hold_passive()
        todo = max(0, todo)
        self._steps += todo
        self.stepped += todo
        return todo

    def behind(self, now: float) -> int:
        """Steps due by ``now`` (wall clock, s) and not taken yet (0 while frozen)."""
        return 0 if self.frozen else max(0, self._due(now) - self._steps)

    def tick(self, now: float) -> float:
        """The serving loop's turn (``now``: wall clock, s): step the physics once
        ``TICK_STEPS`` are due (at most ``CHUNK_STEPS``, so a long catch-up leaves the bus
        answered in between); the seconds until the next tick is due."""
        if self.frozen:
            return TICK_STEPS * self.model.opt.timestep
        if self.behind(now) >= TICK_STEPS:
            self.advance(now, CHUNK_STEPS)
        tick = self._t0 + (self._steps + TICK_STEPS) * self.model.opt.timestep
        return max(0.0, tick - now)

    def catch_up(self, now: float) -> int:
        """Before answering a request: the steps due by ``now``, at most ``CHUNK_STEPS``;
        the steps taken."""
        return self.advance(now, CHUNK_STEPS)

    @property
    def physics_time(self) -> float:
        """Where the physics clock stands (s since serving began): it follows the wall
        clock, jumping ahead where the arm was placed by hand or a backlog dropped."""
        return self._steps * self.model.opt.timestep

    def _hold_passive(self) -> None:
        """Static friction: a passive joint whose gravity (bias) torque stays below the
        gearbox friction does not move at all; one pushed harder slips from there."""
        qpos, qvel, bias = self.data.qpos, self.data.qvel, self.data.qfrc_bias
        for j, held in self._passive.items():
            dof = self._dof_adr[j]
            if -PASSIVE_FRICTION_NM < bias[dof] < PASSIVE_FRICTION_NM:
                qpos[self._qpos_adr[j]] = held
                qvel[dof] = 0.0
            else:
                self._passive[j] = float(qpos[self._qpos_adr[j]])

    def q(self, j: int) -> float:
        return float(self.data.qpos[self.sim.qpos_adr[j]])

    def set_backlash(self, j: int, deg: float) -> None:
        """Give joint ``j`` a gear play of ``deg`` (the whole gap, deg)."""
        self._play[j] = np.deg2rad(deg)

    def backlash_deg(self) -> list[float]:
        """The gear play of each joint (deg): the twin's truth for the mechanics suite."""
        return [float(b) for b in np.rad2deg(self._play)]

    def place(self, q_sim_rad: np.ndarray) -> None:
        """Put the arm in a pose by hand (joint velocities zeroed)."""
        self.data.qpos[self.sim.qpos_adr] = q_sim_rad
        self.data.qvel[self.sim.dof_adr] = 0
        for j, q in enumerate(np.asarray(q_sim_rad, dtype=float)):
            self._output[j] = q
            self.goal(j, q)
            if j in self._passive:
                self._passive[j] = float(q)
        self.sim.forward(self.data)
        self._resync = True

    def torque(self, j: int, on: bool) -> None:
        dof = self.sim.dof_adr[j]
        if on:
            if self._passive.pop(j, None) is not None:
                self._output[j] = self.q(j)      # the gears engage where the joint is
        elif j not in self._passive:
            self._passive[j] = self.q(j)
        self.model.dof_frictionloss[dof] = self._friction[dof] if on else PASSIVE_FRICTION_NM
        act = self.sim.actuator_ids[j]
        if act is None:
            return
        self.model.actuator_gainprm[act] = self._gain[act] if on else 0
        self.model.actuator_biasprm[act] = self._bias[act] if on else 0

    def goal(self, j: int, q_rad: float) -> None:
        """The servo's goal for joint ``j`` (sim rad). Through the gear play the output
        settles where it is, moved just far enough to lie within half the play of the goal:
        short of it, on the side it came from."""
        half = self._play[j] / 2
        self._output[j] = min(q_rad + half, max(q_rad - half, self._output[j]))
        act = self.sim.actuator_ids[j]
        if act is not None:
            low, high = self.model.actuator_ctrlrange[act]
            self.data.ctrl[act] = min(high, max(low, self._output[j]))

    def load(self, j: int) -> float:
        """The actuator's torque on joint ``j`` as a fraction of its force limit (sim
        frame: positive toward increasing q); 0 for a passive joint."""
        act = self.sim.actuator_ids[j]
        if act is None or j in self._passive:
            return 0.0
        limit = float(np.max(np.abs(self.model.actuator_forcerange[act]))) or 1.0
        return float(self.data.actuator_force[act]) / limit


class TwinShaft:
    """One servo's shaft: a joint of the :class:`TwinArm` seen through an assembly.

    It reads and drives the arm's latest state and never steps the physics: whoever owns
    the arm's clock does (the server's loop, and its catch-up before each request), so a
    reply costs no physics, and ``now`` is not used."""

    def __init__(self, arm: TwinArm, joint: int, assembly: Assembly) -> None:
        self.arm, self.joint, self.assembly = arm, joint, assembly

    def raw(self, now: float) -> float:
        return self.assembly.raw(self.arm.q(self.joint))

    def drive(self, now: float, goal_raw: float | None) -> None:
        self.arm.torque(self.joint, goal_raw is not None)
        if goal_raw is not None:
            self.arm.goal(self.joint, self.assembly.q(goal_raw))

    def load(self, now: float) -> float:
        """The joint's actuator torque in the servo's own direction (a mirrored motor
        pushes the other way round)."""
        return self.assembly.direction * self.arm.load(self.joint)

    def set_raw(self, raw: float) -> None:
        q = self.arm.data.qpos[self.arm.sim.qpos_adr].copy()
        q[self.joint] = self.assembly.q(raw)
        self.arm.place(q)


def install_calibration(servo: VirtualServo, motor: MotorCalibration) -> None:
    """Registers as LeRobot's write_calibration leaves them."""
    servo.set_signed("Homing_Offset", motor.homing_offset)
    servo.set("Min_Position_Limit", motor.range_min)
    servo.set("Max_Position_Limit", motor.range_max)


def configure_like_lerobot(servo: VirtualServo, joint: str, *, leader: bool = False) -> None:
    """The settings LeRobot's SOFollower.configure writes on every connect (lerobot-calibrate
    connects before it calibrates): Return_Delay_Time 0, Operating_Mode 0, P/I/D 16/0/32,
    Acceleration 254, Phase bit 4 cleared, and the gripper's torque limits; a leader
    (SOLeader.configure) gets no P/I/D and no gripper limits."""
    for register, value in lerobot_settings(joint, leader=leader).items():
        servo.set(register, value)
    servo.set("Phase", servo.get("Phase") & ~PHASE_FULL_ANGLE)


SWEEP_SAMPLES = 64


def scripted_calibration(arm: TwinArm, servos: list[VirtualServo],
                         held_rad: np.ndarray | None = None) -> Calibration:
    """Calibrate the twin as a person with LeRobot would, register by register.

    Hold the arm at ``held_rad`` (default the sim zero: the pose MuJoCo resets
    to), write Homing_Offset = 0 then ``p - 2047``; sweep every joint but wrist_roll
    through its range reading Present_Position all the way, and record min/max (so a
    sweep across the 0/4095 seam records nearly a full turn, as LeRobot does: lerobot
    issues #3586, #3587); wrist_roll 0..4095; drive_mode 0.
    """
    limits = arm.sim.limits
    held = np.zeros(len(MOTOR_NAMES)) if held_rad is None else np.asarray(held_rad, float)
    motors = {}
    for j, (name, servo) in enumerate(zip(MOTOR_NAMES, servos, strict=True)):
        arm.place(held)
        servo.set("Homing_Offset", 0)
        homing = servo.present_ticks(0.0) - HALF_TURN
        servo.set_signed("Homing_Offset", homing)
        readings = []
        for q in np.linspace(limits.lower_rad[j], limits.upper_rad[j], SWEEP_SAMPLES):
            pose = held.copy()
            pose[j] = q
            arm.place(pose)
            readings.append(servo.present_ticks(0.0))
        low, high = (0, RESOLUTION - 1) if j == WRIST_ROLL else (min(readings), max(readings))
        motors[name] = MotorCalibration(servo.servo_id, 0, homing, low, high)
        install_calibration(servo, motors[name])
    arm.place(np.zeros(len(MOTOR_NAMES)))
    return Calibration(motors, source="scripted twin calibration")


def write_calibration_file(calibration: Calibration, path: str | Path) -> None:
    """Write a LeRobot calibration file, refusing to replace one that exists."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = calibration.to_json_text()
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "w") as fh:
        fh.write(text)


ROLES = ("follower", "leader")


def hidden_assemblies(role: str) -> list[Assembly]:
    """How the servos of a self-calibrating twin are mounted (raw ticks at sim zero): a
    leader is another arm than the follower, its horns seated elsewhere."""
    if role == "leader":
        return [Assembly(HALF_TURN + 250 - 900 * ((j % 3) - 1)) for j in range(N_JOINTS)]
    return [Assembly(HALF_TURN + 1500 * ((j % 3) - 1)) for j in range(N_JOINTS)]


def build_twin(*, mjcf: str | None = None, calibration: Calibration | None = None,
               faults: list[TwinFault] = (), start_keyframe: str = "zero", seed: int = 0,
               ids: tuple[int, ...] = MOTOR_IDS, role: str = "follower"
               ) -> tuple[TwinArm, list[VirtualServo], Calibration]:
    """A twin arm with servos, calibrated and configured as LeRobot leaves them: with
    ``calibration`` given, an arm that file describes; otherwise by the scripted LeRobot
    procedure. Mirror faults apply before calibrating, reseat and stale ones after (so the
    calibration is then stale); backlash is the gears' play, always there. A ``leader``
    is configured as SOLeader does (its torque stays off: a person moves it)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    sim = SimModel(mjcf) if mjcf else SimModel()
    arm = TwinArm(sim, start_keyframe)
    before = [f for f in faults if f.kind == "mirror"]
    after = [f for f in faults if f.kind in ("reseat", "stale")]
    held = np.zeros(len(MOTOR_NAMES))
    for fault in faults:
        if fault.kind == "homing":
            if calibration is not None:
                raise ValueError("a homing fault happens while calibrating: it needs the twin "
                                 "to calibrate itself (no --calibration)")
            held[fault.joint] = np.deg2rad(fault.value)
    if calibration is not None:
        assemblies = assemblies_for(calibration, sim.limits.lower_rad)
    else:
        assemblies = hidden_assemblies(role)
    for fault in before:
        assemblies[fault.joint] = fault.apply(assemblies[fault.joint])
    shafts = [TwinShaft(arm, j, a) for j, a in enumerate(assemblies)]
    servos = [VirtualServo(servo_id, shaft, seed=seed) for servo_id, shaft in zip(ids, shafts,
                                                                                   strict=True)]
    if calibration is None:
        calibration = scripted_calibration(arm, servos, held)
    else:
        for servo, name in zip(servos, MOTOR_NAMES, strict=True):
            install_calibration(servo, calibration.motors[name])
    for servo, name in zip(servos, MOTOR_NAMES, strict=True):
        configure_like_lerobot(servo, name, leader=role == "leader")
    for fault in after:
        shafts[fault.joint].assembly = fault.apply(shafts[fault.joint].assembly)
    for fault in faults:
        if fault.kind == "backlash":
            arm.set_backlash(fault.joint, fault.value)
    arm.place(sim.keyframe(start_keyframe))
    for servo in servos:
        servo.set("Goal_Position", servo.present_ticks(0.0))
    return arm, servos, calibration
