"""Physical faults of the twin (``--twin-fault`` / ``--so101-twin-fault``): parsed and
validated without loading MuJoCo, so a typo stops a run before collection."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

from ..core.errors import config_error
from ..core.frames import TOOTH_TICKS
from ..core.joints import MOTOR_NAMES


class _Assembly(Protocol):
    raw_at_zero: float
    direction: int


@dataclass(frozen=True)
class TwinFault:
    """A physical fault of the twin: ``reseat`` (horn moved by N spline teeth after
    calibrating), ``mirror`` (motor mounted reversed, before calibrating), ``stale``
    (assembly shifted by N ticks after calibrating: motor replaced, horn slipped),
    ``homing`` (the joint held at N deg of the sim frame instead of the middle of its
    travel while homing: the sweep may then cross the 0/4095 seam), ``backlash`` (a play
    of N deg in the joint's gears: the output settles anywhere within N/2 deg of the goal,
    on the side it came from)."""

    joint: int
    kind: str
    value: float = 1.0

    KINDS = ("reseat", "mirror", "stale", "homing", "backlash")
    #: The largest gear play ``backlash`` takes (deg): a worn STS3215 has a few degrees.
    MAX_BACKLASH_DEG = 20.0

    @classmethod
    def parse(cls, text: str, *, source: str = "--twin-fault") -> TwinFault:
        """``JOINT:KIND[=N]``; a one-line :class:`So101ConfigError` naming what is wrong."""
        joint, sep, rest = text.strip().partition(":")
        kind, has_value, value = rest.partition("=")
        if not sep or joint not in MOTOR_NAMES or kind not in cls.KINDS:
            raise config_error(
                f"must be JOINT:KIND[=N] with JOINT one of {', '.join(MOTOR_NAMES)} and KIND "
                f"one of {', '.join(cls.KINDS)}", source=source, value=text)
        if kind == "mirror" and has_value:
            raise config_error("mirror takes no value", source=source, value=text)
        number = 1.0
        if has_value:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or abs(number) > 4096:
                raise config_error("N must be a finite number of at most 4096 in size",
                                   source=source, joint=joint, value=text)
        if kind == "backlash" and not (has_value and 0 <= number <= cls.MAX_BACKLASH_DEG):
            raise config_error(f"backlash takes the gear play in deg, backlash=DEG with DEG "
                               f"from 0 to {cls.MAX_BACKLASH_DEG:g}", source=source,
                               joint=joint, value=text)
        return cls(MOTOR_NAMES.index(joint), kind, number)

    @classmethod
    def parse_list(cls, text: str | None, *, source: str = "--twin-fault") -> list[TwinFault]:
        """Comma-separated faults (empty items ignored)."""
        return [cls.parse(item, source=source) for item in str(text or "").split(",")
                if item.strip()]

    def apply(self, assembly: _Assembly) -> _Assembly:
        """The assembly after a ``mirror``, ``reseat`` or ``stale`` fault."""
        if self.kind == "mirror":
            return replace(assembly, direction=-assembly.direction)
        shift = self.value * (TOOTH_TICKS if self.kind == "reseat" else 1.0)
        return replace(assembly, raw_at_zero=assembly.raw_at_zero + shift)
