"""Reading the user's files safely, and checking the types of what they hold.

Every loader reads through here, so that a named pipe, a device, a socket, a folder, a
symlink loop, an unreadable, missing or oversized file, invalid UTF-8 or JSON/TOML nested
too deeply each give one :class:`So101ConfigError` line naming the file: never a hang and
never a traceback. Decoded values are then taken with :func:`number`, :func:`integer`,
:func:`string` and :func:`table`, which refuse numbers written as strings, booleans as
numbers and integers beyond 64 bits, naming the joint and the value.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import So101ConfigError, config_error

MiB = 1 << 20
#: Calibration, mapping, stats and processor config files: real ones are a few kilobytes.
TEXT_LIMIT = 4 * MiB
#: Acceptance records and baselines: one line per measurement, a few hundred kilobytes.
RECORD_LIMIT = 64 * MiB
#: A safetensors header lists every tensor of a model: a few hundred kilobytes for big ones.
SAFETENSORS_HEADER_LIMIT = 16 * MiB
#: Normalization stats are a handful of numbers per feature; a larger tensor is never read.
STATS_TENSOR_LIMIT = 64 * 1024
#: Deepest nesting of tables and lists accepted (real files nest 5 levels at most).
MAX_DEPTH = 32
#: Integers must fit in 64 bits (signed).
INT64_LIMIT = 1 << 63

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_NOT_REGULAR = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a named pipe (FIFO)",
                stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
                stat.S_IFBLK: "a block device"}


def _mib(size: int) -> str:
    return f"{size / MiB:g} MiB"


# -- opening: regular files only, never blocking ----------------------------------------

def _os_error(exc: OSError | ValueError, path: Path, what: str) -> So101ConfigError:
    """The true one-line reason an ``os`` call on ``path`` failed."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, ValueError):
        reason = f"{what} cannot be opened: its path contains a NUL byte"
    elif code == errno.ENOENT:
        reason = f"{what} not found"
        if os.path.islink(path):
            reason += ": it is a symbolic link to a missing file"
    elif code in (errno.EACCES, errno.EPERM):
        reason = f"{what} is not readable: permission denied"
    elif code == errno.ELOOP:
        reason = f"{what} cannot be opened: symbolic link loop (too many levels of links)"
    elif code == errno.ENOTDIR:
        reason = f"{what} not found: part of its path is a file, not a folder"
    elif code == errno.ENAMETOOLONG:
        reason = f"{what} cannot be opened: path too long"
    else:
        reason = f"{what} cannot be read: {exc.strerror or exc}"
    return config_error(reason, source=str(path))


def _require_regular(mode: int, path: Path, what: str) -> None:
    if not stat.S_ISREG(mode):
        kind = _NOT_REGULAR.get(stat.S_IFMT(mode), "not a regular file")
        raise config_error(f"{what} is {kind}, not a regular file", source=str(path))


def stat_path(path: str | Path, what: str, *, folder_ok: bool = False) -> os.stat_result:
    """``os.stat`` (following links) of a regular file (or, with ``folder_ok``, a folder);
    anything else, or a failure, is one line."""
    path = Path(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _os_error(exc, path, what) from None
    if not (folder_ok and stat.S_ISDIR(info.st_mode)):
        _require_regular(info.st_mode, path, what)
    return info


def exists(path: str | Path) -> bool:
    """Whether anything is at ``path``: a file, a folder, a pipe, even a broken link.

    For "is this file there?" choices, so that what is there is then opened and refused
    with its true reason instead of being taken for missing.
    """
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def is_regular(path: str | Path) -> bool:
    """Whether ``path`` is (a link to) a regular file; never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: str | Path, what: str) -> BinaryIO:
    """Open a regular file for reading, refusing anything else without blocking.

    ``what`` names the file in messages ("calibration file"). The path is checked with
    ``stat`` first, so a device or pipe is never opened; the open itself is non-blocking
    and re-checked with ``fstat``, so a file swapped for a pipe in between cannot hang.
    """
    path = Path(path)
    stat_path(path, what)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError) as exc:
        raise _os_error(exc, path, what) from None
    try:
        _require_regular(os.fstat(fd).st_mode, path, what)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_bytes(path: str | Path, what: str, limit: int = TEXT_LIMIT) -> bytes:
    """The whole file, at most ``limit`` bytes."""
    path = Path(path)
    with open_regular(path, what) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(limit + 1) if size <= limit else b""
        except OSError as exc:
            raise _os_error(exc, path, what) from None
    if size > limit or len(data) > limit:
        raise config_error(f"{what} is larger than the {_mib(limit)} limit "
                           f"({max(size, len(data))} bytes)", source=str(path))
    return data


def _utf8(data: bytes, source: str, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise config_error(f"{what} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at "
                           f"offset {exc.start})", source=source) from None


def read_text(path: str | Path, what: str, limit: int = TEXT_LIMIT) -> str:
    """The file decoded as UTF-8 (strict), at most ``limit`` bytes."""
    return _utf8(read_bytes(path, what, limit), str(path), what)


# -- decoding JSON and TOML ----------------------------------------------------------------

class LongInteger:
    """A JSON integer literal of more than 20 characters: beyond 64 bits, kept as text.

    Python refuses to convert more than 4300 digits, and no field takes such a value, so
    the typed getters refuse it naming the joint and field like any other bad value.
    """

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        if len(self.text) <= 40:
            return self.text
        return f"{self.text[:12]}...{self.text[-4:]} ({len(self.text.lstrip('-'))} digits)"


def pretty_as_repr(self: object, printer, cycle: bool) -> None:
    """``_repr_pretty_`` of a record with a short ``__repr__``: Hypothesis (and IPython)
    print a dataclass field by field otherwise, every array of it, when a failing example
    shows the fixtures it was given."""
    printer.text(repr(self))


def _json_int(text: str) -> int | LongInteger:
    return int(text) if len(text) <= 20 else LongInteger(text)


def _too_deep(source: str) -> So101ConfigError:
    return config_error(f"nested more than {MAX_DEPTH} levels deep", source=source)


def _check_depth(data: object, source: str) -> None:
    """Refuse tables and lists nested more than :data:`MAX_DEPTH` deep (iteratively)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(source)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def decode_json(text: str, source: str) -> object:
    """Parse JSON: syntax errors, deep nesting and long integers give one line."""
    try:
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise config_error(f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg})", source=source) from None
    except RecursionError:
        raise _too_deep(source) from None
    if isinstance(data, dict | list):
        _check_depth(data, source)
    return data


