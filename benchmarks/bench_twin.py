"""The twin's replies after idle time beside a minimal STS3215 responder, its physics rate
against real time, and the wall time of `pytest suites` on it.

    python benchmarks/bench_twin.py [--reads 200] [--hogs 4] [--runs 3] [--skip-suites]

Reads after idle: ``so101-twin serve`` (the MuJoCo twin) and a minimal STS3215 responder
(a bare process answering from a fixed register table on its own pty: the least a Python
servo emulator can do) are each read by the unmodified scservo_sdk (a full-arm
GroupSyncRead of Present_Position, as LeRobot reads) after 1 s without traffic on their
bus, ``--reads`` times, alternating which goes first; once on the machine as it is and
once with ``--hogs`` processes spinning beside them (``python -c 'while True: pass'``).
Printed per side: median, p99 and slowest read, and the reads that got no status packet
within the SDK's timeout (about 34 ms). Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_bus import IDS, PRESENT, percentile, sdk  # noqa: E402
from benchmarks.suite_under_load import start_hogs, stop_hogs  # noqa: E402

# -- the peer: a minimal STS3215 responder ----------------------------------------------------

def minimal_responder() -> None:
    """Serve six servos on a new pty from a fixed register table until killed: PING and
    READ answered, SYNC_READ answered servo by servo, WRITE acknowledged (and ignored).
    Prints the pty's path first. Nothing else: no physics, no faults, no pacing."""
    from pytest_so101.bus.protocol import (
        BROADCAST_ID,
        MEMORY_SIZE,
        Instruction,
        PacketParser,
        status_packet,
        to_le,
    )

    table = bytearray(MEMORY_SIZE)
    table[3:5] = to_le(777, 2)                               # Model_Number: STS3215
    table[PRESENT:PRESENT + 2] = to_le(2047, 2)
    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    parser = PacketParser()
    while True:
        select.select([master], [], [])
        for packet in parser.feed(os.read(master, 4096)):
            inst, params = packet.code, packet.params
            if inst == Instruction.SYNC_READ and packet.servo_id == BROADCAST_ID:
                address, length = params[0], params[1]
                reply = b"".join(status_packet(i, 0, table[address:address + length])
                                 for i in params[2:] if i in IDS)
            elif packet.servo_id not in IDS:
                continue
            elif inst == Instruction.READ:
                reply = status_packet(packet.servo_id, 0, table[params[0]:params[0] + params[1]])
            elif inst in (Instruction.PING, Instruction.WRITE):
                reply = status_packet(packet.servo_id, 0)
            else:
                continue
            os.write(master, reply)


# -- reads after idle --------------------------------------------------------------------------

class Responder:
    """A process serving six servos on a pty, read through the SDK."""

    def __init__(self, name: str, command: list[str]) -> None:
        import scservo_sdk as scs

        self.name = name
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
        port = self.proc.stdout.readline().strip()
        if not port.startswith("/dev/"):
            self.proc.kill()
            raise SystemExit(f"bench_twin: {name} did not start")
        self.ph, self.pk = sdk(port)
        self.group = scs.GroupSyncRead(self.ph, self.pk, PRESENT, 2)
        for servo_id in IDS:
            self.group.addParam(servo_id)
        self.ok = scs.COMM_SUCCESS
        self.times: list[float] = []
        self.missed = 0

    def read(self) -> None:
        """One full-arm sync read; a read without every status packet in time is missed.
        What a missed read left on the line is dropped first: the SDK's ``clearPort`` only
        flushes its output, and the next read would take that late reply for its own
        (a stale value, in a fraction of a millisecond)."""
        self.ph.ser.reset_input_buffer()
        start = time.perf_counter()
        result = self.group.txRxPacket()
        self.times.append(time.perf_counter() - start)
        self.missed += result != self.ok

    def close(self) -> None:
        self.ph.closePort()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def reads_after_idle(reads: int, hogs: int, idle_s: float = 1.0) -> list[Responder]:
    """The twin and the minimal responder, each read ``reads`` times after ``idle_s``
    without traffic on its bus, with ``hogs`` spinning processes beside them."""
    sides = [Responder("twin (so101-twin serve)",
                       [sys.executable, "-m", "pytest_so101.cli.twin", "serve"]),
             Responder("minimal STS3215 responder",
                       [sys.executable, __file__, "--minimal-responder"])]
    spinning = start_hogs(hogs)
    try:
        for side in sides:
            side.read()                        # the first read of a process is not timed
            side.times.clear()
            side.missed = 0
        for k in range(reads):
            time.sleep(idle_s / 2)
            for side in sides[k % 2:] + sides[:k % 2]:
                time.sleep(idle_s / 2)          # each bus idle for idle_s since its last read
                side.read()
    finally:
        stop_hogs(spinning)
        for side in sides:
            side.close()
    return sides


