"""``so101-twin``: serve an emulated SO-101 bus (six STS3215 servos) on a pseudo-terminal.

    so101-twin serve [--pace] [--fault 3:noise=4] [--raw 2=1300] [--control SOCKET]
    so101-twin serve --tcp 127.0.0.1:0

prints the port as the first line on stdout (the pty path, or ``socket://HOST:PORT`` with
``--tcp``, port 0 choosing a free one), then serves until SIGINT or SIGTERM and exits with
status 0, the port closed. Point any Feetech client at it (pyserial opens the URL).

    so101-twin calibrate-with-lerobot --robot-id ID --out-dir DIR [serve options]

serves a twin, calibrates it with LeRobot's own ``lerobot-calibrate`` (a scripted person
answers its prompts and sweeps the joints: docs/lerobot.md), prints the port and the file
LeRobot wrote, then serves on until SIGINT or SIGTERM (``--exit``: stops at once).
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..bus.emulator import BusEmulator, LinkError, PtyServer, TcpServer
from ..bus.protocol import BAUD_RATES, MAX_ID
from ..bus.servo import Faults, HealthFaults, SimpleShaft, VirtualServo, set_fault
from ..core.joints import MOTOR_IDS
from ..synthetic.scenarios import SCENARIOS, scenario

FAULT_HELP = (
    "inject a fault, ID:KIND[=VALUE], repeatable. KIND: missing (never answers), corrupt "
    "(bad checksum), duplicate (every reply sent twice), late=MS (reply MS late; the SDK "
    "gives up after ~35 ms), truncated=N (drop N bytes of each reply), garbage=N (N random "
    "bytes of line noise before each reply), noise=TICKS (Present_Position read noise "
    "+-TICKS), error=BITS (status error byte: 1 voltage, 2 angle, 4 overheat, 8 overcurrent, "
    "32 overload), drop=N (swallow the next N replies: a transient glitch); and what the "
    "servo reports: voltage=V (Present_Voltage, e.g. 12 on its 7.4 V motor), "
    "temperature=C (Present_Temperature), load=PCT (added to Present_Load, torque on or "
    "off), firmware=X.Y (its firmware version, e.g. 3.9), duplicate_id (a second servo on "
    "the id: their replies collide). None of these sets a status bit: add error=BITS")


def parse_fault(spec: str, served: set[int]) -> tuple[int, str, str | bool]:
    """``ID:KIND[=VALUE]`` -> (id, kind, value), checked against a fresh
    :class:`Faults`; SystemExit with one line if it is not a fault a served servo can take."""
    servo_part, sep, kind_value = spec.partition(":")
    kind, has_value, text = kind_value.partition("=")
    kind, value = kind.strip(), text if has_value else True
    if not sep or not servo_part.strip().isdigit() or not kind:
        raise SystemExit(f"so101-twin: --fault must be ID:KIND[=VALUE] (e.g. 3:late=200), "
                         f"got {spec!r}")
    servo_id = int(servo_part)
    if servo_id not in served:
        raise SystemExit(f"so101-twin: --fault {spec!r}: no servo with id {servo_id} (serving "
                         f"{', '.join(map(str, sorted(served)))}); --fault must be "
                         "ID:KIND[=VALUE] with a served id")
    try:
        set_fault(Faults(), HealthFaults(), kind, value)
    except ValueError as exc:
        raise SystemExit(f"so101-twin: --fault {spec!r}: {exc}") from None
    return servo_id, kind, value


def _pairs(items: list[str], what: str, parse=str) -> dict[int, object]:
    """``ID=VALUE`` options, each value through ``parse``; one line naming the option and
    the item when it does not parse."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isdigit() or not 0 <= int(key) <= MAX_ID:
            raise SystemExit(f"so101-twin: {what} must look like ID=VALUE with ID 0..{MAX_ID}, "
                             f"got {item!r}")
        try:
            out[int(key)] = parse(value)
        except (ValueError, TypeError) as exc:
            raise SystemExit(f"so101-twin: {what} {item!r}: {exc}") from None
    return out


