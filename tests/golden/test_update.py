"""QAS makes the int8 update equal fp32 SGD; tiny updates vanish with round-to-nearest and survive with
stochastic rounding or the fractional accumulator."""

from __future__ import annotations

import numpy as np

from mcutrain.golden.backward import backward
from mcutrain.golden.forward import forward
from mcutrain.golden.grads import real
from mcutrain.golden.loss import logits_tensor, loss_and_grad
from mcutrain.golden.update import (
    FRAC_BITS,
    SGDConfig,
    UpdateState,
    bias_step,
    extra_bytes,
    round_step,
    update_op,
    weight_step_fx,
    weight_step_lsb,
)

OP = 26  # last pointwise conv of the person model: 256 -> 256, per-channel weight scales


def grads(g, x, mode):
    acts = forward(g, x)
    _, gl = loss_and_grad(g, acts[logits_tensor(g)], 1, mode)
    r = backward(g, acts, gl, {OP: {"bias": True, "weight_channels": 256}}, mode)
    return r.weight[OP], r.bias[OP]


def test_qas_matches_fp32_sgd(person_graph, person_inputs) -> None:
    g = person_graph
    op = g.ops[OP]
    w = g.tensors[op.inputs[1]]
    sw = w.quant.scale.astype(np.float64)
    sx = float(g.tensors[op.inputs[0]].scale)
    lr = 0.05
    for mode in ("fp32", "int"):
        gw, gb = grads(g, person_inputs["person"], mode)
        gw_real, gb_real = real(gw).astype(np.float64), real(gb).astype(np.float64)
        fp32_w = lr * gw_real  # fp32 SGD step in real units
        fp32_b = lr * gb_real
        nz = np.abs(fp32_w) > 1e-4 * np.abs(fp32_w).max()
        for qas in (True, False):
            cfg = SGDConfig(lr=lr, qas=qas)
            dfx = weight_step_fx(g, op, gw, cfg)
            dwq = weight_step_lsb(g, op, gw, cfg)  # in weight LSBs, before rounding
            dbq = bias_step(g, op, gb, cfg).astype(np.float64)  # in bias LSBs
            step_w = dwq * sw[:, None, None, None]  # real-unit change
            step_b = dbq * sx * sw
            ratio_w = step_w[nz] / fp32_w[nz]
            bnz = np.abs(fp32_b) > 1e-3 * np.abs(fp32_b).max()
            ratio_b = step_b[bnz] / fp32_b[bnz]
            # update/weight ratio relative to fp32 SGD's, per element
            rel = (step_w / (w.data * sw[:, None, None, None] + 1e-30))[nz] / (fp32_w / (w.data * sw[:, None, None,
                                                                                         None] + 1e-30))[nz]
            if qas:
                print(f"\n{mode} QAS: weight step / fp32 step median {np.median(ratio_w):.6f} "
                      f"(p1 {np.percentile(ratio_w, 1):.4f}, p99 {np.percentile(ratio_w, 99):.4f}); "
                      f"bias median {np.median(ratio_b):.6f}")
                assert abs(np.median(ratio_w) - 1) < 1e-3
                assert np.percentile(np.abs(ratio_w - 1), 95) < 0.01
                # after fixed-point rounding (2^-16 LSB) the step still matches fp32 SGD
                fx = dfx / 2.0**FRAC_BITS * sw[:, None, None, None]
                assert np.abs(fx - fp32_w).max() <= 2.0**-FRAC_BITS * sw.max() + 1e-12
                # int32 bias steps round to the nearest bias LSB (s_x s_w): within half an LSB of fp32 SGD
                assert np.all(np.abs(step_b - fp32_b) <= 0.5 * sx * sw * (1 + 1e-3) + 1e-12)
            else:
                expect_w = np.broadcast_to(sw[:, None, None, None] ** 2, fp32_w.shape)[nz]
                print(f"{mode} no QAS: weight step / fp32 step median {np.median(ratio_w):.3e} = "
                      f"s_w^2 x {np.median(ratio_w / expect_w):.4f} (s_w^2 median {np.median(sw ** 2):.3e}); "
                      f"bias step / fp32 = (s_x s_w)^2 x {np.median(ratio_b / (sx * sw[bnz]) ** 2):.4f}")
                print(f"{mode} no QAS: non-zero fixed-point steps {np.count_nonzero(dfx)} of {dfx.size}")
                # without QAS the update/weight ratio is off by s_w^2 (fp32 / int8 = s_w^-2)
                np.testing.assert_allclose(ratio_w / expect_w, 1, rtol=0.01)
                np.testing.assert_allclose(rel, expect_w, rtol=0.01)