def read_json(path: str | Path, what: str, limit: int = TEXT_LIMIT) -> object:
    """Read and parse a JSON file (see :func:`read_text` and :func:`decode_json`)."""
    return decode_json(read_text(path, what, limit), str(path))


_LONG_TOML_INTEGER = re.compile(r"[0-9][0-9_]{4299,}")


def read_toml(path: str | Path, what: str, limit: int = TEXT_LIMIT) -> dict:
    """Read and parse a TOML file; errors give one line with the line number."""
    source = str(path)
    text = read_text(path, what, limit)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise config_error(f"not valid TOML ({exc})", source=source) from None
    except RecursionError:
        raise _too_deep(source) from None
    except ValueError:            # an integer of more than 4300 digits (Python's limit)
        found = _LONG_TOML_INTEGER.search(text)
        if found is None:
            raise config_error("not valid TOML (an integer too long to read)",
                               source=source) from None
        line = text.count("\n", 0, found.start()) + 1
        digits = LongInteger(found.group().replace("_", ""))
        raise config_error(f"line {line}: integer {digits!r} out of range (must fit in 64 "
                           "bits)", source=source) from None
    _check_depth(data, source)
    return data


# -- typed getters for decoded values ------------------------------------------------------

def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | LongInteger):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _out_of_range(value: object) -> bool:
    return isinstance(value, LongInteger) or (
        isinstance(value, int) and not isinstance(value, bool)
        and not -INT64_LIMIT <= value < INT64_LIMIT)


def _wrong(what: str, value: object, source: str | None, joint: str | None,
           field: str | None) -> So101ConfigError:
    reason = f"must be {what}, not {_kind(value)}"
    if isinstance(value, str) and what == "a number":
        reason += " (write the number without quotes)"
    return config_error(reason, source=source, joint=joint, field=field, value=value)


