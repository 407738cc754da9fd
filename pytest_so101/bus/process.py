"""Start, command and stop an ``so101-twin serve`` process from Python (tests, fixtures)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class EmulatorError(RuntimeError):
    """The emulator process could not start or did not answer."""


class EmulatorProcess:
    """An emulated arm in its own process; ``port`` is the pty path to connect to.

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
        cmd = [sys.executable, "-m", "pytest_so101.bus.cli", "serve", "--control",
               self.control_path, *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], self.startup_timeout_s)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("/dev/"):
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self._tmp.cleanup()
        return self.proc.returncode

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