def test_tiny_updates_vanish_and_are_fixed(person_graph, person_inputs) -> None:
    g = person_graph
    op = g.ops[OP]
    gw, _ = grads(g, person_inputs["person"], "int")
    w0 = g.tensors[op.inputs[1]].data.astype(np.int64)
    steps = 60
    lr = 0.05
    d_fx = weight_step_fx(g, op, gw, SGDConfig(lr=lr))
    per_step = d_fx / 2.0**FRAC_BITS
    # shrink so every step is below half an LSB
    scale = 0.4 / np.abs(per_step).max()
    cfg0 = SGDConfig(lr=lr * scale)
    d_fx = weight_step_fx(g, op, gw, cfg0)
    expect = steps * d_fx / 2.0**FRAC_BITS  # accumulated ideal change (LSBs, to subtract)
    assert np.abs(d_fx).max() < 2 ** (FRAC_BITS - 1)
    moved = {}
    for rounding in ("nearest", "stochastic", "accumulator"):
        cfg = SGDConfig(lr=cfg0.lr, rounding=rounding, seed=1234)
        st = UpdateState.new(cfg)
        total = np.zeros_like(w0)
        for _ in range(steps):
            total += round_step(d_fx, cfg, st, OP)
        moved[rounding] = total
        sel = np.abs(expect) > 2
        corr = np.corrcoef(total[sel], expect[sel])[0, 1] if total[sel].std() > 0 else 0.0
        err = np.abs(total - expect)
        print(f"\n{rounding}: |ideal change| mean {np.abs(expect).mean():.3f} LSB, applied mean "
              f"{np.abs(total).mean():.3f}, max error {err.max():.2f}, corr {corr:.4f}")
        if rounding == "nearest":
            assert not total.any(), "round-to-nearest should lose every sub-half-LSB step"
        elif rounding == "stochastic":
            assert corr > 0.8 and abs(total.sum() - expect.sum()) < 0.02 * np.abs(expect).sum() + 50
        else:
            assert err.max() <= 1.0 + 1e-9  # the int8 fraction holds the rest
    # the update path (update_op) with the accumulator changes the weights too
    cfg = SGDConfig(lr=cfg0.lr, rounding="accumulator")
    st = UpdateState.new(cfg)
    cur = g
    for _ in range(5):
        new = update_op(cur, OP, gw, None, cfg, st)
        from mcutrain.golden.train import with_constants

        cur = with_constants(cur, new)
    assert (cur.tensors[op.inputs[1]].data != g.tensors[op.inputs[1]].data).any()


def test_extra_bytes() -> None:
    n_w, n_b = 64 * 256, 256
    assert extra_bytes(n_w, n_b, SGDConfig(rounding="nearest")) == 0
    assert extra_bytes(n_w, n_b, SGDConfig(rounding="stochastic")) == 4
    assert extra_bytes(n_w, n_b, SGDConfig(rounding="accumulator")) == n_w
    assert extra_bytes(n_w, n_b, SGDConfig(rounding="accumulator", acc_bits=16)) == 2 * n_w
    assert extra_bytes(n_w, n_b, SGDConfig(rounding="stochastic", momentum=0.9)) == 4 + 4 * (n_w + n_b)
