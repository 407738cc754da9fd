"""The configuration itself, with no motion: the calibration file, the mapping against
the calibration and the model, and the stats against the frame they are declared in.

Each failure names the joint, the likely cause and the fix (docs/faults.md). The checks
are the table of :mod:`pytest_so101.checks` (suite ``configuration``); ``so101-diagnose``
runs the same table from the command line.
"""

from __future__ import annotations

import pytest

from pytest_so101.plugin.suite_tools import run_table_check, table_params


@pytest.mark.parametrize(("check", "joint"), table_params("configuration"))
def test_configuration(so101_configuration, so101_check, check, joint):
    run_table_check(so101_configuration, check, joint, so101_check)
