"""LeRobot's normalization formulas as a straightforward per-motor Python loop.

An independent oracle, written from docs/domain.md section 3 (lerobot motors_bus.py
``_normalize``/``_unnormalize`` with ``apply_drive_mode = True`` as Feetech sets it):
the tests check the vectorised :mod:`pytest_so101.core.frames` against it bit for bit, and the
benchmark measures both in the same run.
"""

from __future__ import annotations

MAX_RES = 4095  # model_resolution_table["sts3215"] - 1


def normalize(ticks: dict[str, int], calibration: dict[str, dict[str, int]],
              modes: dict[str, str]) -> dict[str, float]:
    out = {}
    for motor, val in ticks.items():
        cal = calibration[motor]
        min_, max_ = cal["range_min"], cal["range_max"]
        drive_mode = cal["drive_mode"]
        if max_ == min_:
            raise ValueError(f"Invalid calibration for motor '{motor}': min and max are equal.")
        bounded_val = min(max_, max(min_, val))
        mode = modes[motor]
        if mode == "range_m100_100":
            norm = (((bounded_val - min_) / (max_ - min_)) * 200) - 100
            out[motor] = -norm if drive_mode else norm
        elif mode == "range_0_100":
            norm = ((bounded_val - min_) / (max_ - min_)) * 100
            out[motor] = 100 - norm if drive_mode else norm
        elif mode == "degrees":
            mid = (min_ + max_) / 2
            out[motor] = (val - mid) * 360 / MAX_RES
        else:
            raise NotImplementedError(mode)
    return out


def unnormalize(values: dict[str, float], calibration: dict[str, dict[str, int]],
                modes: dict[str, str]) -> dict[str, int]:
    out = {}
    for motor, val in values.items():
        cal = calibration[motor]
        min_, max_ = cal["range_min"], cal["range_max"]
        drive_mode = cal["drive_mode"]
        if max_ == min_:
            raise ValueError(f"Invalid calibration for motor '{motor}': min and max are equal.")
        mode = modes[motor]
        if mode == "range_m100_100":
            val = -val if drive_mode else val
            bounded_val = min(100.0, max(-100.0, val))
            out[motor] = int(((bounded_val + 100) / 200) * (max_ - min_) + min_)
        elif mode == "range_0_100":
            val = 100 - val if drive_mode else val
            bounded_val = min(100.0, max(0.0, val))
            out[motor] = int((bounded_val / 100) * (max_ - min_) + min_)
        elif mode == "degrees":
            mid = (min_ + max_) / 2
            out[motor] = int((val * MAX_RES / 360) + mid)
        else:
            raise NotImplementedError(mode)
    return out
