from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from golden_refs import PD  # noqa: E402

from mcutrain.ir import Graph  # noqa: E402
from mcutrain.tflite_import import load_tflite  # noqa: E402


@pytest.fixture(scope="session")
def person_graph() -> Graph:
    return load_tflite(PD / "person_detect.tflite")


@pytest.fixture(scope="session")
def person_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "person": np.load(PD / "person_int8.npy"),
        "no_person": np.load(PD / "no_person_int8.npy"),
        "zeros": np.zeros((1, 96, 96, 1), np.int8),
        "random": rng.integers(-128, 128, (1, 96, 96, 1)).astype(np.int8),
    }


