"""A fleet: many arms, each on its own port with its own calibration (the arms file), and
which process runs which arm.

The arms file (TOML) names each arm once, by an id that becomes its report folder::

    [defaults]                       # optional: for every arm that names none
    mapping = "so101_mapping.toml"
    stats = "pretrained_model"

    [arms.lab-01]
    port = "/dev/ttyACM0"                      # or socket://HOST:PORT, rfc2217://HOST:PORT
    calibration = "calibration/lab-01.json"    # a path (relative to this file) or an arm id
    mapping = "lab-01_mapping.toml"            # optional, as stats and stats_dataset

Arms are dealt to processes in turn (:func:`assign_arms`): with ``pytest -n N`` worker
``gwK`` owns arms K, K + N, K + 2N... and runs the suites on them one after the other;
without ``-n`` the one process owns them all. No pytest here: the plugin passes in what
it parsed. Every problem is one :class:`So101ConfigError` line naming the file, the arm,
the field and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import files
from .errors import config_error
from .port_names import check_port, is_url, port_key

#: What an arm's table may hold, and the ``[defaults]`` table.
ARM_KEYS = ("port", "calibration", "mapping", "stats", "stats_dataset")
DEFAULT_KEYS = ("mapping", "stats", "stats_dataset")
#: Paths among those (relative to the arms file); ``calibration`` may also be an arm id.
PATH_KEYS = ("mapping", "stats")
#: An arm id names a folder of the report: letters, digits, ``-``, ``_``, ``.`` (the whole
#: id: matched with ``fullmatch``, as ``$`` would also match before a final newline).
ARM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class FleetArm:
    """One arm of the arms file: where its bus is and which files describe it. Paths are
    absolute; ``calibration`` may be a LeRobot arm id (looked up as ``--so101-calibration``
    does)."""

    arm_id: str
    port: str
    calibration: str
    mapping: str | None = None
    stats: str | None = None
    stats_dataset: str | None = None

    @property
    def where(self) -> str:
        """``arm lab-01`` (how messages name it)."""
        return f"arm {self.arm_id}"


@dataclass(frozen=True)
class Fleet:
    """The arms of an arms file, in the file's order."""

    source: str
    arms: tuple[FleetArm, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(arm.arm_id for arm in self.arms)

    def arm(self, arm_id: str) -> FleetArm:
        for arm in self.arms:
            if arm.arm_id == arm_id:
                return arm
        raise config_error("no such arm in the arms file", source=self.source,
                           field="arm id", value=arm_id)


def _resolve(text: str, base: Path, *, source: str, where: str, field: str) -> str:
    """``text`` as an absolute path (relative to ``base``, ``~`` expanded, links followed);
    one line naming the arm and the field when it cannot be (a symlink loop...)."""
    try:
        return str((base / Path(text).expanduser()).resolve())
    except RuntimeError:                      # Python 3.11-3.12: "Symlink loop from ..."
        reason = "a symlink loop"
    except OSError as exc:                    # Python 3.13: ELOOP; a path too long...
        reason = exc.strerror or str(exc)
    raise config_error(f"cannot follow this path ({reason})", source=source, joint=where,
                       field=field, value=text)


def _no_nul(text: str, *, source: str, where: str | None, field: str) -> None:
    """A port, a path or a name never holds a NUL byte (no system call takes one)."""
    if "\0" in text:
        raise config_error("must not hold a NUL byte", source=source, joint=where,
                           field=field, value=text)


def _is_path(text: str) -> bool:
    """As ``--so101-calibration``: a path when it has a folder or ends in ``.json``."""
    return "/" in text or text.endswith(".json")


def _entry(source: str, arm_id: str, data: object, defaults: dict[str, str],
           base: Path) -> FleetArm:
    where = f"arm {arm_id}"
    if not ARM_ID.fullmatch(arm_id):
        raise config_error("an arm id must be 1 to 64 letters, digits, '-', '_' or '.', "
                           "not starting with a '-', '_' or '.' (it names the arm's report "
                           "folder)", source=source, field="arm id", value=arm_id)
    entry = files.table(data, source=source, field=f"[arms.{arm_id}]")
    for key, value in entry.items():
        if key not in ARM_KEYS:
            raise config_error(f"unknown field (an arm has {', '.join(ARM_KEYS)})",
                               source=source, joint=where, field=key, value=value)
    values = {**defaults}
    for key, value in entry.items():
        values[key] = files.string(value, source=source, joint=where, field=key)
        if not values[key].strip():
            raise config_error("must not be empty", source=source, joint=where, field=key,
                               value=value)
        _no_nul(values[key], source=source, where=where, field=key)
    for key in ("port", "calibration"):
        if key not in values:
            raise config_error(f"no {key}: every arm names its {key}", source=source,
                               joint=where, field=key)
    port = check_port(values["port"].strip(), source=source, joint=where, field="port")
    if not is_url(port) and not port.startswith("/"):
        port = _resolve(port, base, source=source, where=where, field="port")
    calibration = values["calibration"].strip()
    if _is_path(calibration):
        calibration = _resolve(calibration, base, source=source, where=where,
                               field="calibration")
        if not files.exists(calibration):
            raise config_error("calibration file missing", source=source, joint=where,
                               field="calibration", value=calibration)
    for key in PATH_KEYS:
        if key in values:
            values[key] = _resolve(values[key].strip(), base, source=source, where=where,
                                   field=key)
            if not files.exists(values[key]):
                raise config_error(f"{key} not found", source=source, joint=where, field=key,
                                   value=values[key])
    return FleetArm(arm_id, port, calibration, values.get("mapping"), values.get("stats"),
                    values.get("stats_dataset"))


def parse_fleet(data: dict, *, source: str, base: Path) -> Fleet:
    """Validate a decoded arms file (``base``: the folder relative paths start from)."""
    for key, value in data.items():
        if key not in ("arms", "defaults"):
            raise config_error("unknown table (an arms file has [arms.ID] tables and an "
                               "optional [defaults])", source=source, field=key, value=value)
    defaults = files.table(data.get("defaults", {}), source=source, field="[defaults]")
    checked: dict[str, str] = {}
    for key, value in defaults.items():
        if key not in DEFAULT_KEYS:
            raise config_error(f"unknown field in [defaults] (it may hold "
                               f"{', '.join(DEFAULT_KEYS)}; port and calibration are each "
                               "arm's own)", source=source, field=key, value=value)
        checked[key] = files.string(value, source=source, field=f"[defaults] {key}")
        _no_nul(checked[key], source=source, where=None, field=f"[defaults] {key}")
    if "arms" not in data:
        raise config_error("no arms: add one [arms.ID] table per arm, with its port and "
                           "calibration", source=source)
    arms_table = files.table(data["arms"], source=source, field="arms")
    if not arms_table:
        raise config_error("no arms: add one [arms.ID] table per arm, with its port and "
                           "calibration", source=source)
    arms = tuple(_entry(source, arm_id, entry, checked, base)
                 for arm_id, entry in arms_table.items())
    _refuse_shared(arms, source)
    return Fleet(source, arms)


def _refuse_shared(arms: tuple[FleetArm, ...], source: str) -> None:
    """Two arms on one port would be one arm claimed twice; two arms with one calibration
    file would be another arm's calibration on one of them."""
    for key, what in ((lambda a: port_key(a.port), "port"),
                      (lambda a: a.calibration, "calibration")):
        seen: dict[str, FleetArm] = {}
        for arm in arms:
            first = seen.setdefault(key(arm), arm)
            if first is not arm:
                value = arm.port if what == "port" else arm.calibration
                raise config_error(f"the same {what} as arm {first.arm_id}: each arm has its "
                                   f"own", source=source, joint=arm.where, field=what,
                                   value=value)


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate an arms file."""
    source = str(path)
    data = files.read_toml(path, "arms file")
    return parse_fleet(data, source=source, base=Path(source).resolve().parent)


def assign_arms(arm_ids: tuple[str, ...] | list[str], workers: int, *, source: str
                ) -> list[list[str]]:
    """Deal the arms to ``workers`` processes in turn: worker k owns arms k, k + n, ...
    Each arm goes to exactly one worker; more workers than arms is refused (a worker
    without an arm would run nothing, or be tempted to share one)."""
    if workers < 1:
        raise config_error("needs at least one worker", source=source, value=workers)
    if workers > len(arm_ids):
        raise config_error(f"more workers than arms: pytest -n {workers} for "
                           f"{len(arm_ids)} arm{'s' * (len(arm_ids) != 1)}; each worker owns "
                           f"at least one arm: use -n {len(arm_ids)} or fewer", source=source,
                           value=f"-n {workers}")
    shares: list[list[str]] = [[] for _ in range(workers)]
    for k, arm_id in enumerate(arm_ids):
        shares[k % workers].append(arm_id)
    owners: dict[str, int] = {}
    for worker, share in enumerate(shares):
        for arm_id in share:
            if owners.setdefault(arm_id, worker) != worker:
                raise config_error(f"arm {arm_id} claimed by workers gw{owners[arm_id]} and "
                                   f"gw{worker}", source=source)
    return shares


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def arms_toml(arms: list[FleetArm]) -> str:
    """An arms file for these arms (what a script that finds the arms, e.g. from labgrid
    places, writes for ``--so101-arms``)."""
    lines = []
    for arm in arms:
        lines.append(f"[arms.{arm.arm_id}]")
        for key in ARM_KEYS:
            value = getattr(arm, key)
            if value is not None:
                lines.append(f"{key} = {_toml_string(value)}")
        lines.append("")
    return "\n".join(lines)
