"""The pytest plugin: options and their ini twins, markers, hooks and the report header;
the fixtures live in :mod:`pytest_so101.plugin.fixtures`.

Thin by design: parsing, loading and checking live in the core modules, which work
without pytest. Loading the plugin imports only the standard library; the user's files
are loaded (and validated, stopping the run with one line on a problem) only when an
option names them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..core.errors import So101ConfigError
from ..core.measurement import POSE_PROPERTY, USER_PROPERTY
from .fixtures import (  # noqa: F401  (pytest finds the fixtures on the plugin module)
    so101_arm,
    so101_arm_at_rest,
    so101_arm_presence,
    so101_baseline,
    so101_bus,
    so101_calibration,
    so101_check,
    so101_configuration,
    so101_context,
    so101_dataset_checks,
    so101_emulator,
    so101_fleet_arm,
    so101_histogram,
    so101_inputs,
    so101_joint_limits,
    so101_leader,
    so101_mapping,
    so101_observer,
    so101_picture,
    so101_rest_pose,
    so101_sim,
    so101_stats,
    so101_tolerances,
    so101_tracking_deg,
    so101_twin,
)
from .options import OPTIONS, VALUE_FLAGS, resolve_settings
from .stash import (
    ARM_LEFT_KEY,
    ARM_PROPERTY,
    BASELINE_PROPERTY,
    CHECK_PROPERTY,
    CONTEXT_KEY,
    FLEET_KEY,
    FROZEN_KEY,
    MEASUREMENTS_KEY,
    REPORTER_KEY,
    SETTINGS_KEY,
    context_of,
    frozen_joints,
    in_the_suites,
)

#: The library's errors a test meets on an arm: they say what happened in one line.
ARM_ERRORS = ("MotionRefusedError", "SafetyError", "BusError")
FILE_OPTIONS = ("calibration", "stats", "mapping", "leader_calibration", "dataset")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("so101", "SO-101 arm / sim / policy validation (pytest-so101)")
    for spec in OPTIONS:
        env = f" [env {spec.env}]" if spec.env else ""
        default = f" (default {spec.default})" if spec.default not in (None, False) else ""
        if spec.kind == "bool":
            group.addoption(spec.flag, action="store_true", default=None, dest=spec.dest,
                            help=f"{spec.help}{env}")
        else:
            group.addoption(spec.flag, default=None, dest=spec.dest, metavar=spec.value_name,
                            help=f"{spec.help}{default}{env}")
        parser.addini(spec.ini, f"ini twin of {spec.flag}", default="")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """``--so101-port /dev/ttyACM0`` (and every so101 option's value written as the next
    argument) is not a test path: pytest's rootdir, ini file and cache stay where they
    belong (rootdir.py)."""
    if VALUE_FLAGS.isdisjoint(args):
        return                          # (rootdir.py is loaded only when it has work)
    from .rootdir import correct_rootdir

    correct_rootdir(early_config, args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    from . import interrupts

    interrupts.run_begins()
    config.addinivalue_line("markers", "so101_hardware: needs a real arm (skipped without "
                            "--hardware)")
    config.addinivalue_line("markers", "so101_motion: moves the arm (on hardware, skipped "
                            "without --allow-motion)")
    config.addinivalue_line("markers", "so101_at_rest: needs the arm resting as the user left "
                            "it; runs before every other test")
    config.addinivalue_line("markers", "so101_leader: checks the leader arm of a pair (on the "
                            "twin a failure does not hold the follower's joints)")
    config.addinivalue_line("markers", "so101_guided: a person moves the arm when asked "
                            "(skipped without --so101-guided)")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_StripMeasurements(), "so101-strip-measurements")
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    try:
        settings = resolve_settings(
            {spec.name: config.getoption(spec.dest) for spec in OPTIONS},
            {spec.name: config.getini(spec.ini) for spec in OPTIONS},
            cwd=Path(config.invocation_params.dir), ini_dir=Path(ini_dir))
        config.stash[FROZEN_KEY] = {}
        if settings["arms"].value:
            settings = _configure_fleet(config, settings)
        else:
            _validate_arm_options(settings, config)
        config.stash[SETTINGS_KEY] = settings
        if any(settings[name].value is not None for name in FILE_OPTIONS):
            from .context import load_context

            config.stash[CONTEXT_KEY] = load_context(settings)
        if settings["mjcf"].value:
            _validate_model(config, settings)
    except So101ConfigError as exc:
        raise pytest.UsageError(f"pytest-so101: {exc}") from None
    if CONTEXT_KEY in config.stash or settings["hardware"].value:
        _start_reporting(config, Path(str(settings["report"].value)))


def _configure_fleet(config: pytest.Config, settings: dict) -> dict:
    """``--so101-arms``: the arms file checked, the arms dealt (fleet_plugin.py); returns
    the run's settings (the hardware path)."""
    from .fleet import MAIN, FleetPlugin, configure_fleet

    run, settings = configure_fleet(config, settings)
    config.stash[FLEET_KEY] = run
    worker = config.workerinput["workerid"] if hasattr(config, "workerinput") else MAIN
    config.pluginmanager.register(FleetPlugin(run, worker), "so101-fleet")
    return settings


