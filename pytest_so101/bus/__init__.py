"""The servo bus: STS3215 protocol codec, the emulated arm behind a pty, the real bus.

Importing this package imports nothing; ``feetech`` imports ``scservo_sdk`` and
``serial`` when used.
"""
