"""Repository-level pytest configuration: Hypothesis profiles (nothing the plugin needs).

``ci`` (chosen automatically when the CI environment variable is set) is thorough but
bounded and derandomized, so CI runs are reproducible; ``dev`` is quicker. Pick one with
``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or
                      ("ci" if os.environ.get("CI") else "dev"))
