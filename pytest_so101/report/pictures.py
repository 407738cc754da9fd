"""Pictures of the arm for the report: the pose a check expected and the pose the arm
read, rendered offscreen by MuJoCo, side by side and overlaid.

Rendering runs in a child process (``python -m pytest_so101.report.pictures``) with
``MUJOCO_GL`` set to a headless backend (EGL, else OSMesa: Debian's ``libegl1`` /
``libosmesa6`` and PyOpenGL): the GL backend must be chosen before MuJoCo is imported, a
crash there cannot take the run down, and a run that imported MuJoCo for its twin is not
disturbed. Where no backend can start, :func:`render` says why and the report keeps the
rest.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import asdict, dataclass

#: Headless GL backends, tried in this order.
BACKENDS = ("egl", "osmesa")
WIDTH, HEIGHT = 360, 270
#: Colours of the overlay: the expected pose, the pose read, where both are.
EXPECTED_RGB, READ_RGB, BOTH_RGB = (66, 133, 244), (244, 132, 36), (60, 60, 60)
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

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def png(rgb: list[list[list[int]]] | object) -> bytes:
    """A PNG file of an (h, w, 3) uint8 image (numpy array), with the standard library."""
    import numpy as np

    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = image.shape[:2]
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def overlay(expected, read, background):
    """Both poses on one white picture: the expected arm blue, the arm read orange, dark
    where they coincide (shaded by the renders' light)."""
    import numpy as np

    def mask(image):
        return np.abs(image.astype(int) - background.astype(int)).sum(axis=2) > 24

    shade_e = expected.mean(axis=2, keepdims=True) / 255.0
    shade_r = read.mean(axis=2, keepdims=True) / 255.0
    out = np.full_like(expected, 255)
    m_e, m_r = mask(expected), mask(read)
    for where, rgb, shade in ((m_e & ~m_r, EXPECTED_RGB, shade_e),
                              (m_r & ~m_e, READ_RGB, shade_r),
                              (m_e & m_r, BOTH_RGB, (shade_e + shade_r) / 2)):
        tone = np.clip(np.array(rgb) * (0.55 + 0.9 * shade), 0, 255)
        out[where] = tone[where]
    return out


def _draw(pairs: list[dict]) -> list[dict]:
    """In the child process: render every pair (base64 PNGs)."""
    import mujoco
    import numpy as np

    drawn, renderers = [], {}
    try:
        for pair in pairs:
            model_path = pair["model"]
            if model_path not in renderers:
                model = mujoco.MjModel.from_xml_path(model_path)
                renderers[model_path] = (model, mujoco.Renderer(model, HEIGHT, WIDTH))
            model, renderer = renderers[model_path]
            adr = [model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n)]
                   for n in pair["joint_names"]]
            camera = mujoco.MjvCamera()
            camera.lookat[:] = (0.14, 0.0, 0.13)
            camera.distance, camera.azimuth, camera.elevation = 0.5, 125.0, -12.0

            def shot(q=None, data=None, model=model, adr=adr, renderer=renderer,
                     camera=camera):
                data = mujoco.MjData(model)
                if q is not None:
                    data.qpos[adr] = q
                mujoco.mj_forward(model, data)
                renderer.update_scene(data, camera=camera)
                return renderer.render().copy()

            expected, read = shot(pair["expected_q"]), shot(pair["read_q"])
            empty = np.full_like(expected, expected[0, 0])       # the background colour
            drawn.append({key: base64.b64encode(png(image)).decode() for key, image in (
                ("expected", overlay(expected, empty, empty)),
                ("read", overlay(empty, read, empty)),
                ("overlay", overlay(expected, read, empty)))})
    finally:
        for _, renderer in renderers.values():
            renderer.close()
    return drawn


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
            done = subprocess.run([sys.executable, "-m", "pytest_so101.report.pictures"],
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


def main() -> int:
    pairs = json.loads(sys.stdin.read())
    json.dump(_draw(pairs), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
