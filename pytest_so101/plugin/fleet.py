"""The fleet's pytest side (``--so101-arms``): the arms dealt to pytest-xdist workers,
the suites run once per arm, each arm's port claimed by the process that runs it, and
torque off on the arms of a worker that died.

pytest-xdist distributes tests, not arms; here every worker gets every test
(``--dist each``: xdist's scheduler that sends each node its whole collection) and the
*session* is parametrized per arm: the ``so101_fleet_arm`` fixture, which
``so101_context`` and so every arm fixture depends on, takes the worker's arms as
session-scoped parameters. pytest then runs all of one arm's tests, tears the arm's
fixtures down (bus closed, torque off, port released) and sets them up for the next arm:
a worker owns one arm at a time, and only arms the controller dealt it (in
``workerinput``, :func:`pytest_so101.core.arms.assign_arms`).
"""

from __future__ import annotations

import json
import sys

import pytest

from ..core.errors import config_error
from .stash import ARM_PROPERTY

ARM_FIXTURE = "so101_fleet_arm"
WORKERINPUT_KEY = "so101_arms"
MAIN = "main"            # the one process of a run without pytest-xdist
#: Options a fleet run takes from each arm, not from the command line.
PER_ARM = {"port": "each arm names its port in the arms file",
           "calibration": "each arm names its calibration in the arms file",
           "twin_fault": "the arms are real arms (the hardware path); twin faults go with the "
                         "twin alone",
           "twin_arm": "the arms are real arms (the hardware path); --so101-twin-arm goes "
                       "with the twin alone",
           "guided": "a person at the terminal cannot guide several arms at once",
           "leader_port": "a leader is one arm on one bus: the workers would read it at once; "
                          "run the teleoperation suite per pair, without --so101-arms",
           "leader_calibration": "a leader pairs with one follower; run the teleoperation "
                                 "suite per pair, without --so101-arms",
           "leader_twin_fault": "the arms are real arms (the hardware path); twin faults go "
                                "with the twin alone",
           "dataset": "a dataset is checked once, not on every arm: run suites/test_dataset.py "
                      "(or so101-diagnose --dataset) without --so101-arms"}


def arm_of(item: pytest.Item) -> str | None:
    """The fleet arm a collected test runs on (None outside a fleet run)."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get(ARM_FIXTURE) if callspec is not None else None


def strip_arm(nodeid: str, arm_id: str) -> str:
    """The test id without the arm's parameter: what a run on that arm alone would call
    it (``test_x[lab-01-shoulder_pan]`` -> ``test_x[shoulder_pan]``)."""
    head, bracket, params = nodeid.partition("[")
    if not bracket:
        return nodeid
    if params == f"{arm_id}]":
        return head
    return f"{head}[{params.removeprefix(arm_id + '-')}"


def xdist_workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this run starts (0: no xdist)."""
    if getattr(config.option, "dist", "no") == "no" or not getattr(config.option, "tx", None):
        return 0
    from xdist.workermanage import parse_tx_spec_config

    return len(parse_tx_spec_config(config))


def configure_fleet(config: pytest.Config, settings: dict):
    """Load and check the arms file and deal the arms: on the controller (or the one
    process) to the workers, on a worker from its ``workerinput``. Returns the
    :class:`~pytest_so101.plugin.context.FleetRun` and the run's settings (the hardware path)."""
    from ..bus.ports import check_device
    from ..core.arms import assign_arms, load_fleet
    from ..core.port_names import is_url
    from .context import FleetRun, load_arm_context
    from .options import Setting

    source = str(settings["arms"].value)
    for name, why in PER_ARM.items():
        if settings[name].origin != "default" and settings[name].value not in (None, False):
            raise config_error(f"cannot go with --so101-arms: {why}",
                               source=settings[name].origin, value=settings[name].value)
    fleet = load_fleet(source)
    for arm in fleet.arms:
        if not is_url(arm.port):
            check_device(arm.port, source=source, joint=arm.where, field="port")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        mine = tuple(workerinput.get(WORKERINPUT_KEY) or ())
        if not mine or not set(mine) <= set(fleet.ids):
            raise config_error(f"worker {workerinput.get('workerid')} was dealt no arm of "
                               f"this file ({list(mine)})", source=source)
        workers = {workerinput["workerid"]: list(mine)}
    else:
        count = xdist_workers(config)
        if count:
            dist = config.option.dist
            if dist not in ("load", "each"):      # load: xdist's default with -n
                raise config_error("a fleet run deals whole arms to workers (xdist's "
                                   "--dist each); drop --dist", source=f"--dist {dist}",
                                   value=dist)
            config.option.dist = "each"
            config.option.maxworkerrestart = "0"  # a dead worker's arms are not re-dealt
            shares = assign_arms(fleet.ids, count, source=source)
            workers = {f"gw{k}": share for k, share in enumerate(shares)}
            mine = ()
        else:
            workers, mine = {MAIN: list(fleet.ids)}, fleet.ids
    chosen = dict(settings)
    chosen["hardware"] = Setting(True, f"--so101-arms {source}")
    wanted = set(mine) if workerinput is not None else set(fleet.ids)
    contexts = {arm.arm_id: load_arm_context(settings, arm, source) for arm in fleet.arms
                if arm.arm_id in wanted}
    return FleetRun(fleet, workers, mine, contexts), chosen


