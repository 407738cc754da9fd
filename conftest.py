"""Repository-level pytest configuration (nothing the plugin needs): Hypothesis profiles, and
the project's own test run keeping its reports out of ``reports/``.

``ci`` (chosen automatically when the CI environment variable is set) is thorough but
bounded and derandomized, so CI runs are reproducible; ``dev`` is quicker. Pick one with
``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE``.

``pytest`` (the README's test command: ``tests`` and ``suites``, from ``testpaths``) runs the
suites too; they would write ``reports/so101-report.html`` and ``so101-record.json``, the
files ``pytest suites`` (the main job) leaves for the user. A run that includes ``tests/``
writes them to a temporary folder instead, unless ``--so101-report`` says where.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or
                      ("ci" if os.environ.get("CI") else "dev"))

TESTS = Path(__file__).resolve().parent / "tests"
_REPORT_OPTION = "so101_opt_report"        # the dest of --so101-report (plugin/options.py)
_MADE = pytest.StashKey[Path]()


def runs_the_project_tests(args: list[str], invocation_dir: Path) -> bool:
    """Whether a run's paths include the project's ``tests/`` folder (or a test in it, or
    a folder holding it)."""
    for arg in args:
        path = Path(arg.split("::", 1)[0])
        path = (path if path.is_absolute() else invocation_dir / path).resolve()
        if path == TESTS or TESTS in path.parents or path in TESTS.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before the so101 plugin reads its options: the project's test run reports into a
    temporary folder (xdist workers get the controller's option)."""
    if getattr(config.option, _REPORT_OPTION, None) is not None:
        return
    if runs_the_project_tests(config.args, config.invocation_params.dir):
        folder = Path(tempfile.mkdtemp(prefix="so101-project-tests-"))
        config.stash[_MADE] = folder
        setattr(config.option, _REPORT_OPTION, str(folder))


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_MADE, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
