"""Shared test helpers: paths to the bundled examples and error-message assertions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_so101.core.errors import So101ConfigError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
EXAMPLE_CALIBRATION = FIXTURES / "calibration/robots/so_follower/example_arm.json"
MAPPINGS = FIXTURES / "mapping"
STATS = FIXTURES / "stats"
#: Files SO-100/SO-101 owners published (fixtures/real/PROVENANCE.md).
REAL = FIXTURES / "real"
INCIDENTS = FIXTURES / "incidents"


def assert_one_line(error: So101ConfigError | str, *parts: object) -> str:
    """The message is one line and names every part (file, joint, value...)."""
    text = str(error)
    assert "\n" not in text, text
    for part in parts:
        assert str(part) in text, f"{part!r} not in {text!r}"
    assert "Traceback" not in text
    return text


def raises_config_error(*parts: object):
    """Context manager: a So101ConfigError whose one-line message names ``parts``."""

    class _Checker:
        def __enter__(self):
            self._ctx = pytest.raises(So101ConfigError)
            self.excinfo = self._ctx.__enter__()
            return self.excinfo

        def __exit__(self, *exc):
            suppressed = self._ctx.__exit__(*exc)
            if suppressed:
                assert_one_line(self.excinfo.value, *parts)
            return suppressed

    return _Checker()
