"""models/README.md: one table over every model's JSON card."""

from __future__ import annotations

import json
from pathlib import Path


def write(out_dir: Path, names: tuple[str, ...], command: str) -> None:
    rows = []
    for n in names:
        r = json.loads((out_dir / f"{n}.json").read_text())
        shape = "x".join(str(s) for s in r["input"]["shape"][1:])
        rows.append(f"| [{n}]({n}.md) | {shape} | {r['output']['shape'][-1]} | {r['macs'] / 1e6:.2f} M "
                    f"| {r['params']:,} | {r['flash_bytes'] / 1024:.0f} KiB | {r['op_peak_bytes'] / 1024:.1f} KiB "
                    f"| {r['live_peak_bytes'] / 1024:.1f} KiB |")
    text = [
        "# models/", "",
        "Full-integer int8 TFLite models (int8 input and output, per-channel int8 convolution weights, "
        "int32 biases), built on the host and committed so nothing downloads or trains at run time.", "",
        "| model | input | classes | MACs | params | flash | act. peak (op in+out) | act. peak (all live) |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        "Each model has a card (`<name>.md`, accuracies fp32/int8 and how it was built) and the same facts "
        "as JSON (`<name>.json`, read by tests/models). Input: real value = pixel in [0, 1], "
        "scale 1/255, zero point -128, i.e. `q = pixel_uint8 - 128`; `mcutrain.data.quantize.to_model_input` "
        "does this for any image (pixel - 128, as TFLite Micro's camera examples). "
        "Output: softmax, scale 1/256, zero point -128.", "",
        "Rebuild (needs the `models` extra, i.e. `pip install tensorflow==2.20.0`, and "
        "`apt-get install dataset-fashion-mnist`; 10-15 minutes on 2 cores):", "", f"    {command}", "",
    ]
    (out_dir / "README.md").write_text("\n".join(text))