def _in_range(low: int, high: int, kind=int):
    """A parser of a whole number (or float) within [low, high]."""
    def parse(text: str):
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(f"must be within {low}..{high}")
        return value
    return parse


def _limits_pair(text: str) -> tuple[int, int]:
    low, sep, high = text.partition(":")
    if not sep:
        raise ValueError("must look like MIN:MAX")
    low, high = _in_range(0, 4095)(low), _in_range(0, 4095)(high)
    if low >= high:
        raise ValueError("MIN must be below MAX")
    return low, high


def build_twin_servos(args: argparse.Namespace):
    """The MuJoCo twin: calibrated from --calibration, or by the scripted procedure."""
    from ..bus.twin import TwinFault, build_twin, write_calibration_file
    from ..core.calibration import load_calibration
    from ..core.errors import So101ConfigError

    try:
        faults = [TwinFault.parse(text) for text in args.twin_fault]
        calibration = load_calibration(args.calibration) if args.calibration else None
        arm, servos, calibration = build_twin(mjcf=args.mjcf, calibration=calibration,
                                              faults=faults, start_keyframe=args.start,
                                              seed=args.seed, role=args.role)
        if args.calibration_out:
            write_calibration_file(calibration, args.calibration_out)
    except FileExistsError:
        raise SystemExit(f"so101-twin: {args.calibration_out} exists; not overwriting it") \
            from None
    except (ValueError, So101ConfigError) as exc:
        raise SystemExit(f"so101-twin: {exc}") from None
    return arm, servos


