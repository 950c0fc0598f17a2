"""A board running the mcutrain firmware as a training `Target` (mcutrain.session), over a `Link`.

    with DeviceTarget.qemu(program=prog.blob) as dev:     # emulated STM32F405, program preloaded
        logits = dev.infer(x)
    dev = DeviceTarget(open_link("/dev/ttyACM0"))         # a real board
    dev.load_program(blob); dev.train_step(x, label); dev.checkpoint()

The board computes everything it reports (loss, prediction, logits, counts, memory peaks); this
class only moves bytes and converts the board's tick counts: under QEMU one SysTick tick is
1/0.168 instructions (`-icount shift=0`), on silicon one tick is one core cycle.
"""

from __future__ import annotations

import array
import fcntl
import os
import select
import struct
import subprocess
import termios
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from mcutrain.session import StepResult

from . import protocol as proto
from .link import CommandError, Link
from .protocol import Cmd, Status

# The firmware is busy while it runs a command; person detection takes ~100M instructions (a few
# seconds under QEMU, ~0.5 s at 216 MHz on the F746). Retrying early is harmless (the link replays
# the cached reply) but pointless, so long commands get a long per-try timeout.
LONG_TIMEOUT = 120.0


class DeviceError(RuntimeError):
    """The board refused a request; one line naming the command and the reason."""


_WHY = {
    Status.NO_MODEL: "no program on the board (load one first)",
    Status.NO_SAMPLE: "no sample staged (or it has no label)",
    Status.BAD_ARG: "bad argument",
    Status.NO_SPACE: "does not fit",
    Status.BAD_CRC: "CRC mismatch: the data was damaged in transit or in flash",
    Status.BAD_STATE: "out of sequence",
    Status.FLASH_ERROR: "flash erase/program failed",
    Status.NO_CHECKPOINT: "no valid checkpoint",
    Status.UNKNOWN_CMD: "not supported by this firmware",
    Status.NUMERIC: "training step produced a non-finite loss (lr too large?): weights unchanged",
}


