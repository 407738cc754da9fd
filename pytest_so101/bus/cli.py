"""``so101-twin``: serve an emulated SO-101 bus (six STS3215 servos) on a pseudo-terminal.

    so101-twin serve [--pace] [--fault 3:noise=4] [--raw 2=1300] [--control SOCKET]

prints the pty path as the first line on stdout, then serves until SIGINT or SIGTERM
and exits with status 0, the pty closed. Point any Feetech client at that path.
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..joints import MOTOR_IDS
from .emulator import BusEmulator, PtyServer
from .protocol import BAUD_RATES
from .servo import Faults, SimpleShaft, VirtualServo

FAULT_HELP = (
    "inject a fault, ID:KIND[=VALUE], repeatable. KIND: missing (never answers), corrupt "
    "(bad checksum), late=MS (reply MS late; the SDK gives up after ~35 ms), truncated=N "
    "(drop N bytes of each reply), noise=TICKS (Present_Position read noise +-TICKS), "
    "error=BITS (status error byte: 1 voltage, 2 angle, 4 overheat, 8 current, 32 load), "
    "drop=N (swallow the next N replies: a transient glitch)")


def _pairs(items: list[str], what: str) -> dict[int, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isdigit():
            raise SystemExit(f"so101-twin: {what} must look like ID=VALUE, got {item!r}")
        out[int(key)] = value
    return out


def build_servos(args: argparse.Namespace) -> list[VirtualServo]:
    ids = [int(i) for i in args.ids.split(",")] if args.ids else list(MOTOR_IDS)
    raws = {k: float(v) for k, v in _pairs(args.raw, "--raw").items()}
    homings = {k: int(v) for k, v in _pairs(args.homing, "--homing").items()}
    models = {k: int(v) for k, v in _pairs(args.model, "--model").items()}
    limits = {k: v.partition(":") for k, v in _pairs(args.limits, "--limits").items()}
    servos = []
    for servo_id in ids:
        servo = VirtualServo(servo_id, SimpleShaft(raws.get(servo_id, 2048.0)), Faults(),
                             seed=args.seed)
        if servo_id in homings:
            servo.set("Homing_Offset", int(_encode_homing(homings[servo_id])))
        if servo_id in limits:
            low, _, high = limits[servo_id]
            servo.set("Min_Position_Limit", int(low))
            servo.set("Max_Position_Limit", int(high))
        if servo_id in models:
            servo.set("Model_Number", models[servo_id])
        if args.baud_code is not None:
            servo.set("Baud_Rate", args.baud_code)
        servos.append(servo)
    by_id = {s.servo_id: s for s in servos}
    for spec in args.fault:
        servo_part, sep, kind_value = spec.partition(":")
        kind, _, value = kind_value.partition("=")
        if not sep or not servo_part.isdigit() or int(servo_part) not in by_id:
            raise SystemExit(f"so101-twin: --fault must be ID:KIND[=VALUE] with a served id, "
                             f"got {spec!r}")
        try:
            by_id[int(servo_part)].faults.set(kind, float(value) if value else True)
        except (ValueError, TypeError) as exc:
            raise SystemExit(f"so101-twin: --fault {spec!r}: {exc}") from None
    return servos


def _encode_homing(value: int) -> int:
    from ..frames import encode_register

    return int(encode_register("Homing_Offset", value))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="so101-twin", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the emulated bus on a new pty",
                           description="Serve six emulated STS3215 servos on a new "
                           "pseudo-terminal; the first stdout line is its path.")
    serve.add_argument("--ids", help="comma-separated servo ids (default 1,2,3,4,5,6)")
    serve.add_argument("--baud-code", type=int, choices=sorted(BAUD_RATES),
                       help="Baud_Rate register of every servo (0 = 1 Mbaud, the default)")
    serve.add_argument("--raw", action="append", default=[], metavar="ID=TICKS",
                       help="initial raw encoder position of a servo's shaft (default 2048)")
    serve.add_argument("--homing", action="append", default=[], metavar="ID=TICKS",
                       help="initial Homing_Offset register of a servo (default 0)")
    serve.add_argument("--limits", action="append", default=[], metavar="ID=MIN:MAX",
                       help="initial Min/Max_Position_Limit registers (default 0:4095)")
    serve.add_argument("--model", action="append", default=[], metavar="ID=NUMBER",
                       help="make a servo report another Model_Number (default 777, STS3215)")
    serve.add_argument("--fault", action="append", default=[], metavar="ID:KIND[=VALUE]",
                       help=FAULT_HELP)
    serve.add_argument("--pace", action="store_true",
                       help="deliver replies at the wire rate of the client's baud "
                       "(10 bits per byte, plus Return_Delay_Time)")
    serve.add_argument("--control", metavar="SOCKET",
                       help="Unix socket taking JSON-line commands (fault, clear_faults, "
                       "set_raw, pace, state)")
    serve.add_argument("--seed", type=int, default=0, help="seed of the read noise")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    server = PtyServer(BusEmulator(build_servos(args)), pace=args.pace,
                       control_path=args.control)

    def stop(signum: int, frame: object) -> None:
        server.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(server.port, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
