"""`mcutrain monitor`: a serial monitor that speaks the protocol — it decodes frames and shows the board's
log lines, events (boot, fault, watchdog) and a line of stats every few seconds. Ctrl-C ends it.

On a real board it attaches to what is running (training continues from another tool is not needed: the
board keeps its state); on the emulated board it boots a fresh one, which then idles.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .device.link import LinkError
from .device.protocol import Event, name_of


def _line(s: dict[str, Any]) -> str:
    loss = s["loss_ema"]
    return (
        f"steps {s['steps']:,}  loss(EMA) {loss:.4f}  acc(EMA) {100 * s['acc_ema']:.1f} %  "
        f"instr/step {s['instructions_mean_step']:,}  arena {s['peak_arena_bytes']:,}/"
        f"{s['planned_arena_bytes']:,} B  stack {s['peak_stack_bytes']:,} B"
    )


def monitor(dev: Any, interval: float = 2.0, duration: float | None = None, out: Any = sys.stdout) -> int:
    """Print INFO, then events/logs as they arrive and STATS every `interval` s (until `duration`)."""
    info = dev.info()
    print(
        f"{info.board}: firmware {'.'.join(map(str, info.fw_version))}, protocol v{info.proto_version}, "
        f"{info.cpu_hz / 1e6:.0f} MHz, SRAM {info.sram_bytes:,} B, arena {info.arena_bytes:,} B, "
        f"program v{info.schedule_version} id 0x{info.model_id:08x}, checkpoint slot {info.checkpoint_slot}",
        file=out,
    )
    link = dev.link
    seen_logs = len(link.logs)
    end = None if duration is None else time.monotonic() + duration
    try:
        while end is None or time.monotonic() < end:
            try:
                s = dev.stats()
            except LinkError as e:  # reset, fault, unplugged: say so in one line and stop
                print(f"monitor: {e}", file=out)
                return 1
            for text in link.logs[seen_logs:]:
                print(f"[log] {text}", file=out)
            seen_logs = len(link.logs)
            while link.events:
                kind, payload = link.events.popleft()
                if kind != Event.LOG:
                    print(f"[event] {name_of(Event, kind)} {payload.hex()}", file=out)
            print(_line(s), file=out, flush=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return 0
