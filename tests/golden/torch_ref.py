"""Independent fp32 reference (test-only): the same graph in PyTorch with dequantized weights,
fake-quantized activations (straight-through estimator) and autograd."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from mcutrain.golden.forward import act_range
from mcutrain.golden.geometry import conv_geometry, out_size, pad_before
from mcutrain.golden.loss import logits_tensor
from mcutrain.ir import Graph, Op

torch.set_num_threads(1)


def _wreal(g: Graph, tid: int) -> torch.Tensor:
    w = g.tensors[tid]
    shape = [1] * w.data.ndim
    shape[w.quant.axis if w.quant.per_channel else 0] = -1
    r = w.data.astype(np.float64) * w.quant.scale.astype(np.float64).reshape(shape)
    return torch.tensor(r, dtype=torch.float64, requires_grad=True)


def _breal(g: Graph, op: Op) -> torch.Tensor:
    x, w = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]]
    n = w.shape[0] if op.kind != "DEPTHWISE_CONV_2D" else w.shape[3]
    b = g.tensors[op.input(2)].data.astype(np.float64) if op.input(2) >= 0 else np.zeros(n)
    s = np.broadcast_to(w.quant.scale.astype(np.float64), (n,))
    return torch.tensor(b * float(x.scale) * s, dtype=torch.float64, requires_grad=True)


_FORCED: dict[int, np.ndarray] = {}


def _fq(y: torch.Tensor, g: Graph, op: Op, masked: bool = True) -> torch.Tensor:
    """Fake quantization with a straight-through estimator. The gradient passes where the quantized
    value lies strictly inside the clamp (lo, hi) — the engine's rule — or everywhere if not masked.
    If the int8 value of this tensor is forced (e.g. TFLite Micro's), the forward takes that value."""
    t = g.tensors[op.outputs[0]]
    lo, hi = act_range(t, op.options.get("activation", "NONE"))
    s, zp = float(t.scale), int(t.zero_point)
    q = torch.clamp(torch.round(y.detach() / s) + zp, lo, hi)
    if op.outputs[0] in _FORCED:
        q = torch.tensor(_FORCED[op.outputs[0]].astype(np.float64)).reshape(q.shape)
    ste = y + ((q - zp) * s - y).detach()
    if not masked:
        return ste
    inside = (q > lo) & (q < hi)
    return torch.where(inside, ste, ste.detach())


def _same_pad(x: torch.Tensor, op: Op, kh: int, kw: int, value: float = 0.0) -> tuple[torch.Tensor, dict]:
    h, w = x.shape[2], x.shape[3]
    geo = conv_geometry(op.options, (h, w), (kh, kw))
    hp = (geo["oh"] - 1) * geo["sh"] + kh
    wp = (geo["ow"] - 1) * geo["sw"] + kw
    pads = (geo["pw"], max(wp - w - geo["pw"], 0), geo["ph"], max(hp - h - geo["ph"], 0))
    return F.pad(x, pads, value=value), geo


def run(g: Graph, x_q: np.ndarray, label: int, forced: dict[int, np.ndarray] | None = None) -> dict:
    """`forced`: tensor id -> int8 values the fake-quantized activations take in the forward
    (gradients still come from torch autograd).
    Returns {"loss", "w": {op: grad}, "b": {op: grad}, "act": {tid: grad}} as float64 numpy."""
    _FORCED.clear()
    _FORCED.update(forced or {})
    xin = g.tensors[g.inputs[0]]
    v: dict[int, torch.Tensor] = {}
    v[g.inputs[0]] = torch.tensor((x_q.astype(np.float64) - xin.zero_point) * float(xin.scale)).reshape(xin.shape)
    ws, bs = {}, {}
    stop = logits_tensor(g)
    for i, op in enumerate(g.ops):
        x = v[op.inputs[0]]
        k = op.kind
        if k in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            ws[i], bs[i] = _wreal(g, op.inputs[1]), _breal(g, op)
            xn = x.permute(0, 3, 1, 2)
            wt = ws[i].permute(0, 3, 1, 2) if k == "CONV_2D" else ws[i].permute(3, 0, 1, 2)
            xp, geo = _same_pad(xn, op, wt.shape[2], wt.shape[3])
            groups = 1 if k == "CONV_2D" else xn.shape[1]
            if k == "DEPTHWISE_CONV_2D":
                m = wt.shape[0] // xn.shape[1]
                xp = xp.repeat_interleave(m, dim=1)
                groups = wt.shape[0]
            y = F.conv2d(xp, wt, bs[i], stride=(geo["sh"], geo["sw"]), groups=groups).permute(0, 2, 3, 1)
            y = _fq(y, g, op)
        elif k == "FULLY_CONNECTED":
            ws[i], bs[i] = _wreal(g, op.inputs[1]), _breal(g, op)
            y = _fq(F.linear(x.reshape(-1, ws[i].shape[1]), ws[i], bs[i]), g, op)
        elif k == "ADD":
            y = _fq(x + v[op.inputs[1]], g, op)
        elif k in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            kh, kw = op.options["filter_h"], op.options["filter_w"]
            xn = x.permute(0, 3, 1, 2)
            h, w = xn.shape[2:]
            sh, sw = op.options["stride_h"], op.options["stride_w"]
            pd = op.options["padding"]
            oh, ow = out_size(pd, h, kh, sh), out_size(pd, w, kw, sw)
            ph, pw = pad_before(pd, h, kh, sh), pad_before(pd, w, kw, sw)
            pads = (pw, max((ow - 1) * sw + kw - w - pw, 0), ph, max((oh - 1) * sh + kh - h - ph, 0))
            if k == "MAX_POOL_2D":
                y = F.max_pool2d(F.pad(xn, pads, value=-1e9), (kh, kw), (sh, sw))
            else:
                s = F.avg_pool2d(F.pad(xn, pads), (kh, kw), (sh, sw)) * (kh * kw)
                cnt = F.avg_pool2d(F.pad(torch.ones_like(xn), pads), (kh, kw), (sh, sw)) * (kh * kw)
                y = s / cnt
            y = y[:, :, :oh, :ow].permute(0, 2, 3, 1)
            y = _fq(y, g, op, op.options["activation"] != "NONE")
        elif k == "MEAN":
            axes = [int(a) % x.dim() for a in g.tensors[op.inputs[1]].data.reshape(-1)]
            y = _fq(x.mean(dim=axes, keepdim=True).reshape(g.tensors[op.outputs[0]].shape), g, op)
        elif k == "PAD":
            p = g.tensors[op.inputs[1]].data.reshape(-1, 2)
            flat = [int(a) for pair in p[::-1] for a in pair]
            y = F.pad(x, flat)
        elif k in ("RESHAPE", "QUANTIZE", "DEQUANTIZE"):
            y = x.reshape(g.tensors[op.outputs[0]].shape)
        elif k == "SOFTMAX":
            break
        if y.requires_grad:
            y.retain_grad()
        v[op.outputs[0]] = y
        if op.outputs[0] == stop:
            break
    z = v[stop].reshape(1, -1)
    loss = F.cross_entropy(z, torch.tensor([label]))
    loss.backward()
    acts = {t: a.detach().numpy() for t, a in v.items()}
    return {
        "acts": acts,
        "loss": float(loss.detach()),
        "w": {i: t.grad.numpy() for i, t in ws.items()},
        "b": {i: t.grad.numpy() for i, t in bs.items()},
        "act": {t: a.grad.numpy() for t, a in v.items() if a.grad is not None},
    }
