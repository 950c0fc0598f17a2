"""Extreme quantization through the whole path (test builder -> importer -> emitter -> sanitized
engine). Run as a script with the ASan/UBSan engine preloaded (test_saturation.py does that): prints
one JSON line per case, {"name", "status", "out", "want"}; a UB report aborts the process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import numpy as np

from mcutrain.compiler.emit import compile_graph
from mcutrain.tflite_import import ModelError, parse_tflite

from .models import ModelBuilder

I32_MAX, I32_MIN = (1 << 31) - 1, -(1 << 31)
# float32 scales whose ratio rounds to the largest int32 multiplier, 2^31 - 1 (shift 0)
ALMOST_ONE_IN = float(np.float32(1 - 300 * 2.0**-24))
ALMOST_ONE_W = float(np.float32(1 + 150 * 2.0**-23))

# model, inputs, and the value every output byte must have (or the whole output), None: any int8
Case = tuple[bytes, list[np.ndarray], int | list[int] | None]


def fc(x: int, zx: int, w: int, sx: float, sw: float, so: float, zo: int, bias: int, depth: int = 64,
       act: str = "NONE") -> Case:
    mb = ModelBuilder()
    xi = mb.tensor([1, depth], scale=sx, zero_point=zx)
    wi = mb.tensor([4, depth], scale=[sw] * 4, zero_point=[0] * 4, data=np.full((4, depth), w))
    bi = mb.tensor([4], "int32", scale=[sx * sw] * 4, zero_point=[0] * 4, data=np.full(4, bias))
    yi = mb.tensor([1, 4], scale=so, zero_point=zo)
    mb.fc(xi, wi, bi, yi, act)
    return mb.build([xi], [yi]), [np.full((1, depth), x, np.int8)], None


def conv(x: int, zx: int, w: int, so: float, zo: int, depthwise: bool, act: str = "NONE") -> Case:
    mb = ModelBuilder()
    c = 8
    xi = mb.tensor([1, 6, 6, c], scale=1.0, zero_point=zx)
    shape = [1, 3, 3, c] if depthwise else [c, 3, 3, c]
    wi = mb.tensor(shape, scale=[1.0] * c, zero_point=[0] * c, data=np.full(shape, w), axis=3 if depthwise else 0)
    bi = mb.tensor([c], "int32", scale=[1.0] * c, zero_point=[0] * c, data=np.full(c, I32_MAX))
    yi = mb.tensor([1, 6, 6, c], scale=so, zero_point=zo)
    mb.conv(xi, wi, bi, yi, 1, "SAME", act, depthwise=depthwise)
    return mb.build([xi], [yi]), [np.full((1, 6, 6, c), x, np.int8)], None


def add(x: int, s1: float, s2: float, so: float, zo: int) -> Case:
    mb = ModelBuilder()
    a = mb.tensor([1, 4, 4, 2], scale=s1, zero_point=-128)
    b = mb.tensor([1, 4, 4, 2], scale=s2, zero_point=127)
    y = mb.tensor([1, 4, 4, 2], scale=so, zero_point=zo)
    mb.add(a, b, y)
    return mb.build([a, b], [y]), [np.full((1, 4, 4, 2), x, np.int8)] * 2, None


def mean(x: int, so: float) -> Case:
    mb = ModelBuilder()
    a = mb.tensor([1, 64, 64, 1], scale=1.0, zero_point=-128)
    axes = mb.tensor([2], "int32", data=np.array([1, 2]))
    y = mb.tensor([1, 1], scale=so, zero_point=0)
    mb.mean(a, axes, y, False)
    return mb.build([a], [y]), [np.full((1, 64, 64, 1), x, np.int8)], None


def requant(x: int, si: float, so: float, zi: int, zo: int) -> Case:
    from .models import s

    mb = ModelBuilder()
    a = mb.tensor([1, 16], scale=si, zero_point=zi)
    y = mb.tensor([1, 16], scale=so, zero_point=zo)
    mb.op(s.BuiltinOperator.QUANTIZE, [a], [y])
    return mb.build([a], [y]), [np.full((1, 16), x, np.int8)], None


def quantize(values: list[float], so: float, zo: int) -> Case:
    from .models import s

    mb = ModelBuilder()
    a = mb.tensor([1, len(values)], "float32")
    y = mb.tensor([1, len(values)], scale=so, zero_point=zo)
    mb.op(s.BuiltinOperator.QUANTIZE, [a], [y])
    return mb.build([a], [y]), [np.array([values], np.float32)], None


def softmax(x: int, si: float) -> Case:
    mb = ModelBuilder()
    a = mb.tensor([1, 10], scale=si, zero_point=-128)
    y = mb.tensor([1, 10], scale=1 / 256, zero_point=-128)
    mb.softmax(a, y)
    inp = np.full((1, 10), x, np.int8)
    inp[0, 0] = 127
    return mb.build([a], [y]), [inp], None


def want(case: Case, value: int | list[int]) -> Case:
    return case[0], case[1], value


CASES: dict[str, Callable[[], Case]] = {
    # huge effective scale (2^29): x * 2^shift wraps in int32 as in TFLite; any int8 is fine
    "fc_huge_scale_pos": lambda: fc(127, -128, 127, 1.0, 1.0, 2.0**-29, 0, 0),
    "fc_huge_scale_neg": lambda: fc(127, -128, -127, 1.0, 1.0, 2.0**-29, 0, 0),
    # large effective scale without wrap (2^8): every output clamps to the int8 end of its sign
    "fc_large_scale_pos": lambda: want(fc(127, -128, 127, 1.0, 1.0, 2.0**-8, 0, 0), 127),
    "fc_large_scale_neg": lambda: want(fc(127, -128, -127, 1.0, 1.0, 2.0**-8, 0, 0), -128),
    # tiny effective scale (below 2^-31): the multiplier is 0 and every output is the zero point
    "fc_tiny_scale_zp127": lambda: want(fc(127, -128, 127, 1e-20, 1e-20, 1e10, 127, 0), 127),
    "fc_tiny_scale_zp-128": lambda: want(fc(-128, 127, 127, 1e-20, 1e-20, 1e10, -128, 0), -128),
    # int32 extremes in the bias: the accumulator wraps as in TFLite; outputs stay int8
    "fc_bias_int32_max": lambda: fc(127, -128, 127, 1.0, 1.0, 2.0**-29, 0, I32_MAX),
    "fc_bias_int32_min": lambda: fc(-128, 127, -127, 1.0, 1.0, 2.0**-29, 0, I32_MIN),
    "fc_relu6_huge_scale": lambda: fc(127, -128, 127, 1.0, 1.0, 2.0**-29, -128, 0, act="RELU6"),
    # multiplier 2^31 - 1, accumulator INT32_MAX (bias only), output zero point 127
    "fc_max_multiplier_zp127": lambda: want(fc(-128, -128, 127, ALMOST_ONE_IN, ALMOST_ONE_W, 1.0, 127, I32_MAX),
                                            127),
    "fc_max_multiplier_zp-128": lambda: fc(-128, -128, 127, ALMOST_ONE_IN, ALMOST_ONE_W, 1.0, -128, I32_MIN),
    "conv_all127_huge_scale": lambda: conv(127, -128, 127, 2.0**-29, 0, False),
    "conv_all-128_weights-127": lambda: conv(-128, 127, -127, 2.0**-29, 127, False, "RELU"),
    "depthwise_all127_huge_scale": lambda: conv(127, -128, 127, 2.0**-29, -128, True),
    "add_scale_ratio_1e6": lambda: add(127, 1e-3, 1e3, 1e-6, 0),
    "add_all-128_tiny_out": lambda: add(-128, 1.0, 1.0, 2.0**-20, -128),
    "mean_4096_all127_tiny_out": lambda: want(mean(127, 2.0**-20), 127),
    "mean_4096_all-128": lambda: want(mean(-128, 1.0), 0),
    "requant_ratio_2^30": lambda: requant(127, 1.0, 2.0**-30, -128, 0),
    "requant_ratio_2^20": lambda: want(requant(127, 1.0, 2.0**-20, -128, 0), 127),
    "requant_ratio_2^-40": lambda: want(requant(127, 2.0**-40, 1.0, -128, 127), 127),
    "quantize_huge_floats": lambda: want(quantize([3e38, -3e38, 1e30, -1e30, 0.0, 1e-30], 1e-30, 0),
                                         [127, -128, 127, -128, 0, 1]),
    "softmax_huge_input_scale": lambda: softmax(-128, 1e3),
    "softmax_tiny_input_scale": lambda: softmax(127, 1e-3),
}


def run_case(name: str) -> dict[str, object]:
    model, inputs, value = CASES[name]()
    try:
        prog = compile_graph(parse_tflite(model, name), name)
    except ModelError as e:
        return {"name": name, "status": f"refused: {e}", "out": [], "want": value}
    from .hostile import engine

    # MCUTRAIN_SAT_KERNELS=arm: the Cortex-M kernels (ops/arm/, DSP instructions emulated) instead
    arm = {"arm_ops": True} if os.environ.get("MCUTRAIN_SAT_KERNELS") == "arm" else {}
    eng = engine().Engine(prog.blob, sanitize=True, **arm)
    for pid, x in zip(prog.inputs, inputs, strict=True):
        eng.write(pid, x)
    eng.run()
    out = np.concatenate([eng.read(pid).ravel().astype(np.int64) for pid in prog.outputs])
    dtypes = {str(eng.read(pid).dtype) for pid in prog.outputs}
    return {"name": name, "status": "ran", "dtypes": sorted(dtypes), "out": out.tolist(), "want": value}


def main(names: list[str]) -> None:
    from .hostile import use_engine_from_env

    use_engine_from_env()
    for name in names or list(CASES):
        print(json.dumps(run_case(name)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
