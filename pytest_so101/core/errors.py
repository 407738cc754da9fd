"""The one error type for bad user input: a file, a joint, a value, and why.

Every loader and validator raises :class:`So101ConfigError` so that the plugin can
stop a run with one readable line instead of a traceback from deep inside numpy.
"""

from __future__ import annotations

from pathlib import Path

#: Longest value shown in a message; longer ones are cut in the middle.
MAX_VALUE_CHARS = 80


def short_repr(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` on one line and at most ``limit`` characters, for any value.

    Never raises: Python refuses to print integers of more than 4300 digits and values
    nested too deeply, and a message about a bad value must not fail on that value.
    """
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        if isinstance(value, int):
            return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return f"<a {type(value).__name__} too large to print>"
    if len(text) <= limit:
        return text
    tail = limit // 4
    return f"{text[:limit - tail - 3]}...{text[-tail:]}"


def _printable(text: str) -> str:
    """Newlines as spaces, other control, format and surrogate characters escaped: the
    message stays one honest line whatever a file's keys hold."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " if ch == "\n" else
                   ch.encode("unicode_escape").decode("ascii") for ch in text)


def _short_name(name: str, limit: int = 2 * MAX_VALUE_CHARS) -> str:
    return name if len(name) <= limit else f"{name[:limit - 3]}..."


class So101ConfigError(ValueError):
    """A problem with something the user supplied (file, option, value).

    ``str(error)`` is a single line: ``<source>: <joint>: <field> = <value>: <reason>``,
    with the parts that do not apply left out. An ordinary (mutable) exception, so that
    context managers and ``raise ... from`` can set its traceback and cause.
    """

    def __init__(self, reason: str, source: str | Path | None = None, joint: str | None = None,
                 field: str | None = None, value: object = None, has_value: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.source = source
        self.joint = joint
        self.field = field
        self.value = value
        self.has_value = has_value

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(str(self.source))
        if self.joint is not None:
            parts.append(_short_name(str(self.joint)))
        if self.field is not None:
            field = _short_name(str(self.field))
            parts.append(f"{field} = {short_repr(self.value)}" if self.has_value else field)
        elif self.has_value:
            parts.append(f"value {short_repr(self.value)}")
        parts.append(self.reason)
        return _printable(": ".join(parts))

    def __repr__(self) -> str:
        return f"So101ConfigError({str(self)!r})"

    def __reduce__(self) -> tuple:
        """Pickle with every attribute (pytest-xdist and multiprocessing send errors)."""
        return (So101ConfigError, (self.reason, self.source, self.joint, self.field,
                                   self.value, self.has_value))


def config_error(
    reason: str,
    *,
    source: str | Path | None = None,
    joint: str | None = None,
    field: str | None = None,
    **value: object,
) -> So101ConfigError:
    """Build a :class:`So101ConfigError`; pass ``value=...`` to name the offending value."""
    if value and set(value) != {"value"}:
        raise TypeError(f"unexpected keywords {sorted(value)}")
    return So101ConfigError(
        reason=reason,
        source=source,
        joint=joint,
        field=field,
        value=value.get("value"),
        has_value="value" in value,
    )
