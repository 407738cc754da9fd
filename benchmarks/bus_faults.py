"""The bus never returns a wrong value: reads under reply faults, against ground truth.

    python benchmarks/bus_faults.py [--quick] [--reads 100]

Each scenario starts ``so101-twin serve --shaft simple`` with distinct register values on
every servo (so a reply taken for another's answer shows as a wrong value), puts one
fault on servo 3 (elbow_flex) and runs ``--reads`` operations through
:class:`~pytest_so101.bus.feetech.FeetechBus`, half of them on servo 3: single-register
reads (Homing_Offset, Min/Max_Position_Limit, Present_Position), ``read_positions`` (sync
read), ``identify`` (model and firmware) and ``read_calibration``. Every value is
compared with the emulator's ground truth (the control socket's ``state``; model 777 and
firmware 3.10 are the emulator's). Late replies are swept over 0-1000 ms on one emulator,
in increasing order, so replies still in flight from one delay land during the next.

Pass: 0 wrong values, 0 exceptions other than BusError, every failing single or sync
read within :meth:`FeetechBus.failure_bound_s` (plus a scheduling allowance); the exit
status says so. Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_so101.bus.feetech import BusError, FeetechBus
from pytest_so101.bus.process import EmulatorProcess

FAULTY = 3
FAULTY_NAME = "id 3 (elbow_flex)"
IDS = (1, 2, 3, 4, 5, 6)
MODEL, FIRMWARE = 777, "3.10"
#: OS scheduling on a shared machine, on top of the bound the bus computes.
ALLOWANCE_S = 0.1
DELAYS_MS = (0, 10, 25, 34, 60, 110, 200, 300, 500, 1000)   # 34: at the timeout
QUICK_DELAYS_MS = (0, 60, 300)


def arm_args() -> list[str]:
    """Distinct registers on every servo: positions, homing offsets (some negative) and
    limits never equal each other, a model number or a firmware byte."""
    args = []
    for i in IDS:
        homing = (100 * i + 11) * (-1 if i % 2 else 1)
        args += ["--raw", f"{i}={1000 + 300 * i + 7}", "--homing", f"{i}={homing}",
                 "--limits", f"{i}={400 + 37 * i}:{3600 + 41 * i}"]
    return args


def ground_truth(emulator: EmulatorProcess) -> dict[int, dict]:
    """Per servo: present, homing, min, max (torque off: the simple shafts stay put)."""
    truth = emulator.state()
    values = [v for s in truth.values() for v in (s["present"], s["homing"], s["min"],
                                                  s["max"])]
    assert len(set(values)) == len(values), "benchmark registers must differ"
    return truth


Op = Callable[[FeetechBus, int], object]
Expect = Callable[[dict, int], object]


def _calibration(bus: FeetechBus, _: int) -> list:
    cal = bus.read_calibration()
    return [(m.homing_offset, m.range_min, m.range_max) for m in cal.motors.values()]


#: (name, kind, what the bus returns, what it must be): kind "single", "sync" or "many".
OPS: list[tuple[str, str, Op, Expect]] = [
    ("Homing_Offset", "single", lambda bus, i: bus.read("Homing_Offset", i),
     lambda t, i: t[i]["homing"]),
    ("Min_Position_Limit", "single", lambda bus, i: bus.read("Min_Position_Limit", i),
     lambda t, i: t[i]["min"]),
    ("read_positions", "sync", lambda bus, i: bus.read_positions().tolist(),
     lambda t, i: [t[j]["present"] for j in IDS]),
    ("Max_Position_Limit", "single", lambda bus, i: bus.read("Max_Position_Limit", i),
     lambda t, i: t[i]["max"]),
    ("identify", "many", lambda bus, i: [(s.servo_id, s.model, s.firmware)
                                         for s in bus.identify()],
     lambda t, i: [(j, MODEL, FIRMWARE) for j in IDS]),
    ("Present_Position", "single", lambda bus, i: bus.read("Present_Position", i),
     lambda t, i: t[i]["present"]),
    ("read_calibration", "many", _calibration,
     lambda t, i: [(t[j]["homing"], t[j]["min"], t[j]["max"]) for j in IDS]),
]


@dataclass
class Tally:
    """What one scenario's reads gave."""

    name: str
    reads: int = 0
    correct: int = 0
    bus_errors: int = 0
    naming_faulty: int = 0
    wrong: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("single", "sync", "many"), 0.0))
    message: str = ""

    def row(self) -> str:
        def seconds(kind: str) -> str:
            return f"{self.slowest[kind]:.2f} s" if self.slowest[kind] else "-"

        return (f"| {self.name} | {self.reads} | {self.correct} | {self.bus_errors} | "
                f"{self.naming_faulty} | {len(self.wrong)} | {len(self.other)} | "
                f"{seconds('single')} | {seconds('sync')} | {seconds('many')} |")