def build_servos(args: argparse.Namespace) -> list[VirtualServo]:
    try:
        ids = [_in_range(0, MAX_ID)(i) for i in args.ids.split(",")] if args.ids \
            else list(MOTOR_IDS)
    except ValueError as exc:
        raise SystemExit(f"so101-twin: --ids {args.ids!r}: ids are 0..{MAX_ID} ({exc})") \
            from None
    if args.shaft == "twin":
        if args.ids or args.raw:
            raise SystemExit("so101-twin: --ids and --raw go with --shaft simple")
        arm, servos = build_twin_servos(args)
        args.arm = arm
    else:
        servos = None
    raws = _pairs(args.raw, "--raw", _in_range(-65535, 65535, float))
    homings = _pairs(args.homing, "--homing", _in_range(-2047, 2047))
    models = _pairs(args.model, "--model", _in_range(0, 65535))
    limits = _pairs(args.limits, "--limits", _limits_pair)
    if servos is None:
        servos = [VirtualServo(servo_id, SimpleShaft(raws.get(servo_id, 2048.0)), Faults(),
                               seed=args.seed) for servo_id in ids]
    for servo in servos:
        servo_id = servo.servo_id
        if servo_id in homings:
            servo.set_signed("Homing_Offset", homings[servo_id])
        if servo_id in limits:
            low, high = limits[servo_id]
            servo.set("Min_Position_Limit", low)
            servo.set("Max_Position_Limit", high)
        if servo_id in models:
            servo.set("Model_Number", models[servo_id])
        if args.baud_code is not None:
            servo.set("Baud_Rate", args.baud_code)
    by_id = {s.servo_id: s for s in servos}
    for spec in args.fault:
        servo_id, kind, value = parse_fault(spec, set(by_id))
        by_id[servo_id].set_fault(kind, value)
    return servos


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="so101-twin", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the emulated bus on a new pty",
                           description="Serve six emulated STS3215 servos on a new "
                           "pseudo-terminal; the first stdout line is its path.")
    serve.add_argument("--shaft", choices=("twin", "simple"), default="twin",
                       help="what turns behind the servos: the MuJoCo twin (default) or a "
                       "simple model moving toward its goal at a bounded speed")
    serve.add_argument("--mjcf", help="twin: MuJoCo model (default: the embedded SO-101)")
    serve.add_argument("--calibration", metavar="PATH",
                       help="twin: be the arm this LeRobot calibration file describes "
                       "(default: calibrate by the scripted LeRobot procedure)")
    serve.add_argument("--calibration-out", metavar="PATH",
                       help="twin: write the calibration LeRobot would have written (never "
                       "overwrites a file)")
    serve.add_argument("--twin-fault", action="append", default=[], metavar="JOINT:KIND[=N]",
                       help="twin: reseat[=TEETH] (horn moved by whole spline teeth after "
                       "calibrating), mirror (motor mounted reversed), stale=TICKS (assembly "
                       "shifted after calibrating), homing=DEG (held at DEG instead of the "
                       "middle while homing: the sweep may cross the 0/4095 seam), "
                       "backlash=DEG (a gear play of DEG: the joint settles within DEG/2 of "
                       "its goal, short of it on the side it came from)")
    serve.add_argument("--scenario", metavar="NAME",
                       help="twin: the arm of a fault-catalog scenario (docs/faults.md): its "
                       "twin faults and the arm its files describe; one of "
                       + ", ".join(SCENARIOS))
    serve.add_argument("--scenarios-dir", metavar="DIR", default="fixtures/scenarios",
                       help="where the scenarios' files are (default fixtures/scenarios)")
    serve.add_argument("--role", choices=("follower", "leader"), default="follower",
                       help="twin: a follower (default) or a leader arm: another arm, "
                       "configured as LeRobot's SOLeader does (no P/I/D, torque off: a person "
                       "moves it); serve one of each for a teleoperated pair")
    serve.add_argument("--start", default="zero", metavar="KEYFRAME",
                       help="twin: keyframe the arm starts in (default zero; rest = folded)")
    serve.add_argument("--ids", help="simple: comma-separated servo ids (default 1..6)")
    serve.add_argument("--baud-code", type=int, choices=sorted(BAUD_RATES),
                       help="Baud_Rate register of every servo (0 = 1 Mbaud, the default)")
    serve.add_argument("--raw", action="append", default=[], metavar="ID=TICKS",
                       help="simple: initial raw encoder position of a shaft (default 2048)")
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
                       "set_raw, place, pace, state)")
    serve.add_argument("--seed", type=int, default=0, help="seed of the read noise")
    serve.add_argument("--tcp", metavar="HOST:PORT",
                       help="serve on this TCP address instead of a pty, one client at a "
                       "time, as ser2net serves a USB adapter in raw mode (the first line "
                       "printed is socket://HOST:PORT; port 0 chooses a free one); the line "
                       "runs at 1 Mbaud whatever the client sets")
    calibrate = sub.add_parser(
        "calibrate-with-lerobot", help="serve a twin and calibrate it with lerobot-calibrate",
        description="Serve a twin (any serve option may follow) and calibrate it with "
        "LeRobot's own lerobot-calibrate --robot.type=so101_follower, answering its prompts "
        "and sweeping the joints through the control socket; prints the port and the "
        "calibration file, then serves until SIGINT or SIGTERM. Needs LeRobot installed.")
    calibrate.add_argument("--robot-id", required=True, help="LeRobot's --robot.id")
    calibrate.add_argument("--out-dir", required=True, metavar="DIR",
                           help="HF_LEROBOT_CALIBRATION for lerobot-calibrate: the file goes "
                           "to DIR/robots/so_follower/ID.json")
    calibrate.add_argument("--short-sweep", action="append", default=[],
                           metavar="JOINT=FRACTION", help="sweep only this fraction of the "
                           "joint's range, from its lower limit (0: not at all), repeatable")
    calibrate.add_argument("--end-pose", default="rest", metavar="KEYFRAME",
                           help="where the arm is left once calibrated (default rest)")
    calibrate.add_argument("--exit", action="store_true",
                           help="stop the twin once calibrated instead of serving on")
    return p


