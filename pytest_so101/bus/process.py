"""Start, command and stop an ``so101-twin serve`` process from Python (tests, fixtures),
and ``ser2net`` exporting a port over TCP."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class EmulatorError(RuntimeError):
    """The emulator process could not start or did not answer."""


@dataclass
class MotionWatch:
    """What watching a twin saw: each joint's largest excursion (deg, motor order) from
    where it was when the watch began, by its true angle (no servo reading involved)."""

    worst_deg: list[float] = field(default_factory=lambda: [0.0] * 6)
    samples: int = 0


class EmulatorProcess:
    """An emulated arm in its own process; ``port`` is the pty path to connect to (or
    ``socket://HOST:PORT`` when served with ``--tcp``).

    Use as a context manager; :meth:`stop` sends SIGTERM and checks the clean exit.
    """

    def __init__(self, *args: str, startup_timeout_s: float = 15.0) -> None:
        self.args = list(args)
        self.startup_timeout_s = startup_timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="so101-twin-")
        self.control_path = str(Path(self._tmp.name) / "control.sock")
        self.proc: subprocess.Popen[str] | None = None
        self.port = ""
        self.calibration = None       # set by whoever knows which calibration it carries
        self._sock: socket.socket | None = None

    def start(self) -> EmulatorProcess:
        """Launch and wait until ready; on any way out before that (an error, Ctrl-C,
        SIGTERM) the process is stopped, never left serving."""
        self.launch()
        try:
            return self.ready()
        except BaseException:
            self.stop()
            raise

    def launch(self) -> EmulatorProcess:
        """Start the process without waiting for it (:meth:`ready` waits): several arms
        start side by side."""
        cmd = [sys.executable, "-m", "pytest_so101.cli.twin", "serve", "--control",
               self.control_path, *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self._launched = time.monotonic()
        return self

    def ready(self) -> EmulatorProcess:
        """Wait (at most ``startup_timeout_s`` from the launch) for the port and the control
        socket; EmulatorError with the process's last line when it does not start."""
        wait = self.startup_timeout_s - (time.monotonic() - self._launched)
        ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, wait))
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith(("/dev/", "socket://")):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
            raise EmulatorError(f"so101-twin serve did not start ({' '.join(self.args)}): "
                                f"{(err or line or 'no output').strip().splitlines()[-1:]}")
        self.port = line
        deadline = time.monotonic() + self.startup_timeout_s
        while not os.path.exists(self.control_path):
            if time.monotonic() > deadline:
                raise EmulatorError("so101-twin control socket did not appear")
            time.sleep(0.01)
        return self

    def command(self, **request: object) -> dict:
        """Send one JSON command on the control socket and return the answer."""
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.settimeout(5.0)
            self._sock.connect(self.control_path)
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EmulatorError("so101-twin closed the control socket")
            data += chunk
        answer = json.loads(data)
        if not answer.get("ok"):
            raise EmulatorError(f"so101-twin refused {request}: {answer.get('error')}")
        return answer

    def fault(self, servo_id: int, kind: str, value: float | str | bool = True) -> None:
        """Put a fault on a servo (kinds as ``--fault``: ``late``, ``duplicate``...); a bad
        kind or value is an EmulatorError of one line."""
        self.command(cmd="fault", id=servo_id, kind=kind, value=value)

    def clear_faults(self) -> None:
        self.command(cmd="clear_faults")

    def state(self) -> dict[int, dict]:
        return {int(k): v for k, v in self.command(cmd="state")["servos"].items()}

    def q_sim_rad(self):
        """The twin's true joint angles (sim radians, motor order): the ground truth."""
        import numpy as np

        q = self.command(cmd="state")["q_sim_rad"]
        if q is None:
            raise EmulatorError("this emulator has no twin (--shaft simple)")
        return np.array(q)

    @contextmanager
    def watching(self, period_s: float = 0.01) -> Iterator[MotionWatch]:
        """Watch the twin's true joint angles every ``period_s`` on a control connection of
        its own (while a client drives the bus) and keep each joint's largest excursion."""
        import numpy as np

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5.0)
        sock.connect(self.control_path)
        lines = sock.makefile("r")

        def q_true():
            sock.sendall(b'{"cmd": "state"}\n')
            q = json.loads(lines.readline())["q_sim_rad"]
            if q is None:
                raise EmulatorError("this emulator has no twin (--shaft simple)")
            return np.array(q)

        start, watch, done = q_true(), MotionWatch(), threading.Event()

        def poll() -> None:
            worst = np.zeros(len(start))
            while not done.is_set():
                worst = np.maximum(worst, np.rad2deg(np.abs(q_true() - start)))
                watch.worst_deg, watch.samples = worst.tolist(), watch.samples + 1
                time.sleep(period_s)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield watch
        finally:
            done.set()
            thread.join(timeout=10)
            lines.close()
            sock.close()

    def place(self, pose: str | list[float]) -> None:
        """Put the twin in a keyframe or pose by hand (a person placing the arm)."""
        self.command(cmd="place", pose=pose if isinstance(pose, str) else list(map(float, pose)))

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, wait, and return the exit status (killing it if it hangs)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.proc is None:
            return 0
        stop_process(self.proc, timeout_s)
        self.proc.stdout.close()
        self.proc.stderr.close()
        self._tmp.cleanup()
        return self.proc.returncode

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_listening(host: str, port: int, timeout_s: float, proc: subprocess.Popen | None = None,
                   what: str = "the server") -> None:
    """Wait until something accepts TCP connections on ``host:port`` (EmulatorError after
    ``timeout_s``, or as soon as ``proc`` exits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise EmulatorError(f"{what} exited with status {proc.returncode} before "
                                f"listening on {host}:{port}")
        if time.monotonic() > deadline:
            raise EmulatorError(f"{what} did not listen on {host}:{port} within "
                                f"{timeout_s:g} s")
        time.sleep(0.05)


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> int:
    """SIGTERM, wait, kill if it hangs; the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)
    return proc.returncode


