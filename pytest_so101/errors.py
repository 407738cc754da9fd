"""The one error type for bad user input: a file, a joint, a value, and why.

Every loader and validator raises :class:`So101ConfigError` so that the plugin can
stop a run with one readable line instead of a traceback from deep inside numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class So101ConfigError(ValueError):
    """A problem with something the user supplied (file, option, value).

    ``str(error)`` is a single line: ``<source>: <joint>: <field> = <value>: <reason>``,
    with the parts that do not apply left out.
    """

    reason: str
    source: str | Path | None = None
    joint: str | None = None
    field: str | None = None
    value: object = None
    has_value: bool = False

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(str(self.source))
        if self.joint is not None:
            parts.append(self.joint)
        if self.field is not None:
            parts.append(f"{self.field} = {self.value!r}" if self.has_value else self.field)
        elif self.has_value:
            parts.append(f"value {self.value!r}")
        parts.append(self.reason)
        return ": ".join(parts).replace("\n", " ")


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
