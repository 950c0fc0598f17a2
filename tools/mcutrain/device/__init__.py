"""Talking to a board: the serial link (link.py), its framing (cobs.py) and the command codes and
payload layouts (protocol.py). Spec: docs/protocol.md."""

from .link import CommandError, DeviceFaultError, DeviceResetError, Link, LinkError, open_link

__all__ = ["CommandError", "DeviceFaultError", "DeviceResetError", "Link", "LinkError", "open_link"]
