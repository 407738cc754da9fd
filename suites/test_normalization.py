"""The policy's stats against the chain sim -> robot -> policy frame: LeRobot's key is
there (else it silently passes inputs through), spreads are positive, the stats mean and
min/max mapped into the sim frame lie inside the joint limits, and (advisory) the
reference pose normalizes near zero.

The checks are the table of :mod:`pytest_so101.checks` (suite ``normalization``).
"""

from __future__ import annotations

import pytest

from pytest_so101.plugin.suite_tools import run_table_check, table_params


@pytest.mark.parametrize(("check", "joint"), table_params("normalization"))
def test_normalization(so101_configuration, so101_check, check, joint):
    run_table_check(so101_configuration, check, joint, so101_check)