def _validate_arm_options(settings: dict, config: pytest.Config) -> None:
    """The arm's options, checked before collection so a typo is one line, not a setup
    error per test: the port exists (or is a pyserial URL) and has one process on it, the
    report folder can be one, the twin's faults and arm file parse and go together."""
    from ..core.errors import config_error

    report = Path(str(settings["report"].value))
    if report.exists() and not report.is_dir():
        raise config_error("is a file, not a folder for the reports",
                           source=settings["report"].origin, value=str(report))
    if settings["hardware"].value:
        from ..bus.ports import check_device
        from ..core.port_names import check_port, is_url

        port = check_port(str(settings["port"].value), source=settings["port"].origin)
        if not is_url(port):
            check_device(port, source=settings["port"].origin)
        workers = getattr(config.option, "numprocesses", None)
        if workers not in (None, 0) or hasattr(config, "workerinput"):
            raise config_error("one arm, one process: pytest -n would have several processes "
                               "talk on the same serial port at once; run without -n, or "
                               "give each worker its own arms with --so101-arms FILE.toml",
                               source="--hardware", value=f"-n {workers}")
        return
    if settings["leader_twin_fault"].value:
        from ..bus.twin_fault import TwinFault

        TwinFault.parse_list(str(settings["leader_twin_fault"].value),
                             source=settings["leader_twin_fault"].origin)
    if settings["twin_fault"].value:
        from ..bus.twin_fault import TwinFault

        faults = TwinFault.parse_list(str(settings["twin_fault"].value),
                                      source=settings["twin_fault"].origin)
        if settings["twin_arm"].value and any(f.kind == "homing" for f in faults):
            raise config_error("a homing fault happens while the twin calibrates itself; "
                               "it cannot go with --so101-twin-arm (an arm already "
                               "calibrated)", source=settings["twin_fault"].origin,
                               value=settings["twin_fault"].value)
    if settings["twin_arm"].value:
        from ..core.calibration import load_calibration

        load_calibration(str(settings["twin_arm"].value))


def _validate_model(config: pytest.Config, settings: dict) -> None:
    """``--so101-mjcf`` loads, with the joints the mapping names (one line, not an error
    per test)."""
    from ..sim.model import SimModel

    mapping = context_of(config).mapping
    SimModel(str(settings["mjcf"].value), *([mapping.sim_joint_names] if mapping else []))


