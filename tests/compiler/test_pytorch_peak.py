"""The PyTorch comparison: the rebuilt fp32 model matches the int8 graph, and the RSS measurement runs."""

from __future__ import annotations

import numpy as np
import pytest

from mcutrain.compiler.autodiff import find_logits
from mcutrain.ir import Graph
from mcutrain.paths import shared_data

PD = shared_data() / "tflm_person_detection" / "person_detect.tflite"

torch = pytest.importorskip("torch", reason="torch not installed (pip install -e .[torch]); comparison only")


def test_torch_model_matches_int8_forward(pd_graph: Graph) -> None:
    golden = pytest.importorskip("mcutrain.golden.forward", reason="golden forward not available")
    from mcutrain.compiler.pytorch_peak import build_torch_model

    model = build_torch_model(pd_graph)
    ti = pd_graph.tensors[pd_graph.inputs[0]]
    xq = np.random.default_rng(0).integers(-128, 128, size=ti.shape).astype(np.int8)
    lt, _ = find_logits(pd_graph)
    t = pd_graph.tensors[lt]
    ref = (golden.forward(pd_graph, xq)[lt].astype(np.float32) - t.zero_point) * t.scale
    x = torch.from_numpy((xq.astype(np.float32) - ti.zero_point) * ti.scale).permute(0, 3, 1, 2)
    got = model(x).detach().numpy()
    np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=8 * t.scale)


@pytest.mark.slow
def test_measure_pytorch_peak_runs() -> None:
    from mcutrain.compiler.pytorch_peak import measure_pytorch_peak

    d = measure_pytorch_peak(PD)
    assert d["params"] == 210_706
    assert d["peak_rss_after_step_bytes"] >= d["peak_rss_before_step_bytes"] > 10 * 2**20
    assert np.isfinite(d["loss"])
