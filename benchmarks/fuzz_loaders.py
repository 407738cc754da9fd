"""Fuzzing every loader of a user's file: a value or one So101ConfigError line, nothing else.

    python benchmarks/fuzz_loaders.py [--examples 20000] [--loader NAME ...] [--seed 0]

Each fuzzer draws a *case* (the files of one input, and the loader's options), writes it
into a fresh folder and calls the loader. Cases are arbitrary bytes, byte-level damage to
the bundled fixtures, and structural mutations of them: a value replaced by a string, a
boolean, a huge or out-of-range integer, NaN, a list, a table, 100 000 nested brackets; a
key deleted or added; a node wrapped in a list. The loader must return a value or raise
:class:`So101ConfigError`; any other exception (or a hang, caught by a 10 s alarm) is an
*escape*. ``tests/test_loader_fuzz.py`` runs the same fuzzers under the repository's
Hypothesis profile; this script runs many more examples and prints, per loader, the
examples run, values, So101ConfigErrors, escapes (must be 0), the slowest example and
the total time. Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import signal
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from safetensors.numpy import save

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_so101.core.arms import load_fleet
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.dataset import CODEBASE_VERSIONS, load_datasets
from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.features import FEATURES
from pytest_so101.core.joints import MOTOR_NAMES, SO100_MENAGERIE_NAMES
from pytest_so101.core.mapping import load_mapping
from pytest_so101.core.stats import load_stats
from pytest_so101.report.baseline import baseline_calibration, load_baseline, measurement_changes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STATS = FIXTURES / "stats"
Case = tuple[dict[str, bytes], dict[str, object]]     # (relative path -> bytes, options)


# -- values a mutation puts in ---------------------------------------------------------------

HUGE = "\x00huge-integer\x00"        # written as a 5000-digit integer literal
DEEP = "\x00deep-nesting\x00"        # written as 100 000 nested brackets
WORDS = (*MOTOR_NAMES, *SO100_MENAGERIE_NAMES, *FEATURES, "degrees", "radians", "ticks",
         "range_m100_100", "range_0_100", "lerobot-degrees", "lerobot-range",
         "lerobot-legacy-degrees", "so101-new-calib", "so101-old-calib", "so100-menagerie",
         "MEAN_STD", "MIN_MAX", "IDENTITY", "QUANTILES", "STATE", "ACTION", "VISUAL",
         "normalizer_processor", "unnormalizer_processor", "mean", "std", "min", "max",
         "count", "eps", "steps", "config", "features", "norm_map", "type", "state_file",
         "registry_name", "pytest-so101/record/1", "1.596", "-766", "nan", "", ".", "..",
         "../../etc/passwd", "/etc/passwd", "/dev/zero", "missing.safetensors",
         "policy_preprocessor_step_3_normalizer_processor.safetensors",
         # the arms file's ports, paths and ids: URLs, a symlink loop, NUL, a newline
         "arms", "defaults", "port", "calibration", "stats_dataset", "socket://127.0.0.1:4001",
         "rfc2217://h:2?ign_set_control", "socket://h:0", "socket://[::1]:99999",
         "loop", "loop/a1.json", "cal1.json", "cal2.json", "map.toml", "~/a1.json",
         "a\0b", "/dev/tty\0S0", "ab\n", "-a1", "a" * 65, "\udc80")
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2, 6, 4095, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30]),
    st.floats(), st.text(max_size=8), st.sampled_from(WORDS), st.sampled_from([HUGE, DEEP]))
KEYS = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=7), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=10)


def _paths(tree: object) -> list[tuple]:
    """Every node of a decoded JSON/TOML tree, as the key path to it."""
    out, stack = [()], [((), tree)]
    while stack:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else \
            enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            out.append((*path, key))
            stack.append(((*path, key), child))
    return out


def _mutate_once(draw: Callable, tree: object) -> object:
    path = draw(st.sampled_from(_paths(tree)))
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    node = parent[path[-1]] if path else tree
    op = draw(st.sampled_from(["replace", "replace", "stringify", "delete", "insert", "wrap"]))
    if op == "delete" and path:
        del parent[path[-1]]
        return tree
    if op == "insert" and isinstance(node, dict | list):
        if isinstance(node, dict):
            node[draw(KEYS)] = draw(VALUES)
        else:
            node.insert(draw(st.integers(0, len(node))), draw(VALUES))
        return tree
    new = {"stringify": lambda: node if isinstance(node, str) else json.dumps(node),
           "wrap": lambda: [node]}.get(op, lambda: draw(VALUES))()
    if not path:
        return new
    parent[path[-1]] = new
    return tree


@st.composite
def mutated(draw: Callable, tree: object) -> object:
    """``tree`` with one to four structural mutations."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 4))):
        tree = _mutate_once(draw, tree)
    return tree


