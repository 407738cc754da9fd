"""Ctrl-C on a run that drives an arm.

During the tests, the first SIGINT interrupts pytest as usual (a KeyboardInterrupt: every
``finally`` on the way out switches torque off and confirms it; pytest ends with its
summary). Once the tests are over (the reports), nothing moves any more: a first SIGINT
while the reports are written is noted and the run ends as interrupted right after them;
one while the summary is printed ends the run at once as interrupted (``pytest.exit``).
A second SIGINT while the first is still being handled does not wait: it broadcasts
torque off on every bus the run opened (no reply to wait for) and exits with status 130.

Under pytest-xdist (a fleet run) the arms are driven by the workers. Ctrl-C at a terminal
reaches every process of the run; a SIGINT sent to the controller's pid alone (a CI
runner's cancel, ``kill -INT``) reached only the controller, and the workers kept moving
their arms until execnet interrupted them 5 s later. So the controller passes each Ctrl-C
on to its workers (``FORWARDED``, SIGUSR1), and a worker counts a Ctrl-C once whether it
came from the terminal, from the controller or both: the Nth Ctrl-C is the Nth by either
way (the terminal's SIGINT is handled first, being pending first and numbered lower).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

#: The signal a controller passes a Ctrl-C on to its workers with.
FORWARDED = signal.SIGUSR1

_torque_off: list[Callable[[], None]] = []
_cleanups: list[Callable[[], None]] = []
_workers: list[int] = []           # pids of the workers a controller passes Ctrl-C on to
_interrupts = 0                    # Ctrl-Cs so far, however they came
_received = {signal.SIGINT: 0, FORWARDED: 0}
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


def forward_to(pid: int, *, forward: bool = True) -> None:
    """Controller: pass every Ctrl-C on to the worker process ``pid`` (``forward`` False:
    no more, it has ended)."""
    if forward:
        _workers.append(pid)
    elif pid in _workers:
        _workers.remove(pid)


def _forward() -> None:
    for pid in _workers:
        try:
            os.kill(pid, FORWARDED)
        except OSError:            # that worker is gone already
            pass


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
    _received[signum] += 1
    count = max(_received.values())
    if count == _interrupts:       # this Ctrl-C came both ways: counted already
        return
    _interrupts = count
    _forward()
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
    if _torque_off:
        said = b"torque-off broadcast sent"
    elif _workers:
        said = b"passed to the workers (each broadcasts torque off on its arm)"
    else:
        said = b"no arm is driven from this process"
    os.write(_stderr, b"\nso101: second Ctrl-C: " + said + b"; exiting now\n")
    os._exit(130)


def install(stderr_fd: int | None = None) -> None:
    """Take over SIGINT (main thread only; elsewhere, e.g. under some runners, a no-op).
    ``stderr_fd``: where to say so, a duplicate of the terminal's stderr (pytest captures
    fd 2 during a test, and ``os._exit`` would lose what is written there)."""
    global _installed, _stderr
    if stderr_fd is not None:
        if _stderr not in (2, stderr_fd):
            os.close(_stderr)     # the duplicate an earlier arm's bus made
        _stderr = stderr_fd
    if _installed:
        return
    try:
        signal.signal(signal.SIGINT, _handler)
        signal.signal(FORWARDED, _handler)
    except ValueError:            # not the main thread
        return
    _installed = True


def interrupted() -> bool:
    """Whether a Ctrl-C arrived in this run."""
    return _interrupts > 0


def received() -> dict[str, int]:
    """The Ctrl-Cs of this run, and how they came: SIGINTs (a terminal, ``kill -INT``,
    execnet interrupting a worker) and Ctrl-Cs the controller passed on."""
    return {"ctrl_c": _interrupts, "sigint": _received[signal.SIGINT],
            "from_controller": _received[FORWARDED]}
