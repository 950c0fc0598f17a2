from __future__ import annotations

import itertools

import numpy as np

from mcutrain.data.augment import Augmenter, stream


def test_same_seed_same_images() -> None:
    img = np.random.default_rng(0).random((96, 96, 1)).astype(np.float32)
    a, b = Augmenter(7), Augmenter(7)
    for _ in range(5):
        x, y = a(img), b(img)
        assert x.shape == img.shape and x.dtype == np.float32
        assert np.array_equal(x, y) and x.min() >= 0.0 and x.max() <= 1.0
    assert not np.array_equal(Augmenter(8)(img), Augmenter(7)(img))


def test_stream_covers_each_epoch_once() -> None:
    images = np.stack([np.full((8, 8, 3), i / 10, np.float32) for i in range(10)])
    labels = np.arange(10)
    seen = [lab for _, lab in itertools.islice(stream(images, labels, seed=1), 10)]
    assert sorted(seen) == list(range(10))
