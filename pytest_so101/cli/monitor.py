"""``so101-monitor``: servo health over time, read-only.

    so101-monitor --port /dev/ttyACM0 [--rate 2] [--duration 600 | --samples N]
                  [--out health.csv | health.jsonl] [--ids 1,2,3,4,5,6]

Samples every servo's supply voltage (V), temperature (deg C), load (% of the maximum
torque) and status error bits at ``--rate`` samples per second, writes one row per servo
and sample as CSV or JSON lines (``--out``; ``-`` for stdout), and shows a live view, one
line per joint, with ``!`` and the check's name where the health suite would fail it
(docs/health.md). Only READ instructions are sent: nothing is written to the servos, and
it works on any port (a real arm, or the pty of ``so101-twin serve``). Ctrl-C stops it;
exit status 0, 1 when the port cannot be used, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TextIO

from ..bus import telemetry
from ..bus.protocol import describe_status
from ..checks import health
from ..core.joints import MOTOR_IDS, MOTOR_NAMES
from ..core.measurement import Evidence

COLUMNS = [f.name for f in fields(telemetry.HealthSample)]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="so101-monitor", description=__doc__.splitlines()[0])
    p.add_argument("--port", required=True, help="the arm's serial port (read-only)")
    p.add_argument("--baud", type=int, default=1_000_000, help="bus baud (default 1000000)")
    p.add_argument("--ids", default=",".join(map(str, MOTOR_IDS)),
                   help="servo ids in motor order (default 1,2,3,4,5,6)")
    p.add_argument("--rate", type=float, default=2.0, help="samples per second (default 2)")
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--duration", type=float, help="stop after this many seconds")
    stop.add_argument("--samples", type=int, help="stop after this many samples")
    p.add_argument("--out", help="write every sample here: .csv, .jsonl (JSON lines), or - "
                   "for stdout (then no live view)")
    p.add_argument("--format", choices=("csv", "jsonl"),
                   help="the --out format (default from its suffix; csv for -)")
    p.add_argument("--quiet", action="store_true", help="no live view")
    return p


def _ids(text: str) -> list[int]:
    ids = [int(i) for i in text.split(",") if i.strip()]
    if not ids or len(ids) > len(MOTOR_NAMES) or any(not 0 <= i <= 253 for i in ids):
        raise ValueError(f"--ids takes up to {len(MOTOR_NAMES)} ids 0..253, got {text!r}")
    return ids


class Writer:
    """Samples out as CSV rows or JSON lines."""

    def __init__(self, stream: TextIO, fmt: str) -> None:
        self.stream, self.fmt = stream, fmt
        self._csv = csv.DictWriter(stream, COLUMNS) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writeheader()

    def write(self, samples: list[telemetry.HealthSample]) -> None:
        for s in samples:
            row = {k: None if isinstance(v, float) and math.isnan(v) else v    # unread
                   for k, v in asdict(s).items()}
            if self._csv is not None:
                self._csv.writerow(row)
            else:
                self.stream.write(json.dumps(row) + "\n")
        self.stream.flush()


def view_lines(samples: list[telemetry.HealthSample], records: list[telemetry.ServoRecord]
               ) -> list[str]:
    """One line per joint: the readings, and ``!`` with the checks the sample fails."""
    lines = []
    for s, rec in zip(samples, records, strict=True):
        if s.error:
            lines.append(f"{s.joint:<14} id {s.servo_id:<3} ! {s.error}")
            continue
        failing = [] if rec.error else [
            m.check for m in (*health.check_supply([s], [rec], Evidence.SERVO),
                              *health.check_temperature([s], [rec], Evidence.SERVO),
                              *health.check_load_at_rest([s], Evidence.SERVO),
                              *health.check_status([s], [rec], Evidence.SERVO))
            if not m.passed]
        status = describe_status(s.status) if s.status else "ok"
        lines.append(f"{s.joint:<14} id {s.servo_id:<3} {s.voltage_v:5.1f} V "
                     f"{s.temperature_c:4.0f} deg C {s.load_pct:+6.1f} % torque "
                     f"{'on ' if s.torque_on else 'off'} {status}"
                     + (f"  ! {', '.join(failing)}" if failing else ""))
    return lines


@contextmanager
def _output(path: str | None, fmt: str | None) -> Iterator[Writer | None]:
    if path is None:
        yield None
        return
    fmt = fmt or ("jsonl" if Path(path).suffix in (".jsonl", ".json") else "csv")
    if path == "-":
        yield Writer(sys.stdout, fmt)
        return
    with open(path, "w", newline="") as fh:
        yield Writer(fh, fmt)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        ids = _ids(args.ids)
        if args.rate <= 0:
            raise ValueError(f"--rate takes samples per second > 0, got {args.rate:g}")
    except ValueError as exc:
        print(f"so101-monitor: {exc}", file=sys.stderr)
        return 2
    from ..bus.feetech import BusError, FeetechBus

    joints = list(MOTOR_NAMES[:len(ids)])
    try:
        bus = FeetechBus(args.port, ids=tuple(ids), baudrate=args.baud).connect()
    except BusError as exc:
        print(f"so101-monitor: {exc}", file=sys.stderr)
        return 1
    live = not args.quiet and args.out != "-"
    tty = live and sys.stdout.isatty()
    try:
        records = telemetry.read_records(bus, ids, joints)
        with _output(args.out, args.format) as writer:
            t0, k, period = time.monotonic(), 0, 1.0 / args.rate
            while (args.samples is None or k < args.samples) and \
                    (args.duration is None or time.monotonic() - t0 < args.duration):
                samples = telemetry.sample(bus, ids, joints, t0=t0)
                if writer is not None:
                    writer.write(samples)
                if live:
                    if tty and k:
                        sys.stdout.write(f"\x1b[{len(ids)}F\x1b[J")   # redraw in place
                    print("\n".join(view_lines(samples, records)), flush=True)
                k += 1
                time.sleep(max(0.0, t0 + k * period - time.monotonic()))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:                 # the reader went away (| head): done
        sys.stdout = open(os.devnull, "w")  # further writes go nowhere
    finally:
        bus.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