def _specials(text: str, quote: str) -> str:
    return text.replace(f"{quote}{json.dumps(HUGE)[1:-1]}{quote}", "9" * 5000) \
        .replace(f"{quote}{json.dumps(DEEP)[1:-1]}{quote}", "[" * 100_000 + "]" * 100_000)


def json_bytes(tree: object) -> bytes:
    return _specials(json.dumps(tree), '"').encode()


def _toml_value(value: object) -> str:
    if value is None:
        return "1979-05-27T07:32:00Z"             # TOML has no null: a datetime instead
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else "inf" if value == float("inf") else \
            "-inf" if value == float("-inf") else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    return json.dumps(value) if isinstance(value, str) else str(value)


def toml_bytes(tree: object) -> bytes:
    """A TOML document of ``tree``: its tables as ``[table]`` sections."""
    tree = tree if isinstance(tree, dict) else {"value": tree}
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in tree.items()
             if not isinstance(v, dict)]
    for name, table in tree.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(name)}]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items())
    return _specials("\n".join(lines) + "\n", '"').encode()


@st.composite
def damaged(draw: Callable, data: bytes) -> bytes:
    """``data`` with bytes overwritten, cut or inserted."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["overwrite", "cut", "insert"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if op == "overwrite":
            data[at:at + len(chunk)] = chunk
        elif op == "cut":
            del data[at:at + len(chunk)]
        else:
            data[at:at] = chunk
    return bytes(data)


def file_cases(valid: list[bytes], tree_to_bytes: Callable[[object], bytes],
               decode: Callable[[bytes], object]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, damaged valid files, and structural mutations of valid files."""
    trees = [decode(data) for data in valid]
    return st.one_of(
        st.binary(max_size=300),
        st.sampled_from(valid).flatmap(damaged),
        st.sampled_from(trees).flatmap(mutated).map(tree_to_bytes),
        st.sampled_from(trees).flatmap(mutated).map(tree_to_bytes),
    )


# -- safetensors ------------------------------------------------------------------------------

def _split(data: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + size]), data[8 + size:]


def _join(header: object, body: bytes) -> bytes:
    text = json_bytes(header)
    return len(text).to_bytes(8, "little") + text + body


STAT_KEYS = ("observation.state.mean", "observation.state.std", "observation.state.min",
             "observation.state.max", "observation.state.count", "action.mean", "action.std",
             "normalize_inputs.buffer_observation_state.mean",
             "normalize_inputs.buffer_observation_state.std",
             "normalize_inputs.so100_buffer_observation_state.mean",
             "normalize_targets.so100-blue_buffer_action.std", "model.weight")
DTYPES = ("float32", "float64", "float16", "int64", "uint64", "int8", "uint8", "bool")
SHAPES = ((6,), (6,), (6,), (7,), (1,), (), (0,), (2, 6), (1, 6), (20_000,))


@st.composite
def tensor_files(draw: Callable) -> bytes:
    """Valid safetensors files with stats tensors of any dtype, shape and value."""
    tensors = {}
    for key in draw(st.lists(st.sampled_from(STAT_KEYS), min_size=1, max_size=6, unique=True)):
        shape = draw(st.sampled_from(SHAPES))
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        tensors[key] = np.zeros(shape, dtype) if np.prod(shape) > 64 else \
            draw(arrays(dtype, shape))
    return save(tensors)


def safetensors_cases() -> st.SearchStrategy[bytes]:
    valid = [p.read_bytes() for p in sorted(STATS.rglob("*.safetensors"))]
    headers = st.sampled_from(valid).map(_split).flatmap(
        lambda hb: mutated(hb[0]).map(lambda header: _join(header, hb[1])))
    return st.one_of(st.binary(max_size=300), st.sampled_from(valid).flatmap(damaged),
                     headers, headers, tensor_files())


