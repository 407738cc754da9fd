"""No input reaches a traceback or a hang (issue 11): every loader of a user's file gives a
value or one So101ConfigError line naming the file.

Property-based: arbitrary bytes and structural mutations of the bundled fixtures (the
fuzzers of benchmarks/fuzz_loaders.py, under the repository's Hypothesis profile, at most
200 examples a loader; the benchmark runs 20 000). Then
each kind of hostile file: a named pipe (guarded so that a regression fails instead of
hanging), a device, a folder, a symlink loop, a broken link, an unreadable, oversized or
non-UTF-8 file, and nesting 100 000 levels deep.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_loaders import FUZZERS, run_case
from pytest_so101.core import files
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.errors import So101ConfigError, config_error
from pytest_so101.core.mapping import load_mapping
from pytest_so101.core.stats import load_stats
from pytest_so101.report.baseline import load_baseline
from tests.helpers import STATS, assert_one_line, raises_config_error


@pytest.mark.parametrize("name", list(FUZZERS))
@settings(max_examples=min(200, settings.default.max_examples))   # ci: 6 x 200, ~10 s
@given(data=st.data())
def test_every_loader_gives_a_value_or_one_line(name, data):
    fuzzer = FUZZERS[name]
    case = data.draw(fuzzer.cases, label="case")
    try:
        run_case(fuzzer, case)
    except So101ConfigError as exc:
        assert_one_line(exc, f"fuzz-{name}-")          # names a file of the case's folder


#: (loader, file name) of every loader of a single user file.
LOADERS = {
    "calibration": (load_calibration, "arm.json"),
    "mapping": (load_mapping, "map.toml"),
    "stats": (load_stats, "stats.json"),
    "safetensors": (load_stats, "model.safetensors"),
    "processor": (load_stats, "policy_preprocessor.json"),
    "baseline": (load_baseline, "0001.json"),
}
ALL = pytest.mark.parametrize("loader", list(LOADERS))


def _target(tmp_path: Path, loader: str) -> tuple[object, Path]:
    load, name = LOADERS[loader]
    return load, tmp_path / name


def _load_with_guard(load, path: Path, timeout_s: float = 30.0) -> So101ConfigError:
    """``load(path)`` in a thread: a hang fails the test (after unblocking the reader)."""
    outcome: dict[str, BaseException] = {}

    def target():
        try:
            load(path)
        except BaseException as exc:           # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        with contextlib.suppress(OSError):    # a writer lets a reader blocked in open() go
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{load.__name__}({path}) blocked on a named pipe")
    assert isinstance(outcome.get("error"), So101ConfigError), outcome
    return outcome["error"]


@ALL
def test_a_named_pipe_is_refused_without_blocking(tmp_path, loader):
    load, path = _target(tmp_path, loader)
    os.mkfifo(path)
    error = _load_with_guard(load, path.parent if loader == "processor" else path)
    assert_one_line(error, path, "named pipe (FIFO)", "not a regular file")


@ALL
def test_a_symlink_loop_is_named(tmp_path, loader):
    load, path = _target(tmp_path, loader)
    path.symlink_to(path)
    with raises_config_error(path, "symbolic link loop"):
        load(path.parent if loader == "processor" else path)


@ALL
def test_a_broken_link_is_not_found(tmp_path, loader):
    load, path = _target(tmp_path, loader)
    path.symlink_to(tmp_path / "gone")
    with raises_config_error(path, "not found", "symbolic link to a missing file"):
        load(path.parent if loader == "processor" else path)


@ALL
def test_a_folder_where_a_file_is_expected(tmp_path, loader):
    load, path = _target(tmp_path, loader)
    path.mkdir()
    stats_folder = load is load_stats          # the folder holding the file is a policy folder
    with raises_config_error(path, "is a folder, not a regular file"):
        load(path.parent if stats_folder else path)
    if stats_folder:                           # a folder is a valid argument: what it lacks
        with raises_config_error(path, "folder holds no policy_preprocessor.json"):
            load(path)


@pytest.mark.parametrize("loader", ["calibration", "mapping", "stats", "baseline"])
def test_a_device_is_never_read(loader):
    load, _ = LOADERS[loader]
    for device in ("/dev/null", "/dev/zero"):
        if os.path.exists(device):
            with raises_config_error(device, "character device", "not a regular file"):
                load(device)


@ALL
def test_permission_denied_is_not_not_found(tmp_path, loader, monkeypatch):
    load, path = _target(tmp_path, loader)
    path.write_text("{}")
    if os.geteuid() == 0:                    # root reads anything: simulate the refusal
        real_open = os.open

        def refuse(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(files.os, "open", refuse)
    else:
        path.chmod(0)
    with raises_config_error(path, "not readable: permission denied"):
        load(path.parent if loader == "processor" else path)


@pytest.mark.parametrize("loader", ["calibration", "mapping", "stats", "processor"])
def test_an_oversized_file_names_the_limit(tmp_path, loader):
    load, path = _target(tmp_path, loader)
    with path.open("wb") as fh:
        fh.truncate(files.TEXT_LIMIT + 1)                  # sparse: costs no disk
    with raises_config_error(path, "larger than the 4 MiB limit", files.TEXT_LIMIT + 1):
        load(path.parent if loader == "processor" else path)


@pytest.mark.parametrize("loader", ["calibration", "mapping", "stats", "processor",
                                    "baseline"])
def test_invalid_utf8_names_the_byte(tmp_path, loader):
    load, path = _target(tmp_path, loader)
    path.write_bytes(b'{"a": "caf\xe9"}')
    with raises_config_error(path, "not valid UTF-8", "0xe9", "offset 10"):
        load(path.parent if loader == "processor" else path)


@pytest.mark.parametrize("loader", ["calibration", "stats", "processor", "baseline",
                                    "mapping"])
@pytest.mark.parametrize("depth", [33, 100_000])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, loader, depth):
    load, path = _target(tmp_path, loader)
    nested = "[" * depth + "]" * depth
    path.write_text(f"x = {nested}\n" if loader == "mapping" else f'{{"x": {nested}}}')
    with raises_config_error(path, "nested more than 32 levels deep"):
        load(path.parent if loader == "processor" else path)


def test_a_missing_file_in_a_missing_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with raises_config_error(tmp_path / "file/arm.json", "not found",
                             "part of its path is a file"):
        load_calibration(tmp_path / "file/arm.json")


def test_a_multi_gigabyte_model_is_read_by_its_header(tmp_path):
    """Only the header and the stats tensors of a model.safetensors are read."""
    path = tmp_path / "model.safetensors"
    path.write_bytes((STATS / "legacy_model/model.safetensors").read_bytes())
    with path.open("r+b") as fh:
        fh.truncate(3 << 30)                 # 3 GiB of (sparse) weights after the stats
    assert load_stats(path, feature="action").mean.shape == (6,)


@contextlib.contextmanager
def _passing_through():
    yield


def test_the_error_passes_through_context_managers():
    """A frozen dataclass exception turned ``with`` blocks into FrozenInstanceError."""
    with pytest.raises(So101ConfigError) as info, _passing_through():
        raise config_error("bad", source="f.json", joint="gripper", field="id", value=7)
    assert str(info.value) == "f.json: gripper: id = 7: bad"
    assert info.value.__traceback__ is not None
    error = config_error("why", source="a.toml")
    error.add_note("context")
    assert (error.reason, error.source, error.joint, error.has_value) == \
        ("why", "a.toml", None, False)


def test_messages_stay_one_short_line():
    error = config_error("bad", source="f.json", joint="a\rb\x1b[2J\u202e",
                         field="x", value=10**5000)
    text = assert_one_line(error, "f.json", "\\r", "\\x1b", "\\u202e",
                           "an integer of about 5001 digits")
    assert "\r" not in text and "\x1b" not in text
    assert len(str(config_error("bad", value="v" * 10_000))) < 200
