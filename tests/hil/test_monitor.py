"""`mcutrain monitor` against the board: INFO line, events, periodic stats lines decoded from frames."""

from __future__ import annotations

import io
from typing import Any

from mcutrain.device.client import DeviceTarget
from mcutrain.monitor import monitor


def test_monitor_decodes_info_and_stats(board: Any) -> None:
    out = io.StringIO()
    rc = monitor(DeviceTarget(board), interval=0.2, duration=0.9, out=out)
    text = out.getvalue().splitlines()
    assert rc == 0
    assert "protocol v1" in text[0] and "arena" in text[0]
    stats = [line for line in text if line.startswith("steps ")]
    assert len(stats) >= 3
    assert all("stack" in line for line in stats)
