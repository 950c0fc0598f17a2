"""Fashion-MNIST from the Debian package, and its missing-package error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcutrain.data import fashion_mnist

needs_fmnist = pytest.mark.skipif(
    not fashion_mnist.available(), reason="needs `apt-get install -y dataset-fashion-mnist`"
)


@needs_fmnist
def test_raw_shapes() -> None:
    x, y = fashion_mnist.load_raw("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and set(np.unique(y)) == set(range(10))


@needs_fmnist
def test_resized_balanced_subset() -> None:
    x, y = fashion_mnist.load("test", 96, 1, limit=200, seed=1)
    assert x.shape == (200, 96, 96, 1) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [20] * 10
    x3, y3 = fashion_mnist.load("test", 32, 3, limit=20, seed=1)
    assert x3.shape == (20, 32, 32, 3) and np.array_equal(x3[..., 0], x3[..., 2])


def test_missing_package_names_the_apt_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCUTRAIN_FASHION_MNIST", str(tmp_path))
    with pytest.raises(fashion_mnist.MissingDatasetError, match="apt-get install -y dataset-fashion-mnist"):
        fashion_mnist.load_raw("train")
