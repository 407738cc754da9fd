"""The emulator through the unmodified scservo_sdk client on a real pseudo-terminal."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import scservo_sdk as scs

from pytest_so101.bus.process import EmulatorError, EmulatorProcess
from pytest_so101.bus.protocol import (
    Instruction,
    instruction_packet,
    scan_status,
    status_packet,
    to_le,
)
from pytest_so101.core.frames import encode_register

PRESENT, GOAL, HOMING, LOCK, TORQUE, PHASE = 56, 42, 31, 55, 40, 18
MIN_LIMIT, MAX_LIMIT = 9, 11


@pytest.fixture
def emulator():
    with EmulatorProcess("--shaft", "simple", "--raw", "1=1000", "--raw", "2=100") as emu:
        yield emu
    assert emu.proc.returncode == 0


@pytest.fixture
def sdk(emulator):
    ph, pk = scs.PortHandler(emulator.port), scs.PacketHandler(0)
    assert ph.openPort() and ph.setBaudRate(1_000_000)
    yield ph, pk
    ph.closePort()


def read2(sdk, servo_id, address):
    ph, pk = sdk
    value, comm, _ = pk.read2ByteTxRx(ph, servo_id, address)
    assert comm == scs.COMM_SUCCESS, pk.getTxRxResult(comm)
    return value


def write(sdk, servo_id, address, value, size=2):
    ph, pk = sdk
    fn = pk.write2ByteTxRx if size == 2 else pk.write1ByteTxRx
    comm, error = fn(ph, servo_id, address, value)
    assert comm == scs.COMM_SUCCESS and error == 0, pk.getTxRxResult(comm)


def test_ping_identifies_six_sts3215_and_nothing_else(sdk):
    ph, pk = sdk
    assert [pk.ping(ph, i)[:2] for i in range(1, 7)] == [(777, scs.COMM_SUCCESS)] * 6
    assert pk.ping(ph, 7)[1] == scs.COMM_RX_TIMEOUT
    assert pk.read1ByteTxRx(ph, 3, 0)[0] == 3 and pk.read1ByteTxRx(ph, 3, 1)[0] == 10


def test_homing_offset_shifts_present_position_with_the_wrap(sdk):
    assert read2(sdk, 1, PRESENT) == 1000
    write(sdk, 1, LOCK, 0, size=1)
    for homing, expected in [(-766, 1766), (300, 700), (1500, (1000 - 1500) % 4096),
                             (-2047, 3047), (2047, (1000 - 2047) % 4096)]:
        write(sdk, 1, HOMING, int(encode_register("Homing_Offset", homing)))
        assert read2(sdk, 1, PRESENT) == expected, homing
    # shaft 2 at raw 100: an offset of 200 wraps below zero to 3996
    write(sdk, 2, LOCK, 0, size=1)
    write(sdk, 2, HOMING, int(encode_register("Homing_Offset", 200)))
    assert read2(sdk, 2, PRESENT) == 3996
    # 2048 does not fit 11-bit sign-magnitude: 0x800 is "-0", i.e. no offset at all
    write(sdk, 2, HOMING, 0x800)
    assert read2(sdk, 2, PRESENT) == 100


def test_lock_protects_eeprom(sdk):
    write(sdk, 1, HOMING, 500)                       # Lock is 1 at power-on: ignored
    assert read2(sdk, 1, HOMING) == 0 and read2(sdk, 1, PRESENT) == 1000
    write(sdk, 1, LOCK, 0, size=1)
    write(sdk, 1, HOMING, 500)
    assert read2(sdk, 1, HOMING) == 500 and read2(sdk, 1, PRESENT) == 500
    write(sdk, 1, GOAL, 1234)                        # RAM is writable whatever the lock
    write(sdk, 1, LOCK, 1, size=1)
    write(sdk, 1, MIN_LIMIT, 10)
    assert read2(sdk, 1, MIN_LIMIT) == 0


def test_phase_bit_4_switches_present_position_to_the_full_angle(sdk):
    """Phase (address 18, EEPROM): 12 at power-on, a write needs Lock 0; with bit 4 (0x10)
    set Present_Position is the full angle (raw 100 - Homing_Offset 300 = -200 ticks, sign
    bit 15), cleared again (as LeRobot 0.6's configure_motors does) it wraps into 0..4095."""
    ph, pk = sdk
    assert pk.read1ByteTxRx(ph, 2, PHASE)[0] == 12
    write(sdk, 2, PHASE, 12 | 0x10, size=1)             # Lock is 1 at power-on: ignored
    assert pk.read1ByteTxRx(ph, 2, PHASE)[0] == 12
    write(sdk, 2, LOCK, 0, size=1)
    write(sdk, 2, HOMING, int(encode_register("Homing_Offset", 300)))
    assert read2(sdk, 2, PRESENT) == 3896
    write(sdk, 2, PHASE, 12 | 0x10, size=1)
    assert pk.read1ByteTxRx(ph, 2, PHASE)[0] == 0x1C
    assert read2(sdk, 2, PRESENT) == int(encode_register("Present_Position", -200))
    assert read2(sdk, 1, PRESENT) == 1000                # the other servos are unchanged
    write(sdk, 2, PHASE, 0x1C & ~0x10, size=1)
    assert read2(sdk, 2, PRESENT) == 3896
    pk.txRxPacket(ph, [0xFF, 0xFF, 2, 2, 0x06, 0])       # RESET: the power-on value again
    assert pk.read1ByteTxRx(ph, 2, PHASE)[0] == 12


def test_goals_are_clamped_to_the_limits_and_torque_moves_the_shaft(sdk):
    write(sdk, 1, LOCK, 0, size=1)
    write(sdk, 1, MIN_LIMIT, 900)
    write(sdk, 1, MAX_LIMIT, 1100)
    write(sdk, 1, TORQUE, 1, size=1)
    write(sdk, 1, GOAL, 3000)
    assert read2(sdk, 1, GOAL) == 1100
    deadline = time.monotonic() + 2
    while read2(sdk, 1, PRESENT) < 1099 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert abs(read2(sdk, 1, PRESENT) - 1100) <= 1
    write(sdk, 1, GOAL, int(encode_register("Goal_Position", -5)))
    assert read2(sdk, 1, GOAL) == 900


def test_torque_off_goal_follows_present(sdk):
    assert read2(sdk, 2, GOAL) == 100
    write(sdk, 2, GOAL, 2000)          # torque off: the shaft stays, the goal follows it
    assert read2(sdk, 2, PRESENT) == 100 and read2(sdk, 2, GOAL) == 100


def test_sync_read_and_sync_write(sdk, emulator):
    ph, pk = sdk
    reader = scs.GroupSyncRead(ph, pk, PRESENT, 2)
    for i in range(1, 7):
        reader.addParam(i)
    assert reader.txRxPacket() == scs.COMM_SUCCESS
    assert [reader.getData(i, PRESENT, 2) for i in range(1, 7)] == [1000, 100] + [2048] * 4
    for i in range(1, 7):
        write(sdk, i, TORQUE, 1, size=1)
    writer = scs.GroupSyncWrite(ph, pk, GOAL, 2)
    for i in range(1, 7):
        writer.addParam(i, [(2000 + i) & 0xFF, (2000 + i) >> 8])
    assert writer.txPacket() == scs.COMM_SUCCESS
    time.sleep(0.05)
    assert ph.ser.in_waiting == 0          # SYNC_WRITE gets no reply
    assert [read2(sdk, i, GOAL) for i in range(1, 7)] == [2001, 2002, 2003, 2004, 2005, 2006]


def test_broadcast_gets_no_reply_but_is_obeyed_and_ping_answers(sdk, emulator):
    ph, pk = sdk
    assert pk.write1ByteTxOnly(ph, scs.BROADCAST_ID, LOCK, 0) == scs.COMM_SUCCESS
    time.sleep(0.05)
    assert ph.ser.in_waiting == 0
    assert all(s["lock"] == 0 for s in emulator.state().values())
    pk.txPacket(ph, [0xFF, 0xFF, scs.BROADCAST_ID, 2, scs.INST_PING, 0])
    ph.is_using = False
    time.sleep(0.05)
    answers = ph.ser.read(100)
    assert answers.count(b"\xff\xff") == 6 and len(answers) == 36


def test_reg_write_waits_for_action(sdk):
    ph, pk = sdk
    write(sdk, 3, TORQUE, 1, size=1)
    comm, _ = pk.regWriteTxRx(ph, 3, GOAL, 2, [0xD0, 0x07])   # 2000
    assert comm == scs.COMM_SUCCESS
    assert read2(sdk, 3, GOAL) == 2048
    assert pk.action(ph, scs.BROADCAST_ID) == scs.COMM_SUCCESS
    time.sleep(0.02)
    assert read2(sdk, 3, GOAL) == 2000


def test_reset_restores_factory_defaults(sdk):
    ph, pk = sdk
    write(sdk, 4, LOCK, 0, size=1)
    write(sdk, 4, HOMING, 123)
    pk.txRxPacket(ph, [0xFF, 0xFF, 4, 2, 0x06, 0])
    assert read2(sdk, 4, HOMING) == 0
    assert pk.read1ByteTxRx(ph, 4, LOCK)[0] == 1


def test_response_status_level_zero_silences_writes_not_reads(sdk):
    ph, pk = sdk
    write(sdk, 5, LOCK, 0, size=1)
    assert pk.write1ByteTxOnly(ph, 5, 8, 0) == scs.COMM_SUCCESS   # Response_Status_Level 0
    time.sleep(0.02)
    assert ph.ser.in_waiting == 0      # already silent: the level applies to its own write
    comm, _ = pk.write1ByteTxRx(ph, 5, TORQUE, 0)
    assert comm == scs.COMM_RX_TIMEOUT
    assert read2(sdk, 5, PRESENT) == 2048


def test_servos_answer_only_at_their_baud_and_reopen_works(sdk):
    ph, pk = sdk
    write(sdk, 6, LOCK, 0, size=1)
    write(sdk, 6, 6, 1, size=1)                            # Baud_Rate = 500 kbaud
    assert pk.ping(ph, 6)[1] == scs.COMM_RX_TIMEOUT        # the client is still at 1 Mbaud
    assert ph.setBaudRate(500_000)                         # closes and reopens the pty
    assert pk.ping(ph, 6)[:2] == (777, scs.COMM_SUCCESS)
    assert pk.ping(ph, 1)[1] == scs.COMM_RX_TIMEOUT        # servo 1 stayed at 1 Mbaud
    assert ph.setBaudRate(1_000_000)
    assert pk.ping(ph, 1)[1] == scs.COMM_SUCCESS


def test_a_request_with_a_bad_checksum_is_ignored(sdk):
    ph, _ = sdk
    ph.ser.write(bytes.fromhex("FFFF010201FA"))           # PING with a wrong checksum
    time.sleep(0.05)
    assert ph.ser.in_waiting == 0


def raw_exchange(sdk, request: bytes, wait_s: float = 0.05) -> bytes:
    """Send raw bytes, return everything on the line after ``wait_s``."""
    ph, _ = sdk
    ph.ser.reset_input_buffer()
    ph.writePort(request)
    time.sleep(wait_s)
    return bytes(ph.ser.read(4096))


def read_request(servo_id: int, address: int, size: int) -> bytes:
    return instruction_packet(servo_id, Instruction.READ, bytes([address, size]))


def test_duplicate_sends_every_reply_twice(sdk, emulator):
    emulator.fault(2, "duplicate")
    reply = status_packet(2, 0, to_le(100, 2))
    assert raw_exchange(sdk, read_request(2, PRESENT, 2)) == reply * 2
    assert raw_exchange(sdk, read_request(1, PRESENT, 2)) == status_packet(1, 0, to_le(1000, 2))


def test_garbage_puts_line_noise_before_each_reply(sdk, emulator):
    emulator.fault(2, "garbage", 7)
    emulator.fault(2, "duplicate")
    line = raw_exchange(sdk, read_request(2, PRESENT, 2))
    reply = status_packet(2, 0, to_le(100, 2))
    assert len(line) == 2 * (7 + len(reply))
    assert line[7:7 + len(reply)] == reply and line.endswith(reply)


def test_late_replies_keep_their_order_when_late_is_lowered(sdk, emulator):
    """A servo answers in order, as on a wire: lowering ``late`` at run time does not let
    a new reply overtake one still in flight."""
    ph, _ = sdk
    emulator.fault(1, "late", 150)
    ph.writePort(read_request(1, HOMING, 2))            # answered at +150 ms
    emulator.fault(1, "late", 0)
    ph.writePort(read_request(1, PRESENT, 2))           # no earlier than that
    time.sleep(0.25)
    line = bytes(ph.ser.read(4096))
    assert [p.params for p in scan_status(line)] == [to_le(0, 2), to_le(1000, 2)]


def test_state_reports_faults_and_bad_faults_are_refused_in_one_line(emulator):
    emulator.fault(4, "late", 200)
    emulator.fault(4, "duplicate")
    assert emulator.state()[4]["faults"] == {"duplicate": True, "late_ms": 200.0}
    assert emulator.state()[3]["faults"] == {}
    with pytest.raises(EmulatorError, match=r"ValueError: truncated takes a whole number of "
                       r"bytes from 0 to 255, got -1$"):
        emulator.fault(4, "truncated", -1)
    with pytest.raises(EmulatorError, match=r"unknown fault 'slow'"):
        emulator.fault(4, "slow", 1)
    emulator.clear_faults()
    assert emulator.state()[4]["faults"] == {}


# -- what a servo reports about itself (health faults) ---------------------------------

VOLTAGE, TEMPERATURE, LOAD, STATUS = 62, 63, 60, 65


def read2_any(sdk, servo_id, address):
    """A 2-byte read whatever the status byte says."""
    ph, pk = sdk
    value, comm, _ = pk.read2ByteTxRx(ph, servo_id, address)
    assert comm == scs.COMM_SUCCESS, pk.getTxRxResult(comm)
    return value


def test_health_faults_change_the_readings_and_clearing_restores_them(sdk, emulator):
    ph, pk = sdk
    assert [pk.read1ByteTxRx(ph, 3, a)[0] for a in (VOLTAGE, TEMPERATURE)] == [74, 28]
    assert (pk.read1ByteTxRx(ph, 3, 0)[0], pk.read1ByteTxRx(ph, 3, 1)[0]) == (3, 10)
    for kind, value in (("voltage", 12), ("temperature", 66), ("load", 30),
                        ("firmware", "3.9"), ("error", 32)):
        emulator.fault(3, kind, value)
    assert [pk.read1ByteTxRx(ph, 3, a)[0] for a in (VOLTAGE, TEMPERATURE)] == [120, 66]
    assert read2_any(sdk, 3, LOAD) == 300                 # torque off, yet a load
    assert (pk.read1ByteTxRx(ph, 3, 0)[0], pk.read1ByteTxRx(ph, 3, 1)[0]) == (3, 9)
    assert pk.read1ByteTxRx(ph, 3, STATUS)[0] == 32       # Status mirrors the error bits
    assert emulator.state()[3]["faults"] == {"error_bits": 32, "voltage_v": 12.0,
                                             "temperature_c": 66.0, "load_pct": 30.0,
                                             "firmware": "3.9"}
    emulator.clear_faults()
    assert [pk.read1ByteTxRx(ph, 3, a)[0] for a in (VOLTAGE, TEMPERATURE, STATUS)] == [74, 28, 0]
    assert read2(sdk, 3, LOAD) == 0 and pk.read1ByteTxRx(ph, 3, 1)[0] == 10


def test_a_second_servo_on_an_id_collides_except_where_both_say_the_same(sdk, emulator):
    """Two servos on id 2 answer at once: a ping, a write's acknowledgement or a register
    both hold alike reads as one clean reply; their positions differ, so the reply to a
    position read is garbled (a wired AND: a driven low wins). Both obey writes."""
    emulator.fault(2, "duplicate_id")
    assert raw_exchange(sdk, instruction_packet(2, Instruction.PING)) == status_packet(2, 0)
    assert raw_exchange(sdk, read_request(2, VOLTAGE, 1)) == status_packet(2, 0, bytes([74]))
    line = raw_exchange(sdk, read_request(2, PRESENT, 2))
    assert len(line) == 8 and scan_status(line) == []     # 100 and 100 + 1365: garbled
    write(sdk, 2, LOCK, 0, size=1)                         # both servos unlock
    write(sdk, 2, 7, 0, size=1)                            # Return_Delay_Time 0 on both
    assert raw_exchange(sdk, read_request(2, 7, 1)) == status_packet(2, 0, bytes([0]))
    emulator.clear_faults()
    assert read2(sdk, 2, PRESENT) == 100


def test_wired_and_keeps_the_low_bits_of_both_replies():
    from pytest_so101.bus.emulator import wired_and

    assert wired_and(b"\xff\x0f\xf0", b"\x3c\xff") == b"\x3c\x0f\xf0"


@pytest.mark.parametrize(("args", "says"), [
    (["--control", "/nonexistent/dir/sock"], "--control /nonexistent/dir/sock: cannot listen"),
    (["--limits", "1=abc"], "--limits '1=abc': must look like MIN:MAX"),
    (["--limits", "3=2000:1000"], "MIN must be below MAX"),
    (["--homing", "1=99999"], "--homing '1=99999': must be within -2047..2047"),
    (["--model", "1=-1"], "--model '1=-1': must be within 0..65535"),
    (["--shaft", "simple", "--raw", "1=abc"], "--raw '1=abc'"),
    (["--shaft", "simple", "--ids", "1,a"], "--ids '1,a': ids are 0..253"),
])
def test_bad_serve_options_are_one_line_not_a_traceback(args, says):
    done = subprocess.run([sys.executable, "-m", "pytest_so101.cli.twin", "serve", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("so101-twin: ")
    assert says in done.stderr
