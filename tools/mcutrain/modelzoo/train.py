"""Host fp32 training: pretraining on Fashion-MNIST and the head fine-tune of the transfer model."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mcutrain.data.augment import Augmenter


def seed_everything(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _dataset(images: np.ndarray, labels: np.ndarray, batch: int, shuffle_seed: int | None) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y)).prefetch(2)


def _compile(model: keras.Model, lr: keras.optimizers.schedules.LearningRateSchedule | float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def pretrain(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, epochs: int, lr: float, seed: int,
    batch: int = 64,
) -> None:
    """Adam with cosine decay on uint8 NHWC images."""
    steps = epochs * int(np.ceil(len(images) / batch))
    _compile(model, keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02))
    model.fit(_dataset(images, labels, batch, seed), epochs=epochs, verbose=2)


def evaluate_fp32(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    x = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images
    logits = model.predict(x, batch_size=128, verbose=0)
    return float(np.mean(logits.argmax(1) == labels))


def set_trainable_tail(model: keras.Model, tail: tuple[str, ...]) -> None:
    """Freeze everything except layers whose name starts with one of `tail`; BatchNorm stays frozen."""
    for layer in model.layers:
        trainable = layer.name.startswith(tail) and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable


def finetune(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, tail: tuple[str, ...], epochs: int,
    lr: float, seed: int, batch: int = 16,
) -> None:
    """Fine-tune the named tail layers on float [0, 1] images with fresh seeded augmentation each epoch."""
    set_trainable_tail(model, tail)
    _compile(model, lr)
    aug = Augmenter(seed)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(images))
        model.fit(aug.batch(images[order]), labels[order], batch_size=batch, epochs=1, verbose=0, shuffle=False)