def header_lines(run, settings: dict) -> list[str]:
    """The pytest header of a fleet run: the arms file, each worker's arms in turn, and
    each arm's port and calibration."""
    motion = "motion allowed" if settings["allow_motion"].value else "read-only"
    lines = [f"so101: fleet {run.fleet.source}: {len(run.fleet.arms)} real arms ({motion}), "
             "each owned by one process, one arm at a time:"]
    lines += [f"so101:   {worker}: {', '.join(arms)}" for worker, arms in run.workers.items()]
    for arm in run.fleet.arms:
        lines.append(f"so101:   arm {arm.arm_id} on {arm.port}, calibration {arm.calibration}")
    return lines


class FleetPlugin:
    """Hooks of a fleet run (registered by the so101 plugin with ``--so101-arms``)."""

    def __init__(self, run, worker: str) -> None:
        from . import interrupts

        self.run = run
        self.worker = worker
        self.worker_pids: dict[str, int] = {}     # controller: gateway id -> worker's pid
        interrupts.install()             # Ctrl-C counted from the start, passed on to workers

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Under xdist, import now what the terminal summary would import at the end:
        hypothesis's plugin imports hypothesis there (0.7 s). After a Ctrl-C each worker
        paid it once its arm was safe, then the controller after the workers; the
        controller does it while its workers start, a worker before its first arm."""
        if self.worker == MAIN and not xdist_workers(session.config):
            return
        if session.config.pluginmanager.has_plugin("hypothesispytest"):
            import hypothesis.internal.observability  # noqa: F401

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_newgateway(self, gateway) -> None:
        """Controller: a Ctrl-C sent to the controller alone reaches this worker too (it
        would move its arm on for 5 s, until execnet interrupts it)."""
        from . import interrupts

        try:
            pid = gateway._rinfo().pid        # what xdist itself shows with -v
        except Exception as exc:             # an execnet without it: say so, run on
            print(f"so101: cannot learn worker {gateway.id}'s pid ({exc}): a Ctrl-C sent "
                  "to the controller alone will not reach it", file=sys.stderr)
            return
        self.worker_pids[gateway.id] = pid
        interrupts.forward_to(pid)

    @pytest.hookimpl(tryfirst=True)      # the arm first in the test id: [arm-joint]
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if ARM_FIXTURE in metafunc.fixturenames:
            metafunc.parametrize(ARM_FIXTURE, list(self.run.mine), indirect=True,
                                 scope="session", ids=list(self.run.mine))

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            arm = arm_of(item)
            if arm is not None:
                suite = item.path.stem.removeprefix("test_")
                item.user_properties.append((ARM_PROPERTY, json.dumps(
                    {"arm": arm, "worker": self.worker, "suite": suite})))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        """Controller: tell each worker its arms before it starts."""
        node.workerinput[WORKERINPUT_KEY] = self.run.workers.get(node.gateway.id, [])

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """Controller: a worker that ended gets no Ctrl-C passed on any more (its pid may
        go to another process). One that died may have left an arm with torque on; its
        arms have no owner now, so the controller switches their torque off."""
        from . import interrupts

        pid = self.worker_pids.pop(node.gateway.id, None)
        if pid is not None:
            interrupts.forward_to(pid, forward=False)
        if not error:
            return
        for arm_id in self.run.workers.get(node.gateway.id, []):
            arm = self.run.fleet.arm(arm_id)
            print(f"so101: worker {node.gateway.id} died; {torque_off(arm.port, arm_id)}",
                  file=sys.stderr)


def torque_off(port: str, arm_id: str) -> str:
    """Claim the arm, switch torque off on every servo, say what happened (one line)."""
    from ..bus.feetech import BusError, FeetechBus
    from ..bus.ports import ClaimError, claim_port

    try:
        with claim_port(port, f"the controller, torque off on arm {arm_id}"), \
                FeetechBus(port, retries=1) as bus:
            unconfirmed = bus.disable_torque()
    except (BusError, ClaimError) as exc:
        return f"arm {arm_id}: torque off failed: {exc}; switch the arm's power off"
    if unconfirmed:
        return (f"arm {arm_id}: torque could not be confirmed off on {', '.join(unconfirmed)}; "
                "switch the arm's power off")
    return f"arm {arm_id} ({port}): torque switched off"
