"""Baselines: numbered past 9999, written with the user's umask, never overwritten, and
loaded with every part the comparisons read checked for type."""

from __future__ import annotations

import json
import os
import stat

import pytest

from pytest_so101.core.errors import So101ConfigError
from pytest_so101.report.baseline import (
    accept,
    baseline_calibration,
    baseline_dir,
    baselines,
    latest_baseline,
    load_baseline,
    measurement_changes,
)
from pytest_so101.report.record import write_atomic
from tests.helpers import EXAMPLE_CALIBRATION, raises_config_error

PASSING = {"passed": True, "tests": []}


def _record(**changes) -> dict:
    measurement = {"check": "zero", "joint": "shoulder_pan", "value": 1.0}
    record = {"schema": "pytest-so101/record/1", "created": "2026-01-01T00:00:00+00:00",
              "provenance": {"calibration": {"source": "arm.json", "sha256": None,
                                             "contents": json.loads(
                                                 EXAMPLE_CALIBRATION.read_text())}},
              "passed": True,
              "tests": [{"nodeid": "t", "outcome": "passed", "measurements": [measurement]}]}
    record.update(changes)
    return record


def test_numbering_goes_past_9999(tmp_path):
    folder = baseline_dir(tmp_path, "arm")
    folder.mkdir(parents=True)
    (folder / "9998.json").write_text("{}")
    assert accept(PASSING, tmp_path, "arm").name == "9999.json"
    assert accept(PASSING, tmp_path, "arm").name == "10000.json"
    assert accept(PASSING, tmp_path, "arm").name == "10001.json"
    assert [p.name for p in baselines(tmp_path, "arm")] == \
        ["9998.json", "9999.json", "10000.json", "10001.json"]
    assert latest_baseline(tmp_path, "arm").name == "10001.json"


def test_small_numbers_keep_four_digits_and_order_is_numeric(tmp_path):
    folder = baseline_dir(tmp_path, "arm")
    assert accept(PASSING, tmp_path, "arm").name == "0001.json"
    for name in ("0002.json", "12.json", "100000.json", "notes.json", "0003.json.tmp"):
        (folder / name).write_text("{}")
    assert [p.name for p in baselines(tmp_path, "arm")] == \
        ["0001.json", "0002.json", "12.json", "100000.json"]
    assert accept(PASSING, tmp_path, "arm").name == "100001.json"


def test_a_baseline_is_never_overwritten(tmp_path):
    path = accept(PASSING, tmp_path, "arm")
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_atomic(path, {"passed": False}, exclusive=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["0001.json"]   # no temporary


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_records_and_baselines_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        record = write_atomic(tmp_path / "so101-record.json", PASSING)
        baseline = accept(PASSING, tmp_path, "arm")
    finally:
        os.umask(old)
    assert stat.S_IMODE(record.stat().st_mode) == mode
    assert stat.S_IMODE(baseline.stat().st_mode) == mode


def test_a_baseline_folder_that_cannot_be_used_is_one_line(tmp_path, monkeypatch):
    folder = baseline_dir(tmp_path, "arm")
    assert baselines(tmp_path, "arm") == [] and latest_baseline(tmp_path, "arm") is None
    folder.parent.mkdir(parents=True)
    folder.write_text("a file where the folder should be")
    assert latest_baseline(tmp_path, "arm") is None
    with raises_config_error(folder, "cannot store a baseline: part of this path is a file"):
        accept(PASSING, tmp_path, "arm")
    folder.unlink()
    folder.mkdir()

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "listdir", denied)     # root may list anything: simulated
    with raises_config_error(folder, "cannot list the baselines: Permission denied"):
        latest_baseline(tmp_path, "arm")


def test_load_a_valid_baseline(tmp_path):
    path = tmp_path / "0001.json"
    path.write_text(json.dumps(_record()))
    record = load_baseline(path)
    assert baseline_calibration(record, str(path)).motors["gripper"].id == 6
    assert measurement_changes(record, [{"check": "zero", "joint": "shoulder_pan",
                                         "value": 3.0}]) == [("zero", "shoulder_pan", 1.0, 3.0)]


@pytest.mark.parametrize(
    ("changes", "parts"),
    [
        ({"schema": 1}, ["schema = 1", "not a pytest-so101 acceptance record"]),
        ({"schema": ["pytest-so101", "record"]}, ["not a pytest-so101 acceptance record"]),
        ({"created": 20260101}, ["created = 20260101", "must be a string"]),
        ({"tests": {"t": 1}}, ["tests", "must be a list, not a table"]),
        ({"tests": ["t"]}, ["tests[0] = 't'", "must be a table"]),
        ({"tests": [{"measurements": 3}]}, ["tests[0].measurements = 3", "must be a list"]),
        ({"tests": [{"measurements": [{"check": "c", "joint": "j", "value": "1.5"}]}]},
         ["tests[0].measurements[0].value = '1.5'", "must be a number"]),
        ({"tests": [{"measurements": [{"check": "c", "joint": "j", "value": 2**64}]}]},
         ["value = 18446744073709551616", "out of range"]),
        ({"tests": [{"measurements": [{"check": ["c"], "joint": "j", "value": 1}]}]},
         ["tests[0].measurements[0].check = ['c']", "must be a string"]),
        ({"provenance": []}, ["provenance = []", "must be a table"]),
        ({"provenance": {"calibration": {"contents": [1]}}},
         ["provenance.calibration.contents = [1]", "must be a table"]),
    ],
)
def test_bad_baselines_give_one_line(tmp_path, changes, parts):
    path = tmp_path / "0001.json"
    path.write_text(json.dumps(_record(**changes)))
    with raises_config_error(path, *parts):
        load_baseline(path)


def test_a_baseline_calibration_that_is_wrong_names_the_baseline(tmp_path):
    contents = json.loads(EXAMPLE_CALIBRATION.read_text())
    contents["gripper"]["id"] = "6"
    path = tmp_path / "0001.json"
    path.write_text(json.dumps(_record(provenance={"calibration": {"contents": contents}})))
    with raises_config_error(path, "[calibration]", "gripper", "id = '6'"):
        baseline_calibration(load_baseline(path), str(path))


def test_a_huge_baseline_is_refused(tmp_path):
    path = tmp_path / "0001.json"
    with path.open("wb") as fh:
        fh.truncate((64 << 20) + 1)
    with raises_config_error(path, "baseline is larger than the 64 MiB limit"):
        load_baseline(path)


def test_a_missing_baseline(tmp_path):
    with pytest.raises(So101ConfigError, match="baseline not found"):
        load_baseline(tmp_path / "0001.json")
