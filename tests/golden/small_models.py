"""Small random int8 models built directly as IR Graphs, calibrated with the golden forward."""

from __future__ import annotations

import numpy as np

from mcutrain.golden.forward import KERNELS
from mcutrain.ir import Graph, Op, Quant, Tensor


def _q(scale: float, zp: int) -> Quant:
    return Quant(np.array([scale], np.float32), np.array([zp], np.int64))


class Builder:
    def __init__(self, shape: tuple[int, ...], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tensors: list[Tensor] = [Tensor("input", shape, "int8", _q(1 / 64, 0))]
        self.ops: list[Op] = []
        self.vals = [self.rng.integers(-100, 100, shape).astype(np.int8) for _ in range(4)]
        self.cur = 0
        self.cache: list[dict[int, np.ndarray]] = [{0: v} for v in self.vals]

    def const(self, name: str, data: np.ndarray, dtype: str, quant: Quant | None = None) -> int:
        self.tensors.append(Tensor(name, data.shape, dtype, quant, data.astype(dtype)))
        return len(self.tensors) - 1

    def _emit(self, kind: str, inputs: list[int], out_shape: tuple[int, ...], options: dict, relu: bool) -> int:
        """Add the op, then pick its output scale from calibration runs of the golden kernel."""
        self.tensors.append(Tensor(f"{kind.lower()}_{len(self.ops)}", out_shape, "int8", _q(1.0, 0)))
        out = len(self.tensors) - 1
        op = Op(kind, inputs, [out], options, name=self.tensors[out].name)
        self.ops.append(op)
        g = Graph(self.tensors, self.ops, [0], [out])
        zp = -128 if relu else 0
        scale = 1.0
        for _ in range(3):
            self.tensors[out].quant = _q(scale, 0)
            if kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "PAD"):
                self.tensors[out].quant = self.tensors[inputs[0]].quant
                break
            big = max(float(np.max(np.abs(KERNELS[kind](g, op, c).astype(np.int32)))) for c in self.cache)
            if big >= 127:
                scale *= 64
                continue
            rng_real = max(big, 1) * scale
            scale = rng_real / (250 if relu else 120)
            self.tensors[out].quant = _q(scale, zp)
            break
        for c in self.cache:
            c[out] = KERNELS[kind](g, op, c)
        self.cur = out
        return out

    def conv(self, cout: int, k: int, stride: int = 1, padding: str = "SAME", act: str = "RELU6") -> int:
        x = self.tensors[self.cur]
        cin = x.shape[3]
        w = self.rng.normal(0, 1, (cout, k, k, cin))
        sw = np.abs(w).reshape(cout, -1).max(axis=1) / 127
        wq = np.round(w / sw[:, None, None, None])
        wt = self.const(f"w{len(self.ops)}", wq, "int8", Quant(sw.astype(np.float32), np.zeros(cout, np.int64), 0))
        sb = (x.scale * sw).astype(np.float32)
        bt = self.const(f"b{len(self.ops)}", np.round(self.rng.normal(0, 0.2, cout) / sb), "int32",
                        Quant(sb, np.zeros(cout, np.int64), 0))
        h = (x.shape[1] + stride - 1) // stride if padding == "SAME" else (x.shape[1] - k) // stride + 1
        opts = {"padding": padding, "stride_h": stride, "stride_w": stride, "activation": act}
        return self._emit("CONV_2D", [self.cur, wt, bt], (1, h, h, cout), opts, act != "NONE")

    def dwconv(self, k: int, stride: int = 1, mult: int = 1, act: str = "RELU") -> int:
        x = self.tensors[self.cur]
        cout = x.shape[3] * mult
        w = self.rng.normal(0, 1, (1, k, k, cout))
        sw = np.abs(w).reshape(-1, cout).max(axis=0) / 127
        wt = self.const(f"w{len(self.ops)}", np.round(w / sw), "int8",
                        Quant(sw.astype(np.float32), np.zeros(cout, np.int64), 3))
        sb = (x.scale * sw).astype(np.float32)
        bt = self.const(f"b{len(self.ops)}", np.round(self.rng.normal(0, 0.2, cout) / sb), "int32",
                        Quant(sb, np.zeros(cout, np.int64), 0))
        h = (x.shape[1] + stride - 1) // stride
        opts = {"padding": "SAME", "stride_h": stride, "stride_w": stride, "activation": act,
                "depth_multiplier": mult}
        return self._emit("DEPTHWISE_CONV_2D", [self.cur, wt, bt], (1, h, h, cout), opts, act != "NONE")

    def fc(self, cout: int, act: str = "NONE") -> int:
        x = self.tensors[self.cur]
        cin = int(np.prod(x.shape))
        w = self.rng.normal(0, 1, (cout, cin))
        sw = float(np.abs(w).max() / 127)
        wt = self.const(f"w{len(self.ops)}", np.round(w / sw), "int8", _q(sw, 0))
        sb = np.float32(x.scale * sw)
        bt = self.const(f"b{len(self.ops)}", np.round(self.rng.normal(0, 0.2, cout) / sb), "int32", _q(sb, 0))
        opts = {"activation": act, "keep_num_dims": False}
        return self._emit("FULLY_CONNECTED", [self.cur, wt, bt], (1, cout), opts, act != "NONE")

    def add(self, other: int, act: str = "RELU") -> int:
        return self._emit("ADD", [self.cur, other], self.tensors[self.cur].shape, {"activation": act}, act != "NONE")

    def pool(self, kind: str, k: int, stride: int, padding: str = "VALID") -> int:
        x = self.tensors[self.cur]
        h = (x.shape[1] + stride - 1) // stride if padding == "SAME" else (x.shape[1] - k) // stride + 1
        opts = {"padding": padding, "stride_h": stride, "stride_w": stride, "filter_h": k, "filter_w": k,
                "activation": "NONE"}
        return self._emit(kind, [self.cur], (1, h, h, x.shape[3]), opts, False)

    def mean(self) -> int:
        x = self.tensors[self.cur]
        ax = self.const(f"axes{len(self.ops)}", np.array([1, 2]), "int32")
        return self._emit("MEAN", [self.cur, ax], (1, 1, 1, x.shape[3]), {"keep_dims": True}, False)

    def pad(self, p: int) -> int:
        x = self.tensors[self.cur]
        pt = self.const(f"pad{len(self.ops)}", np.array([[0, 0], [p, p], [p, p], [0, 0]]), "int32")
        shape = (1, x.shape[1] + 2 * p, x.shape[2] + 2 * p, x.shape[3])
        return self._emit("PAD", [self.cur, pt], shape, {}, False)

    def reshape(self, shape: tuple[int, ...]) -> int:
        st = self.const(f"shape{len(self.ops)}", np.array(shape), "int32")
        return self._emit("RESHAPE", [self.cur, st], shape, {}, False)

    def softmax(self) -> Graph:
        self.tensors.append(Tensor("probs", self.tensors[self.cur].shape, "int8", _q(1 / 256, -128)))
        self.ops.append(Op("SOFTMAX", [self.cur], [len(self.tensors) - 1], {"beta": 1.0}, "probs"))
        return Graph(self.tensors, self.ops, [0], [len(self.tensors) - 1], "small")


def conv_net(seed: int) -> Graph:
    """PAD, conv (VALID), depthwise x2 multiplier, pointwise, residual ADD, max pool, conv, MEAN, FC."""
    b = Builder((1, 12, 12, 3), seed)
    b.pad(1)
    b.conv(8, 3, padding="VALID")
    b.dwconv(3, stride=2, mult=2, act="RELU6")
    skip = b.conv(16, 1, act="RELU")
    b.dwconv(3, act="RELU")
    b.conv(16, 1, act="NONE")
    b.add(skip, act="RELU")
    b.pool("MAX_POOL_2D", 2, 2)
    b.conv(12, 3, act="RELU6")
    b.mean()
    b.reshape((1, 12))
    b.fc(5)
    return b.softmax()


def pool_net(seed: int) -> Graph:
    """conv stride 2, SAME average pool with partial windows, FC head without softmax."""
    b = Builder((1, 10, 10, 4), seed)
    b.conv(6, 3, stride=2, act="RELU")
    b.pool("AVERAGE_POOL_2D", 3, 2, "SAME")
    b.dwconv(3, act="RELU6")
    b.fc(3)
    g = Graph(b.tensors, b.ops, [0], [b.cur], "pool")
    return g
