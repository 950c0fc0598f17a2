"""Extreme learning rates and labels on the host engine (docs/reliability.md, "Extreme learning rates and
labels"): the emitter refuses unusable rates; the engine saturates at huge rates, skips the update on a
non-finite loss or gradient (MCT_E_NUMERIC, weights unchanged), refuses bad labels before running, and a
normal step works afterwards. Runs in a child process on the ASan/UBSan build (float->int of a NaN is UB)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))

from mcutrain import hostlib  # noqa: E402
from mcutrain.compiler import emit_train  # noqa: E402
from mcutrain.compiler.compile import compile_model  # noqa: E402
from mcutrain.compiler.emit_train import EmitError, TrainConfig, emit_training  # noqa: E402

SENTINEL = 0.0123456  # an lr whose float32 bits appear only where the emitter wrote the lr
OP_SOFTMAX_XENT, OP_FC_GRAD_WEIGHT = 0x80, 0x46


def _graph():  # noqa: ANN202 - small_models is a test module
    from small_models import conv_net

    return conv_net(0)


def program(mode: str, lr: float, rounding: str = "stochastic") -> bytes:
    return emit_training(compile_model(_graph(), "full", mode=mode), TrainConfig(lr=lr, rounding=rounding)).blob


def reseal(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def with_lr(mode: str, lr: float) -> bytes:
    """A program whose float32 lr words say `lr` (what no emitter writes: a corrupted or hostile blob)."""
    pat = struct.pack("<f", SENTINEL)
    b = bytearray(program(mode, SENTINEL))
    assert b.count(pat) >= 2
    return reseal(bytearray(bytes(b).replace(pat, struct.pack("<f", lr))))


def with_param(blob: bytes, opcode: int, word: int, value: float) -> bytes:
    """Float32 parameter `word` of the first op `opcode` set to `value`."""
    b = bytearray(blob)
    o_off, n_ops = struct.unpack_from("<I", b, 28)[0], struct.unpack_from("<H", b, 22)[0]
    off = next(o_off + 32 * i for i in range(n_ops) if b[o_off + 32 * i] == opcode)
    p_off = struct.unpack_from("<I", b, 32)[0] + struct.unpack_from("<I", b, off + 20)[0]
    struct.pack_into("<f", b, p_off + 4 * word, value)
    return reseal(b)


def samples(n: int) -> list[tuple[np.ndarray, int]]:
    g = _graph()
    shape = tuple(g.tensors[g.inputs[0]].shape)
    rng = np.random.default_rng(0)
    return [(rng.integers(-128, 128, shape, dtype=np.int8), i % 2) for i in range(n)]


# --- emitter ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -float("inf"), -1.0, 1e30, 1e10, emit_train.LR_MAX * 2])
def test_emitter_refuses_unusable_lr(lr: float) -> None:
    r = compile_model(_graph(), "full", mode="fp32")
    with pytest.raises(EmitError, match="learning rate .* refused") as e:
        emit_training(r, TrainConfig(lr=lr))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("lr", [0.0, 1e-30, emit_train.LR_MAX])
def test_emitter_accepts_edge_lr(lr: float) -> None:
    for mode in ("fp32", "int"):
        assert hostlib.check_program(program(mode, lr)) == 0


# --- engine (child process on the sanitizer build) ----------------------------------------------------------

def _asan_runtime() -> str | None:
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    p = r.stdout.strip()
    return p if r.returncode == 0 and os.path.isabs(p) and os.path.exists(p) else None


def cases(tmp: Path) -> list[tuple[str, Path, str]]:
    """(name, program file, expected outcome of the first step: ok | numeric)."""
    out: list[tuple[str, bytes, str]] = [
        ("fp32 lr=LR_MAX", program("fp32", emit_train.LR_MAX), "ok"),
        ("int lr=LR_MAX", program("int", emit_train.LR_MAX), "ok"),
        ("int lr=LR_MAX nearest", program("int", emit_train.LR_MAX, "nearest"), "ok"),
        ("fp32 lr=0", program("fp32", 0.0, "nearest"), "ok"),
        ("fp32 lr=1e-30", program("fp32", 1e-30), "ok"),
        ("fp32 lr=1e30 (patched)", with_lr("fp32", 1e30), "ok"),
        ("fp32 lr=inf (patched)", with_lr("fp32", float("inf")), "ok"),
        ("fp32 lr=nan (patched)", with_lr("fp32", float("nan")), "ok"),
        ("fp32 lr=-1 (patched)", with_lr("fp32", -1.0), "ok"),
        ("fp32 xent scale=nan", with_param(program("fp32", 0.05), OP_SOFTMAX_XENT, 1, float("nan")), "numeric"),
        ("int xent scale=nan", with_param(program("int", 0.05), OP_SOFTMAX_XENT, 1, float("nan")), "numeric"),
        ("fp32 grad scale=inf", with_param(program("fp32", 0.05), OP_FC_GRAD_WEIGHT, 1, float("inf")), "numeric"),
    ]
    res = []
    for i, (name, blob, want) in enumerate(out):
        f = tmp / f"p{i}.mctp"
        f.write_bytes(blob)
        res.append((name, f, want))
    return res


CHILD = r'''
import sys, numpy as np
from mcutrain import hostlib
sys.path.insert(0, sys.argv[1])
from test_extreme import samples
want = sys.argv[3]
t = hostlib.Trainer(open(sys.argv[2], "rb").read(), sanitize=True)
xs = samples(4)
s0 = t.state()
n = int(t.infer(xs[0][0]).size)
for bad in (255, -1, n, 2**31 - 1, -2**31):
    try:
        t.train_step(xs[0][0], bad)
        raise SystemExit(f"label {bad} accepted")
    except hostlib.EngineError as e:
        assert e.code == 1, e
assert t.state() == s0, "a refused label changed the state"
try:
    loss, pred = t.train_step(*xs[0])
    got = "ok"
except hostlib.EngineError as e:
    assert e.code == hostlib.E_NUMERIC, e
    got = "numeric"
    assert t.state() == s0, "a skipped update changed the state"
assert got == want, (got, want)
if got == "ok":
    assert np.isfinite(loss) and 0 <= loss <= 69.08, loss
    for x, y in xs[1:]:
        loss, pred = t.train_step(x, y)
        assert np.isfinite(loss), loss
    print("ok", len(t.state()), "changed" if t.state() != s0 else "same", loss)
else:
    print("numeric")
'''


@pytest.mark.skipif(_asan_runtime() is None, reason="no libasan")
def test_extreme_steps_under_asan_ubsan(tmp_path: Path) -> None:
    hostlib.build(sanitize=True)
    env = dict(os.environ, LD_PRELOAD=_asan_runtime() or "", ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    here = str(Path(__file__).resolve().parent)
    golden = str(Path(__file__).resolve().parents[1] / "golden")
    env["PYTHONPATH"] = os.pathsep.join([here, golden, env.get("PYTHONPATH", "")])
    for name, f, want in cases(tmp_path):
        r = subprocess.run([sys.executable, "-c", CHILD, here, str(f), want], capture_output=True, text=True,
                           env=env, timeout=300)
        assert r.returncode == 0, f"{name}: {r.stdout[-500:]} {r.stderr[-3000:]}"
        assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr, f"{name}: {r.stderr[-3000:]}"
        print(f"{name}: {r.stdout.strip()}")


def test_numeric_then_normal_step_in_process() -> None:
    """The same engine after a skipped update: a normal program loaded next to it trains (no global state)
    and the int8 weights stay in [-127, 127] at the largest accepted lr."""
    xs = samples(3)
    bad = hostlib.Trainer(with_param(program("fp32", 0.05), OP_SOFTMAX_XENT, 1, float("nan")))
    s0 = bad.state()
    with pytest.raises(hostlib.EngineError, match="non-finite") as e:
        bad.train_step(*xs[0])
    assert e.value.code == hostlib.E_NUMERIC and bad.state() == s0
    for mode in ("fp32", "int"):
        blob = program(mode, emit_train.LR_MAX)
        t = hostlib.Trainer(blob)
        for x, y in xs:
            loss, _ = t.train_step(x, y)
            assert np.isfinite(loss)
        prog = emit_training(compile_model(_graph(), "full", mode=mode), TrainConfig(lr=emit_train.LR_MAX))
        for ids in prog.params.values():
            if "w" in ids:
                w = t.read(ids["w"])
                assert w.dtype == np.int8 and int(w.min()) >= -127


def test_int_mode_saturates_beyond_lr_max(monkeypatch: pytest.MonkeyPatch) -> None:
    """int mode at lr 1e10 (past the emitter's bound): multipliers still lower, every update saturates."""
    monkeypatch.setattr(emit_train, "LR_MAX", 1e12)
    t = hostlib.Trainer(program("int", 1e10), sanitize=False)
    for x, y in samples(3):
        loss, _ = t.train_step(x, y)
        assert np.isfinite(loss)
