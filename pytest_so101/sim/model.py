"""A MuJoCo model of the arm: joints in motor order, limits, keyframes, forward kinematics.

Loads the embedded ``so101.xml`` or a user MJCF (``--so101-mjcf``); models whose joints
are not named like the motors (the SO-100 menagerie) are read through the mapping
file's ``[sim] joints``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mujoco
import numpy as np

from ..core.errors import config_error
from ..core.joints import MOTOR_NAMES, N_JOINTS, JointLimits
from ..core.mapping import MappingFile
from ..core.poses import RestPose

EMBEDDED_MJCF = Path(__file__).with_name("so101.xml")


class SimModel:
    """A loaded model with its six arm joints located, motor order."""

    def __init__(self, path: str | Path | None = None,
                 joint_names: Sequence[str] = MOTOR_NAMES) -> None:
        self.path = Path(path) if path is not None else EMBEDDED_MJCF
        self.source = str(self.path)
        if not self.path.is_file():
            raise config_error("MJCF file not found", source=self.source)
        try:
            self.model = mujoco.MjModel.from_xml_path(str(self.path))
        except ValueError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "load failed"
            raise config_error(f"MuJoCo cannot load this model ({first})",
                               source=self.source) from None
        self.joint_names = tuple(joint_names)
        self.joint_ids = []
        for motor, name in zip(MOTOR_NAMES, self.joint_names, strict=True):
            joint_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, name)
            if joint_id < 0:
                known = [self.model.joint(i).name for i in range(self.model.njnt)]
                raise config_error(f"no such joint in the model (joints: {', '.join(known)}); "
                                   "map the names in the mapping file's [sim] joints",
                                   source=self.source, joint=motor, field="sim joint",
                                   value=name)
            if self.model.jnt_type[joint_id] != mujoco.mjtJoint.mjJNT_HINGE:
                raise config_error("expected a hinge joint", source=self.source, joint=motor,
                                   field="sim joint", value=name)
            self.joint_ids.append(joint_id)
        self.qpos_adr = np.array([self.model.jnt_qposadr[j] for j in self.joint_ids])
        self.dof_adr = np.array([self.model.jnt_dofadr[j] for j in self.joint_ids])
        self.actuator_ids = [self._actuator_for(j) for j in self.joint_ids]

    def _actuator_for(self, joint_id: int) -> int | None:
        for i in range(self.model.nu):
            if self.model.actuator_trntype[i] == mujoco.mjtTrn.mjTRN_JOINT and \
                    self.model.actuator_trnid[i, 0] == joint_id:
                return i
        return None

    @property
    def limits(self) -> JointLimits:
        ranges = self.model.jnt_range[self.joint_ids]
        limited = self.model.jnt_limited[self.joint_ids].astype(bool)
        lower = np.where(limited, ranges[:, 0], -np.pi)
        upper = np.where(limited, ranges[:, 1], np.pi)
        return JointLimits(lower, upper, source=f"MJCF {self.source}")

    @property
    def keyframes(self) -> tuple[str, ...]:
        return tuple(self.model.key(i).name for i in range(self.model.nkey))

    def keyframe(self, name: str) -> np.ndarray:
        """A keyframe's arm joints, sim radians, motor order. ``zero`` is the sim zero even
        in a model without keyframes (the upstream SO-101 files have none)."""
        key_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_KEY, name)
        if key_id < 0 and name == "zero":
            return np.zeros(N_JOINTS)
        if key_id < 0:
            raise config_error(f"no keyframe of that name (keyframes: "
                               f"{', '.join(self.keyframes) or 'none'})", source=self.source,
                               field="keyframe", value=name)
        return self.model.key_qpos[key_id][self.qpos_adr].copy()

    def new_data(self) -> mujoco.MjData:
        return mujoco.MjData(self.model)

    def step(self, data: mujoco.MjData, n: int = 1) -> None:
        """Advance the physics ``n`` timesteps."""
        for _ in range(n):
            mujoco.mj_step(self.model, data)

    def forward(self, data: mujoco.MjData) -> None:
        """Recompute positions after qpos was set by hand (no time passes)."""
        mujoco.mj_forward(self.model, data)

    def gravity_torque(self, q_sim_rad: np.ndarray) -> np.ndarray:
        """The torque (N m, sim frame: positive toward increasing q) each joint's actuator
        must apply to hold the arm still at ``q_sim_rad`` against gravity: MuJoCo's bias
        force at zero velocity."""
        data = self.new_data()
        data.qpos[self.qpos_adr] = np.asarray(q_sim_rad, dtype=float)
        mujoco.mj_forward(self.model, data)
        return data.qfrc_bias[self.dof_adr].copy()

    def max_torque(self) -> np.ndarray:
        """Each joint actuator's force limit (N m): what Present_Load's 100 % means here
        (NaN for a joint without a force-limited actuator)."""
        out = np.full(N_JOINTS, np.nan)
        for j, act in enumerate(self.actuator_ids):
            if act is not None and self.model.actuator_forcelimited[act]:
                out[j] = float(np.max(np.abs(self.model.actuator_forcerange[act])))
        return out

    def servo_stiffness(self) -> np.ndarray:
        """Each joint's position actuator gain kp (N m / rad, NaN where none): a servo under
        load holds its goal short by load / kp."""
        out = np.full(N_JOINTS, np.nan)
        for j, act in enumerate(self.actuator_ids):
            if act is not None and self.model.actuator_biastype[act] == \
                    mujoco.mjtBias.mjBIAS_AFFINE and self.model.actuator_gainprm[act, 0] > 0:
                out[j] = float(self.model.actuator_gainprm[act, 0])
        return out

    def sag_rad(self, q_goal_rad: np.ndarray) -> np.ndarray:
        """Where each joint settles relative to its goal under gravity (rad, sim frame): the
        holding torque over the servo's stiffness, taken toward gravity (0 where the model
        has no position actuator). Rows of goals give rows of sags."""
        goals = np.atleast_2d(np.asarray(q_goal_rad, dtype=float))
        stiffness = self.servo_stiffness()
        sags = np.array([np.where(np.isfinite(stiffness), -self.gravity_torque(q) / stiffness,
                                  0.0) for q in goals])
        return sags if np.ndim(q_goal_rad) > 1 else sags[0]

    def body_position(self, q_sim_rad: np.ndarray, body: str) -> np.ndarray:
        """A body's world position (m) at one joint vector."""
        body_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, body)
        if body_id < 0:
            raise config_error("no such body in the model", source=self.source, field="body",
                               value=body)
        data = self.new_data()
        data.qpos[self.qpos_adr] = np.asarray(q_sim_rad, dtype=float)
        mujoco.mj_kinematics(self.model, data)
        return data.xpos[body_id].copy()

    def joint_axis(self, q_sim_rad: np.ndarray, joint: int) -> tuple[np.ndarray, np.ndarray]:
        """A joint's world anchor (m) and unit axis at one joint vector."""
        data = self.new_data()
        data.qpos[self.qpos_adr] = np.asarray(q_sim_rad, dtype=float)
        mujoco.mj_kinematics(self.model, data)
        mujoco.mj_comPos(self.model, data)
        jid = self.joint_ids[joint]
        return data.xanchor[jid].copy(), data.xaxis[jid].copy()

    def site_position(self, q_sim_rad: np.ndarray, site: str = "gripperframe") -> np.ndarray:
        """Forward kinematics: a site's world position (m) at the joint vector(s) given."""
        site_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, site)
        if site_id < 0:
            raise config_error("no such site in the model", source=self.source, field="site",
                               value=site)
        q = np.atleast_2d(np.asarray(q_sim_rad, dtype=float))
        if q.shape[-1] != N_JOINTS:
            raise config_error(f"joint vectors must have shape (..., {N_JOINTS})",
                               value=q.shape)
        data = self.new_data()
        out = np.empty((q.shape[0], 3))
        for i, row in enumerate(q):
            data.qpos[self.qpos_adr] = row
            mujoco.mj_kinematics(self.model, data)
            out[i] = data.site_xpos[site_id]
        return out[0] if np.ndim(q_sim_rad) == 1 else out


def rest_pose_of(mapping: MappingFile | None, mjcf: str | Path | None = None
                 ) -> RestPose | None:
    """The rest pose an arm should read folded on its stops: the mapping's ``[sim]
    rest_pose``, else the ``rest`` keyframe of the model (``mjcf``, or the embedded one
    when the mapping names so101-new-calib); None without a mapping or a rest pose."""
    if mapping is None:
        return None
    if mapping.rest_pose_rad is not None:
        return RestPose(mapping.rest_pose_rad, f"[sim] rest_pose of {mapping.source}")
    if mjcf is None and mapping.model != "so101-new-calib":
        return None
    sim = SimModel(mjcf, mapping.sim_joint_names)
    if "rest" not in sim.keyframes:
        return None
    return RestPose(sim.keyframe("rest"), f"the 'rest' keyframe of {sim.source}")