def parse_short_sweeps(items: list[str]) -> dict[str, float]:
    """``JOINT=FRACTION`` items -> {joint: fraction in 0..1}; SystemExit on a bad one."""
    from ..core.joints import MOTOR_NAMES

    out = {}
    for item in items:
        joint, _, text = item.partition("=")
        try:
            fraction = float(text)
        except ValueError:
            fraction = -1.0
        if joint not in MOTOR_NAMES or not 0 <= fraction <= 1:
            raise SystemExit(f"so101-twin: --short-sweep must be JOINT=FRACTION with a joint of "
                             f"{', '.join(MOTOR_NAMES)} and a fraction in 0..1, got {item!r}")
        out[joint] = fraction
    return out


def calibrate_with_lerobot(args: argparse.Namespace, serve_args: list[str]) -> int:
    """``so101-twin calibrate-with-lerobot``: serve, calibrate with LeRobot, serve on."""
    import threading

    from ..bus.lerobot_calibrate import LeRobotCalibrateError, Sweep, lerobot_calibrated_twin

    parser().parse_args(["serve", *serve_args])            # a bad serve option stops here
    sweep = Sweep(parse_short_sweeps(args.short_sweep))
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        with lerobot_calibrated_twin(args.robot_id, args.out_dir, serve_args, sweep=sweep,
                                     end_pose=args.end_pose) as twin:
            print(f"port: {twin.port}", flush=True)
            print(f"calibration: {twin.calibration_path}", flush=True)
            while not args.exit and not stopping.is_set() and twin.emulator.proc.poll() is None:
                stopping.wait(0.5)
    except LeRobotCalibrateError as exc:
        print(f"so101-twin: {exc}", file=sys.stderr)
        return 1
    return 0


def parse_tcp_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); SystemExit with one line
    when it is not one."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SystemExit(f"so101-twin: --tcp must be HOST:PORT with a port 0..65535 (0: a "
                         f"free one), e.g. 127.0.0.1:0, got {text!r}")
    return host, int(port)


def apply_scenario(args: argparse.Namespace, argv: list[str]) -> argparse.Namespace:
    """Re-parse with the scenario's twin options first (explicit options still apply)."""
    from pathlib import Path

    try:
        chosen = scenario(args.scenario)
    except ValueError as exc:
        raise SystemExit(f"so101-twin: {exc}") from None
    folder = Path(args.scenarios_dir) / chosen.name
    extra = chosen.serve_args(folder)
    if "--calibration" in extra and not folder.is_dir():
        raise SystemExit(f"so101-twin: scenario {chosen.name}: no folder {folder} "
                         "(pass --scenarios-dir, e.g. a checkout's fixtures/scenarios)")
    return parser().parse_args(["serve", *extra, *argv[1:]])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known, extra = parser().parse_known_args(argv)
    if known.command == "calibrate-with-lerobot":
        return calibrate_with_lerobot(known, extra)
    args = parser().parse_args(argv)
    if args.scenario:
        args = apply_scenario(args, argv)
    args.arm = None
    address = parse_tcp_address(args.tcp) if args.tcp else None
    servos = build_servos(args)
    try:
        server = PtyServer(BusEmulator(servos), pace=args.pace, control_path=args.control,
                           arm=args.arm) if address is None else \
            TcpServer(BusEmulator(servos), *address, pace=args.pace,
                      control_path=args.control, arm=args.arm)
    except LinkError as exc:
        raise SystemExit(f"so101-twin: --tcp {args.tcp}: cannot listen there "
                         f"({exc.strerror or exc})") from None
    except OSError as exc:
        raise SystemExit(f"so101-twin: --control {args.control}: cannot listen there "
                         f"({exc.strerror or exc})") from None

    def stop(signum: int, frame: object) -> None:
        server.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(server.port, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
