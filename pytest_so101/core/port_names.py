"""Where an arm's bus is, as a name: a local serial device or a network serial port.

A port is a device path (``/dev/ttyACM0``) or a pyserial URL: ``socket://HOST:PORT`` (a
raw TCP serial server: ser2net in raw mode, ``so101-twin serve --tcp``) or
``rfc2217://HOST:PORT`` (a telnet serial server that also carries the baud: ser2net's
``telnet(rfc2217)``, a labgrid exporter). Standard library only: options and the arms
file are checked with it before anything heavy is imported. Who owns a port (claims) and
whether a device is there are the bus layer's (``bus/ports.py``).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from .errors import config_error

#: pyserial URL schemes an arm's port may use.
URL_SCHEMES = ("socket", "rfc2217")


def is_url(port: str) -> bool:
    return "://" in port


def check_port(port: str, *, source: str, joint: str | None = None,
               field: str | None = None) -> str:
    """``port`` if it is a device path or a ``socket://``/``rfc2217://`` URL with a host and
    a port number; else one :class:`So101ConfigError` line naming ``source`` (and the arm,
    as ``joint``, and the field)."""
    if "\0" in port:
        raise config_error("a port must not hold a NUL byte", source=source, joint=joint,
                           field=field, value=port)
    if not is_url(port):
        return port
    try:
        parts = urlsplit(port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in URL_SCHEMES:
        schemes = " or ".join(f"{scheme}://HOST:PORT" for scheme in URL_SCHEMES)
        raise config_error(f"a network port must be {schemes}", source=source, joint=joint,
                           field=field, value=port)
    try:
        number = parts.port
    except ValueError:                 # not a number, or beyond 65535
        number = -1
    if number is not None and not 1 <= number <= 65535:
        raise config_error("the TCP port number must be 1..65535", source=source,
                           joint=joint, field=field, value=port)
    if not parts.hostname or number is None or parts.path not in ("", "/"):
        raise config_error(f"must be {parts.scheme}://HOST:PORT with a port number",
                           source=source, joint=joint, field=field, value=port)
    return port


def _host_key(host: str) -> str:
    """One name per host without asking DNS: loopback names and addresses as one, an IP
    address in its canonical form, a name in lower case."""
    host = host.lower().rstrip(".")
    if host == "localhost":
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return "loopback" if address.is_loopback else address.compressed


def port_key(port: str) -> str:
    """The same port under one name: a device's real path (``/dev/serial/by-id/...`` is a
    link to ``/dev/ttyACM0``), a URL's host and port (``socket://`` and ``rfc2217://`` on one
    host and port are one serial server; ``localhost`` and ``127.0.0.1`` one host)."""
    if not is_url(port):
        return os.path.realpath(port)
    parts = urlsplit(port)
    return f"tcp://{_host_key(parts.hostname or '')}:{parts.port}"
