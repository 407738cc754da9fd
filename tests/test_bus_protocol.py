"""STS3215 codec: golden vectors of the Feetech manual, checksum, incremental parsing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_so101.bus.protocol import (
    REGISTERS,
    ErrorBit,
    Instruction,
    PacketParser,
    checksum,
    damaged_reply,
    describe_status,
    from_le,
    heard_ids,
    instruction_packet,
    plausible,
    scan_status,
    status_packet,
    to_le,
)


def test_golden_vectors():
    assert instruction_packet(1, Instruction.PING) == bytes.fromhex("FFFF010201FB")
    assert status_packet(1, 0) == bytes.fromhex("FFFF010200FC")
    assert instruction_packet(1, Instruction.READ, bytes([0x38, 0x02])) == \
        bytes.fromhex("FFFF0104023802BE")
    reply = status_packet(1, 0, to_le(1304, 2))
    assert reply == bytes.fromhex("FFFF0104001805DD")
    assert from_le(reply[5:7]) == 1304


def test_checksum_is_inverted_sum():
    assert checksum(bytes([1, 2, 1])) == 0xFB
    assert checksum(bytes([0xFE, 0xFF, 0xFF])) == (~(0xFE + 0xFF + 0xFF)) & 0xFF


def test_control_table_addresses_match_domain_facts():
    expected = {"Model_Number": (3, 2), "ID": (5, 1), "Baud_Rate": (6, 1),
                "Homing_Offset": (31, 2), "Torque_Enable": (40, 1), "Goal_Position": (42, 2),
                "Lock": (55, 1), "Present_Position": (56, 2), "Present_Current": (69, 2),
                "Maximum_Acceleration": (85, 1)}
    for name, (address, size) in expected.items():
        assert (REGISTERS[name].address, REGISTERS[name].size) == (address, size)
    assert REGISTERS["Homing_Offset"].eeprom and not REGISTERS["Goal_Position"].eeprom


@given(servo_id=st.integers(0, 253), params=st.binary(max_size=40),
       split=st.integers(0, 60), junk=st.binary(max_size=8).filter(lambda b: b"\xff" not in b))
def test_parser_finds_packets_split_anywhere_after_junk(servo_id, params, split, junk):
    stream = junk + status_packet(servo_id, 0, params) + instruction_packet(1, Instruction.PING)
    parser = PacketParser()
    packets = list(parser.feed(stream[:split])) + list(parser.feed(stream[split:]))
    assert [(p.servo_id, p.params) for p in packets] == [(servo_id, params), (1, b"")]
    assert all(p.checksum_ok for p in packets)
    assert parser.pending == 0


def test_parser_flags_a_bad_checksum_and_resyncs():
    good = instruction_packet(2, Instruction.PING)
    bad = good[:-1] + bytes([good[-1] ^ 0x55])
    packets = list(PacketParser().feed(bad + b"\x00\x13" + good))
    assert [p.checksum_ok for p in packets] == [False, True]


@given(noise=st.binary(max_size=40).filter(lambda b: b"\xff" not in b),
       servo_id=st.integers(0, 253), params=st.binary(max_size=10), split=st.integers(0, 60))
def test_scan_finds_a_reply_after_line_noise(noise, servo_id, params, split):
    reply = status_packet(servo_id, 0, params)
    packets = scan_status(noise + reply + noise)
    assert [(p.servo_id, p.params) for p in packets] == [(servo_id, params)]
    assert scan_status((noise + reply)[:split]) in ([], packets)   # a part is no packet


@given(stream=st.binary(max_size=80))
def test_scan_returns_only_packets_with_a_valid_checksum(stream):
    for packet in scan_status(stream):
        assert checksum(packet.raw[2:-1]) == packet.raw[-1] and packet.raw in stream


def test_scan_looks_inside_a_damaged_packet_for_a_good_one():
    reply = status_packet(3, 0, to_le(1304, 2))
    truncated = status_packet(5, 0, to_le(99, 2))[:-2]          # its length claims 8 bytes
    assert [p.servo_id for p in scan_status(truncated + reply)] == [3]
    corrupt = reply[:-1] + bytes([reply[-1] ^ 1])
    assert scan_status(b"\xff" + corrupt + reply) == scan_status(reply)


def test_damaged_replies_are_named():
    reply = status_packet(3, 0, to_le(1304, 2))
    assert damaged_reply(reply[:-2], 3, 2) == "incomplete reply (6 of 8 bytes)"
    assert damaged_reply(reply[:-1] + status_packet(4, 0), 3, 2) == \
        "incomplete reply (7 of 8 bytes)"
    assert damaged_reply(reply[:-1] + bytes([reply[-1] ^ 1]), 3, 2) == \
        "bad checksum in its reply"
    assert damaged_reply(reply, 4, 2) is None
    assert heard_ids(b"\x00" + reply[:3] + status_packet(7, 0)) == {3, 7}


def test_status_bits_are_named():
    assert describe_status(ErrorBit.OVERHEAT) == "overheat"
    assert describe_status(ErrorBit.OVERHEAT | ErrorBit.OVERLOAD) == "overheat and overload"
    assert describe_status(0x01 | 0x02 | 0x08) == \
        "input voltage error, angle sensor error and overcurrent"
    assert describe_status(0x10) == "status bit 0x10"


def test_plausible_values():
    assert plausible("Homing_Offset", 0x0FFF) and not plausible("Homing_Offset", 0x1000)
    assert plausible("Max_Position_Limit", 4095) and not plausible("Max_Position_Limit", 4096)
    assert plausible("Present_Position", 0xFFFF) and plausible("Firmware_Major_Version", 255)