def idle_rows(sides: list[Responder], label: str) -> list[str]:
    twin, peer = sides
    rows = []
    for what, pick in (("median", statistics.median), ("p99", lambda t: percentile(t, 0.99)),
                       ("slowest", max)):
        a, b = pick(twin.times), pick(peer.times)
        rows.append(f"| read after 1 s idle, {label}: {what} | {a * 1e3:.2f} ms "
                    f"| {b * 1e3:.2f} ms | {a / b:.2f} |")
    rows.append(f"| reads with no status packet in time, {label} | {twin.missed}/"
                f"{len(twin.times)} | {peer.missed}/{len(peer.times)} | - |")
    return rows


# -- physics rate and the suites ---------------------------------------------------------------

def physics_rate(torque: bool, seconds: float = 2.0) -> tuple[float, float]:
    """Steps per second through the twin's own clock (TwinArm.advance: the physics with,
    torque off, the passive joints held by gearbox friction), and that speed over real
    time."""
    from pytest_so101.bus.twin import build_twin

    arm, _, _ = build_twin()
    arm.start(0.0)
    for j in range(6):
        arm.torque(j, torque)
    dt = arm.model.opt.timestep
    steps, now, start = 0, 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        now += 100 * dt
        steps += arm.advance(now)
    rate = steps / (time.perf_counter() - start)
    return rate, rate * dt


def idle_cpu(seconds: float = 10.0) -> float:
    """CPU share (%) of one core that an idle ``so101-twin serve`` uses keeping its
    physics in time."""
    from pytest_so101.bus.process import EmulatorProcess

    with EmulatorProcess() as twin:
        time.sleep(1.0)
        stat = Path(f"/proc/{twin.proc.pid}/stat")

        def cpu_s() -> float:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu_s()
        time.sleep(seconds)
        return (cpu_s() - before) / seconds * 100


def suites_wall_time(runs: int) -> tuple[list[float], str]:
    """Wall times of the README's main job without its HTML (the report has its own
    benchmark, bench_report.py), and its outcome line."""
    times, outcome = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as reports:      # reports/ is the user's
            done = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p",
                                   "no:cacheprovider", "-p", "no:html", "--so101-report",
                                   reports], cwd=REPO, check=True, capture_output=True,
                                  text=True)
        times.append(time.perf_counter() - start)
        outcome = done.stdout.strip().splitlines()[-1].strip("= ")
    return times, outcome


def main() -> None:
    if sys.argv[1:] == ["--minimal-responder"]:
        minimal_responder()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200,
                        help="reads after idle per side and load (about 1 s each)")
    parser.add_argument("--hogs", type=int, default=4, help="CPU hogs for the loaded run")
    parser.add_argument("--runs", type=int, default=3, help="runs of pytest suites")
    parser.add_argument("--skip-suites", action="store_true",
                        help="leave out the physics rate and the suites' wall time")
    args = parser.parse_args()
    print("| measure | twin | minimal responder | twin / responder |\n|---|---:|---:|---:|")
    for hogs in (0, args.hogs):
        label = f"{hogs} CPU hogs" if hogs else "no load added"
        for row in idle_rows(reads_after_idle(args.reads, hogs), label):
            print(row, flush=True)
    print(f"\n| measure | value |\n|---|---:|\n| idle twin's CPU (keeping its physics in "
          f"time) | {idle_cpu():.1f} % of a core |")
    if args.skip_suites:
        return
    for torque in (True, False):
        rate, realtime = physics_rate(torque)
        label = "torque on" if torque else "torque off, joints held by friction"
        print(f"| twin physics steps per second (dt 2 ms, {label}) | {rate:,.0f} |")
        print(f"| twin physics speed / real time ({label}) | {realtime:.1f}x |")
    times, outcome = suites_wall_time(args.runs)
    print(f"| `pytest suites -p no:html` on the twin ({outcome}), median of {args.runs} "
          f"(wall) | {statistics.median(times):.1f} s |")
    print(f"| the same, slowest | {max(times):.1f} s |")


if __name__ == "__main__":
    main()
