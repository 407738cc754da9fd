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

SIGTERM and SIGHUP (a CI runner's cancel, a closed SSH session, ``systemctl stop``, a
container stopping) end the run like Ctrl-C, and first broadcast torque off at once: a
process that was sent SIGTERM may get SIGKILL a few seconds later, before any ``finally``.
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
#: Signals that end a run like Ctrl-C (counted with SIGINT), where the platform has them.
TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                    if hasattr(signal, name))
_ended_by: str | None = None       # "SIGTERM" or "SIGHUP" when one of them ended the run
_installed = False
_phase = "tests"                   # tests | reports | summary | cleanup
_pending = False                   # a Ctrl-C came while the reports were written
_stderr = 2                        # the terminal's stderr, not pytest's capture of it


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

    pytest.exit(f"so101: interrupted ({ended_by()}) after the tests; the reports were written",
                returncode=pytest.ExitCode.INTERRUPTED)


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


def _broadcast_torque_off() -> None:
    for torque_off in list(_torque_off):
        try:
            torque_off()
        except Exception:         # nothing may stop the exit now
            pass


_outer: list[tuple] = []           # the state of the runs this one runs inside (pytester)


def run_begins() -> None:
    """A run is configured: its phases and Ctrl-Cs start afresh (a run inside a run, as
    pytester's, puts the outer run's state aside until it ends)."""
    global _phase, _interrupts, _pending, _ended_by
    _outer.append((_phase, _interrupts, _pending, _ended_by, dict(_received)))
    _phase, _interrupts, _pending, _ended_by = "tests", 0, False, None
    _received.update(dict.fromkeys(_received, 0))


def run_ends() -> None:
    """The run is unconfigured: the outer run's state, if any, is back."""
    global _phase, _interrupts, _pending, _ended_by
    if _outer:
        _phase, _interrupts, _pending, _ended_by, received_before = _outer.pop()
        _received.update(received_before)


def cleanup_begins() -> None:
    """The run is over and reported (pytest's unconfigure): a first Ctrl-C is noted and the
    cleanup finishes (stopping there would leave a traceback and temporary files)."""
    global _phase
    _phase = "cleanup"


def _handler(signum: int, frame: object) -> None:
    global _interrupts, _pending, _ended_by
    terminating = signum in TERMINATING
    _received[signal.SIGINT if terminating else signum] += 1
    count = max(_received.values())
    if count == _interrupts:       # this Ctrl-C came both ways: counted already
        return
    _interrupts = count
    _forward()
    if terminating:
        _ended_by = signal.Signals(signum).name
        _broadcast_torque_off()
        what = b"torque-off broadcast sent" if _torque_off else b"no arm driven here"
        os.write(_stderr, b"\nso101: " + _ended_by.encode() + b": " + what
                 + b"; ending the run like Ctrl-C\n")
    if _interrupts == 1:
        if _phase == "cleanup":
            os.write(_stderr, b"\nso101: " + ended_by().encode() + b" after the run (its "
                              b"reports are written): finishing pytest's cleanup; a second "
                              b"Ctrl-C exits at once\n")
            return
        if _phase == "reports":
            _pending = True
            os.write(_stderr, b"\nso101: Ctrl-C while writing the reports: finishing them; "
                              b"a second Ctrl-C exits at once\n")
            return
        if _phase == "summary":
            _exit_interrupted()
        raise KeyboardInterrupt
    _broadcast_torque_off()
    for cleanup in _cleanups:
        try:
            cleanup()
        except Exception:
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
        for signum in (signal.SIGINT, FORWARDED, *TERMINATING):
            signal.signal(signum, _handler)
    except ValueError:            # not the main thread
        return
    _installed = True


def interrupted() -> bool:
    """Whether a Ctrl-C arrived in this run."""
    return _interrupts > 0


def ended_by() -> str:
    """What interrupted this run, in words: "Ctrl-C", "SIGTERM" or "SIGHUP"."""
    return _ended_by or "Ctrl-C"


def received() -> dict[str, int]:
    """The Ctrl-Cs of this run, and how they came: SIGINTs (a terminal, ``kill -INT``,
    execnet interrupting a worker; SIGTERM and SIGHUP counted with them) and Ctrl-Cs the
    controller passed on."""
    return {"ctrl_c": _interrupts, "sigint": _received[signal.SIGINT],
            "from_controller": _received[FORWARDED]}
