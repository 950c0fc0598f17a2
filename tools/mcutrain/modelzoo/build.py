"""`python -m mcutrain.modelzoo.build --out models/`: every committed model, its card and models/README.md.

Steps (11-14 minutes wall on 2 busy CPU cores, seeded; same numbers each run):
  1. pretrain the backbone on Fashion-MNIST at 96x96x1 (fp32, Keras), convert to full int8;
  2. transfer variant: same backbone, re-initialised 2-class head (0 no person, 1 person), calibrated on
     the person task; host fp32 fine-tunes of the head / last layers give the target for the device;
  3. 128x128x3 variant (the paper's input size): 96x96 weights with the stem replicated over RGB,
     briefly fine-tuned on Fashion-MNIST in RGB at 128x128, converted to full int8.
Accuracies of the int8 files are measured with LiteRT's reference kernels and with TFLite Micro.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from mcutrain.paths import MODELS

BACKBONE_96 = "mcunet_s_fmnist_96x96x1"
TRANSFER_96 = "mcunet_s_person_96x96x1"
BACKBONE_128 = "mcunet_s_fmnist_128x128x3"
COMMAND = "invoke models  (= python -m mcutrain.modelzoo.build --out models/)"


def _log(msg: str, t0: float) -> None:
    print(f"[{time.time() - t0:6.1f} s] {msg}", flush=True)


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _int8_accuracies(path: Path, images: np.ndarray, labels: np.ndarray, tflm_count: int) -> dict[str, float]:
    from mcutrain.modelzoo.evaluate import accuracy

    return {
        "litert": accuracy(path, images, labels, "litert"),
        "tflm": accuracy(path, images[:tflm_count], labels[:tflm_count], "tflm"),
    }


def _copy_weights(src, dst, skip: tuple[str, ...] = ()) -> None:  # keras.Model, keras.Model
    for layer in dst.layers:
        if layer.name in skip or not layer.weights:
            continue
        weights = src.get_layer(layer.name).get_weights()
        if layer.name == "stem_conv" and weights[0].shape[2] != layer.weights[0].shape[2]:
            channels = layer.weights[0].shape[2]  # grey stem -> RGB stem, same response to grey input
            weights = [np.repeat(weights[0], channels, axis=2) / channels]
        layer.set_weights(weights)


def _nonzero_head_bias(model, seed: int) -> None:  # keras.Model
    """Tiny seeded head biases: the converter drops an all-zero bias, and the device needs one to train."""
    head = model.get_layer("classifier")
    kernel, bias = head.get_weights()
    head.set_weights([kernel, np.random.default_rng(seed).uniform(-0.01, 0.01, bias.shape).astype(bias.dtype)])


def build(out: Path, epochs: int, train_limit: int | None, rgb_limit: int, seed: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mcutrain.data import datasets, fashion_mnist
    from mcutrain.modelzoo import arch, card, convert, readme, train

    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    train.seed_everything(seed)

    # 1. backbone 96x96x1
    x_train, y_train = fashion_mnist.load("train", 96, 1, limit=train_limit, seed=seed)
    x_test, y_test = fashion_mnist.load("test", 96, 1, seed=seed)
    x_eval, y_eval = x_test[:2000], y_test[:2000]
    _log(f"Fashion-MNIST: {len(x_train)} train, {len(x_test)} test at 96x96x1", t0)
    m96 = arch.classifier(96, 1, len(fashion_mnist.CLASSES))
    train.pretrain(m96, x_train, y_train, epochs, 2e-3, seed)
    fp32_96 = train.evaluate_fp32(m96, x_test, y_test)
    (out / f"{BACKBONE_96}.tflite").write_bytes(convert.to_int8_tflite(m96, x_train, seed=seed))
    int8_96 = _int8_accuracies(out / f"{BACKBONE_96}.tflite", x_eval, y_eval, 500)
    _log(f"backbone 96: fp32 {fp32_96:.4f}, int8 {int8_96}", t0)
    fm_data = (f"Fashion-MNIST (Debian `dataset-fashion-mnist`), {len(x_train):,} training images, "
               "28x28 upscaled bilinearly")
    card.write(out, BACKBONE_96, "Backbone pretrained on Fashion-MNIST (10 classes), 96x96 grayscale.",
               f"{fm_data} to 96x96x1; {epochs} epochs Adam + cosine decay, batch 64",
               {"fp32 accuracy, Fashion-MNIST test (10,000)": _pct(fp32_96),
                "int8 accuracy, LiteRT reference kernels, first 2,000 test images": _pct(int8_96["litert"]),
                "int8 accuracy, TFLite Micro, first 500 test images": _pct(int8_96["tflm"])},
               ["Classes: " + ", ".join(f"{i} {c}" for i, c in enumerate(fashion_mnist.CLASSES)) + "."],
               COMMAND)

    # 2. transfer model: re-initialised 2-class head
    ptrain, ptest = datasets.person_task("train", 96, 1), datasets.person_task("test", 96, 1)
    train.seed_everything(seed + 1)
    transfer = arch.classifier(96, 1, 2)
    _copy_weights(m96, transfer, skip=("classifier",))
    _nonzero_head_bias(transfer, seed)
    (out / f"{TRANSFER_96}.tflite").write_bytes(convert.to_int8_tflite(transfer, ptrain.images, seed=seed))
    before_fp32 = train.evaluate_fp32(transfer, ptest.images, ptest.labels)
    before_int8 = _int8_accuracies(out / f"{TRANSFER_96}.tflite", ptest.images, ptest.labels, len(ptest.labels))
    results = {}
    for label, tail, epochs_ft, lr in (("head", ("classifier",), 60, 3e-3),
                                        ("last", ("classifier", "head_", "b9_"), 40, 1e-3)):
        train.seed_everything(seed + 2)
        model = arch.classifier(96, 1, 2)
        model.set_weights(transfer.get_weights())
        train.finetune(model, ptrain.images, ptrain.labels, tail, epochs_ft, lr, seed)
        results[label] = (model, train.evaluate_fp32(model, ptest.images, ptest.labels))
    tuned_path = out / "_finetuned_check.tflite"
    tuned_path.write_bytes(convert.to_int8_tflite(results["last"][0], ptrain.images, seed=seed))
    tuned_int8 = _int8_accuracies(tuned_path, ptest.images, ptest.labels, len(ptest.labels))
    tuned_path.unlink()
    _log(f"transfer: before fp32 {before_fp32:.3f} int8 {before_int8}; head {results['head'][1]:.3f}; "
         f"last {results['last'][1]:.3f} (int8 {tuned_int8})", t0)
    n_tr, n_te = len(ptrain.labels), len(ptest.labels)
    card.write(out, TRANSFER_96,
               f"Transfer model for on-device training: {BACKBONE_96}'s backbone with a re-initialised "
               "2-class head (0 = no person, 1 = person). This is the file the device fine-tunes.",
               f"person task = `skimage.data.lfw_subset()` faces vs non-faces, 25x25 upscaled to 96x96x1, "
               f"split by image (seed {datasets.SPLIT_SEED}): {n_tr} train / {n_te} test, balanced; "
               "int8 calibration on the train split",
               {"accuracy before training, int8, LiteRT reference kernels (test)": _pct(before_int8["litert"]),
                "accuracy before training, int8, TFLite Micro (test)": _pct(before_int8["tflm"]),
                "accuracy before training, fp32 (test)": _pct(before_fp32),
                "host fp32 fine-tune of the head only (test)": _pct(results["head"][1]),
                "host fp32 fine-tune of the last block + head conv + head (test)": _pct(results["last"][1]),
                "same, then converted to int8, LiteRT / TFLite Micro (test)":
                    f"{_pct(tuned_int8['litert'])} / {_pct(tuned_int8['tflm'])}"},
               ["The head is freshly initialised (seeded Glorot weights, biases uniform in +-0.01 so the "
                "converter keeps an int32 bias tensor for the device to train), so accuracy before training is "
                "near chance.",
                "Host fine-tunes: Adam, seeded augmentation (crop 0.8-1.0, flip, brightness, contrast), "
                "BatchNorm frozen; head only 60 epochs lr 3e-3, last layers 40 epochs lr 1e-3. "
                "They are the target on-device training should approach.",
                "Harder negatives (person-free photo crops from Debian `opencv-doc`) are available with "
                "`person_task(..., hard_negatives_count=N)`; they are not in the numbers above."],
               COMMAND)

    # 3. 128x128x3 variant
    train.seed_everything(seed + 3)
    x_rgb, y_rgb = fashion_mnist.load("train", 128, 3, limit=rgb_limit, seed=seed + 3)
    xt_rgb, yt_rgb = fashion_mnist.load("test", 128, 3, limit=2000, seed=seed)
    m128 = arch.classifier(128, 3, len(fashion_mnist.CLASSES))
    _copy_weights(m96, m128)
    zero_shot = train.evaluate_fp32(m128, xt_rgb, yt_rgb)
    train.pretrain(m128, x_rgb, y_rgb, 1, 5e-4, seed)
    fp32_128 = train.evaluate_fp32(m128, xt_rgb, yt_rgb)
    (out / f"{BACKBONE_128}.tflite").write_bytes(convert.to_int8_tflite(m128, x_rgb, seed=seed))
    int8_128 = _int8_accuracies(out / f"{BACKBONE_128}.tflite", xt_rgb, yt_rgb, 300)
    _log(f"backbone 128: zero-shot {zero_shot:.4f}, fp32 {fp32_128:.4f}, int8 {int8_128}", t0)
    card.write(out, BACKBONE_128,
               "The paper's input setting (128x128 RGB): the 96x96 backbone with its stem replicated over "
               "R, G, B, then fine-tuned at 128x128.",
               f"{fm_data} to 128x128, grey replicated to RGB; initialised from {BACKBONE_96}, "
               f"then 1 epoch on {len(x_rgb):,} images, Adam lr 5e-4 + cosine decay",
               {"fp32 accuracy before the 128x128 fine-tune (2,000 test images)": _pct(zero_shot),
                "fp32 accuracy (2,000 test images)": _pct(fp32_128),
                "int8 accuracy, LiteRT reference kernels (2,000 test images)": _pct(int8_128["litert"]),
                "int8 accuracy, TFLite Micro (300 test images)": _pct(int8_128["tflm"])},
               ["Activation peak exceeds the 96x96 budget: the input alone is 48 KiB. It targets the "
                "paper's 256 KB-SRAM setting (STM32F746)."],
               COMMAND)
    readme.write(out, (BACKBONE_96, TRANSFER_96, BACKBONE_128), COMMAND)
    _log("done", t0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=MODELS, help="output folder (default: models/)")
    p.add_argument("--epochs", type=int, default=4, help="Fashion-MNIST pretraining epochs at 96x96")
    p.add_argument("--train-limit", type=int, default=None, help="use at most this many training images")
    p.add_argument("--rgb-limit", type=int, default=20000, help="images for the 128x128x3 fine-tune")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    build(a.out, a.epochs, a.train_limit, a.rgb_limit, a.seed)


if __name__ == "__main__":
    main()
