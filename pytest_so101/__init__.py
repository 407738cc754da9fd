"""pytest-so101: validate that an SO-101 arm, its MuJoCo model and a policy's stats agree.

Importing the package is cheap: it imports no submodule (so neither numpy, mujoco,
pyserial nor scservo_sdk). Use the submodules directly, e.g. ``pytest_so101.frames``.
"""

__version__ = "0.1.0"