# -- the fuzzers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fuzzer:
    """A loader and the cases it is fed."""

    name: str
    cases: st.SearchStrategy[Case]
    load: Callable[[Path, dict], object]


def run_case(fuzzer: Fuzzer, case: Case) -> object:
    """Write the case's files into a fresh folder and load them: a value, or an exception.

    A warning (numpy's overflow or invalid-cast ones) is raised as an exception too: a
    loader must not print one either.
    """
    written, options = case
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{fuzzer.name}-") as tmp:
        folder = Path(tmp)
        for name, data in written.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return fuzzer.load(folder, options)


NO_OPTIONS = st.just({})


def _one(name: str, contents: st.SearchStrategy[bytes],
         options: st.SearchStrategy[dict] = NO_OPTIONS) -> st.SearchStrategy[Case]:
    return st.tuples(contents.map(lambda data: {name: data}), options)


STATS_OPTIONS = st.fixed_dictionaries({
    "feature": st.sampled_from(FEATURES),
    "dataset": st.sampled_from([None, None, None, "so100", "so100-blue"]),
    "mode": st.sampled_from([None, None, "MEAN_STD", "MIN_MAX"])})


def _stats_json_valid() -> list[bytes]:
    plain = json.loads((STATS / "plain_mean_std.json").read_text())
    flat = {f"observation.state.{k}": v for k, v in plain.items()}
    return [(STATS / "plain_mean_std.json").read_bytes(),
            (STATS / "range_mean_std.json").read_bytes(),
            (STATS / "dataset/meta/stats.json").read_bytes(), json.dumps(flat).encode()]


def _processor_cases() -> st.SearchStrategy[Case]:
    folder = STATS / "policy_processor"
    originals = {p.name: p.read_bytes() for p in folder.iterdir()}
    configs = ("policy_preprocessor.json", "policy_postprocessor.json")

    @st.composite
    def cases(draw: Callable) -> Case:
        written = dict(originals)
        for name in configs:
            choice = draw(st.sampled_from(["keep", "mutate", "mutate", "damage", "drop"]))
            if choice == "mutate":
                written[name] = json_bytes(draw(mutated(json.loads(originals[name]))))
            elif choice == "damage":
                written[name] = draw(damaged(originals[name]))
            elif choice == "drop":
                del written[name]
        return written, draw(STATS_OPTIONS)

    return cases()


def _load_baseline(folder: Path, options: dict) -> object:
    path = folder / "0001.json"
    record = load_baseline(path)
    return (baseline_calibration(record, str(path)),
            measurement_changes(record, [{"check": "zero", "joint": "shoulder_pan",
                                          "value": 2.0}]))


def _record() -> bytes:
    measurement = {"check": "zero", "joint": "shoulder_pan", "value": 1.0, "unit": "deg",
                   "low": -1.0, "high": 1.0, "margin": 0.0, "outcome": "PASS", "detail": "d"}
    return json.dumps({
        "schema": "pytest-so101/record/1", "created": "2026-01-01T00:00:00+00:00",
        "provenance": {"arm_id": "arm", "target": "twin", "port": None,
                       "calibration": {"source": "arm.json", "sha256": None, "contents":
                                       json.loads((FIXTURES / "calibration/robots/so_follower"
                                                   "/example_arm.json").read_text())},
                       "model": {"source": "so101.xml", "sha256": None}, "stats": None,
                       "mapping": None, "versions": {}},
        "tolerances": {"deg": 2.0, "z": 0.5, "ticks": 20.0, "marginal_fraction": 0.8},
        "summary": {"passed": 1, "failed": 0, "skipped": 0, "error": 0}, "passed": True,
        "tests": [{"nodeid": "t", "outcome": "passed", "measurements": [measurement]}]},
        indent=2).encode()


EXAMPLE_CALIBRATION = FIXTURES / "calibration/robots/so_follower/example_arm.json"
#: Arms files a user would write: ports, calibrations by path and by id, defaults.
ARMS_FILES = (
    b'[arms.a1]\nport = "socket://127.0.0.1:4001"\ncalibration = "cal1.json"\n'
    b'[arms.a2]\nport = "rfc2217://127.0.0.1:4002?ign_set_control"\n'
    b'calibration = "cal2.json"\n',
    b'[defaults]\nmapping = "map.toml"\nstats = "stats.json"\nstats_dataset = "so100"\n'
    b'[arms.lab-01]\nport = "/dev/null"\ncalibration = "cal1.json"\n'
    b'[arms."lab.02"]\nport = "socket://localhost:4003"\ncalibration = "lab-02"\n'
    b'mapping = "map.toml"\n',
)


