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
#: The view: from the arm's front left, a little above (deg); the distance and the point
#: looked at are chosen per picture so that both poses fit (:func:`framing`).
AZIMUTH_DEG, ELEVATION_DEG = 125.0, -12.0
#: Room left around the arm, as a fraction of its bounding sphere's radius.
FRAME_MARGIN = 0.08
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


def framing(centres, radii, *, fovy_deg: float, aspect: float,
            margin: float = FRAME_MARGIN) -> tuple[list[float], float]:
    """Where to look and from how far (m) so that every sphere (geom centres, m, and
    bounding radii, m) is inside the picture whatever the direction of view: the spheres'
    bounding sphere fills the narrower of the two fields of view."""
    import numpy as np

    centres = np.asarray(centres, dtype=float).reshape(-1, 3)
    radii = np.asarray(radii, dtype=float).reshape(-1)
    low = (centres - radii[:, None]).min(axis=0)
    high = (centres + radii[:, None]).max(axis=0)
    centre = (low + high) / 2
    radius = float(np.max(np.linalg.norm(centres - centre, axis=1) + radii))
    half_v = np.radians(fovy_deg) / 2
    half = min(half_v, np.arctan(np.tan(half_v) * aspect))
    return centre.tolist(), radius * (1 + margin) / np.sin(half)


def _arm_geoms(model) -> list[int]:
    """The arm's geoms: not the world's (a floor, a table) nor an infinite plane."""
    import mujoco

    return [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0 and
            model.geom_type[g] != mujoco.mjtGeom.mjGEOM_PLANE and model.geom_rbound[g] > 0]


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
            geoms = _arm_geoms(model)

            def posed(q, model=model, adr=adr):
                data = mujoco.MjData(model)
                data.qpos[adr] = q
                mujoco.mj_forward(model, data)
                return data

            both = [posed(pair["expected_q"]), posed(pair["read_q"])]
            lookat, distance = framing(
                np.concatenate([d.geom_xpos[geoms] for d in both]),
                np.concatenate([model.geom_rbound[geoms]] * 2),
                fovy_deg=float(model.vis.global_.fovy), aspect=WIDTH / HEIGHT)
            camera = mujoco.MjvCamera()
            camera.lookat[:] = lookat
            camera.distance, camera.azimuth, camera.elevation = \
                distance, AZIMUTH_DEG, ELEVATION_DEG

            def shot(data, renderer=renderer, camera=camera):
                renderer.update_scene(data, camera=camera)
                return renderer.render().copy()

            expected, read = (shot(d) for d in both)
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
