"""Backward vs an independent PyTorch fp32 reference (same dequantized weights, fake-quantized
activations, straight-through estimator). Per layer cosine of weight, bias and input gradients.

The asserted comparison forces the reference's fake-quantized activations to the int8 values of
TFLite Micro (person model) or of the golden forward (small models; that forward is checked
bit-exact against TFLM in test_forward.py): both sides then differentiate the same forward pass.
The free-running reference (torch rounds its own float forward) is printed for information.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch_ref
from golden_refs import PD, cosine, tflm_intermediates
from small_models import conv_net, pool_net

from mcutrain.golden.backward import PARAM_OPS, backward
from mcutrain.golden.forward import forward
from mcutrain.golden.grads import real
from mcutrain.golden.loss import logits_tensor, loss_and_grad
from mcutrain.ir import Graph

THRESHOLD = {"fp32": 0.99, "int": 0.95}


def full_scheme(g: Graph) -> dict[int, dict]:
    out = {}
    for i, op in enumerate(g.ops):
        if op.kind in PARAM_OPS:
            w = g.tensors[op.inputs[1]]
            out[i] = {"bias": True, "weight_channels": w.shape[3] if op.kind == "DEPTHWISE_CONV_2D" else w.shape[0]}
    return out


def cosines(g: Graph, acts: dict, ref: dict, label: int, mode: str) -> dict[str, dict]:
    loss, gl = loss_and_grad(g, acts[logits_tensor(g)], label, mode)
    assert abs(loss - ref["loss"]) < 1e-3 or not ref.get("forced")
    r = backward(g, acts, gl, full_scheme(g), mode, all_inputs=True)
    return {
        "w": {i: cosine(real(r.weight[i]), ref["w"][i]) for i in r.weight},
        "b": {i: cosine(real(r.bias[i]), ref["b"][i]) for i in r.bias},
        "x": {t: cosine(real(r.act[t]), ref["act"][t]) for t in r.act if t in ref["act"] and t not in g.inputs},
    }


def check(g: Graph, x: np.ndarray, label: int, forced: dict, tag: str) -> None:
    acts = forward(g, x)
    ref = torch_ref.run(g, x, label, forced=forced)
    ref["forced"] = True
    free = torch_ref.run(g, x, label)
    for mode in ("fp32", "int"):
        c = cosines(g, acts, ref, label, mode)
        cf = cosines(g, acts, free, label, mode)
        mins = {k: min(v.values()) for k, v in c.items()}
        fmins = {k: min(v.values()) for k, v in cf.items()}
        print(f"\n{tag} {mode}: min cos weight {mins['w']:.4f} bias {mins['b']:.4f} input {mins['x']:.4f}"
              f" over {len(c['w'])} layers | free-running ref: {fmins['w']:.4f} {fmins['b']:.4f} {fmins['x']:.4f}")
        for kind, vals in c.items():
            bad = {k: round(v, 4) for k, v in vals.items() if v < THRESHOLD[mode]}
            assert not bad, f"{tag} {mode} {kind} gradients below {THRESHOLD[mode]}: {bad}"


@pytest.mark.parametrize(("name", "label"), [("person", 1), ("no_person", 0), ("random", 1)])
def test_person_detection_gradients(person_graph, person_inputs, name, label) -> None:
    g = person_graph
    x = person_inputs[name]
    check(g, x, label, tflm_intermediates(PD / "person_detect.tflite", g, x), f"person-detection/{name}")


@pytest.mark.parametrize("build", [conv_net, pool_net])
@pytest.mark.parametrize("seed", [0, 1])
def test_small_random_models(build, seed) -> None:
    g = build(seed)
    rng = np.random.default_rng(100 + seed)
    x = rng.integers(-100, 100, g.tensors[g.inputs[0]].shape).astype(np.int8)
    acts = forward(g, x)
    label = int(rng.integers(0, g.tensors[logits_tensor(g)].shape[-1]))
    check(g, x, label, {op.outputs[0]: acts[op.outputs[0]] for op in g.ops}, f"{build.__name__}/seed{seed}")


def test_partial_channels_and_pruned_propagation(person_graph, person_inputs) -> None:
    """Only the first k output channels get weight gradients; frozen layers below get no gradient."""
    g = person_graph
    acts = forward(g, person_inputs["person"])
    for mode in ("fp32", "int"):
        _, gl = loss_and_grad(g, acts[logits_tensor(g)], 1, mode)
        full = backward(g, acts, gl, {24: {"bias": True, "weight_channels": 256}, 25: {"bias": False,
                        "weight_channels": 256}}, mode)
        part = backward(g, acts, gl, {24: {"bias": True, "weight_channels": 64}, 25: {"bias": False,
                        "weight_channels": 100}}, mode)
        assert part.weight[24].shape == (64, 1, 1, 128) and part.weight[25].shape == (1, 3, 3, 100)
        tol = 0 if mode == "int" else 1e-5  # int mode: identical; fp32: float summation order
        np.testing.assert_allclose(real(part.weight[24]), real(full.weight[24])[:64], rtol=tol)
        np.testing.assert_allclose(real(part.weight[25]), real(full.weight[25])[..., :100], rtol=tol)
        assert 25 not in part.bias and 24 in part.bias
        # nothing below op 24's input is computed
        assert g.ops[24].inputs[0] not in part.act and g.ops[23].inputs[0] not in part.act
