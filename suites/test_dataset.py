"""A recorded dataset (``--so101-dataset FOLDER``, a local LeRobot dataset): before a
policy is trained on it.

- its ``meta/stats.json`` is the statistics of its frames (a policy is normalized with it);
- its frames, through the frame the mapping declares, are in that frame (not radians,
  legacy degrees or the other ``use_degrees``) and inside the model's joint limits;
- each joint's values lie on the servo's tick grid of the declared unit (data a servo
  reported; one joint in another unit is named);
- where both arms stand still, ``action`` (the leader's reading) equals
  ``observation.state`` (the follower's) within ``--so101-tracking-deg``: an offset there is
  baked into every frame and a policy trained on it misses by as much (lerobot #3758),
  judged per episode.
  The report shows, per joint, the histogram of that difference at rest.

Every check runs on the files alone (evidence: files); ``so101-diagnose --dataset`` runs
the same. Skipped without ``--so101-dataset``.
"""

from __future__ import annotations

import pytest

from pytest_so101.checks.datasets import result_names
from pytest_so101.core.joints import MOTOR_NAMES


def _result(so101_dataset_checks, name: str):
    result = so101_dataset_checks.results[name]
    if result.skipped and not result.measurements:
        pytest.skip(f"{result.title}: {result.skipped}")
    return result


@pytest.mark.parametrize("name", [n for n in result_names() if n != "rest-offset"])
def test_dataset(so101_dataset_checks, so101_check, name):
    so101_check(_result(so101_dataset_checks, name).measurements)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_action_equals_state_at_rest(so101_dataset_checks, so101_check, so101_histogram, joint):
    result = _result(so101_dataset_checks, "rest-offset")
    offset = so101_dataset_checks.offset              # one arm's (None for two arms)
    measurements = [m for m in result.measurements if m.joint == joint]
    if offset is not None:
        histogram = offset.histogram[joint]
        (measurement,) = measurements
        so101_histogram(f"{joint}: action - observation.state at rest ({offset.frames} frames)",
                        "deg", histogram["edges"], histogram["counts"], limit=measurement.high,
                        marked=measurement.value)
    so101_check(measurements)
