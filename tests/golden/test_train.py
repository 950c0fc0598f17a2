"""Training sanity with teeth: LFW faces vs non-faces (skimage.data.lfw_subset, 25x25 -> 96x96 int8),
person-detection backbone with a fresh 2-class head; update the head (weights + bias) and the last
pointwise conv (bias + first 32 output channels). One epoch of batch-1 SGD, seeded, both modes.
Measured (lr 0.05, 140 steps, 60 held out): accuracy 0.47 -> 0.93 (step 70) -> 0.97 (step 140); mean loss
of the first quarter 0.58 -> last quarter 0.24, fp32 and int mode alike.
Asserted: start < 0.7, end >= 0.85, last-quarter loss < 0.65 x first-quarter loss.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcutrain.golden.forward import forward
from mcutrain.golden.train import predict, train_step
from mcutrain.golden.update import SGDConfig, UpdateState
from mcutrain.transfer import head_op, replace_head

START = 26  # ops from here on run every step; the frozen prefix's output is cached once per image


@pytest.fixture(scope="module")
def lfw(person_graph):
    skdata = pytest.importorskip("skimage.data")
    imgs = skdata.lfw_subset()
    labels = np.r_[np.ones(100, int), np.zeros(100, int)]  # 1 = face (person), 0 = background
    idx = (np.arange(96) * 25) // 96
    tin = person_graph.ops[START].inputs[0]
    feats = []
    for im in imgs:
        x = (np.clip(np.round(im[idx][:, idx] * 255), 0, 255) - 128).astype(np.int8).reshape(1, 96, 96, 1)
        feats.append(forward(person_graph, x)[tin])
    perm = np.random.default_rng(0).permutation(200)
    return tin, feats, labels, perm[:140], perm[140:]


@pytest.mark.parametrize("mode", ["fp32", "int"])
def test_lfw_face_finetune(person_graph, lfw, mode) -> None:
    tin, feats, labels, tr, te = lfw
    g = replace_head(person_graph, 2, seed=0)
    assert head_op(g) == 28 and g.tensors[g.outputs[0]].shape == (1, 2)
    scheme = {START: {"bias": True, "weight_channels": 32}, 28: {"bias": True, "weight_channels": 2}}
    cfg = SGDConfig(lr=0.05)
    state = UpdateState.new(cfg)

    def accuracy(graph) -> float:
        return float(np.mean([predict(graph, {tin: feats[i]}, START) == labels[i] for i in te]))

    curve = [(0, accuracy(g))]
    losses = []
    order = np.random.default_rng(0).permutation(tr)
    frozen = {t: g.tensors[t].data.copy() for t in (g.ops[24].inputs[1], g.ops[25].inputs[1])}
    w26 = g.tensors[g.ops[START].inputs[1]].data.copy()
    for step, i in enumerate(order, 1):
        r = train_step(g, {tin: feats[i]}, int(labels[i]), scheme, cfg, mode, state, START)
        g = r.graph
        losses.append(r.loss)
        if step % 70 == 0:
            curve.append((step, accuracy(g)))
    q = len(losses) // 4
    first, last = float(np.mean(losses[:q])), float(np.mean(losses[-q:]))
    print(f"\n{mode}: held-out accuracy by step {curve}; loss first quarter {first:.3f} -> last {last:.3f}")
    assert curve[0][1] < 0.7
    assert curve[-1][1] >= 0.85
    assert last < 0.65 * first
    # frozen layers untouched; op 26 changed only in its first 32 output channels
    for t, d in frozen.items():
        np.testing.assert_array_equal(g.tensors[t].data, d)
    w = g.tensors[g.ops[START].inputs[1]].data
    np.testing.assert_array_equal(w[32:], w26[32:])
    assert (w[:32] != w26[:32]).any()
