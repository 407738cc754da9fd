"""MuJoCo: the embedded SO-101 model or a user MJCF. ``mujoco`` is imported only here."""
