"""Mechanical quality per joint, with motion (docs/health.md): repeatability, backlash and
tracking, measured through the servo's own encoder.

Every joint returns to a target near where it is three times from below and three times
from above, a few degrees away, all joints at once (about 2.5 s): the spread of the
returns from one side is its repeatability (ticks, and mm at the gripperframe site
through the model's forward kinematics), the gap between the two sides its backlash, the
error of each return its tracking. Bounds are options (``--so101-backlash-deg``,
``--so101-repeatability-ticks``, ``--so101-repeatability-mm``, ``--so101-tracking-deg``,
``--so101-settle-s``).

Motion goes only through the arm (``so101_arm``: the safety envelope, a step cap, torque
off however it ends) and never turns a joint whose read-only checks failed in the run. On
a real arm it needs ``--allow-motion``; evidence ``servo``. On the twin the evidence is
``twin``, and the backlash the encoder measured is also checked against the twin's
observer (the encoder reads the output shaft).
"""

from __future__ import annotations

import pytest

from pytest_so101.checks import mechanics
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.suite_tools import measure_each, model_or_none, sag_ticks

pytestmark = pytest.mark.so101_motion


def _site_spreads(arm, returns, request):
    """The repeatability in mm at the gripperframe site, when the model and the declared
    [sim_to_robot] map are at hand (None otherwise: the ticks still judge)."""
    sim = model_or_none(request)
    if sim is None or arm.mapping is None or arm.mapping.sim_to_robot is None:
        return None
    return mechanics.site_spreads_mm(returns, arm.ticks_to_sim, sim.site_position)


def test_repeatability_backlash_and_tracking(so101_arm, so101_context, so101_twin,
                                             so101_inputs, so101_check, request):
    if all(joint in so101_arm.frozen for joint in MOTOR_NAMES):
        pytest.skip("every joint failed a read-only check in this run: nothing is moved")
    bounds = mechanics.Bounds.from_settings(so101_context.settings)
    observe = so101_twin.q_sim_rad if so101_twin is not None else None
    returns = mechanics.measure_returns(so101_arm, bounds, observe=observe)
    run = mechanics.MechanicsRun(returns, bounds, _site_spreads(so101_arm, returns, request),
                                 sag_ticks(so101_arm, returns.target, request))
    so101_check(measure_each(("repeatability", "backlash", "tracking", "backlash-vs-observer"),
                             so101_inputs.with_readings(returns=run)))
