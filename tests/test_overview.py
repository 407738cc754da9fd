"""The report's overview: grid columns and cells from test ids and measurements, and the
pictures of the arm (PNG encoding, rendering, and saying why when it cannot render)."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest

from pytest_so101.report import overview, pictures
from pytest_so101.sim import render as drawing
from pytest_so101.sim.model import EMBEDDED_MJCF


def m(joint, outcome, margin, check="c", value=1.0):
    return {"check": check, "joint": joint, "value": value, "unit": "deg", "low": -1.0,
            "high": 1.0, "margin": margin, "outcome": outcome, "detail": "d"}


def test_a_test_id_splits_into_its_check_and_its_joint():
    split = overview._split
    assert split("suites/test_hil.py::test_x[elbow_flex]") == \
        ("suites/test_hil.py::test_x", "elbow_flex")
    assert split("suites/test_configuration.py::test_configuration[calibrated-range-gripper]") \
        == ("suites/test_configuration.py::test_configuration[calibrated-range]", "gripper")
    assert split("suites/test_normalization.py::test_normalization[stats-key-all]") == \
        ("suites/test_normalization.py::test_normalization[stats-key-all]", None)
    assert split("suites/test_gravity.py::test_gravity_load_agrees_with_the_model") == \
        ("suites/test_gravity.py::test_gravity_load_agrees_with_the_model", None)
    assert overview._label("suites/test_configuration.py::test_configuration[stats-frame]") \
        == "configuration: stats-frame"


def test_cells_show_the_worst_margin_a_skip_or_nothing():
    tests = [
        {"nodeid": "s/test_a.py::test_a[shoulder_pan]", "outcome": "passed",
         "measurements": [m("shoulder_pan", "PASS", 0.9), m("shoulder_pan", "MARGINAL", 0.1)]},
        {"nodeid": "s/test_a.py::test_a[elbow_flex]", "outcome": "failed",
         "measurements": [m("elbow_flex", "FAIL", -3.0)]},
        {"nodeid": "s/test_a.py::test_a[gripper]", "outcome": "skipped", "measurements": [],
         "message": "needs a calibration"},
        {"nodeid": "s/test_b.py::test_b", "outcome": "failed",
         "measurements": [m("elbow_flex", "FAIL", -1.0)]},
    ]
    a, b = overview.columns(tests)
    assert overview.cell(a, "shoulder_pan")[:2] == ("MARGINAL", "+0.1")
    assert overview.cell(a, "elbow_flex")[:2] == ("FAIL", "-3")
    assert overview.cell(a, "gripper") == ("SKIP", "skip", "needs a calibration")
    assert overview.cell(a, "wrist_roll") == ("", "", "")
    assert overview.cell(b, "elbow_flex")[0] == "FAIL"
    assert overview.cell(b, "wrist_roll") == ("", "", "")      # measured, not this joint
    page = overview.overview_html(provenance={"arm_id": "a", "target": "twin"},
                                  evidence={"elbow_flex": ["files"]}, tests=tests,
                                  tolerances="t", pictures=[], why_no_pictures="")
    assert ">FAIL</span>" in page and page.count("class='so101-failure'") == 2
    assert "needs a calibration" in page


def test_png_is_a_valid_image():
    image = np.zeros((3, 4, 3), dtype=np.uint8)
    image[1, 2] = (255, 0, 10)
    data = drawing.png(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (4, 3)
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    rows = zlib.decompress(idat)
    assert rows[1 * 13 + 1 + 2 * 3: 1 * 13 + 1 + 3 * 3] == bytes((255, 0, 10))


POSE = dict(title="rest pose", nodeid="n", expected_q=[0, -1.7, 1.5, 1.1, 0, -0.17],
            read_q=[0, -1.7, -1.5, 1.1, 0, -0.17], model=str(EMBEDDED_MJCF),
            joint_names=["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex",
                         "wrist_roll", "gripper"], failed=True)


def test_the_arm_is_drawn_offscreen_or_the_report_says_why():
    drawn, why = pictures.render([pictures.PosePair(**POSE)])
    if why:
        assert "no offscreen renderer could start" in why
        pytest.skip(f"no offscreen renderer here: {why}")
    assert set(drawn[0]) == {"expected", "read", "overlay"}
    image = base64.b64decode(drawn[0]["overlay"])
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 2000


def test_without_a_renderer_the_reason_is_given(monkeypatch):
    monkeypatch.setattr(pictures, "BACKENDS", ("no-such-backend",))
    drawn, why = pictures.render([pictures.PosePair(**POSE)])
    assert drawn == []
    assert why.startswith("no offscreen renderer could start (no-such-backend: ")
    assert "libosmesa6" in why
