"""Run the firmware on QEMU's emulated STM32F405 (netduinoplus2) with its UART on a TCP socket.

    with QemuBoard(elf) as q:
        link = Link(q.port)
        ...
    q.exit_code      # the firmware's semihosting exit status, or None if it was killed

Ports: the host binds 127.0.0.1:0 itself (the kernel picks a free port), keeps the listening socket
and hands its file descriptor to QEMU (`-chardev socket,fd=N,server=on`). No port number is ever
chosen twice or raced for, so any number of emulators can run in parallel. QEMU waits for the
connection before starting the guest (wait=on), so no byte the firmware prints at boot is lost.

Instruction counting: `-icount shift=0` makes virtual time advance 1 ns per guest instruction, so
counts are deterministic; the firmware's counter is SysTick at 168 MHz of that clock
(instructions = ticks / 0.168, see `ticks_to_instructions`).

Cleanup: the process is killed on context exit, at interpreter exit (atexit), and - on Linux -
when the Python process dies (PR_SET_PDEATHSIG), so no emulator outlives its test run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import serial

QEMU = "qemu-system-arm"
MACHINE = "netduinoplus2"
SYSTICK_HZ = 168_000_000  # netduinoplus2 CPU clock, SysTick's source
INSTRUCTIONS_PER_TICK = 1e9 / SYSTICK_HZ  # -icount shift=0: 1 instruction per ns


def ticks_to_instructions(ticks: int) -> int:
    """Guest instructions for a number of SysTick ticks (BOARD_UNIT_QEMU_TICK) under icount shift=0."""
    return round(ticks * INSTRUCTIONS_PER_TICK)


class QemuError(RuntimeError):
    pass


def wait_for_boot(link: Any, timeout: float = 10.0) -> None:
    """Block until the firmware's BOOT event has arrived, leaving it queued in ``link.events``.

    QEMU starts the guest when the host connects, and its USART drops bytes that arrive before
    the firmware has enabled the receiver (as a real USART would). BOOT is sent once the link is
    ready, so waiting for it keeps the first request from being lost to a retransmission timeout.
    ``link`` is a mcutrain.device.link.Link.
    """
    from mcutrain.device.protocol import Event

    deadline = time.monotonic() + timeout
    while not any(kind == Event.BOOT for kind, _ in link.events):
        if time.monotonic() > deadline:
            raise QemuError(f"no BOOT event from the emulated board within {timeout:g}s")
        link.poll()
        time.sleep(0.005)


_live: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    with _live_lock:
        _live.discard(proc)


@atexit.register
def _kill_all() -> None:
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        _kill(proc)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class QemuBoard:
    """One emulated board: a QEMU process plus a pyserial port connected to its USART1."""

    def __init__(
        self,
        elf: str | os.PathLike[str],
        *,
        icount: bool = True,
        preload: Mapping[int, bytes] | None = None,
        extra_args: Sequence[str] = (),
        read_timeout: float = 0.01,
        start_timeout: float = 10.0,
    ) -> None:
        """preload: {address: bytes} put into guest memory before boot (e.g. a program into the
        ROM flash, which the firmware itself cannot write under QEMU)."""
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise QemuError(f"no firmware image at {self.elf}")
        if shutil.which(QEMU) is None:
            raise QemuError(f"{QEMU} not found (apt-get install qemu-system-arm)")
        self.icount = icount
        self.preload = dict(preload or {})
        self.extra_args = list(extra_args)
        self.read_timeout = read_timeout
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: Any = None  # serial.Serial-like (pyserial socket:// handler)
        self.tcp_port: int | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._stderr: Any = None

    # --- lifecycle -----------------------------------------------------------------------------

    def command(self, listen_fd: int) -> list[str]:
        cmd = [
            QEMU, "-M", MACHINE, "-display", "none", "-monitor", "none", "-semihosting",
            "-kernel", str(self.elf),
            "-chardev", f"socket,id=uart1,fd={listen_fd},server=on,wait=on",
            "-serial", "chardev:uart1",
        ]  # fmt: skip
        if self.icount:
            cmd += ["-icount", "shift=0"]
        assert self._tmp is not None
        for i, (addr, blob) in enumerate(sorted(self.preload.items())):
            path = Path(self._tmp.name) / f"preload{i}.bin"
            path.write_bytes(blob)
            cmd += ["-device", f"loader,file={path},addr=0x{addr:08x},force-raw=on"]
        return cmd + self.extra_args

    def start(self) -> QemuBoard:
        if self.proc is not None:
            raise QemuError("already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="mcutrain-qemu-")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            self.tcp_port = listener.getsockname()[1]
            fd = listener.fileno()
            self._stderr = open(Path(self._tmp.name) / "qemu.log", "w+b")  # noqa: SIM115
            self.proc = subprocess.Popen(
                self.command(fd),
                stdin=subprocess.DEVNULL,
                stdout=self._stderr,
                stderr=self._stderr,
                pass_fds=(fd,),
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PR_SET_PDEATHSIG
            )
            with _live_lock:
                _live.add(self.proc)
        finally:
            listener.close()  # QEMU holds its own copy of the listening socket now
        try:
            self.port = self._connect()
        except BaseException:
            self.close()
            raise
        return self

    def _connect(self) -> Any:
        deadline = time.monotonic() + self.start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise QemuError(f"QEMU exited with {self.proc.returncode} before accepting:\n{self.log()}")
            try:
                # The listening socket exists before QEMU starts, so this connects at once; the
                # loop only covers a QEMU that is slow to accept.
                return serial.serial_for_url(f"socket://127.0.0.1:{self.tcp_port}", timeout=self.read_timeout)
            except serial.SerialException as e:
                last = e
                time.sleep(0.05)
        raise QemuError(f"could not connect to QEMU on port {self.tcp_port}: {last}\n{self.log()}")

    def wait(self, timeout: float) -> int | None:
        """Wait for the firmware to end (semihosting exit); its exit code, or None on timeout."""
        if self.proc is None:
            raise QemuError("not started")
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    @property
    def exit_code(self) -> int | None:
        """The process exit status once QEMU has ended (None while running or if never started).
        A semihosting exit gives the firmware's code; -9 means it was killed."""
        return None if self.proc is None else self.proc.poll()

    def log(self) -> str:
        """QEMU's own output (errors, -d traces)."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def close(self) -> None:
        if self.port is not None:
            with contextlib.suppress(Exception):
                self.port.close()
            self.port = None
        if self.proc is not None:
            _kill(self.proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> QemuBoard:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
