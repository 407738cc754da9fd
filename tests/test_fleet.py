"""A fleet (``--so101-arms``): the arms file and its one-line errors, arms dealt to
workers, port claims, and a fleet of four emulated arms on TCP run with ``pytest -n 2``:
three pass, the faulty one fails naming its joint, one report per arm, the fleet summary,
and every motion on an arm made by the worker that owns it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pytest_so101.bus.ports import (
    ClaimFolderError,
    PortClaimedError,
    check_device,
    claim_port,
    claims_dir,
    lock_name,
)
from pytest_so101.bus.process import EmulatorProcess, start_all
from pytest_so101.core.arms import FleetArm, arms_toml, assign_arms, load_fleet
from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.port_names import check_port, port_key
from pytest_so101.plugin.fleet import strip_arm
from tests.helpers import EXAMPLE_CALIBRATION, MAPPINGS, REPO, assert_one_line

SUITES = REPO / "suites"
MAPPING = MAPPINGS / "so101_legacy_policy.toml"
FAULTY = "arm-3"
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def arms_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cal1.json").write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    (tmp_path / "cal2.json").write_bytes(EXAMPLE_CALIBRATION.read_bytes())
    path = tmp_path / "arms.toml"
    path.write_text(text)
    return path


GOOD = """
[arms.a1]
port = "socket://127.0.0.1:4001"
calibration = "cal1.json"
[arms.a2]
port = "rfc2217://127.0.0.1:4002?ign_set_control"
calibration = "cal2.json"
"""


def test_an_arms_file_names_ports_calibrations_and_defaults(tmp_path):
    path = arms_file(tmp_path, f'[defaults]\nmapping = "{MAPPING}"\n' + GOOD +
                     'stats_dataset = "so100"\n')
    fleet = load_fleet(path)
    assert fleet.ids == ("a1", "a2")
    assert fleet.arm("a1").calibration == str(tmp_path / "cal1.json")
    assert fleet.arm("a2").mapping == str(MAPPING)
    assert fleet.arm("a2").stats_dataset == "so100"
    assert load_fleet(arms_file(tmp_path, arms_toml(list(fleet.arms)))).arms == fleet.arms


@pytest.mark.parametrize(("text", "parts"), [
    ("[arm.a1]\nport = 'x'\n", ["arms.toml", "arm", "unknown table"]),
    ("", ["arms.toml", "no arms"]),
    ("[arms]\n", ["arms.toml", "no arms"]),
    ("[arms.a1]\nport = '/dev/null'\ncalibration = 'cal1.json'\nspeed = 9600\n",
     ["arms.toml", "arm a1", "speed = 9600", "unknown field"]),
    ("[arms.a1]\ncalibration = 'cal1.json'\n", ["arms.toml", "arm a1", "port", "no port"]),
    ("[arms.a1]\nport = '/dev/null'\n", ["arm a1", "calibration", "no calibration"]),
    ("[arms.a1]\nport = '/dev/null'\ncalibration = 'gone/a1.json'\n",
     ["arm a1", "calibration", "gone/a1.json", "calibration file missing"]),
    ("[arms.a1]\nport = 4001\ncalibration = 'cal1.json'\n",
     ["arm a1", "port = 4001", "must be a string"]),
    ("[arms.a1]\nport = 'http://host:80'\ncalibration = 'cal1.json'\n",
     ["arm a1", "port = 'http://host:80'", "socket://HOST:PORT or rfc2217://HOST:PORT"]),
    ("[arms.a1]\nport = 'socket://host'\ncalibration = 'cal1.json'\n",
     ["arm a1", "port = 'socket://host'", "with a port number"]),
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\n"
     "[arms.a2]\nport = 'socket://H:1'\ncalibration = 'cal2.json'\n",
     ["arm a2", "port = 'socket://H:1'", "the same port as arm a1"]),
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\n"
     "[arms.a2]\nport = 'socket://h:2'\ncalibration = 'cal1.json'\n",
     ["arm a2", "calibration", "cal1.json", "the same calibration as arm a1"]),
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\n"
     "[arms.a1]\nport = 'socket://h:2'\n", ["arms.toml", "not valid TOML", "a1"]),
    ("[arms.'../up']\nport = 'socket://h:1'\ncalibration = 'cal1.json'\n",
     ["arms.toml", "arm id = '../up'", "letters, digits"]),
    ("[defaults]\nport = 'socket://h:1'\n[arms.a1]\nport = 'socket://h:1'\n"
     "calibration = 'cal1.json'\n", ["[defaults]", "port", "each arm's own"]),
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\nstats = 'none/here'\n",
     ["arm a1", "stats", "none/here", "stats not found"]),
], ids=["unknown-table", "empty", "no-arms", "unknown-field", "no-port", "no-calibration",
        "calibration-missing", "port-not-a-string", "url-scheme", "url-without-port",
        "duplicate-port", "duplicate-calibration", "duplicate-id", "bad-id",
        "defaults-port", "stats-missing"])
def test_a_bad_arms_file_is_one_line_naming_file_arm_field_and_value(tmp_path, text, parts):
    with pytest.raises(So101ConfigError) as excinfo:
        load_fleet(arms_file(tmp_path, text))
    assert_one_line(excinfo.value, *parts)


@pytest.mark.parametrize(("text", "parts"), [
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'loop/a1.json'\n",
     ["arms.toml", "arm a1", "calibration = 'loop/a1.json'", "symlink loop"]),
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\nmapping = 'loop'\n",
     ["arms.toml", "arm a1", "mapping = 'loop'", "symlink loop"]),
    ("[arms.a1]\nport = 'loop/ttyACM0'\ncalibration = 'cal1.json'\n",
     ["arm a1", "port = 'loop/ttyACM0'", "symlink loop"]),
    ("[arms.a1]\nport = \"/dev/tty\\u0000ACM0\"\ncalibration = 'cal1.json'\n",
     ["arms.toml", "arm a1", "port = '/dev/tty\\x00ACM0'", "NUL byte"]),
    ("[arms.a1]\nport = \"socket://h:1\\u0000\"\ncalibration = 'cal1.json'\n",
     ["arm a1", "port", "NUL byte"]),
    ("[arms.a1]\nport = 'socket://h:1'\ncalibration = \"cal\\u00001.json\"\n",
     ["arm a1", "calibration = 'cal\\x001.json'", "NUL byte"]),
    ("[defaults]\nstats = \"st\\u0000ats\"\n[arms.a1]\nport = 'socket://h:1'\n"
     "calibration = 'cal1.json'\n", ["arms.toml", "[defaults] stats", "NUL byte"]),
    ("[arms.\"ab\\n\"]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\n",
     ["arms.toml", "arm id = 'ab\\n'", "letters, digits"]),
], ids=["calibration-symlink-loop", "mapping-symlink-loop", "relative-port-symlink-loop",
        "nul-in-device-port", "nul-in-url", "nul-in-path", "nul-in-defaults",
        "id-with-trailing-newline"])
def test_links_loops_nul_bytes_and_newlines_are_one_line(tmp_path, text, parts):
    """A symlink loop ended in RuntimeError, a NUL byte in ValueError (INTERNALERROR in a
    run), and an id "ab\\n" was accepted (``$`` matches before a final newline)."""
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(So101ConfigError) as excinfo:
        load_fleet(arms_file(tmp_path, text))
    assert_one_line(excinfo.value, *parts)


def test_arms_are_dealt_in_turn_and_more_workers_than_arms_is_refused():
    assert assign_arms(["a", "b", "c", "d"], 2, source="f") == [["a", "c"], ["b", "d"]]
    assert assign_arms(["a", "b", "c"], 3, source="f") == [["a"], ["b"], ["c"]]
    with pytest.raises(So101ConfigError) as excinfo:
        assign_arms(["a", "b"], 3, source="arms.toml")
    assert_one_line(excinfo.value, "arms.toml", "-n 3", "more workers than arms", "-n 2")


def test_a_claimed_port_is_refused_naming_its_holder(tmp_path):
    with claim_port("socket://Lab-Host:4001", "worker gw0, arm a1", tmp_path):
        with pytest.raises(PortClaimedError, match=r"already claimed by pid \d+ \(worker gw0"):
            claim_port("socket://lab-host:4001", "worker gw1, arm a2", tmp_path)
    claim_port("socket://lab-host:4001", "worker gw1, arm a2", tmp_path).release()


PORT = "socket://127.0.0.1:4001"
NOBODY = 65534


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    """The temporary folder every user may write in (mode 1777, as /tmp), with a file of
    the user's that an attacker would like overwritten."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    return shared, victim


