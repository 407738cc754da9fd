"""Every check, one declared unit each, one module per domain (``catalog.py`` lists them).

The names most callers want are importable from here: :class:`Check`, :class:`Inputs`,
:class:`Setup`, :func:`run_check`, :func:`run_checks`, ``ALL`` (every check), ``BY_NAME``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Check": "base", "CheckResult": "base", "Inputs": "base", "Setup": "base",
    "NotApplicable": "base", "run_check": "base", "run_checks": "base", "NEEDS": "base",
    "ALL": "catalog", "FILE_CHECKS": "catalog", "BY_NAME": "catalog", "DOMAINS": "catalog",
    "for_suite": "catalog",
    "files_only": "catalog", "read_only_arm": "catalog", "describe": "catalog",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
