"""Model cards: models/<name>.md (for people) and models/<name>.json (for tests and tools)."""

from __future__ import annotations

import json
from pathlib import Path

from mcutrain.modelzoo.tflite_info import read, summary


def _kb(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def write(out_dir: Path, name: str, title: str, data: str, metrics: dict[str, object], notes: list[str],
          command: str) -> dict[str, object]:
    """Write <name>.md and <name>.json next to <name>.tflite; return the JSON record."""
    s = summary(read(out_dir / f"{name}.tflite"))
    record = {"name": name, "file": f"{name}.tflite", **s, "metrics": metrics, "command": command}
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    i, o = s["input"], s["output"]
    lines = [
        f"# {name}", "", title, "",
        "| | |", "|---|---|",
        f"| file | `models/{name}.tflite` |",
        f"| data | {data} |",
        f"| input | {list(i['shape'])} int8, scale {i['scale']:.8g}, zero point {i['zero_point']} "
        "(real value = pixel in [0, 1]: q = pixel_uint8 - 128) |",
        f"| output | {list(o['shape'])} int8 softmax, scale {o['scale']:.8g}, zero point {o['zero_point']} |",
        f"| ops | {', '.join(f'{k} x{v}' for k, v in s['ops'].items())} |",
        f"| MACs | {s['macs']:,} |",
        f"| parameters | {s['params']:,} (weights + biases; {_kb(s['weight_bytes'])} as int8/int32) |",
        f"| flash (.tflite) | {_kb(s['flash_bytes'])} |",
        f"| activation peak, one op's inputs + outputs | {_kb(s['op_peak_bytes'])} |",
        f"| activation peak, all live tensors (skips kept) | {_kb(s['live_peak_bytes'])} |",
    ]
    lines += [f"| {k} | {v} |" for k, v in metrics.items()]
    lines += ["", "Weights are int8 per output channel (convolutions), biases int32; BatchNorm folded.", ""]
    lines += [f"- {n}" for n in notes]
    lines += ["", "Built by (seeded, reproducible up to float summation order):", "", f"    {command}", ""]
    (out_dir / f"{name}.md").write_text("\n".join(lines))
    return record