def integer(value: object, *, source: str | None, field: str | None,
            joint: str | None = None) -> int:
    """An integer that fits in 64 bits (not a boolean, a float or a string)."""
    if _out_of_range(value):
        raise config_error("integer out of range (must fit in 64 bits)", source=source,
                           joint=joint, field=field, value=value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong("an integer", value, source, joint, field)
    return value


def number(value: object, *, source: str | None, field: str | None,
           joint: str | None = None) -> float:
    """A number (integer or float; not a boolean or a string), as a float."""
    if _out_of_range(value):
        raise config_error("integer out of range (must fit in 64 bits)", source=source,
                           joint=joint, field=field, value=value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong("a number", value, source, joint, field)
    return float(value)


def string(value: object, *, source: str | None, field: str | None,
           joint: str | None = None) -> str:
    """A string."""
    if not isinstance(value, str):
        raise _wrong("a string", value, source, joint, field)
    return value


def array(value: object, *, source: str | None, field: str | None,
          joint: str | None = None) -> list:
    """A list (a JSON or TOML array)."""
    if not isinstance(value, list):
        raise _wrong("a list", value, source, joint, field)
    return value


def table(value: object, *, source: str | None, field: str | None,
          joint: str | None = None) -> dict:
    """A table (a JSON object or TOML table)."""
    if not isinstance(value, dict):
        raise _wrong("a table", value, source, joint, field)
    return value


def finite(value: float, *, source: str | None, field: str | None,
           joint: str | None = None) -> float:
    """``value`` unless it is NaN or infinite."""
    if not math.isfinite(value):
        raise config_error("must be finite", source=source, joint=joint, field=field,
                           value=value)
    return value


# -- safetensors: the header and the few tensors asked for ---------------------------------

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8",
           "I32": "<i4", "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2",
           "U8": "u1", "BOOL": "?"}


def _tensor(fh: BinaryIO, entry: object, data_start: int, data_size: int, *, source: str,
            key: str) -> np.ndarray:
    """One tensor from its header entry; too large for stats: a placeholder of its shape."""
    entry = table(entry, source=source, field=key)
    dtype_name = entry.get("dtype")
    if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:
        raise config_error(f"unsupported dtype; expected one of {', '.join(_DTYPES)}",
                           source=source, field=f"{key} dtype", value=dtype_name)
    dtype = np.dtype(_DTYPES[dtype_name])
    shape = tuple(integer(n, source=source, field=f"{key} shape")
                  for n in array(entry.get("shape"), source=source, field=f"{key} shape"))
    offsets = entry.get("data_offsets")
    if not isinstance(offsets, list) or len(offsets) != 2:
        raise config_error("must be a list [begin, end]", source=source,
                           field=f"{key} data_offsets", value=offsets)
    begin, end = (integer(n, source=source, field=f"{key} data_offsets") for n in offsets)
    if any(n < 0 for n in shape) or not 0 <= begin <= end <= data_size or \
            end - begin != math.prod(shape) * dtype.itemsize:
        raise config_error(f"shape and data_offsets disagree with the {data_size} data bytes",
                           source=source, field=key, value={"shape": list(shape),
                                                            "data_offsets": [begin, end]})
    try:
        if end - begin > STATS_TENSOR_LIMIT:          # never read: only its shape matters
            return np.broadcast_to(np.zeros((), dtype), shape)
        fh.seek(data_start + begin)
        raw = fh.read(end - begin)
        if len(raw) != end - begin:
            raise config_error("file ends inside this tensor's data", source=source,
                               field=key)
        values = np.frombuffer(raw, dtype=dtype).reshape(shape)
    except ValueError:
        raise config_error("shape too large", source=source, field=f"{key} shape",
                           value=list(shape)) from None
    if dtype_name == "BF16":
        values = (values.astype(np.uint32) << 16).view(np.float32)
    return values


def _text_metadata(metadata: object, source: str) -> None:
    """safetensors' ``__metadata__`` maps text to text (the format's rule; a writer that
    broke it wrote something else)."""
    if not isinstance(metadata, dict):
        raise config_error("cannot read safetensors: __metadata__ is not an object of text "
                           "values", source=source, field="__metadata__",
                           value=type(metadata).__name__)
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise config_error("cannot read safetensors: __metadata__ values must be text",
                               source=source, field=f"__metadata__.{key}",
                               value=type(value).__name__)


def read_safetensors(path: str | Path, what: str,
                     wanted: Callable[[str], bool]) -> dict[str, np.ndarray]:
    """The tensors whose names ``wanted`` accepts, read without loading the rest.

    Only the header (at most 16 MiB) and those tensors are read, so a multi-gigabyte
    ``model.safetensors`` costs kilobytes. A wanted tensor larger than 64 KiB cannot be
    normalization stats; it is returned as a zero-strided placeholder of its dtype and
    shape (its shape is all a check needs to refuse it). Nothing is ever unpickled.
    """
    path = Path(path)
    source = str(path)
    with open_regular(path, what) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise config_error(f"cannot read safetensors: the file has {len(prefix)} "
                                   "bytes, fewer than the 8 of a header size", source=source)
            header_size = int.from_bytes(prefix, "little")
            if not 0 < header_size <= min(SAFETENSORS_HEADER_LIMIT, size - 8):
                limit = "" if header_size <= SAFETENSORS_HEADER_LIMIT else \
                    f": larger than the {_mib(SAFETENSORS_HEADER_LIMIT)} limit"
                raise config_error(f"cannot read safetensors: header size {header_size} "
                                   f"does not fit the {size}-byte file{limit}", source=source)
            header = decode_json(_utf8(fh.read(header_size), source, "safetensors header"),
                                 source)
            if not isinstance(header, dict):
                raise config_error("cannot read safetensors: the header is not a JSON "
                                   "object", source=source)
            _text_metadata(header.get("__metadata__", {}), source)
            data_start = 8 + header_size
            return {key: _tensor(fh, entry, data_start, size - data_start, source=source,
                                 key=key)
                    for key, entry in header.items() if key != "__metadata__" and wanted(key)}
        except OSError as exc:
            raise _os_error(exc, path, what) from None
