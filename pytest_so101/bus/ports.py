"""Where an arm's bus is: a local serial device or a network serial port, and who owns it.

A port is a device path (``/dev/ttyACM0``) or a pyserial URL: ``socket://HOST:PORT`` (a
raw TCP serial server: ser2net in raw mode, ``so101-twin serve --tcp``) or
``rfc2217://HOST:PORT`` (a telnet serial server that also carries the baud: ser2net's
``telnet(rfc2217)``, a labgrid exporter). Standard library only: options and the arms
file are checked with it before anything heavy is imported.

A *claim* is an exclusive lock on a port for one process, so that two workers of a run,
or two runs on one host, never talk on one arm at once (``flock`` on a file named after
the port in the temporary folder: released by the OS when the process ends, however it
ends). Across hosts, a labgrid place's acquire is the claim (docs/fleet.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import config_error

#: pyserial URL schemes an arm's port may use.
URL_SCHEMES = ("socket", "rfc2217")


def is_url(port: str) -> bool:
    return "://" in port


def check_port(port: str, *, source: str, joint: str | None = None,
               field: str | None = None) -> str:
    """``port`` if it is a device path or a ``socket://``/``rfc2217://`` URL with a host and
    a port number; else one :class:`So101ConfigError` line naming ``source`` (and the arm,
    as ``joint``, and the field)."""
    if not is_url(port):
        return port
    try:
        parts = urlsplit(port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in URL_SCHEMES:
        schemes = " or ".join(f"{scheme}://HOST:PORT" for scheme in URL_SCHEMES)
        raise config_error(f"a network port must be {schemes}", source=source, joint=joint,
                           field=field, value=port)
    try:
        number = parts.port
    except ValueError:                 # not a number, or beyond 65535
        number = -1
    if number is not None and not 1 <= number <= 65535:
        raise config_error("the TCP port number must be 1..65535", source=source,
                           joint=joint, field=field, value=port)
    if not parts.hostname or number is None or parts.path not in ("", "/"):
        raise config_error(f"must be {parts.scheme}://HOST:PORT with a port number",
                           source=source, joint=joint, field=field, value=port)
    return port


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


def _host_key(host: str) -> str:
    """One name per host without asking DNS: loopback names and addresses as one, an IP
    address in its canonical form, a name in lower case."""
    host = host.lower().rstrip(".")
    if host == "localhost":
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return "loopback" if address.is_loopback else address.compressed


def port_key(port: str) -> str:
    """The same port under one name: a device's real path (``/dev/serial/by-id/...`` is a
    link to ``/dev/ttyACM0``), a URL's host and port (``socket://`` and ``rfc2217://`` on one
    host and port are one serial server; ``localhost`` and ``127.0.0.1`` one host)."""
    if not is_url(port):
        return os.path.realpath(port)
    parts = urlsplit(port)
    return f"tcp://{_host_key(parts.hostname or '')}:{parts.port}"


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