def _start_reporting(config: pytest.Config, report_dir: Path) -> None:
    """A run that checks an arm reports: HTML (self-contained, unless --html says where),
    the JSON acceptance record, the per-joint terminal summary, baselines.

    pytest-html writes the page chosen here into a temporary folder; the reporter puts it
    in place, atomically, only when a check ran (never a green page of nothing, and the
    page and the record always describe the same run)."""
    from .reporter import PAGE_NAME, So101Reporter

    page = None
    if getattr(config.option, "htmlpath", "unset") is None and \
            not hasattr(config, "workerinput"):
        import shutil
        import tempfile

        from . import interrupts

        written = Path(tempfile.mkdtemp(prefix="so101-report-")) / PAGE_NAME
        interrupts.clean_on_hard_exit(lambda: shutil.rmtree(written.parent, True))
        page = (written, report_dir / PAGE_NAME)
        config.option.htmlpath = str(written)
        config.option.self_contained_html = True
        _collapse_the_html_table(config)
    reporter = So101Reporter(config, report_dir, page)
    config.stash[REPORTER_KEY] = reporter
    config.pluginmanager.register(reporter, "so101-reporter")


def _collapse_the_html_table(config: pytest.Config) -> None:
    """pytest-html's own table below the overview starts collapsed (the overview has the
    measurements), unless the user's ini says otherwise (``render_collapsed``)."""
    given = getattr(config, "_inicfg", None)                # pytest >= 9; before: inicfg
    if given is None:
        given = getattr(config, "inicfg", {})
    try:
        if "render_collapsed" not in given:
            config._inicache["render_collapsed"] = "all"     # read by pytest-html later
    except (AttributeError, TypeError):                      # another pytest: keep its own
        pass


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS_KEY, None)
    if FLEET_KEY in config.stash:
        from .fleet import header_lines as fleet_lines

        return fleet_lines(config.stash[FLEET_KEY], settings)
    if settings is None or not (settings["hardware"].value or CONTEXT_KEY in config.stash):
        return []
    from .header import header_lines

    return header_lines(context_of(config))


#: Said when one test holds the emulated arm of its own and the user's calibration.
TWO_ARMS = ("so101_bus is the emulated arm of its own (calibrated by its own procedure), "
            "so101_calibration is {source}: they describe two different arms, and comparing "
            "them proves nothing. Convert the bus's readings with so101_bus.read_calibration(), "
            "or run with --so101-twin-arm {source} (an emulated arm built from your file: its "
            "readings prove your code, not the file), or --hardware on your arm")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that uses both the emulated arm of its own and the user's calibration is told
    they are two arms (it once passed comparing them by coincidence)."""
    names = set(getattr(item, "fixturenames", ()))
    if not {"so101_bus", "so101_calibration"} <= names or FLEET_KEY in item.config.stash or \
            in_the_suites(item):                    # the suites skip arm-side checks, saying so
        return
    settings = item.config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings["hardware"].value or settings["twin_arm"].value or \
            not settings["calibration"].value:
        return
    calibration = context_of(item.config).calibration
    if calibration is not None:
        item.warn(pytest.PytestWarning(TWO_ARMS.format(source=calibration.source)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order: the arm as the user left it first (at rest), then read-only tests, then
    motion (so a joint that failed a read-only check is known before anything moves).
    Skip hardware tests without --hardware, motion on hardware without --allow-motion,
    guided tests without --so101-guided."""
    settings = config.stash[SETTINGS_KEY]
    on_hardware = bool(settings["hardware"].value)
    no_arm = pytest.mark.skip(reason="needs a real arm: run with --hardware --so101-port PATH")
    no_motion = pytest.mark.skip(
        reason="moves the arm: pass --allow-motion to permit motion on hardware")
    no_guide = pytest.mark.skip(reason="a person moves the arm when asked: pass "
                                "--so101-guided (on the twin a scripted operator does it)")
    rank = _arm_rank(config)
    items.sort(key=lambda item: (rank(item),
                                 item.get_closest_marker("so101_at_rest") is None,
                                 item.get_closest_marker("so101_motion") is not None))
    for item in items:
        if item.get_closest_marker("so101_hardware") and not on_hardware:
            item.add_marker(no_arm)
        elif item.get_closest_marker("so101_motion") and on_hardware and \
                not settings["allow_motion"].value:
            item.add_marker(no_motion)
        elif item.get_closest_marker("so101_guided") and not settings["guided"].value:
            item.add_marker(no_guide)


