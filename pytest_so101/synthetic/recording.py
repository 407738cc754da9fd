"""Synthetic teleoperated recordings written as LeRobot datasets (v3.0 layout).

For the fixtures' datasets, the tests' faults and the dataset benchmark's million frames:
a leader moved by a scripted operator (holds at random poses inside the model's limits,
joined by minimum-jerk moves), a follower that reaches each pose a few frames later and
stops short under gravity by a fraction of a degree, both read through the encoder (one
tick of quantization, on LeRobot's tick grid of the frame when its steps are given) and
written in a policy frame through a sim -> policy map (a
mapping's reference chain, or the identity for a simulator's qpos). Faults are applied to
what the arms *report*, as a mis-calibrated arm would: a leader whose zero is off on one
joint reads every pose shifted, so ``action`` carries the shift and the follower's
``observation.state`` does not (lerobot #3758).

Nothing here is read by a check: the checks see only the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bus.teleop import minimum_jerk
from ..core.dataset import ACTION, STATE
from ..core.frames import DEG_PER_TICK
from ..core.joints import GRIPPER, MOTOR_NAMES, N_JOINTS, JointLimits
from ..core.mapping import RAD_TO_DEG, JointMap

#: Where the follower stops short of the leader at rest (deg): gravity against the servo
#: loop's P gain (shoulder_lift and elbow_flex carry the arm).
GRAVITY_SAG_DEG = np.array([0.0, -0.5, 0.35, 0.1, 0.0, 0.0])
FOLLOWER_DELAY_S = 0.1
HOLD_S = (0.8, 2.0)
MOVE_S = (0.5, 1.4)


@dataclass(frozen=True)
class Recording:
    """Physical joint angles of a teleoperated session (sim rad, motor order)."""

    leader_rad: np.ndarray       # (frames, 6)
    follower_rad: np.ndarray     # (frames, 6)
    episode: np.ndarray          # (frames,)
    fps: float


def teleop_recording(limits: JointLimits, *, episodes: int, seconds: float, fps: float = 30.0,
                     seed: int = 0, reach: float = 0.8) -> Recording:
    """``episodes`` of ``seconds`` each: holds and moves between random poses within
    ``reach`` of each joint's range (around its middle)."""
    rng = np.random.default_rng(seed)
    middle = (limits.lower_rad + limits.upper_rad) / 2
    half = (limits.upper_rad - limits.lower_rad) / 2 * reach
    per_episode = round(seconds * fps)
    delay = max(1, round(FOLLOWER_DELAY_S * fps))
    leaders, followers, labels = [], [], []
    for e in range(episodes):
        pose = middle + rng.uniform(-half, half)
        pieces = []
        total = 0
        while total < per_episode:
            hold = np.repeat(pose[None], round(rng.uniform(*HOLD_S) * fps), axis=0)
            target = middle + rng.uniform(-half, half)
            steps = max(2, round(rng.uniform(*MOVE_S) * fps))
            move = minimum_jerk(pose, target, np.linspace(0.0, 1.0, steps))
            pieces += [hold, move]
            total += len(hold) + len(move)
            pose = target
        leader = np.concatenate(pieces)[:per_episode]
        follower = np.concatenate([np.repeat(leader[:1], delay, axis=0), leader[:-delay]])
        follower = follower + np.deg2rad(GRAVITY_SAG_DEG)
        leaders.append(leader)
        followers.append(follower)
        labels.append(np.full(per_episode, e, dtype=np.int64))
    return Recording(np.concatenate(leaders), np.concatenate(followers),
                     np.concatenate(labels), fps)


def read_through(q_sim_rad: np.ndarray, sim_to_frame: JointMap,
                 tick_steps: np.ndarray | None = None) -> np.ndarray:
    """What an arm at ``q_sim_rad`` reports in a frame: the pose quantized to one encoder
    tick (arm joints) and 0.1 % (gripper), then mapped. With ``tick_steps`` (one tick in
    the frame's unit per joint, :func:`frames.tick_step`; NaN: not known) the values lie on
    the servo's tick grid in the frame, as LeRobot's bus readings do (``tick_grid.py``)."""
    if tick_steps is None:
        ticks = np.round(q_sim_rad * RAD_TO_DEG / DEG_PER_TICK)
        values = sim_to_frame.apply(ticks * DEG_PER_TICK / RAD_TO_DEG)
    else:
        values = sim_to_frame.apply(q_sim_rad)
        steps = np.asarray(tick_steps, dtype=float)
        known = np.isfinite(steps)
        values[..., known] = np.round(values[..., known] / steps[known]) * steps[known]
    if tick_steps is None or not np.isfinite(tick_steps[GRIPPER]):
        values[..., GRIPPER] = np.round(values[..., GRIPPER], 1)
    return values


def _list_column(values: np.ndarray):
    import pyarrow as pa

    flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, N_JOINTS)


def _stats(values: np.ndarray) -> dict[str, list[float]]:
    v = values.astype(np.float32).astype(np.float64)
    return {"min": v.min(axis=0).tolist(), "max": v.max(axis=0).tolist(),
            "mean": v.mean(axis=0).tolist(), "std": v.std(axis=0).tolist(),
            "count": [len(v)]}


def write_dataset(root: str | Path, state: np.ndarray, action: np.ndarray,
                  episode: np.ndarray, fps: float, *, robot_type: str = "so101_follower",
                  stats: dict[str, dict] | None = None, names: list[str] | None = None
                  ) -> Path:
    """Write a LeRobot v3.0 dataset (one data file); ``stats`` replaces the computed
    meta/stats.json (to write a stale one). Refuses a folder that holds a dataset."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    if (root / "meta" / "info.json").exists():
        raise FileExistsError(f"{root} holds a dataset; not overwriting it")
    frames = len(state)
    index_in_episode = np.zeros(frames, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, episode[1:] != episode[:-1]])
    for start, stop in zip(starts, [*starts[1:], frames], strict=True):
        index_in_episode[start:stop] = np.arange(stop - start)
    table = pa.table({
        ACTION: _list_column(action),
        STATE: _list_column(state),
        "timestamp": pa.array((index_in_episode / fps).astype(np.float32)),
        "frame_index": pa.array(index_in_episode),
        "episode_index": pa.array(episode.astype(np.int64)),
        "index": pa.array(np.arange(frames, dtype=np.int64)),
        "task_index": pa.array(np.zeros(frames, dtype=np.int64)),
    })
    data = root / "data" / "chunk-000" / "file-000.parquet"
    data.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, data, compression="zstd")
    names = names or [f"{m}.pos" for m in MOTOR_NAMES]
    vector = {"dtype": "float32", "shape": [N_JOINTS], "names": names}
    scalar = {"shape": [1], "names": None}
    info = {
        "codebase_version": "v3.0", "robot_type": robot_type,
        "total_episodes": len(starts), "total_frames": frames, "total_tasks": 1,
        "chunks_size": 1000, "fps": fps, "splits": {"train": f"0:{len(starts)}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "features": {ACTION: vector, STATE: vector,
                     "timestamp": {"dtype": "float32", **scalar},
                     **{k: {"dtype": "int64", **scalar} for k in
                        ("frame_index", "episode_index", "index", "task_index")}},
    }
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4) + "\n")
    computed = {ACTION: _stats(action), STATE: _stats(state)}
    (root / "meta" / "stats.json").write_text(json.dumps(stats or computed, indent=4) + "\n")
    return root
