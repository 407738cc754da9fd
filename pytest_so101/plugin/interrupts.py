"""Ctrl-C on a run that drives an arm.

During the tests, the first SIGINT interrupts pytest as usual (a KeyboardInterrupt: every
``finally`` on the way out switches torque off and confirms it; pytest ends with its
summary). Once the tests are over (the reports), nothing moves any more: a first SIGINT
while the reports are written is noted and the run ends as interrupted right after them;
one while the summary is printed ends the run at once as interrupted (``pytest.exit``).
A second SIGINT while the first is still being handled does not wait: it broadcasts
torque off on every bus the run opened (no reply to wait for) and exits with status 130.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

_torque_off: list[Callable[[], None]] = []
_cleanups: list[Callable[[], None]] = []
_interrupts = 0
_installed = False
_phase = "tests"                   # tests | reports | summary
_pending = False                   # a Ctrl-C came while the reports were written
_stderr = 2                        # the terminal's stderr, not pytest's capture of it
_MESSAGE = "so101: interrupted (Ctrl-C) after the tests; the reports were written"


def watch(torque_off: Callable[[], None]) -> None:
    """Call ``torque_off`` (fast, no waiting) on a second Ctrl-C."""
    _torque_off.append(torque_off)


def unwatch(torque_off: Callable[[], None]) -> None:
    if torque_off in _torque_off:
        _torque_off.remove(torque_off)


def clean_on_hard_exit(cleanup: Callable[[], None]) -> None:
    """Call ``cleanup`` (fast: a temporary file) after the torque-off broadcast of a second
    Ctrl-C, which exits without running pytest's own cleanup."""
    _cleanups.append(cleanup)


def _exit_interrupted() -> None:
    import pytest

    pytest.exit(_MESSAGE, returncode=pytest.ExitCode.INTERRUPTED)


def reports_begin() -> None:
    """The tests are over; the reports are being written."""
    global _phase
    _phase = "reports"


def reports_written() -> None:
    """The reports are written: a Ctrl-C that came meanwhile ends the run now; from here
    on, one ends it at once."""
    global _phase
    _phase = "summary"
    if _pending:
        _exit_interrupted()


def _handler(signum: int, frame: object) -> None:
    global _interrupts, _pending
    _interrupts += 1
    if _interrupts == 1:
        if _phase == "reports":
            _pending = True
            os.write(_stderr, b"\nso101: Ctrl-C while writing the reports: finishing them; "
                              b"a second Ctrl-C exits at once\n")
            return
        if _phase == "summary":
            _exit_interrupted()
        raise KeyboardInterrupt
    for call in (*_torque_off, *_cleanups):
        try:
            call()
        except Exception:         # nothing may stop the exit now
            pass
    os.write(_stderr, b"\nso101: second Ctrl-C: torque-off broadcast sent; exiting now\n")
    os._exit(130)


def install(stderr_fd: int | None = None) -> None:
    """Take over SIGINT (main thread only; elsewhere, e.g. under some runners, a no-op).
    ``stderr_fd``: where to say so, a duplicate of the terminal's stderr (pytest captures
    fd 2 during a test, and ``os._exit`` would lose what is written there)."""
    global _installed, _stderr
    if _installed:
        return
    if stderr_fd is not None:
        _stderr = stderr_fd
    try:
        signal.signal(signal.SIGINT, _handler)
    except ValueError:            # not the main thread
        return
    _installed = True


def interrupted() -> bool:
    """Whether a Ctrl-C arrived in this run."""
    return _interrupts > 0