def run_reads(bus: FeetechBus, truth: dict, tally: Tally, n: int) -> None:
    """``n`` operations, alternately on the faulty servo and on another one."""
    for k in range(n):
        name, kind, op, expect = OPS[k % len(OPS)]
        servo_id = FAULTY if k % 2 == 0 else IDS[(k // 2) % len(IDS)]
        start = time.monotonic()
        try:
            got = op(bus, servo_id)
        except BusError as exc:
            tally.bus_errors += 1
            tally.naming_faulty += FAULTY_NAME in str(exc)
            tally.message = tally.message or str(exc)
            tally.slowest[kind] = max(tally.slowest[kind], time.monotonic() - start)
            continue
        except Exception as exc:  # the point: count what escapes, do not stop
            tally.other.append(f"{name} of id {servo_id}: {exc.__class__.__name__}: {exc}")
            continue
        finally:
            tally.reads += 1
        want = expect(truth, servo_id)
        if got == want:
            tally.correct += 1
        else:
            tally.wrong.append(f"{name} of id {servo_id}: read {got}, truth {want}")


def scenario(name: str, faults: list[tuple[str, object]], n: int) -> Tally:
    tally = Tally(name)
    with EmulatorProcess("--shaft", "simple", *arm_args()) as emulator, \
            FeetechBus(emulator.port) as bus:
        truth = ground_truth(emulator)
        for kind, value in faults:
            emulator.fault(FAULTY, kind, value)
        run_reads(bus, truth, tally, n)
    return tally


def late_sweep(delays: tuple[int, ...], n: int) -> list[Tally]:
    """One emulator, increasing delays: replies in flight from one delay land in the next."""
    tallies = []
    with EmulatorProcess("--shaft", "simple", *arm_args()) as emulator, \
            FeetechBus(emulator.port) as bus:
        truth = ground_truth(emulator)
        for delay in delays:
            emulator.fault(FAULTY, "late", delay)
            tallies.append(Tally(f"late={delay} ms"))
            run_reads(bus, truth, tallies[-1], n)
    return tallies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=100, help="operations per scenario")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few seconds (3 delays, 7 reads each)")
    args = parser.parse_args()
    n = 7 if args.quick else args.reads
    started = time.monotonic()
    tallies = late_sweep(QUICK_DELAYS_MS if args.quick else DELAYS_MS, n)
    others = [("no fault", []), ("duplicate", [("duplicate", True)]),
              ("garbage=24 (line noise)", [("garbage", 24)]),
              ("duplicate + garbage=8 + late=20 ms", [("duplicate", True), ("garbage", 8),
                                                      ("late", 20)]),
              ("truncated=1", [("truncated", 1)]), ("truncated=4", [("truncated", 4)]),
              ("corrupt", [("corrupt", True)]), ("error=4 (overheat)", [("error", 4)]),
              ("error=32 (overload)", [("error", 32)]), ("drop=3", [("drop", 3)])]
    if args.quick:
        others = [others[i] for i in (1, 2, 4, 6, 7)]
    tallies += [scenario(name, faults, n) for name, faults in others]

    never_opened = FeetechBus("unused")          # only its timing bound is asked for
    bounds = {"single": never_opened.failure_bound_s(1),
              "sync": never_opened.failure_bound_s(6)}
    print("| scenario (servo 3) | reads | correct | BusError | of which name id 3 | WRONG "
          "| other exceptions | slowest failing single read | slowest failing sync read | "
          "slowest failing identify / read_calibration |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tally in tallies:
        print(tally.row())
    total = sum(t.reads for t in tallies)
    wrong = [w for t in tallies for w in t.wrong]
    other = [o for t in tallies for o in t.other]
    over = [f"{t.name}: {kind} {t.slowest[kind]:.2f} s" for t in tallies
            for kind in bounds if t.slowest[kind] > bounds[kind] + ALLOWANCE_S]
    print(f"\n{total} reads in {time.monotonic() - started:.0f} s; bound of a failing "
          f"transaction (FeetechBus.failure_bound_s, 3 tries): single read "
          f"{bounds['single']:.2f} s, sync read {bounds['sync']:.2f} s "
          f"(+{ALLOWANCE_S:.1f} s scheduling allowance)")
    for tally in tallies:
        if tally.message:
            print(f"- {tally.name}: e.g. {tally.message}")
    for problem in wrong[:10] + other[:10] + over:
        print(f"FAIL: {problem}", file=sys.stderr)
    ok = not wrong and not other and not over
    print(f"\n{'PASS' if ok else 'FAIL'}: {len(wrong)} wrong values, {len(other)} other "
          f"exceptions, {len(over)} failing reads over the bound")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
