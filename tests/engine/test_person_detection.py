"""Every intermediate tensor of TFLite Micro's person-detection model, byte for byte against the
tflite-micro reference interpreter, on the two reference images and an all-zero input."""

from __future__ import annotations

import numpy as np
import pytest
from _refs import engine_run, tflm_run

from mcutrain.infer import infer
from mcutrain.paths import shared_data

DATA = shared_data() / "tflm_person_detection"
MODEL = DATA / "person_detect.tflite"

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="shared person-detection model not present")


def _input(name: str) -> np.ndarray:
    if name == "zeros":
        return np.zeros((1, 96, 96, 1), np.int8)
    return np.load(DATA / f"{name}.npy")


@pytest.mark.parametrize("arm_ops", [False, True], ids=["reference", "arm-kernels-emulated"])
@pytest.mark.parametrize("name", ["person_int8", "no_person_int8", "zeros"])
def test_every_intermediate_matches_tflm(name: str, arm_ops: bool) -> None:
    buf = MODEL.read_bytes()
    x = _input(name)
    ours = engine_run(buf, [x], arm_ops=arm_ops)
    ref = tflm_run(buf, [x], list(ours))
    assert len(ours) == 31  # one output per op
    for tid, got in ours.items():
        want = ref[tid].reshape(got.shape)
        assert got.dtype == want.dtype
        diff = np.flatnonzero(got.ravel() != want.ravel())
        assert diff.size == 0, f"tensor {tid}: {diff.size} bytes differ, first at {diff[0]}"


@pytest.mark.parametrize(("name", "want"), [("person_int8", [-113, 113]), ("no_person_int8", [57, -57]),
                                            ("zeros", [72, -72])])
def test_final_outputs(name: str, want: list[int]) -> None:
    assert infer(MODEL, _input(name)).ravel().tolist() == want