class Ser2netProcess:
    """``ser2net`` exporting one serial device (e.g. a twin's pty) on a TCP port, as a lab
    host exports a USB adapter: ``protocol`` ``rfc2217`` (telnet with the baud carried,
    ``rfc2217://``) or ``raw`` (``socket://``). ``url`` is what pyserial opens.

    ``chardelay`` off makes ser2net pass bytes on at once instead of waiting for a pause
    of a few characters (its default, which labgrid's exporter keeps). TCP_NODELAY is on:
    otherwise a reply sent in pieces waits for the client's delayed ACK (40 ms).
    """

    def __init__(self, device: str, *, host: str = "127.0.0.1", port: int = 0,
                 protocol: str = "rfc2217", speed: int = 1_000_000, chardelay: bool = True,
                 startup_timeout_s: float = 10.0) -> None:
        if protocol not in ("rfc2217", "raw"):
            raise ValueError(f"protocol must be rfc2217 or raw, got {protocol!r}")
        self.device, self.host, self.protocol, self.speed = device, host, protocol, speed
        self.port = port or free_tcp_port(host)
        self.chardelay = chardelay
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        # ign_set_control: a pty has no modem lines, so ser2net never answers DTR/RTS.
        return f"rfc2217://{self.host}:{self.port}?ign_set_control" \
            if self.protocol == "rfc2217" else f"socket://{self.host}:{self.port}"

    def command(self, binary: str = "ser2net") -> list[str]:
        accepter = "telnet(rfc2217),tcp(nodelay)" if self.protocol == "rfc2217" else "tcp(nodelay)"
        lines = ["connection: &so101",
                 f"  accepter: {accepter},{self.host},{self.port}",
                 f"  connector: serialdev(nouucplock=true),{self.device},{self.speed}n81,local",
                 "  options:", "    max-connections: 1"]
        if not self.chardelay:
            lines.append("    chardelay: false")
        return [binary, "-d", "-n", "-Y", "\n".join(lines)]

    def start(self) -> Ser2netProcess:
        import shutil

        binary = shutil.which("ser2net") or ("/usr/sbin/ser2net"
                                             if os.path.exists("/usr/sbin/ser2net") else None)
        if binary is None:
            raise EmulatorError("ser2net not found (Debian: apt-get install ser2net)")
        self.proc = subprocess.Popen(self.command(binary), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        try:
            wait_listening(self.host, self.port, self.startup_timeout_s, self.proc, "ser2net")
        except EmulatorError as exc:
            self.stop()
            err = (self.proc.stderr.read() or "").strip().splitlines()[-1:] \
                if self.proc.poll() is not None else []
            raise EmulatorError(f"{exc}{': ' + err[0] if err else ''}") from None
        return self

    def stop(self) -> int:
        if self.proc is None:
            return 0
        code = stop_process(self.proc)
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self.proc.stderr.close()
        return code

    def __enter__(self) -> Ser2netProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_all(emulators: list[EmulatorProcess]) -> list[EmulatorProcess]:
    """Start emulated arms side by side (a fleet starts in the time of its slowest arm);
    if one fails, the others are stopped and its EmulatorError raised."""
    try:
        for emulator in emulators:
            emulator.launch()
        for emulator in emulators:
            emulator.ready()
    except BaseException:
        for emulator in emulators:
            if emulator.proc is not None:
                emulator.stop()
        raise
    return emulators
