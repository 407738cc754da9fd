"""Servo health: what the six STS3215 say about themselves, judged per joint.

Identity (model number, firmware), supply voltage against the servo variant's band,
temperature against the servo's own limit, load at rest, status error bits, the settings
LeRobot writes when it connects, and which servos answer on the bus. Each check returns
per-joint :class:`~pytest_so101.core.measurement.Measurement` records with the likely cause
and the fix (docs/health.md). Numpy only, no pytest: the suites, ``so101-monitor`` and
the tests call the same functions, on the records ``bus/health.py`` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..bus.protocol import MODEL_STS3215, describe_status
from ..bus.telemetry import (
    FACTORY_RETURN_DELAY,
    LEROBOT_CONNECT,
    LEROBOT_SETTINGS,
    PHASE_FULL_ANGLE,
    UNITS_PER_VOLT,
    HealthSample,
    ServoRecord,
)
from ..core.joints import MOTOR_IDS, MOTOR_NAMES
from ..core.measurement import BUS, Evidence, Measurement
from .base import Check, on_arms

#: LeRobot's SO-101 servos run firmware 3.10; 3.9 answers LeRobot with "Incorrect status
#: packet" (lerobot #1010), fixed by updating it (Feetech's FD tool, LeRobot feetech docs).
MIN_FIRMWARE = (3, 10)
#: A servo whose Max_Voltage_Limit is below this (V) cannot take a 12 V supply.
TWELVE_V = 12.0
#: A servo this close to its Max_Temperature_Limit (deg C) is hot: it cuts torque there.
TEMPERATURE_MARGIN_C = 10.0
#: With torque off the motor is not driven: Present_Load beyond this (% of the maximum
#: torque) means a servo still driving, or a bad reading.
LOAD_AT_REST_PCT = 5.0


@dataclass(frozen=True)
class Variant:
    """An STS3215 variant by its supply: the band its supply must lie in (V)."""

    name: str
    models: str
    low_v: float
    high_v: float


#: The two STS3215 variants of the SO-101 (lerobot #2387; Feetech part numbers). 7.4 V
#: motors run from 5 V (the SO-ARM100 bill of materials) up to a full 2S pack (8.4 V);
#: 12 V motors from the Waveshare bus adapter's 9..12.6 V input range.
VARIANTS = (
    Variant("7.4 V", "STS3215 C001, C044, C046: the standard follower and every leader",
            4.5, 8.4),
    Variant("12 V", "STS3215 C018: the SO-101 Pro follower", 9.0, 12.6),
)



# -- the checks ----------------------------------------------------------------------------

def _unreadable(check: str, joint: str, unit: str, error: str, evidence: Evidence
                ) -> Measurement:
    return Measurement(check, joint, float("nan"), unit, detail=f"not read: {error}",
                       cause="the servo does not answer this read (see the error)",
                       fix="check power, cables and ids (docs/bus.md)", evidence=evidence)


def _version(record: ServoRecord) -> tuple[int, int]:
    r = record.registers
    return r["Firmware_Major_Version"], r["Firmware_Minor_Version"]


def check_model(records: Sequence[ServoRecord], evidence: Evidence) -> list[Measurement]:
    """Every servo is an STS3215 (Model_Number 777)."""
    out = []
    for rec in records:
        if rec.error:
            out.append(_unreadable("model number", rec.joint, "model", rec.error, evidence))
            continue
        model = rec.registers["Model_Number"]
        out.append(Measurement(
            "model number", rec.joint, float(model), "model", MODEL_STS3215, MODEL_STS3215,
            f"id {rec.servo_id} reports model {model}", marginal_fraction=1.0,
            cause=f"the servo on id {rec.servo_id} is not an STS3215 (another Feetech model "
                  "answers on this id)",
            fix=f"fit an STS3215 as {rec.joint} (LeRobot's SO-101 expects model "
                f"{MODEL_STS3215} on every joint)", evidence=evidence))
    return out


def check_firmware(records: Sequence[ServoRecord], evidence: Evidence) -> list[Measurement]:
    """Firmware alike on all six and at least 3.10: each servo's versions behind the
    newest on the arm (or 3.10, whichever is newer)."""
    read = [r for r in records if not r.error]
    newest = max([MIN_FIRMWARE, *(_version(r) for r in read)])
    versions = [f"{v[0]}.{v[1]}" for v in (_version(r) for r in read)]
    out = []
    for rec in records:
        if rec.error:
            out.append(_unreadable("firmware behind", rec.joint, "versions", rec.error,
                                   evidence))
            continue
        mine = _version(rec)
        behind = (newest[0] - mine[0]) * 100 + newest[1] - mine[1]
        text = f"{mine[0]}.{mine[1]}"
        others = [v for v, r in zip(versions, read, strict=True) if r is not rec]
        same = sum(v == text for v in others)
        cause = (f"{rec.joint} runs firmware {text}, older than {newest[0]}.{newest[1]} "
                 f"({same} of the {len(others)} other servos run {text}); firmware 3.9 answers "
                 "LeRobot with 'Incorrect status packet' (lerobot #1010): servos from another "
                 "batch or supplier")
        out.append(Measurement(
            "firmware behind", rec.joint, float(behind), "versions", None, 0.0,
            f"reads {text}; the newest on the arm {newest[0]}.{newest[1]} (all six: "
            f"{', '.join(versions)})", cause=cause,
            fix=f"update {rec.joint}'s firmware to {newest[0]}.{newest[1]} with Feetech's FD "
                "/ FT SCServo Debug tool (LeRobot docs: feetech.mdx), then check again",
            evidence=evidence))
    return out


def variant_of(max_limit_v: float, min_limit_v: float) -> Variant | None:
    """The variant the servo's own voltage limits admit: a Max_Voltage_Limit below 12 V
    cannot take a 12 V supply (a 7.4 V motor: it reports an input voltage error there,
    lerobot #1010, #2387), a Min_Voltage_Limit above 8.4 V no 7.4 V-class one; None when
    its limits admit both."""
    if max_limit_v < TWELVE_V:
        return VARIANTS[0]
    if min_limit_v > VARIANTS[0].high_v:
        return VARIANTS[1]
    return None


def check_supply(samples: Sequence[HealthSample], records: Sequence[ServoRecord],
                 evidence: Evidence) -> list[Measurement]:
    """The supply voltage (worst sample) within the band of the servo's variant, which
    its own Max/Min_Voltage_Limit registers tell; the variant named when the supply fits
    the other one (7.4 V motors on a 12 V supply, or the reverse)."""
    out = []
    for rec in records:
        mine = [s for s in samples if s.joint == rec.joint and not s.error]
        if rec.error or not mine:
            error = rec.error or next((s.error for s in samples if s.joint == rec.joint), "")
            out.append(_unreadable("supply voltage", rec.joint, "V", error, evidence))
            continue
        max_v = rec.registers["Max_Voltage_Limit"] / UNITS_PER_VOLT
        min_v = rec.registers["Min_Voltage_Limit"] / UNITS_PER_VOLT
        variant = variant_of(max_v, min_v)
        low = variant.low_v if variant else VARIANTS[0].low_v
        high = variant.high_v if variant else VARIANTS[1].high_v
        volts = [s.voltage_v for s in mine]
        worst = min(volts, key=lambda v: min(v - low, high - v))
        named = f"{variant.name} motors ({variant.models})" if variant else \
            "either variant (its own limits admit both)"
        supply = next((v for v in VARIANTS if v.low_v <= worst <= v.high_v), None)
        if variant and supply and supply is not variant:
            cause = (f"{variant.name} motors on a {supply.name} supply: the servo's own "
                     f"Max/Min_Voltage_Limit ({min_v:.1f}..{max_v:.1f} V) say {variant.name} "
                     f"motors, the supply reads {worst:.1f} V (lerobot #2387, #1010)")
            fix = (f"power the arm from a {variant.name} supply ({variant.low_v:g}.."
                   f"{variant.high_v:g} V), or fit {supply.name} motors ({supply.models})")
        else:
            cause = (f"the supply reads {worst:.1f} V, outside the {low:g}..{high:g} V band of "
                     f"{named}: a wrong adapter, a sagging supply or a loose power lead")
            fix = (f"power the arm from a supply within {low:g}..{high:g} V that holds its "
                   "voltage under load; check the power leads and connectors")
        out.append(Measurement(
            "supply voltage", rec.joint, worst, "V", low, high,
            f"{len(mine)} samples {min(volts):.1f}..{max(volts):.1f} V; the servo's limits "
            f"{min_v:.1f}..{max_v:.1f} V: {named}", marginal_fraction=1.0, cause=cause,
            fix=fix, evidence=evidence))
    return out


def check_temperature(samples: Sequence[HealthSample], records: Sequence[ServoRecord],
                      evidence: Evidence, margin_c: float = TEMPERATURE_MARGIN_C
                      ) -> list[Measurement]:
    """The hottest sample at least ``margin_c`` below the servo's Max_Temperature_Limit."""
    out = []
    for rec in records:
        mine = [s for s in samples if s.joint == rec.joint and not s.error]
        if rec.error or not mine:
            error = rec.error or next((s.error for s in samples if s.joint == rec.joint), "")
            out.append(_unreadable("temperature", rec.joint, "deg C", error, evidence))
            continue
        limit = float(rec.registers["Max_Temperature_Limit"])
        hottest = max(s.temperature_c for s in mine)
        out.append(Measurement(
            "temperature", rec.joint, hottest, "deg C", None, limit - margin_c,
            f"{len(mine)} samples, hottest {hottest:g} deg C; the servo's "
            f"Max_Temperature_Limit {limit:g} deg C (it cuts torque there), margin "
            f"{margin_c:g} deg C",
            cause=f"{rec.joint} is within {limit - hottest:g} deg C of its limit: it has been "
                  "holding a load (a joint pushed against a stop, the arm held out in a stall) "
                  "or it is cooled badly (lerobot #1319, #1407)",
            fix=f"switch torque off and let {rec.joint} cool below {limit - 2 * margin_c:g} "
                "deg C; do not hold poses that push against a stop; check the joint turns "
                "freely by hand", evidence=evidence))
    return out


def check_load_at_rest(samples: Sequence[HealthSample], evidence: Evidence,
                       limit_pct: float = LOAD_AT_REST_PCT) -> list[Measurement]:
    """With torque off, Present_Load near zero (the worst sample). With torque on a held
    joint reports its holding load: then advisory only."""
    out = []
    for joint in dict.fromkeys(s.joint for s in samples):
        mine = [s for s in samples if s.joint == joint and not s.error]
        if not mine:
            error = next(s.error for s in samples if s.joint == joint)
            out.append(_unreadable("load at rest", joint, "%", error, evidence))
            continue
        worst = max((s.load_pct for s in mine), key=abs)
        held = any(s.torque_on for s in mine)
        detail = (f"{len(mine)} samples {min(s.load_pct for s in mine):+.1f}.."
                  f"{max(s.load_pct for s in mine):+.1f} %, torque "
                  + ("on: a held joint reports its holding load (advisory)" if held else "off"))
        out.append(Measurement(
            "load at rest", joint, worst, "%", -limit_pct, limit_pct, detail,
            marginal_fraction=1.0, advisory=held,
            cause=f"{joint} reports {worst:+.1f} % of its maximum torque with torque off: the "
                  "servo is still driving its motor (an overload or torque-off lockup, lerobot "
                  "#3942, SO-ARM100 #66) or its load reading is off",
            fix=f"power-cycle the arm; if {joint} still reports a load with torque off, "
                "replace its servo", evidence=evidence))
    return out


STATUS_FIXES = {
    0x01: "check the supply voltage against the servo variant (docs/health.md)",
    0x02: "the magnet or the encoder of the servo is faulty: replace the servo",
    0x04: "switch torque off and let it cool",
    0x08: "free the joint (an obstruction, a stall) and power-cycle the arm",
    0x20: "remove the obstruction or the load, then power-cycle the arm: the servo keeps "
          "the bit and its torque off until then (lerobot #3942, SO-ARM100 #66)",
}


def check_status(samples: Sequence[HealthSample], records: Sequence[ServoRecord],
                 evidence: Evidence) -> list[Measurement]:
    """No status error bit on any reply or in the Status register over the trace."""
    out = []
    by_joint = {r.joint: r for r in records}
    for joint in dict.fromkeys(s.joint for s in samples):
        mine = [s for s in samples if s.joint == joint and not s.error]
        rec = by_joint.get(joint)
        if not mine:
            error = next(s.error for s in samples if s.joint == joint)
            out.append(_unreadable("status errors", joint, "conditions", error, evidence))
            continue
        bits = 0
        for s in mine:
            bits |= s.status
        if rec is not None and not rec.error:
            bits |= rec.status
        conditions = bin(bits).count("1")
        said = describe_status(bits) if bits else "none"
        fixes = "; ".join(text for bit, text in STATUS_FIXES.items() if bits & bit)
        out.append(Measurement(
            "status errors", joint, float(conditions), "conditions", None, 0.0,
            f"status bits {bits:#04x} ({said}) over {len(mine)} samples and the register reads",
            cause=f"{joint}'s servo reports {said}",
            fix=fixes or "power-cycle the arm; replace the servo if the bit stays",
            evidence=evidence))
    return out


def check_lerobot_settings(records: Sequence[ServoRecord], evidence: Evidence, *,
                           leader: bool = False) -> list[Measurement]:
    """The EEPROM settings LeRobot writes when it connects (Return_Delay_Time, Operating_Mode,
    P/I/D, Phase bit 4, the gripper's torque limits) equal its values; the RAM ones
    (Acceleration, Maximum_Acceleration), which LeRobot rewrites at every connect and a
    power cycle resets, are advisory. Each difference named with its register and the
    value LeRobot writes. A ``leader`` is held to what SOLeader writes (no P/I/D, no
    gripper limits)."""
    out = []
    for rec in records:
        if rec.error:
            out.append(_unreadable("LeRobot EEPROM settings", rec.joint, "registers",
                                   rec.error, evidence))
            continue
        r = rec.registers
        for persists in (True, False):
            wanted = [s for s in LEROBOT_SETTINGS
                      if s.persists == persists and rec.joint in s.joints
                      and not (leader and s.follower_only)]
            differ = [(s.register, str(r[s.register]), str(s.value))
                      for s in wanted if r[s.register] != s.value]
            if persists and r["Phase"] & PHASE_FULL_ANGLE:
                differ.append(("Phase", f"{r['Phase']:#04x}", "bit 4 cleared"))
            out.append(_settings_measurement(rec, persists, differ, len(wanted) + persists,
                                             evidence))
    return out


def _settings_measurement(rec: ServoRecord, persists: bool,
                          differ: list[tuple[str, str, str]], checked: int,
                          evidence: Evidence) -> Measurement:
    """One joint's settings against LeRobot's: ``differ`` is (register, read, LeRobot's)."""
    said = "; ".join(f"{reg} {now} (LeRobot writes {want})" for reg, now, want in differ)
    if not persists:
        return Measurement(
            "LeRobot RAM settings", rec.joint, float(len(differ)), "registers", None, 0.0,
            (said or "as LeRobot writes them") + "; LeRobot rewrites these at every connect, "
            "a power cycle resets them", advisory=True,
            cause="LeRobot has not connected since the arm was powered on",
            fix=LEROBOT_CONNECT, evidence=evidence)
    never = rec.registers["Return_Delay_Time"] == FACTORY_RETURN_DELAY
    cause = (f"not configured by LeRobot: {rec.joint}'s servo still has the factory "
             f"Return_Delay_Time {FACTORY_RETURN_DELAY} (500 us), which LeRobot sets to 0 at "
             "every connect: never connected with LeRobot, reset, or replaced" if never else
             f"{rec.joint}'s EEPROM was changed since LeRobot configured it (another tool, or "
             "a servo swapped in)")
    writes = ", ".join(f"{reg} = {want}" for reg, _, want in differ)
    return Measurement(
        "LeRobot EEPROM settings", rec.joint, float(len(differ)), "registers", None, 0.0,
        f"{said or f'all {checked} as LeRobot writes them'}; Lock {rec.registers['Lock']}",
        cause=cause, fix=f"{LEROBOT_CONNECT}, or write {writes}", evidence=evidence)


def check_bus_scan(scan, ids: Sequence[int], joints: Sequence[str], evidence: Evidence
                   ) -> list[Measurement]:
    """Every expected id answered by exactly one servo, and no other id answered (then a
    measurement of the ``bus``, not of a joint). ``scan`` is a
    :class:`~pytest_so101.bus.feetech.BusScan`."""
    strays = sorted((set(scan.replies) | set(scan.collided)) - set(ids))
    when = (f"ids {scan.scanned[0]}..{scan.scanned[-1]} pinged at {scan.baudrate} baud in "
            f"{scan.elapsed_s:.2f} s; other ids answering: {', '.join(map(str, strays)) or 'none'}")
    out = []
    for servo_id, joint in zip(ids, joints, strict=True):
        replies = scan.replies.get(servo_id, 0)
        collided = scan.collided.get(servo_id, "")
        servos = 2 if collided or replies > 1 else replies
        if servos == 0:
            detail = f"id {servo_id} did not answer ({when})"
            cause = (f"no servo answers on id {servo_id}: a cable unplugged or broken between "
                     "servos, the servo unpowered, or its id never set (lerobot #1603, #1414, "
                     "#3211)")
            fix = (f"check the cable into and out of {joint}'s servo and its power LED; set its "
                   "id with lerobot-setup-motors (one servo on the bus at a time)")
        else:
            how = (f"its replies collide ({collided})" if collided else
                   f"{replies} replies to one ping" if replies > 1 else "one reply")
            detail = f"id {servo_id}: {how} ({when})"
            cause = (f"two servos answer on id {servo_id}: a servo was given {joint}'s id twice, "
                     "or a new servo still has its factory id (lerobot-setup-motors sets ids "
                     "one servo at a time for this reason)")
            fix = (f"connect the servos of id {servo_id} one at a time and give each its own id "
                   "with lerobot-setup-motors")
        out.append(Measurement("servos answering on the id", joint, float(servos), "servos",
                               1.0, 1.0, detail, marginal_fraction=1.0, cause=cause, fix=fix,
                               evidence=evidence))
    if strays:
        listed = ", ".join(map(str, strays))
        out.append(Measurement(
            "other ids answering", BUS, float(len(strays)), "ids", None, 0.0,
            f"ids {listed} answered besides {', '.join(map(str, ids))} ({when})",
            cause=f"servos answer on ids {listed}, which the arm does not use: a servo with a "
                  "wrong id, or another device on the bus",
            fix="give each servo its joint's id with lerobot-setup-motors; unplug devices that "
                "are not the arm's", evidence=evidence))
    return out


HEALTH_EVIDENCE = on_arms(twin=Evidence.TWIN, hardware=Evidence.SERVO)
_S = Evidence.SERVO     # the functions' own evidence; the runner sets the setup's


def _check(name: str, title: str, needs: tuple[str, ...], measure, catches: str,
           tolerance: str, **kwargs) -> Check:
    return Check(name, title, "servo health", needs, measure, catches, tolerance,
                 evidence=HEALTH_EVIDENCE, suite="servo_health", **kwargs)


CHECKS: tuple[Check, ...] = (
    _check("servo-model", "model number is STS3215", ("records",),
           lambda i: check_model(i["records"], _S),
           "a servo of another model on a joint's id (an SCS or an STS of another size)",
           f"Model_Number {MODEL_STS3215}"),
    _check("servo-firmware", "firmware alike and current", ("records",),
           lambda i: check_firmware(i["records"], _S),
           "firmware 3.9, which answers LeRobot with 'Incorrect status packet' (lerobot "
           "#1010), or servos on different firmware",
           f"{MIN_FIRMWARE[0]}.{MIN_FIRMWARE[1]} or newer, alike on all six"),
    _check("supply-voltage", "supply voltage in the variant's band", ("trace", "records"),
           lambda i: check_supply(i["trace"], i["records"], _S),
           "a 12 V supply on 7.4 V motors, a flat battery, a supply sagging under load "
           "(lerobot #2387)", "the band of the servo's variant (7.4 V: 4.5..8.4 V, 12 V: "
           "9..12.6 V)"),
    _check("temperature", "temperature below the servo's limit", ("trace", "records"),
           lambda i: check_temperature(i["trace"], i["records"], _S),
           "a servo near its Max_Temperature_Limit, where it cuts torque",
           f"{TEMPERATURE_MARGIN_C:g} deg C below Max_Temperature_Limit"),
    _check("status-bits", "no status error bit", ("trace", "records"),
           lambda i: check_status(i["trace"], i["records"], _S),
           "a servo reporting voltage, angle, overheat, over-current or overload errors "
           "(lerobot #3942)", "no error bit"),
    _check("load-at-rest", "no load at rest, torque off", ("trace",),
           lambda i: check_load_at_rest(i["trace"], _S),
           "a servo still driving with torque off, or a bad load reading (an overload lockup)",
           f"|Present_Load| <= {LOAD_AT_REST_PCT:g} %"),
    _check("lerobot-settings", "settings as LeRobot writes them", ("records",),
           lambda i: check_lerobot_settings(i["records"], _S),
           "a servo LeRobot never configured (factory Return_Delay_Time), or settings "
           "changed since (P gain, gripper torque limits, Phase bit 4)",
           "the values SOFollower.configure writes"),
    _check("bus-scan", "every id answered once, no other", ("scan",),
           lambda i: check_bus_scan(i["scan"], MOTOR_IDS, MOTOR_NAMES, _S),
           "a missing servo, two servos on one id, a stray id on the bus (lerobot #1603, "
           "#1414, #3211)", "one servo per joint id, no other id", per_joint=True),
)
