"""The report's overview: the verdict in words, the checks x joints grid from test ids and
measurements, and the pictures of the arm (framing, PNG encoding, rendering, and saying why
when it cannot render)."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.report import grid, overview, pictures, verdict
from pytest_so101.report.html import COLORS
from pytest_so101.sim import render as drawing
from pytest_so101.sim.model import EMBEDDED_MJCF


def m(joint, outcome, margin, check="c", value=1.0, **more):
    return {"check": check, "joint": joint, "value": value, "unit": "deg", "low": -1.0,
            "high": 1.0, "margin": margin, "outcome": outcome, "detail": "d", **more}


def test_a_test_id_splits_into_its_check_and_its_joint():
    split = grid.split
    assert split("suites/test_hil.py::test_x[elbow_flex]") == \
        ("suites/test_hil.py::test_x", "elbow_flex")
    assert split("suites/test_configuration.py::test_configuration[calibrated-range-gripper]") \
        == ("suites/test_configuration.py::test_configuration[calibrated-range]", "gripper")
    assert split("suites/test_normalization.py::test_normalization[stats-key-all]") == \
        ("suites/test_normalization.py::test_normalization[stats-key-all]", None)
    assert split("suites/test_gravity.py::test_gravity_load_agrees_with_the_model") == \
        ("suites/test_gravity.py::test_gravity_load_agrees_with_the_model", None)
    # a row is named by its declared check, and grouped by the check's domain
    key = "suites/test_configuration.py::test_configuration[stats-frame]"
    assert grid.label(key) == "stats frame" and grid.domain_of(key) == "normalization"
    key = "suites/test_normalization.py::test_normalization[stats-key-all]"
    assert grid.label(key) == "stats key" and grid.domain_of(key) == "normalization"
    key = "suites/test_rest_pose.py::test_rest_pose_maps_to_the_reading_at_rest"
    assert grid.label(key) == "rest pose maps to the reading at rest"
    assert grid.domain_of(key) == "rest pose"
    assert grid.domain_of("tests/test_mine.py::test_it") == "other"


TESTS = [
    {"nodeid": "suites/test_hil.py::test_a[shoulder_pan]", "outcome": "passed",
     "measurements": [m("shoulder_pan", "PASS", 0.9), m("shoulder_pan", "MARGINAL", 0.1)]},
    {"nodeid": "suites/test_hil.py::test_a[elbow_flex]", "outcome": "failed",
     "measurements": [m("elbow_flex", "FAIL", -150.0, value=151.0)]},
    {"nodeid": "suites/test_hil.py::test_a[gripper]", "outcome": "skipped",
     "measurements": [], "message": "needs a calibration"},
    {"nodeid": "suites/test_gravity.py::test_b", "outcome": "failed",
     "measurements": [m("elbow_flex", "FAIL", -1.0)]},
]


def test_cells_show_the_worst_margin_with_its_unit_a_skip_or_nothing():
    a, b = (r for r in grid.rows(TESTS) if r.domain in ("hil", "gravity"))
    assert grid.cell(a, "shoulder_pan")[:2] == ("MARGINAL", "+0.1 deg")
    assert grid.cell(a, "elbow_flex")[:2] == ("FAIL", "-150 deg")       # never -1.5e+02
    assert "151 deg" in grid.cell(a, "elbow_flex").tip
    assert grid.cell(a, "gripper") == ("SKIP", "skip", "needs a calibration")
    assert grid.cell(a, "wrist_roll") == ("", "", "")
    assert grid.cell(b, "elbow_flex")[0] == "FAIL"
    assert grid.cell(b, "wrist_roll") == ("", "", "")      # measured, not this joint
    assert grid.cell(b, grid.ARM_COLUMN) == ("", "", "")   # it named its joint


def test_a_test_that_recorded_nothing_claims_no_joint():
    """A test of the whole arm that passed without a measurement says so in the arm's
    column only: it made no claim about any one joint."""
    tests = [{"nodeid": "suites/test_roundtrip.py::test_property", "outcome": "passed",
              "measurements": []},
             {"nodeid": "suites/test_hil.py::test_x", "outcome": "failed", "measurements": [],
              "message": "BusError: port gone"},
             {"nodeid": "suites/test_gravity.py::test_g", "outcome": "skipped",
              "measurements": [], "message": "moves the arm"}]
    by_domain = {r.domain: r for r in grid.rows(tests)}
    prop, hil, gravity = by_domain["configuration"], by_domain["hil"], by_domain["gravity"]
    assert all(grid.cell(prop, j) == ("", "", "") for j in MOTOR_NAMES)
    assert grid.cell(prop, grid.ARM_COLUMN)[:2] == ("PASS", "pass")
    assert "recorded no measurement" in grid.cell(prop, grid.ARM_COLUMN).tip
    assert all(grid.cell(hil, j) == ("", "", "") for j in MOTOR_NAMES)
    assert grid.cell(hil, grid.ARM_COLUMN) == ("FAIL", "fail", "BusError: port gone")
    # a check of the whole arm that was skipped would have measured every joint
    assert all(grid.cell(gravity, j)[0] == "SKIP" for j in MOTOR_NAMES)
    assert grid.skipped_everywhere(gravity, (*MOTOR_NAMES, grid.ARM_COLUMN))


def test_rows_come_in_catalog_order_whatever_order_the_results_arrived():
    """xdist delivers results in any order: the grid is the same."""
    tests = [{"nodeid": f"suites/{nodeid}", "outcome": "passed",
              "measurements": [m("gripper", "PASS", 0.5)]} for nodeid in (
        "test_gravity.py::test_g", "test_normalization.py::test_normalization[stats-std-gripper]",
        "test_configuration.py::test_configuration[drive-mode-gripper]",
        "test_configuration.py::test_configuration[calibrated-range-gripper]",
        "test_rest_pose.py::test_r[gripper]")]
    order = [r.label for r in grid.rows(tests)]
    assert order == [r.label for r in grid.rows(tests[::-1])]
    assert order == ["calibrated ranges", "drive modes", "stats std", "r", "g"]


def test_the_grid_fits_the_width_whatever_the_number_of_checks():
    """A row per check and a column per joint: 60 checks add rows, not columns; rows
    skipped on every joint are folded into one line per domain."""
    tests = [{"nodeid": f"suites/test_hil.py::test_c{k}[{j}]", "outcome": "passed",
              "measurements": [m(j, "PASS", 0.5 + k)]} for k in range(60) for j in MOTOR_NAMES]
    tests += [{"nodeid": f"suites/test_dataset.py::test_d{k}", "outcome": "skipped",
               "measurements": [], "message": "no --so101-dataset"} for k in range(14)]
    page = overview.grid_html(grid.rows(tests))
    assert page.count("<col>") == 6 and "<th>the arm</th>" not in page   # six joints
    assert page.count("class='so101-row'") == 60
    assert "14 checks skipped on every joint" in page and page.count("no --so101-dataset") == 14
    assert "e+0" not in page and "+50.5 deg" in page


def test_the_verdict_names_each_failing_joint_with_cause_and_fix_then_the_marginal_ones():
    tests = [
        {"nodeid": "suites/test_rest_pose.py::test_r[elbow_flex]", "outcome": "failed",
         "measurements": [m("elbow_flex", "FAIL", -175.0, check="rest reading", value=-176.0,
                            cause="a mirrored motor", fix="set direction = -1",
                            evidence="twin")]},
        {"nodeid": "suites/test_configuration.py::test_configuration[stats-frame-elbow_flex]",
         "outcome": "failed", "measurements": [m("elbow_flex", "FAIL", -89.0, check="fingerprint",
                                                 value=90.0, cause="legacy", fix="declare")]},
        {"nodeid": "suites/test_rest_pose.py::test_mirror[shoulder_pan]", "outcome": "passed",
         "measurements": [m("shoulder_pan", "MARGINAL", -5.0, check="mirror distance",
                            value=0.0, detail="rests at the middle: a mirror would read "
                            "the same", advisory=True)]},
        {"nodeid": "suites/test_rest_pose.py::test_mirror[elbow_flex]", "outcome": "passed",
         "measurements": [m("elbow_flex", "MARGINAL", 0.1, check="mirror distance")]},
        {"nodeid": "suites/test_hil.py::test_bus", "outcome": "error", "measurements": [],
         "message": "BusError: no reply"},
    ]
    v = verdict.verdict(tests)
    assert v.status == "FAIL"
    elbow, bus = v.failing
    assert elbow.joint == "elbow_flex" and elbow.lead["check"] == "rest reading"  # the arm
    assert [o["check"] for o in elbow.others] == ["fingerprint"]
    assert bus.lead is None and bus.test["nodeid"] == "suites/test_hil.py::test_bus"
    assert [a.joint for a in v.marginal] == ["shoulder_pan"]   # elbow_flex fails already
    assert verdict.headline(v) == ("FAIL; failing: elbow_flex; 1 test failed without a "
                                   "measurement; MARGINAL: shoulder_pan")
    assert verdict.stated(elbow.lead) == "rest reading = -176 deg (limit |value| <= 1 deg)"
    page = overview.overview_html(provenance={"arm_id": "a", "target": "twin"},
                                  evidence={"elbow_flex": ["files"]}, arm_evidence={},
                                  tests=tests, tolerances="t", pictures=[], why_no_pictures="")
    first = page[:page.index("<table class='so101-facts'>")]  # the verdict block
    for part in ("FAIL</span>", "elbow_flex", "rest reading = -176 deg (limit |value| &lt;= "
                 "1 deg)", "a mirrored motor", "set direction = -1", "also failing: "
                 "fingerprint = 90 deg", "shoulder_pan", "mirror distance = 0 deg",
                 "rests at the middle", "BusError: no reply"):
        assert part in first, part


def test_a_passing_run_with_marginal_joints_says_which_and_why():
    tests = [{"nodeid": "suites/test_rest_pose.py::test_mirror[wrist_roll]", "outcome": "passed",
              "measurements": [m("wrist_roll", "MARGINAL", -2.0, check="mirror distance",
                                 value=3.0, detail="direction unchecked", advisory=True)]}]
    v = verdict.verdict(tests)
    assert v.status == "PASS" and verdict.headline(v) == "PASS; MARGINAL: wrist_roll"
    page = overview.overview_html(provenance={}, evidence={}, arm_evidence={}, tests=tests,
                                  tolerances="t", pictures=[], why_no_pictures="")
    assert ">PASS</span>" in page and ">1 MARGINAL</span>" in page
    assert "direction unchecked" in page[:page.index("<table class='so101-facts'>")]


def test_no_check_ran_is_never_green():
    for tests in ([], [{"nodeid": "suites/test_hil.py::test_x", "outcome": "skipped",
                        "measurements": [], "message": "needs a real arm"}]):
        v = verdict.verdict(tests)
        assert v.status == "NO CHECK RAN" and not v.ran
        page = overview.overview_html(provenance={}, evidence={}, arm_evidence={},
                                      tests=tests, tolerances="t", pictures=[],
                                      why_no_pictures="")
        assert ">PASS<" not in page and ">NO CHECK RAN</span>" in page
        assert COLORS["PASS"] not in page
    # tests ran, but none used the plugin's fixtures: the caller says no check ran
    ran = [{"nodeid": "tests/test_x.py::test_y", "outcome": "passed", "measurements": []}]
    assert verdict.verdict(ran, ran=False).status == "NO CHECK RAN"


def test_evidence_lists_the_six_joints_and_the_arm_apart():
    page = overview.overview_html(
        provenance={}, evidence={"gripper": ["files", "twin"]},
        arm_evidence={"all": ["twin"], "bus": ["servo"]},
        tests=[{"nodeid": "suites/test_teleop.py::test_t", "outcome": "passed",
                "measurements": [m("all", "PASS", 0.5)]}],
        tolerances="t", pictures=[], why_no_pictures="")
    joints = page[page.index("Evidence per joint"):page.index("Measured of the arm")]
    arm = page[page.index("Measured of the arm"):page.index("Checks x joints")]
    assert "<th>gripper</th>" in joints and "the arm" not in joints
    assert "<th>the arm</th><td>twin</td>" in arm and "<th>the bus</th><td>servo</td>" in arm


@given(st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.floats(-0.5, 0.5),
                          st.floats(0.001, 0.1)), min_size=1, max_size=30),
       st.floats(0, 360), st.floats(-89, 89))
def test_framing_keeps_every_part_inside_the_picture_from_any_direction(spheres, azimuth,
                                                                       elevation):
    """Whatever the pose and the view, every geom's bounding sphere is inside the camera's
    cone (within the narrower field of view), so no part runs off the edge."""
    centres = np.array([s[:3] for s in spheres])
    radii = np.array([s[3] for s in spheres])
    lookat, distance = drawing.framing(centres, radii, fovy_deg=45.0,
                                       aspect=drawing.WIDTH / drawing.HEIGHT)
    az, el = np.radians(azimuth), np.radians(elevation)
    forward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    eye = np.asarray(lookat) - distance * forward
    for centre, radius in zip(centres, radii, strict=True):
        to = centre - eye
        angle = np.arccos(np.clip(to @ forward / np.linalg.norm(to), -1, 1))
        assert angle + np.arcsin(min(1.0, radius / np.linalg.norm(to))) <= \
            np.radians(22.5) + 1e-9


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


#: Swung to its left and stretched up, far from the rest pose: off the edge of a fixed view.
FAR = [1.5, 0.2, -1.5, -1.4, 0.0, 1.5]


def png_pixels(data: bytes) -> np.ndarray:
    """The (h, w, 3) pixels of a PNG written by render.png (8-bit RGB, filter 0)."""
    width, height = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * 3)
    return rows[:, 1:].reshape(height, width, 3)


def test_the_arm_is_drawn_offscreen_framed_on_the_arm_or_the_report_says_why():
    far = {**POSE, "title": "far", "read_q": FAR}
    drawn, why = pictures.render([pictures.PosePair(**POSE), pictures.PosePair(**far)])
    if why:
        assert "no offscreen renderer could start" in why
        pytest.skip(f"no offscreen renderer here: {why}")
    assert set(drawn[0]) == {"expected", "read", "overlay"}
    for pair in drawn:
        image = base64.b64decode(pair["overlay"])
        assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 2000
        pixels = png_pixels(image)
        arm = (pixels < 250).any(axis=2)               # not the white background
        border = np.concatenate([arm[0], arm[-1], arm[:, 0], arm[:, -1]])
        assert not border.any(), "the arm runs off the edge of the picture"
        assert arm.mean() > 0.04, "the arm is a speck"


def test_without_a_renderer_the_reason_is_given(monkeypatch):
    monkeypatch.setattr(pictures, "BACKENDS", ("no-such-backend",))
    drawn, why = pictures.render([pictures.PosePair(**POSE)])
    assert drawn == []
    assert why.startswith("no offscreen renderer could start (no-such-backend: ")
    assert "libosmesa6" in why