def test_claims_live_in_the_users_own_folder(shared_tmp):
    shared, _ = shared_tmp
    with claim_port(PORT, "worker gw0, arm a1") as claim:
        folder = claims_dir()
        assert claim.path.parent == folder and folder.parent == shared
        info = folder.lstat()
        assert (info.st_mode & 0o777, info.st_uid) == (0o700, os.geteuid())
        assert claim.path.read_text().startswith(f"pid {os.getpid()} (worker gw0")


def test_a_symlink_planted_where_the_lock_goes_is_refused_and_its_target_kept(shared_tmp):
    """The lock was opened with O_CREAT through a symlink and truncated: a link planted in
    the shared folder wiped the file it pointed at."""
    _, victim = shared_tmp
    claim_port(PORT, "first").release()                 # the folder exists, the user's
    lock = claims_dir() / lock_name(PORT)
    lock.unlink()
    lock.symlink_to(victim)
    with pytest.raises(ClaimFolderError) as excinfo:
        claim_port(PORT, "worker gw0, arm a1")
    assert_one_line(excinfo.value, str(lock), "remove it")
    assert victim.read_text() == "the user's own file\n"
    lock.unlink()
    os.link(victim, lock)                               # a second name of the file: refused
    with pytest.raises(ClaimFolderError, match="not a lock file of this user"):
        claim_port(PORT, "worker gw0, arm a1")
    assert victim.read_text() == "the user's own file\n"


