"""The features whose normalization stats can be checked (stdlib only, so that option
parsing needs no numpy)."""

FEATURES: tuple[str, ...] = ("observation.state", "action")
