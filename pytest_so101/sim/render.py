"""Drawing the arm offscreen: the pose a check expected and the pose the arm read, each
alone and both overlaid, as PNG images (``python -m pytest_so101.sim.render`` reads pose
pairs as JSON on stdin and writes the pictures as JSON on stdout).

Run in a child process with ``MUJOCO_GL`` set to a headless backend (EGL or OSMesa) by
:func:`pytest_so101.report.pictures.render`: the backend must be chosen before MuJoCo is
imported. The PNG encoder is the standard library's zlib, so nothing more is needed.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
import zlib

WIDTH, HEIGHT = 360, 270
#: Colours of the overlay: the expected pose, the pose read, where both are.
EXPECTED_RGB, READ_RGB, BOTH_RGB = (66, 133, 244), (244, 132, 36), (60, 60, 60)


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


def main() -> int:
    pairs = json.loads(sys.stdin.read())
    json.dump(_draw(pairs), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
