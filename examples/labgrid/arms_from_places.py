"""Write the arms file for ``pytest --so101-arms`` from labgrid places.

    LG_COORDINATOR=HOST:PORT python arms_from_places.py --env env.yaml --out arms.toml

Run with labgrid's Python (the ``.venv-labgrid`` of ``.ci/run``, where pytest-so101 is
installed without its dependencies), after acquiring every place
(``labgrid-client -p so101-arm-1 acquire``): each target of the environment is a
``RemotePlace`` whose ``NetworkSerialPort`` (the arm's USB adapter, exported by
ser2net from its host) becomes the arm's port, ``rfc2217://HOST:PORT`` (``socket://`` for
a raw one); the target's options name its calibration, and optionally its mapping, stats
and stats_dataset (paths relative to the environment file). The places stay acquired
(labgrid's lock: no one else uses the arms) until ``labgrid-client release``.

Exit status 0 with the file written, 1 with one line on stderr (a place not acquired, a
target without a calibration, an existing output file: never overwritten).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_so101.core.arms import FleetArm, arms_toml

#: A port without modem lines (a pty, some adapters) never answers RFC 2217's DTR/RTS
#: requests; pyserial then waits 3 s and gives up, unless told not to wait for them.
RFC2217_QUERY = "?ign_set_control"
OPTIONAL = ("mapping", "stats", "stats_dataset")


def port_url(resource) -> str:
    """The pyserial URL of a labgrid ``NetworkSerialPort``."""
    if resource.protocol == "rfc2217":
        return f"rfc2217://{resource.host}:{resource.port}{RFC2217_QUERY}"
    if resource.protocol == "raw":
        return f"socket://{resource.host}:{resource.port}"
    raise ValueError(f"NetworkSerialPort protocol {resource.protocol!r} (rfc2217 or raw)")


def arm_of(env, name: str, base: Path, timeout_s: float) -> FleetArm:
    from labgrid.resource import NetworkSerialPort

    def option(key: str) -> str | None:
        try:
            value = env.config.get_target_option(name, key)
        except KeyError:
            return None
        return None if value is None else str(value)

    calibration = option("calibration")
    if calibration is None:
        raise ValueError(f"target {name}: no 'calibration' in its options")
    target = env.get_target(name)
    serial = target.get_resource(NetworkSerialPort, wait_avail=False)
    serial.timeout = timeout_s
    target.await_resources([serial], timeout=timeout_s)
    if serial.port is None:
        raise ValueError(f"target {name}: its NetworkSerialPort is not exported (is its "
                         "place acquired?)")
    paths = {key: str((base / value).resolve()) if key != "stats_dataset" else value
             for key in OPTIONAL if (value := option(key)) is not None}
    return FleetArm(name, port_url(serial), str((base / calibration).resolve()), **paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="labgrid environment (targets = arms)")
    parser.add_argument("--out", required=True, help="the arms file to write (a new file)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for each place's port (default 10)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        print(f"arms_from_places: {out} exists; not overwriting it", file=sys.stderr)
        return 1
    try:
        from labgrid import Environment

        env = Environment(args.env)
        base = Path(args.env).resolve().parent
        arms = [arm_of(env, name, base, args.timeout) for name in env.config.get_targets()]
        env.cleanup()
    except Exception as exc:                 # labgrid's own errors: one line, no traceback
        text = " ".join(str(exc).split()) or exc.__class__.__name__
        print(f"arms_from_places: {args.env}: {text}", file=sys.stderr)
        return 1
    with open(out, "x", encoding="utf-8") as fh:
        fh.write(arms_toml(arms))
    for arm in arms:
        print(f"{arm.arm_id}: {arm.port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
