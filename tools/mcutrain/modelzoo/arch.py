"""The backbone: a small MCUNet/MobileNetV2-style network sized for a 256 KB-SRAM microcontroller.

Stem 3x3 conv stride 2, then inverted-residual blocks (1x1 expand + ReLU6, 3x3 depthwise + ReLU6,
1x1 project, residual ADD when shapes match), a 1x1 head conv, global average pool and one dense layer.
BatchNorm is used for host training and is folded into the convolutions by the TFLite converter.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers


@dataclass(frozen=True)
class Block:
    expand: int  # expansion ratio t (1 = no expand conv)
    out: int  # output channels
    stride: int


STEM = 8
BLOCKS: tuple[Block, ...] = (
    Block(1, 8, 1),
    Block(2, 16, 2),
    Block(3, 16, 1),
    Block(4, 24, 2),
    Block(4, 24, 1),
    Block(4, 40, 2),
    Block(4, 40, 1),
    Block(4, 48, 1),
    Block(4, 96, 2),
    Block(4, 96, 1),
)
HEAD = 160


def _conv_bn(x: keras.KerasTensor, filters: int, kernel: int, stride: int, act: bool, name: str):
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if act else x


def _block(x: keras.KerasTensor, b: Block, name: str) -> keras.KerasTensor:
    cin = x.shape[-1]
    y = x
    if b.expand != 1:
        y = _conv_bn(y, cin * b.expand, 1, 1, True, f"{name}_expand")
    y = layers.DepthwiseConv2D(3, b.stride, padding="same", use_bias=False, name=f"{name}_dw_conv")(y)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_dw_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_dw_relu6")(y)
    y = _conv_bn(y, b.out, 1, 1, False, f"{name}_project")
    if b.stride == 1 and cin == b.out:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def backbone(size: int, channels: int, batch_size: int | None = None) -> tuple[keras.Input, keras.KerasTensor]:
    """Input tensor and pooled feature vector (HEAD channels)."""
    inp = keras.Input((size, size, channels), batch_size=batch_size, name="image")
    x = _conv_bn(inp, STEM, 3, 2, True, "stem")
    for i, b in enumerate(BLOCKS):
        x = _block(x, b, f"b{i}")
    x = _conv_bn(x, HEAD, 1, 1, True, "head")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return inp, x


def classifier(
    size: int, channels: int, classes: int, batch_size: int | None = None, dropout: float = 0.0
) -> keras.Model:
    """Backbone + dense head producing logits (softmax is added only in the exported graph)."""
    inp, x = backbone(size, channels, batch_size)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(classes, name="classifier")(x)
    return keras.Model(inp, out, name=f"mcunet_s_{size}x{size}x{channels}")
