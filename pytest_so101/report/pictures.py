"""Pictures of the arm for the report: the pose a check expected and the pose the arm
read, rendered offscreen by MuJoCo, side by side and overlaid.

Rendering runs in a child process (``python -m pytest_so101.sim.render``) with
``MUJOCO_GL`` set to a headless backend (EGL, else OSMesa: Debian's ``libegl1`` /
``libosmesa6`` and PyOpenGL): the GL backend must be chosen before MuJoCo is imported, a
crash there cannot take the run down, and a run that imported MuJoCo for its twin is not
disturbed. Where no backend can start, :func:`render` says why and the report keeps the
rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass

#: Headless GL backends, tried in this order.
BACKENDS = ("egl", "osmesa")
RENDER_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class PosePair:
    """Two poses of the arm to draw: what a check expected, and what the arm read (sim
    radians, motor order, in the frame of ``model``)."""

    title: str
    nodeid: str
    expected_q: list[float]
    read_q: list[float]
    model: str                      # the MJCF path
    joint_names: list[str]          # the model's joints in motor order
    failed: bool = False


def render(pairs: list[PosePair]) -> tuple[list[dict], str]:
    """Render the pairs in a child process, trying each headless backend; returns the
    pictures (per pair: base64 PNGs ``expected``, ``read``, ``overlay``) and, when none
    could be drawn, why."""
    if not pairs:
        return [], ""
    request = json.dumps([asdict(p) for p in pairs])
    problems = []
    for backend in BACKENDS:
        env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
        try:
            done = subprocess.run([sys.executable, "-m", "pytest_so101.sim.render"],
                                  input=request, capture_output=True, text=True, env=env,
                                  timeout=RENDER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            problems.append(f"{backend}: no answer within {RENDER_TIMEOUT_S:.0f} s")
            continue
        if done.returncode == 0:
            return json.loads(done.stdout), ""
        last = (done.stderr.strip().splitlines() or ["exited with no message"])[-1]
        problems.append(f"{backend}: {last[:200]}")
    return [], ("no offscreen renderer could start (" + "; ".join(problems) + "); install "
                "Debian's libegl1 or libosmesa6 and PyOpenGL for pictures of the arm")
