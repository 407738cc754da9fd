"""Every check is one declared unit (pytest_so101/checks/): the catalog holds them all,
so101-diagnose lists them, and docs/checks.md is generated from the declarations."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_so101.checks.base import NEEDS, Check, Setup
from pytest_so101.checks.catalog import ALL, BY_NAME, DOMAINS, markdown
from tests.helpers import REPO


def test_names_are_unique_and_every_check_is_in_its_domain():
    assert len(BY_NAME) == len(ALL)
    for domain, checks in DOMAINS.items():
        assert all(c.domain == domain for c in checks), domain


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.name)
def test_a_check_declares_what_it_needs_catches_and_proves(check: Check):
    assert set(check.needs) <= set(NEEDS), check.needs
    assert check.catches and check.tolerance and check.title
    assert check.evidence and set(check.evidence) <= set(Setup)
    if check.suite:
        assert (REPO / "suites" / f"test_{check.suite}.py").is_file()


def test_docs_checks_md_is_generated_from_the_declarations():
    """``so101-diagnose --list-checks --markdown > docs/checks.md`` regenerates it."""
    assert (REPO / "docs" / "checks.md").read_text() == markdown() + "\n", \
        "docs/checks.md is stale: so101-diagnose --list-checks --markdown > docs/checks.md"


def test_list_checks_prints_every_check_with_its_evidence_and_tolerance():
    done = subprocess.run([sys.executable, "-m", "pytest_so101.cli.diagnose", "--list-checks"],
                          capture_output=True, text=True, check=True)
    for check in ALL:
        assert f"{check.name}  [{check.domain}]" in done.stdout
    assert done.stdout.count("evidence:") == len(ALL)
    assert "physical" in done.stdout and "twin" in done.stdout


def test_every_suite_runs_declared_checks_only():
    """The suites judge through ``judge``/``measure`` by a declared name (or the files'
    table): a name no check declares would fail there, and a suite that measures inline
    would not be listed."""
    import re

    for path in sorted((REPO / "suites").glob("test_*.py")):
        text = path.read_text()
        for name in re.findall(r"(?:judge|measure)\(\s*\"([a-z0-9.-]+)\"", text):
            assert name in BY_NAME, f"{path.name}: {name}"
        assert "Measurement(" not in text, f"{path.name} builds measurements inline"
