"""An arm's port on this host: is the device there, and who owns it (the port's name,
a device path or a pyserial URL, is ``core/port_names.py``'s). Standard library only.

A *claim* is an exclusive lock on a port for one process, so that two workers of a run,
or two runs on one host, never talk on one arm at once (``flock`` on a file named after
the port in the temporary folder: released by the OS when the process ends, however it
ends). Across hosts, a labgrid place's acquire is the claim (docs/fleet.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import config_error
from ..core.port_names import port_key


def check_device(port: str, *, source: str, joint: str | None = None,
                 field: str | None = None) -> None:
    """A device path names a serial device that is there (a character device: a USB
    adapter's tty or a pty), not a missing path or a regular file."""
    try:
        mode = os.stat(port).st_mode
    except OSError:
        raise config_error("no such serial port; is the arm's USB adapter plugged in "
                           "(ls /dev/ttyACM* /dev/ttyUSB*)?", source=source, joint=joint,
                           field=field, value=port) from None
    if not stat.S_ISCHR(mode):
        raise config_error("not a serial device (a serial port is a character device such "
                           "as /dev/ttyACM0, or a socket:// or rfc2217:// URL)",
                           source=source, joint=joint, field=field, value=port)


class PortClaimedError(RuntimeError):
    """Another process owns the port (one line: the port and who holds it)."""


@dataclass
class Claim:
    """An exclusive claim on a port, held until :meth:`release` or the process ends."""

    port: str
    owner: str
    path: Path
    fd: int | None = None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)          # closing the file drops the lock
            self.fd = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claims_dir() -> Path:
    return Path(tempfile.gettempdir()) / "so101-port-claims"


def claim_port(port: str, owner: str, folder: Path | None = None) -> Claim:
    """Claim ``port`` for this process (``owner`` says who, e.g. ``worker gw1, arm a3``);
    raises :class:`PortClaimedError` naming the holder when another process has it."""
    folder = claims_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    key = port_key(port)
    path = folder / (hashlib.sha256(key.encode()).hexdigest()[:20] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
        finally:
            os.close(fd)
        raise PortClaimedError(f"{port}: already claimed by {holder}; an arm is owned by one "
                          "process at a time") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} ({owner})".encode(), 0)
    return Claim(port, owner, path, fd)
