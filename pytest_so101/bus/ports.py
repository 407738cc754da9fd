"""An arm's port on this host: is the device there, and who owns it (the port's name,
a device path or a pyserial URL, is ``core/port_names.py``'s). Standard library only.

A *claim* is an exclusive lock on a port for one process, so that two workers of a run,
or two runs of one user on one host, never talk on one arm at once (``flock`` on a file
named after the port: released by the OS when the process ends, however it ends). The
lock files live in the user's own folder (``so101-port-claims-UID`` in the temporary
folder, mode 0700): a folder anyone may write in would let another user plant a symlink
where a lock file goes and have the claim overwrite its target. Across hosts, a labgrid
place's acquire is the claim (docs/fleet.md).
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


class ClaimError(RuntimeError):
    """The port cannot be claimed (one line saying why)."""


class PortClaimedError(ClaimError):
    """Another process owns the port (one line: the port and who holds it)."""


class ClaimFolderError(ClaimError):
    """The claims folder, or a lock file in it, is not this user's own (one line naming
    it and what to do)."""


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
    """This user's claims folder: the same for every process of the user on this host."""
    return Path(tempfile.gettempdir()) / f"so101-port-claims-{os.geteuid()}"


def _private_folder(folder: Path) -> int:
    """A descriptor of ``folder`` (made 0700 if missing), once it is a real folder (not a
    symlink) of this user; a folder of the user's with a wider mode is narrowed to 0700.
    :class:`ClaimFolderError` otherwise."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ClaimFolderError(f"{folder}: cannot make the port claims folder "
                               f"({exc.strerror or exc})") from None
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ClaimFolderError(f"{folder}: the port claims folder is not a folder (a symlink "
                               f"or a file planted there? {exc.strerror or exc}); remove "
                               "it") from None
    owner = os.fstat(fd).st_uid
    if owner != os.geteuid():
        os.close(fd)
        raise ClaimFolderError(f"{folder}: the port claims folder belongs to uid {owner}, "
                               f"not to this user ({os.geteuid()}); remove it")
    os.fchmod(fd, 0o700)
    return fd


#: How a lock file is opened: never through a symlink, never handed to a child process.
LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _open_lock(folder: Path, name: str) -> int:
    """The descriptor of the lock file ``name`` in this user's private ``folder``, once it
    is a plain file of this user with one name; :class:`ClaimFolderError` for anything
    else (a symlink, a hard link, a fifo...), which is never written to."""
    folder_fd = _private_folder(folder)
    try:
        fd = os.open(name, LOCK_FLAGS, 0o600, dir_fd=folder_fd)
    except OSError as exc:
        raise ClaimFolderError(f"{folder / name}: cannot open the port's lock file "
                               f"({exc.strerror or exc}); remove it") from None
    finally:
        os.close(folder_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_nlink != 1:
        os.close(fd)
        raise ClaimFolderError(f"{folder / name}: not a lock file of this user (a link or "
                               "another kind of file planted there?); remove it")
    return fd


def lock_name(port: str) -> str:
    """The lock file of a port: one name for every spelling of it (``port_key``)."""
    return hashlib.sha256(port_key(port).encode()).hexdigest()[:20] + ".lock"


def claim_port(port: str, owner: str, folder: Path | None = None) -> Claim:
    """Claim ``port`` for this process (``owner`` says who, e.g. ``worker gw1, arm a3``);
    raises :class:`PortClaimedError` naming the holder when another process has it, and
    :class:`ClaimFolderError` when the claims folder or the lock file is not the user's."""
    folder = claims_dir() if folder is None else folder
    name = lock_name(port)
    fd = _open_lock(folder, name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
        finally:
            os.close(fd)
        raise PortClaimedError(f"{port}: already claimed by {holder}; an arm is owned by one "
                               "process at a time") from None
    os.ftruncate(fd, 0)                  # the lock file itself: checked by _open_lock
    os.pwrite(fd, f"pid {os.getpid()} ({owner})".encode(), 0)
    return Claim(port, owner, folder / name, fd)
