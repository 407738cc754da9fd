"""Run options: every option with its CLI flag, ini twin and env var, resolved with provenance.

Precedence is CLI > environment > ini > default, and every value remembers where it came
from so that an error can say so ("--so101-tolerance-deg = 'abc' ..."). No pytest here:
the plugin passes in what pytest parsed. Standard library only, so that loading the
plugin costs nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import config_error
from ..core.features import FEATURES


@dataclass(frozen=True)
class OptionSpec:
    """One setting: its CLI flag, ini name, env var, parser and help text."""

    name: str
    help: str
    kind: str = "str"  # str | path | path_or_id | float | bool
    default: object = None
    env: str | None = None
    short_flag: str | None = None  # the few flags without the so101- prefix
    metavar: str | None = None     # how --help names the value (default from the kind)

    @property
    def value_name(self) -> str:
        return self.metavar or {"path": "PATH", "path_or_id": "PATH_OR_ID",
                                "float": "NUMBER"}.get(self.kind, "VALUE")

    @property
    def flag(self) -> str:
        return self.short_flag or "--so101-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "so101_" + self.name

    @property
    def dest(self) -> str:
        return "so101_opt_" + self.name


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("hardware", "use the real arm on --so101-port (default: no hardware)",
               kind="bool", default=False, short_flag="--hardware"),
    OptionSpec("port", "serial port of the real arm, e.g. /dev/ttyACM0, or a pyserial URL "
               "(socket://HOST:PORT, rfc2217://HOST:PORT) (required with --hardware)",
               env="SO101_PORT", metavar="PATH_OR_URL"),
    OptionSpec("arms", "a fleet: the arms file (TOML: arm id -> port or pyserial URL, "
               "calibration, optional mapping and stats); every arm is a real arm (the "
               "--hardware path), one at a time per process; with pytest -n N each worker "
               "owns its share of the arms (docs/fleet.md)", kind="path", env="SO101_ARMS",
               metavar="FILE.toml"),
    OptionSpec("allow_motion", "permit tests that move a real arm (read-only without it)",
               kind="bool", default=False, short_flag="--allow-motion"),
    OptionSpec("calibration", "LeRobot calibration JSON, or an arm id looked up under "
               "HF_LEROBOT_CALIBRATION", kind="path_or_id", env="SO101_CALIBRATION"),
    OptionSpec("stats", "normalization stats: a policy folder, a .safetensors file, a dataset "
               "stats.json or a plain mean/std JSON", kind="path", env="SO101_STATS"),
    OptionSpec("stats_feature", f"which stats to check: {' or '.join(FEATURES)}",
               default="observation.state", metavar="FEATURE"),
    OptionSpec("stats_dataset", "dataset prefix of multi-dataset stats (e.g. so100)",
               metavar="NAME"),
    OptionSpec("arm_side", "which arm of two-arm (bimanual) stats or dataset to check: left "
               "or right (default: both, each checked on its own)", metavar="left|right"),
    OptionSpec("mapping", "the declared sim<->robot<->policy mapping TOML under test",
               kind="path", env="SO101_MAPPING"),
    OptionSpec("mjcf", "MuJoCo model (MJCF) of the arm; default the embedded SO-101",
               kind="path", env="SO101_MJCF"),
    OptionSpec("guided", "ask the person at the terminal to move named joints (torque off) "
               "and check each reading's direction; on the twin a scripted operator moves "
               "them", kind="bool", default=False),
    OptionSpec("twin_fault", "twin only: physical faults of the emulated arm, comma-separated "
               "JOINT:KIND[=N] with KIND reseat (spline teeth), mirror, stale (ticks), "
               "homing (deg held while homing), backlash (deg of gear play)",
               metavar="JOINT:KIND[=N],..."),
    OptionSpec("twin_arm", "twin only: the twin is the arm this calibration file describes "
               "(default: an arm of its own that calibrates itself), to check "
               "--so101-calibration against an arm", kind="path"),
    OptionSpec("leader_port", "serial port of the leader arm (teleoperation suite, with "
               "--hardware)", env="SO101_LEADER_PORT", metavar="PATH"),
    OptionSpec("leader_calibration", "the leader's LeRobot calibration JSON "
               "(teleoperators/so_leader/ID.json), or its id", kind="path_or_id",
               env="SO101_LEADER_CALIBRATION"),
    OptionSpec("leader_twin_fault", "twin only: physical faults of the emulated leader, as "
               "--so101-twin-fault (e.g. elbow_flex:stale=193, its zero 17 deg off)",
               metavar="JOINT:KIND[=N],..."),
    OptionSpec("dataset", "a recorded LeRobot dataset folder (meta/info.json, meta/stats.json, "
               "data/**/*.parquet) for the dataset suite", kind="path", env="SO101_DATASET",
               metavar="DIR"),
    OptionSpec("report", "folder for the HTML report, the acceptance record and baselines",
               kind="path", default="reports", metavar="DIR"),
    OptionSpec("accept", "store this run as the arm's next accepted baseline (only if it "
               "passed; earlier baselines are never overwritten)", kind="bool", default=False),
    OptionSpec("accept_changes", "after a real change (a recalibration): accept this run as "
               "the arm's next baseline although the baseline comparisons found changes; "
               "only those may fail, and the record lists them as acknowledged, with the "
               "previous baseline's file and hash", kind="bool", default=False),
    OptionSpec("baseline", "compare with this acceptance record instead of the arm's latest "
               "baseline", kind="path"),
    OptionSpec("tolerance_deg", "angle tolerance, degrees of joint motion (declared maps vs "
               "the reference chain, poses)", kind="float", default=1.0, metavar="DEG"),
    OptionSpec("tolerance_z", "the advisory normalized-near-zero tolerance, in std units "
               "(beyond it MARGINAL, never a failure)", kind="float", default=2.0,
               metavar="STD"),
    OptionSpec("tolerance_ticks", "servo tolerance in ticks: read noise (peak to peak) and "
               "how far a held or commanded joint may end from its goal", kind="float",
               default=4.0, metavar="TICKS"),
    OptionSpec("backlash_deg", "mechanics: largest gap between a target approached from below "
               "and from above (SO-ARM100 #134 measured ~1 deg on new STS3215)", kind="float",
               default=1.5, metavar="DEG"),
    OptionSpec("repeatability_ticks", "mechanics: largest spread of the returns to a target "
               "from one side, in servo ticks (SO-ARM100 #134: +-0.3 mm at 10 cm, 4 ticks)",
               kind="float", default=4.0, metavar="TICKS"),
    OptionSpec("repeatability_mm", "mechanics: largest spread of those returns at the "
               "gripperframe site, through the model's forward kinematics", kind="float",
               default=2.0, metavar="MM"),
    OptionSpec("tracking_deg", "largest steady-state error: after a step (mechanics), between "
               "follower and leader (teleoperation), action - state at rest (datasets) (a joint "
               "may settle anywhere within its play: half the backlash bound, and more)",
               kind="float", default=2.0, metavar="DEG"),
    OptionSpec("settle_s", "mechanics: settle time after a step beyond which it is MARGINAL "
               "(advisory: it depends on the host's timing)", kind="float", default=1.0,
               metavar="S"),
)
SPECS = {spec.name: spec for spec in OPTIONS}
#: The flags that take a value (the next argument when not written ``--flag=value``).
VALUE_FLAGS = frozenset(spec.flag for spec in OPTIONS if spec.kind != "bool")


@dataclass(frozen=True)
class Setting:
    value: object
    origin: str  # e.g. "--so101-stats", "env SO101_STATS", "ini so101_stats", "default"


def _parse(spec: OptionSpec, raw: object, origin: str, base_dir: Path) -> object:
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise config_error("must be true or false", source=origin, value=raw)
    if spec.kind == "float":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise config_error("must be a number", source=origin, value=raw) from None
        if not math.isfinite(value) or value <= 0:
            raise config_error("must be a finite number > 0", source=origin, value=raw)
        return value
    text = str(raw).strip()
    if not text:
        raise config_error("must not be empty", source=origin, value=raw)
    if spec.kind == "path" or (spec.kind == "path_or_id" and
                               ("/" in text or text.endswith(".json"))):
        try:
            return str((base_dir / Path(text).expanduser()).resolve())
        except RuntimeError:       # a symlink loop, an unknown ~user: the loader names it
            return os.path.abspath(base_dir / text)
    return text


#: Settings that describe one thing together: the stats are in the frame the mapping
#: declares. An ini file's pair is kept whole or not used: with one of them given on the
#: command line (or env) and the other only in the ini, the ini's is left out (a degrees
#: mapping checked against the ini's legacy stats fails where nothing is wrong).
PAIRED = ("stats", "mapping")
LEFT_OUT = "left out"


def _unpair_ini(resolved: dict[str, Setting]) -> None:
    given = [n for n in PAIRED if not resolved[n].origin.startswith(("ini", "default"))]
    if not given:
        return
    for name in PAIRED:
        if resolved[name].origin.startswith("ini"):
            flag = SPECS[given[0]].flag
            resolved[name] = Setting(None, f"{LEFT_OUT}: {resolved[name].origin} "
                                     f"({resolved[name].value}) pairs with the ini's "
                                     f"{SPECS[given[0]].ini}, and {flag} was given; give "
                                     f"{SPECS[name].flag} to use one")


def resolve_settings(cli: Mapping[str, object], ini: Mapping[str, object],
                     environ: Mapping[str, str] | None = None, *, cwd: Path,
                     ini_dir: Path) -> dict[str, Setting]:
    """Resolve every option: CLI values (None when not given), then env, ini, default.

    Relative paths are taken from where they were written: the CLI and env relative to
    ``cwd``, the ini relative to the ini file's folder.
    """
    env = os.environ if environ is None else environ
    resolved: dict[str, Setting] = {}
    for spec in OPTIONS:
        candidates = [(cli.get(spec.name), spec.flag, cwd)]
        if spec.env:
            candidates.append((env.get(spec.env), f"env {spec.env}", cwd))
        candidates.append((ini.get(spec.name), f"ini {spec.ini}", ini_dir))
        for raw, origin, base in candidates:
            if raw is None or (raw == "" and origin.startswith("ini")) or \
                    (spec.kind == "bool" and raw is False and origin == spec.flag):
                continue
            resolved[spec.name] = Setting(_parse(spec, raw, origin, base), origin)
            break
        else:
            resolved[spec.name] = Setting(spec.default, "default")
    _unpair_ini(resolved)
    if resolved["hardware"].value and not resolved["port"].value and \
            not resolved["arms"].value:
        raise config_error("--hardware needs the arm's serial port: pass --so101-port PATH "
                           "(or set SO101_PORT)", source="--hardware")
    if resolved["stats_dataset"].value is not None and resolved["stats"].value is None:
        raise config_error("a dataset was chosen but no stats were given (--so101-stats)",
                           source=resolved["stats_dataset"].origin,
                           value=resolved["stats_dataset"].value)
    if resolved["arm_side"].value not in (None, "left", "right"):
        raise config_error("must be left or right (the arms of a bimanual recording)",
                           source=resolved["arm_side"].origin, value=resolved["arm_side"].value)
    if resolved["stats_feature"].value not in FEATURES:
        raise config_error(f"must be one of {', '.join(FEATURES)}",
                           source=resolved["stats_feature"].origin,
                           value=resolved["stats_feature"].value)
    return resolved
