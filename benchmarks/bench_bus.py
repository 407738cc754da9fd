"""Bus timing through the unmodified scservo_sdk against the emulator (so101-twin serve).

    python benchmarks/bench_bus.py [--reads 2000] [--transport pty|socket|ser2net-raw|rfc2217]

Full-arm SYNC_READ of Present_Position (median, p99), unpaced and paced at 1 Mbaud next
to the 620 us wire time; a 6-servo SYNC_WRITE of Goal_Position; the same read through
FeetechBus (every reply checked); the cost of a missing servo. Figures are recorded in
docs/benchmarks.md.

Transports (all on loopback): ``pty`` the emulator's pseudo-terminal (a USB adapter's
stand-in); ``socket`` the emulator serving TCP itself (``so101-twin serve --tcp``,
``socket://``); ``ser2net-raw`` and ``rfc2217`` the pty exported by a real ser2net
(``socket://`` raw, ``rfc2217://`` telnet), as a lab host exports an arm; ser2net's
chardelay (it waits for a pause of a few characters before sending) is off unless
``--ser2net-chardelay`` (labgrid's exporter keeps it on).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import scservo_sdk as scs

from pytest_so101.bus.emulator import wire_seconds
from pytest_so101.bus.feetech import BusError, FeetechBus, url_port_handler
from pytest_so101.bus.process import EmulatorProcess, Ser2netProcess

IDS = range(1, 7)
PRESENT, GOAL = 56, 42
FULL_ARM_READ_BYTES = 14 + 6 * 8     # request + six 2-byte status packets
SYNC_WRITE_BYTES = 8 + 6 * 3


TRANSPORTS = ("pty", "socket", "ser2net-raw", "rfc2217")


@contextmanager
def served(transport: str, chardelay: bool) -> Iterator[tuple[EmulatorProcess, str]]:
    """An emulated arm (simple shafts) and the port a client opens for it."""
    tcp = ["--tcp", "127.0.0.1:0"] if transport == "socket" else []
    with EmulatorProcess("--shaft", "simple", *tcp) as emulator:
        if transport in ("pty", "socket"):
            yield emulator, emulator.port
            return
        protocol = "raw" if transport == "ser2net-raw" else "rfc2217"
        with Ser2netProcess(emulator.port, protocol=protocol, chardelay=chardelay) as s2n:
            yield emulator, s2n.url


def sdk(port: str):
    handler = url_port_handler(scs) if "://" in port else scs.PortHandler
    ph, pk = handler(port), scs.PacketHandler(0)
    ph.openPort()
    ph.setBaudRate(1_000_000)
    for servo_id in IDS:                      # as LeRobot's configure_motors: no return delay
        pk.write1ByteTxRx(ph, servo_id, 55, 0)
        pk.write1ByteTxRx(ph, servo_id, 7, 0)
    return ph, pk


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_sync_reads(ph, pk, n: int) -> list[float]:
    group = scs.GroupSyncRead(ph, pk, PRESENT, 2)
    for servo_id in IDS:
        group.addParam(servo_id)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        assert group.txRxPacket() == scs.COMM_SUCCESS
        times.append(time.perf_counter() - start)
    return times


def time_sync_writes(ph, pk, n: int) -> list[float]:
    group = scs.GroupSyncWrite(ph, pk, GOAL, 2)
    for servo_id in IDS:
        group.addParam(servo_id, [0x00, 0x08])
    times = []
    for _ in range(n):
        start = time.perf_counter()
        assert group.txPacket() == scs.COMM_SUCCESS
        times.append(time.perf_counter() - start)
        time.sleep(0.0005)
    return times


def time_calls(fn, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def row(name: str, times: list[float], reference_s: float | None = None) -> str:
    median, p99 = statistics.median(times), percentile(times, 0.99)
    ref = f"{reference_s * 1e6:.0f} us" if reference_s else "-"
    ratio = f"{median / reference_s:.2f}" if reference_s else "-"
    return (f"| {name} | {len(times)} | {median * 1e6:,.0f} us | {p99 * 1e6:,.0f} us | {ref} "
            f"| {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--transport", choices=TRANSPORTS, default="pty")
    parser.add_argument("--ser2net-chardelay", action="store_true",
                        help="keep ser2net's chardelay on (its default, and labgrid's)")
    args = parser.parse_args()
    n = args.reads
    wire_read = wire_seconds(FULL_ARM_READ_BYTES, 1_000_000)
    wire_write = wire_seconds(SYNC_WRITE_BYTES, 1_000_000)
    rows = []
    with served(args.transport, args.ser2net_chardelay) as (emulator, port):
        connect_s = []
        for _ in range(3):
            start = time.perf_counter()
            ph, pk = sdk(port)
            connect_s.append(time.perf_counter() - start)
            ph.closePort()
        rows.append(row("connect (open, set baud, configure 6 servos)", connect_s))
        ph, pk = sdk(port)
        time_sync_reads(ph, pk, 50)
        rows.append(row("full-arm SYNC_READ, unpaced", time_sync_reads(ph, pk, n), wire_read))
        emulator.command(cmd="pace", on=True)
        rows.append(row("full-arm SYNC_READ, paced 1 Mbaud", time_sync_reads(ph, pk, n),
                        wire_read))
        rows.append(row("6-servo SYNC_WRITE (no reply; client side)",
                        time_sync_writes(ph, pk, n), wire_write))
        emulator.command(cmd="pace", on=False)
        emulator.fault(4, "missing")
        group = scs.GroupSyncRead(ph, pk, PRESENT, 2)
        for servo_id in IDS:
            group.addParam(servo_id)
        missing = []
        for _ in range(20):
            start = time.perf_counter()
            assert group.txRxPacket() == scs.COMM_RX_TIMEOUT
            missing.append(time.perf_counter() - start)
        rows.append(row("SYNC_READ with servo 4 missing (SDK timeout)", missing))
        emulator.clear_faults()
        ph.closePort()
        with FeetechBus(port) as bus:
            bus.read_positions()
            rows.append(row("FeetechBus.read_positions (every reply checked)",
                            time_calls(bus.read_positions, n), wire_read))
            emulator.fault(4, "missing")
            failures = []
            for _ in range(5):
                start = time.perf_counter()
                try:
                    bus.read_positions()
                except BusError:
                    failures.append(time.perf_counter() - start)
            rows.append(row("FeetechBus.read_positions, servo 4 missing (3 tries, 2 resyncs)",
                            failures))
    chardelay = f", ser2net chardelay {'on' if args.ser2net_chardelay else 'off'}" \
        if args.transport in ("ser2net-raw", "rfc2217") else ""
    print(f"transport: {args.transport} ({port.split('?')[0]}{chardelay})")
    print("| operation | n | median | p99 | wire time at 1 Mbaud | median / wire |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
