"""Fixtures for the sparse-update search tests: the person-detection model and a synthetic contribution table."""

from __future__ import annotations

import pytest

from mcutrain.ir import Graph
from mcutrain.paths import shared_data
from mcutrain.tflite_import import load_tflite
from mcutrain.transfer import replace_head

PD = shared_data() / "tflm_person_detection" / "person_detect.tflite"


@pytest.fixture(scope="session")
def pd_path() -> str:
    if not PD.exists():
        pytest.skip(f"person-detection model not found at {PD}")
    return str(PD)


@pytest.fixture(scope="session")
def pd_graph(pd_path: str) -> Graph:
    return load_tflite(pd_path)


@pytest.fixture(scope="session")
def pd_head(pd_graph: Graph) -> Graph:
    return replace_head(pd_graph, 2, seed=0)