@pytest.mark.parametrize("plant", ["symlink", "file", "foreign"])
def test_a_claims_folder_that_is_not_the_users_own_is_refused(shared_tmp, plant):
    _, victim = shared_tmp
    folder = claims_dir()
    if plant == "symlink":                  # the folder a link to the user's own folder
        folder.symlink_to(victim.parent, target_is_directory=True)
        why = "not a folder"
    elif plant == "file":
        folder.write_text("")
        why = "not a folder"
    else:                                   # another user made it first
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        folder.mkdir(mode=0o777)
        os.chown(folder, NOBODY, NOBODY)
        why = f"belongs to uid {NOBODY}"
    with pytest.raises(ClaimFolderError) as excinfo:
        claim_port(PORT, "worker gw0, arm a1")
    assert_one_line(excinfo.value, str(folder), why)
    assert victim.read_text() == "the user's own file\n"
    assert sorted(p.name for p in victim.parent.iterdir()) == ["tmp", "victim.txt"]


def test_a_claims_folder_of_the_users_with_a_wide_mode_is_narrowed(shared_tmp):
    folder = claims_dir()
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    claim_port(PORT, "worker gw0, arm a1").release()
    assert folder.stat().st_mode & 0o777 == 0o700


def test_port_names_and_test_ids():
    # one serial server under every name: scheme, host case, loopback names and addresses
    assert port_key("rfc2217://Host:5?ign_set_control") == port_key("socket://host:5")
    assert port_key("socket://localhost:4001") == port_key("socket://127.0.0.1:4001") \
        == port_key("socket://[::1]:4001")
    assert port_key("socket://10.0.0.2:4001") != port_key("socket://10.0.0.3:4001")
    for url, why in (("socket://localhost:0", "1..65535"), ("socket://localhost:99999", "1..65535"),
                     ("socket://localhost:x", "1..65535"), ("http://h:1", "must be socket://")):
        with pytest.raises(So101ConfigError, match=re.escape(why)):
            check_port(url, source="--so101-port")
    with pytest.raises(So101ConfigError, match=r"/etc/hostname'.* not a serial device"):
        check_device("/etc/hostname", source="--so101-port")
    assert check_port("/dev/ttyACM0", source="x") == "/dev/ttyACM0"
    assert strip_arm("s.py::t[a-1-shoulder_pan]", "a-1") == "s.py::t[shoulder_pan]"
    assert strip_arm("s.py::t[a-1]", "a-1") == "s.py::t"


# -- the plugin ------------------------------------------------------------------------