#: What a hostile or careless arms file puts in a port, a path or an id.
HOSTILE_STRINGS = ("loop", "loop/a1.json", "loop/ttyACM0", "a\0b", "/dev/tty\0S0",
                   "socket://h:1\0", "cal\x001.json", "ab\n", "a1\n", "\na1", "a b", "a/b",
                   "..", ".", "-a1", "a" * 65, "\udc80", "~nobody-here/a1.json", "/",
                   "/dev/null", "socket://h:0", "socket://[::1]:99999", "rfc2217://:5",
                   "x" * 5000 + ".json", "\t", "cal1.json\n")
HOSTILE = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=12))


@st.composite
def _hostile_field(draw: Callable, tree: dict) -> dict:
    """A valid arms file with one arm's id, or one of its fields, a hostile string."""
    tree = copy.deepcopy(tree)
    arms = tree["arms"]
    arm_id = draw(st.sampled_from(sorted(arms)))
    key = draw(st.sampled_from(["id", "port", "calibration", "mapping", "stats",
                                "stats_dataset"]))
    if key == "id":
        arms[draw(HOSTILE)] = arms.pop(arm_id)
    else:
        arms[arm_id][key] = draw(HOSTILE)
    return tree


def _arms_cases() -> st.SearchStrategy[Case]:
    """An arms file beside the files it names (two calibrations, a mapping, stats)."""
    beside = {"cal1.json": EXAMPLE_CALIBRATION.read_bytes(),
              "cal2.json": EXAMPLE_CALIBRATION.read_bytes(),
              "map.toml": (FIXTURES / "mapping/so101_legacy_policy.toml").read_bytes(),
              "stats.json": (STATS / "plain_mean_std.json").read_bytes()}
    trees = [tomllib.loads(data.decode()) for data in ARMS_FILES]
    arms = st.one_of(
        file_cases(list(ARMS_FILES), toml_bytes, lambda data: tomllib.loads(data.decode())),
        st.sampled_from(trees).flatmap(_hostile_field).map(toml_bytes))
    return st.tuples(arms.map(lambda data: {**beside, "arms.toml": data}), NO_OPTIONS)


class UnsoundValueError(Exception):
    """A loader returned a value it should have refused."""


def _load_arms(folder: Path, options: dict) -> object:
    """``load_fleet`` with a symlink loop beside the file (``loop``: a path may go there);
    an arms file it accepts must be sound: every id a plain folder name on one line,
    no NUL in a port or a path, every path there."""
    (folder / "loop").symlink_to("loop")
    fleet = load_fleet(folder / "arms.toml")
    for arm in fleet.arms:
        if not arm.arm_id.isprintable() or Path(arm.arm_id).name != arm.arm_id or \
                arm.arm_id.strip() != arm.arm_id or arm.arm_id.startswith("."):
            raise UnsoundValueError(f"arm id {arm.arm_id!r} accepted")
        paths = [p for p in (arm.calibration, arm.mapping, arm.stats) if p and "/" in p]
        if any("\0" in text for text in (arm.port, *paths)):
            raise UnsoundValueError(f"a NUL byte accepted in {arm}")
        if not all(os.path.lexists(p) for p in paths):
            raise UnsoundValueError(f"a missing path accepted in {arm}")
    return fleet


DATASET = FIXTURES / "datasets" / "healthy"


def _dataset_cases() -> st.SearchStrategy[Case]:
    """A recorded dataset (its frames and stats as bundled) with its meta/info.json fuzzed."""
    beside = {str(p.relative_to(DATASET)): p.read_bytes() for p in sorted(DATASET.rglob("*"))
              if p.is_file() and p.name != "info.json"}
    info = file_cases([(DATASET / "meta" / "info.json").read_bytes()], json_bytes, json.loads)
    return st.tuples(info.map(lambda data: {**beside, "meta/info.json": data}), NO_OPTIONS)


