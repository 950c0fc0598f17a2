"""Measured comparison (benchmarks and tests only): peak RSS of PyTorch fp32 training of the same architecture.

The torch model is rebuilt from the IR with dequantized weights (every parameter trainable, as a framework
would train it). A child process measures its peak RSS (VmHWM) after building the model and input, and again
after one SGD step at batch 1; the parent only reads the JSON the child prints. torch is imported only here.

    python -m mcutrain.compiler.pytorch_peak MODEL.tflite        # prints JSON
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..ir import Graph, Op


def _peak_rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _dequant(graph: Graph, t: int) -> np.ndarray:
    ten = graph.tensors[t]
    assert ten.data is not None and ten.quant is not None
    q = ten.data.astype(np.float32)
    scale = ten.quant.scale.astype(np.float32)
    if scale.size > 1:
        shape = [1] * q.ndim
        shape[ten.quant.axis] = scale.size
        scale = scale.reshape(shape)
    return (q - ten.quant.zero_point.reshape(scale.shape).astype(np.float32)) * scale


def _bias(graph: Graph, op: Op) -> np.ndarray | None:
    b = op.input(2)
    if b < 0:
        return None
    s_in = graph.tensors[op.inputs[0]].scale
    s_w = graph.tensors[op.inputs[1]].quant.scale.astype(np.float32)
    return graph.tensors[b].data.astype(np.float32) * s_in * s_w


def _same(n: int, k: int, s: int) -> tuple[int, int]:
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def build_torch_model(graph: Graph) -> Any:
    """An nn.Module that runs the IR graph in fp32 (NCHW inside; returns the logits)."""
    import torch
    import torch.nn.functional as nnf
    from torch import nn

    from .autodiff import find_logits

    logits, _ = find_logits(graph)

    def act(x: Any, name: str) -> Any:
        return {"NONE": x, "RELU": nnf.relu(x), "RELU6": torch.clamp(x, 0.0, 6.0)}[name] if name != "NONE" else x

    def nhwc(x: Any) -> Any:
        return x.permute(0, 2, 3, 1) if x.dim() == 4 else x

    def nchw(x: Any) -> Any:
        return x.permute(0, 3, 1, 2) if x.dim() == 4 else x

    def pad_same(x: Any, op: Op, kh: int, kw: int, value: float = 0.0) -> Any:
        if op.options.get("padding") != "SAME":
            return x
        t, b = _same(x.shape[2], kh, op.options["stride_h"])
        left, r = _same(x.shape[3], kw, op.options["stride_w"])
        return nnf.pad(x, (left, r, t, b), value=value)

    class IRModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.params = nn.ParameterDict()
            for i, op in enumerate(graph.ops):
                if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                    w = _dequant(graph, op.inputs[1])
                    w = w.transpose(3, 0, 1, 2) if op.kind == "DEPTHWISE_CONV_2D" else w
                    w = w.transpose(0, 3, 1, 2) if op.kind == "CONV_2D" else w
                    self.params[f"w{i}"] = nn.Parameter(torch.from_numpy(np.ascontiguousarray(w)))
                    b = _bias(graph, op)
                    if b is not None:
                        self.params[f"b{i}"] = nn.Parameter(torch.from_numpy(b))

        def forward(self, x: Any) -> Any:
            vals: dict[int, Any] = {graph.inputs[0]: x}
            for i, op in enumerate(graph.ops):
                if op.outputs[0] in vals:
                    continue
                vals[op.outputs[0]] = self.run(i, op, vals)
                if op.outputs[0] == logits:
                    break
            return vals[logits].reshape(1, -1)

        def run(self, i: int, op: Op, vals: dict[int, Any]) -> Any:
            x = vals.get(op.inputs[0])
            o = op.options
            b = self.params.get(f"b{i}")
            if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                w = self.params[f"w{i}"]
                x = pad_same(x, op, w.shape[2], w.shape[3])
                groups = x.shape[1] if op.kind == "DEPTHWISE_CONV_2D" else 1
                y = nnf.conv2d(x, w, b, stride=(o["stride_h"], o["stride_w"]), groups=groups)
                return act(y, o["activation"])
            if op.kind == "FULLY_CONNECTED":
                y = nnf.linear(nhwc(x).reshape(1, -1), self.params[f"w{i}"], b)
                return act(y, o["activation"])
            if op.kind == "ADD":
                return act(x + vals[op.inputs[1]], o["activation"])
            if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
                k, s = (o["filter_h"], o["filter_w"]), (o["stride_h"], o["stride_w"])
                if op.kind == "MAX_POOL_2D":
                    return act(nnf.max_pool2d(pad_same(x, op, *k, value=float("-inf")), k, s), o["activation"])
                if o["padding"] == "SAME" and _same(x.shape[2], k[0], s[0]) != (0, 0):
                    raise NotImplementedError("AVERAGE_POOL_2D with SAME padding")
                return act(nnf.avg_pool2d(x, k, s), o["activation"])
            if op.kind == "MEAN":
                axes = [int(a) for a in np.ravel(graph.tensors[op.inputs[1]].data)]
                y = nhwc(x).mean(dim=axes, keepdim=o.get("keep_dims", False))
                return nchw(y) if y.dim() == 4 else y
            if op.kind == "PAD":
                p = graph.tensors[op.inputs[1]].data
                return nchw(nnf.pad(nhwc(x), tuple(int(v) for row in p[::-1] for v in row)))
            if op.kind == "RESHAPE":
                return nchw(nhwc(x).reshape(graph.tensors[op.outputs[0]].shape))
            if op.kind in ("QUANTIZE", "DEQUANTIZE", "SOFTMAX"):
                return x
            raise NotImplementedError(op.kind)

    return IRModule()


def measure_in_process(model_path: str | Path, seed: int = 0) -> dict[str, Any]:
    import torch

    from ..tflite_import import load_tflite

    torch.manual_seed(seed)
    graph = load_tflite(model_path)
    model = build_torch_model(graph)
    shape = graph.tensors[graph.inputs[0]].shape
    x = torch.rand((1, shape[3], shape[1], shape[2]) if len(shape) == 4 else shape)
    label = torch.tensor([0])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = _peak_rss_bytes()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, label)
    opt.zero_grad()
    loss.backward()
    opt.step()
    after = _peak_rss_bytes()
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "torch_version": torch.__version__,
        "params": n_params,
        "param_bytes_fp32": 4 * n_params,
        "peak_rss_before_step_bytes": before,
        "peak_rss_after_step_bytes": after,
        "training_step_delta_bytes": after - before,
        "loss": float(loss.item()),
    }


def measure_pytorch_peak(model_path: str | Path, timeout: float = 600) -> dict[str, Any]:
    """Run the measurement in a fresh interpreter, so the RSS is torch's alone (plus Python's)."""
    cmd = [sys.executable, "-m", "mcutrain.compiler.pytorch_peak", str(model_path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"pytorch peak measurement failed: {last}")
    return json.loads(p.stdout)


if __name__ == "__main__":
    print(json.dumps(measure_in_process(sys.argv[1]), indent=2))