def _arm_rank(config: pytest.Config):
    """A fleet run goes arm by arm, in the order the process owns them (0 otherwise)."""
    run = config.stash.get(FLEET_KEY, None)
    if run is None:
        return lambda item: 0
    from .fleet import arm_of

    order = {arm: k for k, arm in enumerate(run.mine)}
    return lambda item: order.get(arm_of(item), -1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A read-only test that failed freezes the joints it failed on (all six when it names
    none but used the arm): later motion tests do not move them. On the twin a check of
    the leader arm (``so101_leader``) freezes nothing, so that teleoperation measures the
    pair's disagreement; on a real arm it holds the follower's joint as any failure does
    (teleoperated, the follower would go where the leader's wrong number puts it)."""
    report = yield
    if report.when == "setup" and \
            any(name.startswith("so101_") for name in getattr(item, "fixturenames", ())):
        report.user_properties.append((CHECK_PROPERTY, "1"))     # a check (reporter.py)
    error = call.excinfo
    if report.failed and error is not None and error.type.__name__ in ARM_ERRORS and \
            error.type.__module__.startswith("pytest_so101."):
        # the arm refused or the bus failed: one line naming the joint or servo, not a
        # traceback through the library
        report.longrepr = f"pytest-so101: {error.type.__name__}: {error.value}"
    settings = item.config.stash.get(SETTINGS_KEY, {})
    on_hardware = FLEET_KEY in item.config.stash or \
        bool(settings and settings["hardware"].value)
    leader_on_twin = item.get_closest_marker("so101_leader") is not None and not on_hardware
    if report.when == "call" and report.failed and not leader_on_twin and \
            item.get_closest_marker("so101_motion") is None:
        from ..core.joints import MOTOR_NAMES

        joints = {m.joint for m in item.stash.get(MEASUREMENTS_KEY, []) if not m.passed}
        why = f"its read-only checks failed in this run ({item.nodeid})"
        whole = "all" in joints or (not joints and bool({"so101_bus", "so101_arm"} &
                                                         set(getattr(item, "fixturenames", ()))))
        if whole:
            # the arm as a whole failed (not folded, another arm's calibration), or a test
            # of the arm failed naming no joint: nothing moves
            joints = set(MOTOR_NAMES)
            why = f"the arm as a whole failed a read-only check ({item.nodeid}): nothing moves"
        arm = None
        if FLEET_KEY in item.config.stash:
            from .fleet import arm_of

            arm = arm_of(item)
        frozen = frozen_joints(item.config, arm)
        for joint in joints & set(MOTOR_NAMES):
            if whole:                # the arm's failure is the root of a joint's own
                frozen[joint] = why
            else:
                frozen.setdefault(joint, why)
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Where a motion run left each arm (back at its rest pose, or where)."""
    for arm, note in config.stash.get(ARM_LEFT_KEY, {}).items():
        terminalreporter.write_line(f"so101: {f'arm {arm}: ' if arm else ''}{note}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The tests are over: a Ctrl-C now lets the reports finish (interrupts.py)."""
    from . import interrupts

    interrupts.reports_begin()


@pytest.hookimpl(trylast=True, specname="pytest_sessionfinish")
def pytest_sessionfinish_reports_written(session: pytest.Session) -> None:
    from . import interrupts

    interrupts.reports_written()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over and reported: a Ctrl-C now lets pytest finish cleaning up."""
    from . import interrupts

    interrupts.cleanup_begins()


@pytest.hookimpl(trylast=True, specname="pytest_unconfigure")
def pytest_unconfigure_done(config: pytest.Config) -> None:
    from . import interrupts

    interrupts.run_ends()


class _StripMeasurements:
    """Takes the measurements out of ``user_properties`` once the reporter (registered
    later, so called earlier) has them: JUnit testcases carry none (xunit2-safe). Not on
    xdist workers: their reports carry the measurements to the controller."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        report.user_properties[:] = [p for p in report.user_properties
                                     if p[0] not in (USER_PROPERTY, POSE_PROPERTY, ARM_PROPERTY,
                                                     CHECK_PROPERTY, BASELINE_PROPERTY)]