def _load_dataset(folder: Path, options: dict) -> object:
    """``load_datasets``; a dataset it accepts must be one it reads (a known layout, a
    positive fps)."""
    found = load_datasets(folder)
    for ds in found.values():
        if ds.version not in CODEBASE_VERSIONS or not ds.fps > 0:
            raise UnsoundValueError(f"dataset version {ds.version!r}, fps {ds.fps} accepted")
    return found


FUZZERS: dict[str, Fuzzer] = {f.name: f for f in (
    Fuzzer("calibration", _one("arm.json", file_cases(
        [(FIXTURES / "calibration/robots/so_follower/example_arm.json").read_bytes()],
        json_bytes, json.loads)), lambda folder, _: load_calibration(folder / "arm.json")),
    Fuzzer("mapping", _one("map.toml", file_cases(
        [p.read_bytes() for p in sorted((FIXTURES / "mapping").glob("*.toml"))],
        toml_bytes, lambda data: tomllib.loads(data.decode()))),
        lambda folder, _: load_mapping(folder / "map.toml")),
    Fuzzer("stats-json", _one("stats.json", file_cases(_stats_json_valid(), json_bytes,
                                                        json.loads), STATS_OPTIONS),
           lambda folder, options: load_stats(folder / "stats.json", **options)),
    Fuzzer("processor", _processor_cases(),
           lambda folder, options: load_stats(folder, **options)),
    Fuzzer("safetensors", _one("model.safetensors", safetensors_cases(), STATS_OPTIONS),
           lambda folder, options: load_stats(folder / "model.safetensors", **options)),
    Fuzzer("baseline", _one("0001.json", file_cases([_record()], json_bytes, json.loads)),
           _load_baseline),
    Fuzzer("arms", _arms_cases(), _load_arms),
    Fuzzer("dataset-info", _dataset_cases(), _load_dataset),
)}


# -- the benchmark ------------------------------------------------------------------------------

class HangError(Exception):
    """A loader call took longer than the alarm allows."""


def _alarm(signum: int, frame: object) -> None:
    raise HangError("no result after 10 s")


def fuzz(fuzzer: Fuzzer, examples: int, seed: int) -> dict:
    """Run ``examples`` cases; count values, So101ConfigErrors and escapes."""
    tally = {"examples": 0, "values": 0, "errors": 0, "escapes": 0, "slowest_s": 0.0,
             "slowest_case": None, "first_escape": None}

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        case = data.draw(fuzzer.cases)
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, 10.0)
        try:
            run_case(fuzzer, case)
            outcome = "values"
        except So101ConfigError as exc:
            str(exc)
            outcome = "errors"
        except Exception as exc:              # counting what escapes is the point
            outcome = "escapes"
            if tally["first_escape"] is None:
                tally["first_escape"] = f"{type(exc).__name__}: {exc!s:.300} for {case!r:.300}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        tally["examples"] += 1
        tally[outcome] += 1
        elapsed = time.perf_counter() - start
        if elapsed > tally["slowest_s"]:
            tally["slowest_s"], tally["slowest_case"] = elapsed, f"{outcome}: {case!r:.200}"

    start = time.perf_counter()
    one()
    tally["total_s"] = time.perf_counter() - start
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=20_000, help="examples per loader")
    parser.add_argument("--loader", action="append", choices=sorted(FUZZERS),
                        help="fuzz only this loader (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGALRM, _alarm)
    print(f"Loader fuzzing, {args.examples} examples per loader, seed {args.seed}; "
          f"CPython {platform.python_version()}, {platform.machine()}")
    print("| loader | examples | values | So101ConfigError | escapes | slowest example "
          "| total |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    escapes = 0
    for name in args.loader or list(FUZZERS):
        t = fuzz(FUZZERS[name], args.examples, args.seed)
        escapes += t["escapes"]
        print(f"| {name} | {t['examples']} | {t['values']} | {t['errors']} | {t['escapes']} "
              f"| {t['slowest_s'] * 1000:.1f} ms | {t['total_s']:.1f} s |", flush=True)
        print(f"  {name}: slowest case, {t['slowest_case']}", file=sys.stderr)
        if t["first_escape"]:
            print(f"  {name}: first escape: {t['first_escape']}", file=sys.stderr)
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