def _usage_error(result, *parts: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    err = result.stderr.str()
    lines = [line for line in err.splitlines() if "pytest-so101" in line]
    assert len(lines) == 1, err
    assert_one_line(lines[0], *parts)
    assert "Traceback" not in err + result.stdout.str()


@pytest.mark.parametrize(("extra", "parts"), [
    (["-n", "3"], ["arms.toml", "'-n 3'", "more workers than arms", "use -n 2 or fewer"]),
    (["--so101-port", "/dev/null"], ["--so101-port", "each arm names its port"]),
    (["--so101-calibration", str(EXAMPLE_CALIBRATION)], ["each arm names its calibration"]),
    (["--so101-twin-fault", "elbow_flex:mirror"], ["--so101-twin-fault", "real arms"]),
    (["-n", "2", "--dist", "loadscope"], ["--dist loadscope", "--dist each"]),
    (["--so101-leader-port", "socket://localhost:4010"], ["--so101-leader-port",
                                                          "the workers would read it at once"]),
    (["--so101-leader-calibration", str(EXAMPLE_CALIBRATION)], ["--so101-leader-calibration",
                                                                "one follower"]),
    (["--so101-dataset", "fixtures/datasets/healthy"], ["--so101-dataset", "checked once"]),
], ids=["more-workers-than-arms", "port", "calibration", "twin-fault", "dist", "leader-port",
        "leader-calibration", "dataset"])
def test_a_fleet_run_refuses_what_cannot_go_with_it_in_one_line(run, tmp_path, extra, parts):
    _usage_error(run("--so101-arms", str(arms_file(tmp_path, GOOD)), *extra), *parts)


def test_a_malformed_arms_file_stops_the_run_with_one_line(run, tmp_path):
    path = arms_file(tmp_path, "[arms.a1]\nport = 'socket://h:1'\ncalibration = 'cal1.json'\n"
                     "mapping = \"" + str(tmp_path / "nope.toml") + "\"\n")
    _usage_error(run("--so101-arms", str(path)), "arms.toml", "arm a1", "mapping", "nope.toml")
    (tmp_path / "bad.toml").write_text("[arms.a1\n")
    _usage_error(run("--so101-arms", str(tmp_path / "bad.toml")), "bad.toml", "not valid TOML")
    (tmp_path / "loop").symlink_to("loop")                  # was an INTERNALERROR
    path.write_text("[arms.a1]\nport = 'socket://h:1'\ncalibration = 'loop'\n"
                    "mapping = 'loop'\n")
    _usage_error(run("--so101-arms", str(path)), "arms.toml", "arm a1", "mapping = 'loop'",
                 "symlink loop")


MOTION_LOG = """
import json, os
import pytest

@pytest.mark.so101_motion
def test_nudge_the_wrist(so101_arm, so101_context, so101_bus):
    goal = so101_arm.read_ticks()
    cal = so101_context.calibration       # wrist_flex (its direction checked at rest: it
    middle = (cal.range_min[3] + cal.range_max[3]) / 2    # rests on a stop), 60 ticks
    goal[3] += 60 if goal[3] < middle else -60             # away from its stop
    with so101_arm.motion():
        so101_arm.move_ticks(goal)
    with open(os.environ["MOVES"], "a") as fh:
        fh.write(json.dumps({"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                             "arm": so101_context.arm_id, "port": so101_bus.port}) + "\\n")
"""


def test_arms_one_after_another_without_xdist_each_failing_on_its_own(run, pytester,
                                                                      tmp_path):
    """Without -n one process takes the arms in turn; an arm nobody answers on fails
    alone, named, and the others are still tried."""
    pytester.makepyfile(test_bus="def test_bus(so101_bus):\n    pass\n")
    result = run("--so101-arms", str(arms_file(tmp_path, GOOD)),
                 "--so101-report", str(tmp_path / "reports"))
    result.stdout.fnmatch_lines(["*so101: fleet*2 real arms (read-only)*", "*main: a1, a2*",
                                 "*socket://127.0.0.1:4001: cannot connect: connection refused*",
                                 "*rfc2217://127.0.0.1:4002?ign_set_control: cannot connect*",
                                 "a1 * FAIL *", "a2 * FAIL *", "*0 of 2 arms passed*"])
    summary = json.loads((tmp_path / "reports/so101-fleet.json").read_text())
    assert summary["workers"] == {"main": ["a1", "a2"]}
    assert [a["arm_id"] for a in summary["arms"]] == ["a1", "a2"]


def test_an_arm_claimed_by_another_process_is_refused(run, pytester, tmp_path):
    pytester.makepyfile(test_bus="def test_bus(so101_bus):\n    pass\n")
    path = arms_file(tmp_path, GOOD)
    with claim_port("socket://127.0.0.1:4001", "another run on the lab's arms"):
        result = run("--so101-arms", str(path), "--so101-report", str(tmp_path / "r"))
    result.stdout.fnmatch_lines(["*arm a1: socket://127.0.0.1:4001: already claimed by pid * "
                                 "(another run on the lab's arms)*"])


@pytest.fixture(scope="module")
def twin_fleet(tmp_path_factory):
    """Four emulated arms on TCP, folded at rest, each calibrated by its own scripted
    procedure; arm-3's shoulder horn re-seated a tooth after calibrating."""
    folder = tmp_path_factory.mktemp("fleet")
    emulators = {}
    for k in range(1, 5):
        arm_id = f"arm-{k}"
        fault = ["--twin-fault", "shoulder_lift:reseat"] if arm_id == FAULTY else []
        emulators[arm_id] = EmulatorProcess("--tcp", "127.0.0.1:0", "--start", "rest",
                                            "--calibration-out", str(folder / f"{arm_id}.json"),
                                            *fault, startup_timeout_s=60)
    start_all(list(emulators.values()))
    arms = [FleetArm(arm_id, emu.port, str(folder / f"{arm_id}.json"))
            for arm_id, emu in emulators.items()]
    (folder / "arms.toml").write_text(f'[defaults]\nmapping = "{MAPPING}"\n\n' +
                                      arms_toml(arms))
    yield folder, emulators
    for emulator in emulators.values():
        assert emulator.stop() == 0


def test_four_arms_two_workers_the_faulty_arm_is_named_and_motion_stays_home(
        run, pytester, twin_fleet, tmp_path):
    folder, emulators = twin_fleet
    pytester.makepyfile(test_motion_log=MOTION_LOG)
    moves = tmp_path / "moves.jsonl"
    reports = tmp_path / "reports"
    result = run(str(SUITES / "test_rest_pose.py"), "test_motion_log.py", "-n", "2",
                 "--so101-arms", str(folder / "arms.toml"), "--allow-motion",
                 "--so101-report", str(reports), MOVES=str(moves))
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out
    result.stdout.fnmatch_lines([
        "*so101:   gw0: arm-1, arm-3*", "*so101:   gw1: arm-2, arm-4*",
        "*so101 fleet summary*",
        "arm-1 * PASS *", "arm-2 * PASS *",
        "arm-3 * FAIL * shoulder_lift: rest reading vs mapped rest pose*",
        "arm-4 * PASS *", "*3 of 4 arms passed*"])
    assert "re-seated 1 spline tooth" in out
    summary = json.loads((reports / "so101-fleet.json").read_text())
    verdicts = {a["arm_id"]: (a["passed"], a["failing_joints"]) for a in summary["arms"]}
    assert verdicts == {"arm-1": (True, []), "arm-2": (True, []),
                        "arm-3": (False, ["shoulder_lift"]), "arm-4": (True, [])}
    assert summary["suites"] == ["rest_pose", "motion_log"]
    for arm_id, emulator in emulators.items():
        record = json.loads((reports / "arms" / arm_id / "so101-record.json").read_text())
        assert record["provenance"]["arm_id"] == arm_id
        assert record["provenance"]["port"] == emulator.port
        assert all(f"[{arm_id}" not in t["nodeid"] for t in record["tests"])
        assert "<!DOCTYPE html>" in (reports / "arms" / arm_id / "so101-report.html").read_text()
        assert emulator.state()[1]["torque"] == 0                 # every arm left torque off
        assert emulator.command(cmd="state")["clients"] == 1      # one owner ever connected
    dealt = summary["workers"]
    logged = [json.loads(line) for line in moves.read_text().splitlines()]
    assert sorted(m["arm"] for m in logged) == sorted(emulators)  # every arm moved once...
    for move in logged:                                          # ...by its owner, on its port
        assert move["arm"] in dealt[move["worker"]]
        assert move["port"] == emulators[move["arm"]].port
    fleet_page = (reports / "so101-fleet.html").read_text()
    assert "arms/arm-3/so101-report.html" in fleet_page and "shoulder_lift" in fleet_page