class DeviceTarget:
    """`Target` implementation on a board; also LOAD/SAMPLE/INFO/restore."""

    def __init__(self, link: Link, *, owner: Any = None) -> None:
        self.link = link
        self._owner = owner  # e.g. the QemuBoard this target runs on; closed with it
        self._info = self.info()
        self.board = self._info.board
        self.clock_hz: float = float(self._info.cpu_hz)
        self.last_infer: proto.InferResult | None = None
        self.last_checkpoint: proto.Checkpoint | None = None

    # --- construction --------------------------------------------------------------------------

    @classmethod
    def qemu(
        cls, elf: str | Path | None = None, *, program: bytes | None = None, flash_file: str | Path | None = None
    ) -> DeviceTarget:
        """A fresh emulated board (firmware built if `elf` is None) with `program` in its flash.
        flash_file: host file with the board's flash region (checkpoints, uploads), kept across
        emulator restarts (QemuBoard); None: an erased one of its own."""
        from mcutrain.build import build

        from .flash import qemu_preload
        from .qemu import QemuBoard

        board = QemuBoard(
            elf or build("qemu_f405", quiet=True),
            preload=qemu_preload(program) if program else None,
            flash_file=flash_file,
        )
        board.start()
        return cls._booted(board.port, owner=board)

    @classmethod
    def host_build(cls, exe: str | Path | None = None, *, flash_sectors: str | None = None) -> DeviceTarget:
        """The firmware built for the host (board/host.c: the link on stdin/stdout) as a child
        process: the same app and engine C code, compiled for this machine.
        flash_sectors: the flash region's sector map, e.g. "128K,256K*3" (a real board's; see
        board/host.c MCT_HOST_FLASH_SECTORS), None: the host default."""
        if exe is None:
            import tempfile

            from mcutrain.build import build_host

            exe = build_host(Path(tempfile.mkdtemp(prefix="mcutrain-host-fw-")) / "firmware")
        env = None if flash_sectors is None else {**os.environ, "MCT_HOST_FLASH_SECTORS": flash_sectors}
        port = ProcessPort([str(exe)], env=env)
        return cls._booted(port, owner=port)

    @classmethod
    def _booted(cls, port: Any, *, owner: Any) -> DeviceTarget:
        """A target on `port` once the firmware's boot banner came; `owner` (what runs the firmware)
        is closed when it never does."""
        from .qemu import wait_for_boot

        try:
            link = Link(port, timeout=10.0)
            wait_for_boot(link)
            return cls(link, owner=owner)
        except BaseException:
            owner.close()
            raise

    @classmethod
    def serial(cls, port: str, *, baudrate: int = 115200) -> DeviceTarget:
        from .link import open_link

        return cls(open_link(port, baudrate=baudrate, timeout=3.0))

    def close(self) -> None:
        self.link.close()
        if self._owner is not None:
            self._owner.close()

    def __enter__(self) -> DeviceTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _request(self, cmd: int, payload: bytes = b"", *, what: str, timeout: float | None = None) -> bytes:
        try:
            return self.link.request(cmd, payload, timeout=timeout)
        except CommandError as e:
            try:
                why = _WHY.get(Status(e.status), Status(e.status).name)
            except ValueError:
                why = f"status 0x{e.status:02X}"
            raise DeviceError(f"{self.board}: {what} refused: {why}") from e

    def instructions(self, ticks: int) -> int:
        """Board ticks -> instructions (QEMU) or cycles (silicon)."""
        if self.board == "qemu_f405":
            from .qemu import ticks_to_instructions

            return ticks_to_instructions(ticks)
        return ticks

    # --- commands ------------------------------------------------------------------------------

    def info(self) -> proto.Info:
        self._info = proto.unpack_info(self.link.request(Cmd.INFO))
        return self._info

    @property
    def model_id(self) -> int:
        return self._info.model_id

    def load_program(self, blob: bytes) -> proto.Committed:
        """Upload a compiled program (LOAD BEGIN/CHUNK/COMMIT); the board then runs it."""
        cap = self._info.program_capacity
        if len(blob) > cap:
            raise DeviceError(
                f"{self.board}: program of {len(blob)} bytes exceeds the {cap}-byte upload capacity; "
                "put it in flash with mcutrain.device.flash instead"
            )
        begin = proto.pack_load_begin(len(blob), zlib.crc32(blob))
        begun = proto.unpack_load_begin_reply(self._request(Cmd.LOAD, begin, what="LOAD", timeout=LONG_TIMEOUT))
        for chunk in proto.chunks(blob, begun.chunk_max):
            self._request(Cmd.LOAD, chunk, what="LOAD chunk")
        done = proto.unpack_load_commit_reply(
            self._request(Cmd.LOAD, proto.pack_commit(), what="LOAD commit", timeout=LONG_TIMEOUT)
        )
        self.info()
        return done

    def sample(self, x: np.ndarray, label: int | None = None) -> None:
        """Stage one input (int8 or uint8; NHWC, a leading batch of 1 allowed) and its label."""
        a = np.asarray(x)
        if a.dtype == np.int8:
            dtype = proto.SampleDtype.INT8
        elif a.dtype == np.uint8:
            dtype = proto.SampleDtype.UINT8
        else:
            raise DeviceError(f"{self.board}: samples are int8 or uint8, got {a.dtype}; quantize first")
        shape = a.shape[1:] if a.ndim == 4 and a.shape[0] == 1 else a.shape
        if len(shape) == 3:
            h, w, c = shape
        elif len(shape) <= 2:
            h, w, c = 1, 1, int(a.size)
        else:
            raise DeviceError(f"{self.board}: cannot send a sample of shape {list(a.shape)}")
        data = a.tobytes()
        lab = proto.SAMPLE_NO_LABEL if label is None else int(label)
        payloads = proto.sample_payloads(data, height=h, width=w, channels=c, label=lab, dtype=dtype)
        for p in payloads:
            self._request(Cmd.SAMPLE, p, what="SAMPLE")

    def infer(self, x: np.ndarray) -> np.ndarray:
        """int8 logits computed on the board for input x."""
        self.sample(x)
        r = proto.unpack_infer_reply(self._request(Cmd.INFER, what="INFER", timeout=LONG_TIMEOUT))
        self.last_infer = r
        return np.array(r.logits, dtype=np.int8)

    def infer_instructions(self) -> int:
        """Instructions (QEMU) or cycles of the last INFER."""
        return self.instructions(self.last_infer.cycles) if self.last_infer else 0

    def train_step(self, x: np.ndarray, label: int) -> StepResult:
        self.sample(x, label)
        r = self.train(1)
        return StepResult(loss=r.loss, predicted=r.predicted, instructions=self.instructions(r.cycles))

    def train(self, steps: int = 1) -> proto.TrainResult:
        """`steps` training steps on the staged sample."""
        return proto.unpack_train_reply(
            self._request(Cmd.TRAIN, proto.pack_train(steps), what="TRAIN", timeout=LONG_TIMEOUT)
        )

    def stats(self, *, zero: bool = False) -> dict[str, Any]:
        s = proto.unpack_stats(self._request(Cmd.STATS, proto.pack_stats_request(zero), what="STATS"))
        return {
            "steps": s.steps,
            "correct": s.correct,
            "last_loss": s.last_loss,
            "loss_ema": s.loss_ema,
            "acc_ema": s.acc_ema,
            "instructions_last_step": self.instructions(s.cycles_last_step),
            "instructions_mean_step": self.instructions(s.cycles_mean_step),
            "peak_arena_bytes": s.peak_arena_bytes,
            "planned_arena_bytes": s.arena_bytes,
            "arena_capacity_bytes": self._info.arena_bytes,
            "peak_stack_bytes": s.peak_stack_bytes,
            "board": self.board,
        }

    def checkpoint(self, slot: int = proto.CheckpointSlot.AUTO) -> str:
        """Save the learned state to flash; returns 'board:slot X (size, crc, steps)'."""
        req = proto.pack_checkpoint(slot)
        c = proto.unpack_checkpoint_reply(
            self._request(Cmd.CHECKPOINT_SAVE, req, what="CHECKPOINT_SAVE", timeout=LONG_TIMEOUT)
        )
        self.last_checkpoint = c
        which = proto.name_of(proto.CheckpointSlot, self.info().checkpoint_slot)
        return f"{self.board}:slot {which} ({c.size} bytes, crc32 0x{c.crc32:08x}, {c.steps} steps)"

    def restore(self, slot: int = proto.CheckpointSlot.AUTO) -> proto.Checkpoint:
        """Load a checkpoint back into the weights (AUTO: the newest valid one)."""
        c = proto.unpack_checkpoint_reply(
            self._request(Cmd.CHECKPOINT_RESTORE, proto.pack_checkpoint(slot), what="CHECKPOINT_RESTORE")
        )
        self.info()
        return c

    def reset_training(self) -> None:
        """Initial weights back, statistics zeroed (checkpoints stay in flash)."""
        self._request(Cmd.RESET, proto.pack_reset(proto.ResetMode.TRAINING), what="RESET")

    def reboot(self) -> proto.Boot:
        boot = proto.unpack_boot(self.link.reset_device(timeout=10.0))
        self.info()
        return boot


class ProcessPort:
    """A pyserial-like port over a child process's stdin/stdout."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.timeout: float | None = 0.01
        self.name = f"{Path(argv[0]).name}[{self.proc.pid}]"

    @property
    def in_waiting(self) -> int:
        """Bytes readable now (Link polls for idle events only when this says there are some)."""
        assert self.proc.stdout is not None
        buf = array.array("i", [0])
        fcntl.ioctl(self.proc.stdout.fileno(), termios.FIONREAD, buf)
        return int(buf[0])

    def read(self, size: int = 1) -> bytes:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        return os.read(self.proc.stdout.fileno(), size) if ready else b""

    def write(self, data: bytes) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return len(data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


def state_crc(regions: list[bytes]) -> int:
    """CRC-32 a checkpoint carries for these state regions (concatenated, as the board saves them)."""
    return zlib.crc32(b"".join(regions))


def program_model_id(blob: bytes) -> int:
    """The model id the board reports for a program (its header CRC field)."""
    return int(struct.unpack_from("<I", blob, 12)[0])
