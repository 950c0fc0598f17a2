"""Run the firmware on QEMU's emulated STM32F405 (netduinoplus2) with its UART on a TCP socket.

    with QemuBoard(elf) as q:
        link = Link(q.port)
        ...
    q.exit_code      # the firmware's semihosting exit status, or None if it was killed

Ports: the host binds 127.0.0.1:0 itself (the kernel picks a free port), keeps the listening socket
and hands its file descriptor to QEMU (`-chardev socket,fd=N,server=on`). No port number is ever
chosen twice or raced for, so any number of emulators can run in parallel. QEMU waits for the
connection before starting the guest (wait=on), so no byte the firmware prints at boot is lost.

Flash: QEMU cannot write the chip's flash, so the firmware keeps its program/checkpoint region in
the top 64 KB of SRAM and writes every erase/program through to a host file by semihosting
(firmware/board/qemu_f405.c); it reads the region back from that file at power-on. Pass the same
`flash_file=` to successive QemuBoards and what one emulator wrote before it died (killed, or a
staged power cut) is exactly what the next one boots with. Without `flash_file` every board gets an
erased file of its own in its temp dir.

A real serial device instead: `QemuBoard(elf, serial="pty")` puts USART1 on a pseudo-terminal
(`q.pty_path`, e.g. /dev/pts/3) that pyserial opens exactly like a board's /dev/ttyACM0; the guest
starts at once and, as on a board nobody listens to yet, what it sends before the port is opened
is lost. This is how the real-board paths (`--port`) run in CI.

Instruction counting: `-icount shift=0` makes virtual time advance 1 ns per guest instruction, so
counts are deterministic; the firmware's counter is SysTick at 168 MHz of that clock
(instructions = ticks / 0.168, see `ticks_to_instructions`).

Cleanup: the process is killed on context exit, at interpreter exit (atexit), and - on Linux -
when the Python process dies (PR_SET_PDEATHSIG), so no emulator outlives its test run.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import fcntl
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import serial

QEMU = "qemu-system-arm"
MACHINE = "netduinoplus2"
SYSTICK_HZ = 168_000_000  # netduinoplus2 CPU clock, SysTick's source
FLASH_REGION_ADDR = 0x2002_0000  # qemu_f405.ld FAKEFLASH: the SRAM standing in for the flash region
FLASH_REGION_SIZE = 64 * 1024
BOARD_EXIT_POWER_CUT = 4  # board.h: exit status of a staged power cut (board_flash_cut)
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


class SocketPort:
    """The part of a pyserial port that Link and the tests use (read, write, in_waiting, timeout,
    close), over the TCP socket of QEMU's USART1. Not pyserial's socket:// handler: its close()
    sleeps 0.3 s "for quick reconnects", which every emulator paid at teardown."""

    def __init__(self, host: str, port: int, timeout: float | None) -> None:
        self._sock: socket.socket | None = socket.create_connection((host, port), timeout=5.0)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.settimeout(None)
        self.timeout = timeout
        self.port = f"socket://{host}:{port}"
        self.is_open = True

    def _live(self) -> socket.socket:
        if self._sock is None:
            raise serial.SerialException(f"{self.port} is closed")
        return self._sock

    @property
    def in_waiting(self) -> int:
        buf = array.array("i", [0])
        fcntl.ioctl(self._live().fileno(), termios.FIONREAD, buf)
        return int(buf[0])

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes: whatever has arrived, waiting at most `timeout` for the first."""
        sock = self._live()
        ready, _, _ = select.select([sock], [], [], self.timeout)
        if not ready:
            return b""
        data = sock.recv(size)
        if not data:
            raise serial.SerialException(f"{self.port}: socket disconnected (QEMU ended)")
        return data

    def write(self, data: bytes) -> int:
        try:
            self._live().sendall(data)
        except OSError as e:  # as pyserial reports it: the emulator has gone
            raise serial.SerialException(f"{self.port}: {e}") from e
        return len(data)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self.is_open = False


class QemuBoard:
    """One emulated board: a QEMU process plus a serial-like port connected to its USART1."""

    def __init__(
        self,
        elf: str | os.PathLike[str],
        *,
        icount: bool = True,
        preload: Mapping[int, bytes] | None = None,
        flash_file: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        read_timeout: float = 0.01,
        start_timeout: float = 10.0,
        serial: str = "socket",
    ) -> None:
        """preload: {address: bytes} put into guest memory before boot (e.g. a program into the
        ROM flash, which the firmware itself cannot write under QEMU).
        flash_file: host file holding the board's flash region (created erased if missing); reuse
        it to boot a later emulator with what this one wrote.
        serial: "socket" (self.port, connected before the guest starts) or "pty" (self.pty_path,
        a tty device for whoever opens it, as a real board's port)."""
        if serial not in ("socket", "pty"):
            raise QemuError(f"serial must be 'socket' or 'pty', not {serial!r}")
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise QemuError(f"no firmware image at {self.elf}")
        if shutil.which(QEMU) is None:
            raise QemuError(f"{QEMU} not found (apt-get install qemu-system-arm)")
        self.icount = icount
        self.preload = dict(preload or {})
        self.flash_file = Path(flash_file).resolve() if flash_file is not None else None
        self.extra_args = list(extra_args)
        self.read_timeout = read_timeout
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.serial = serial
        self.port: Any = None  # SocketPort (serial.Serial-like); None with serial="pty"
        self.pty_path: str | None = None  # serial="pty": the tty device of USART1
        self.tcp_port: int | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._stderr: Any = None

    # --- lifecycle -----------------------------------------------------------------------------

    def command(self, listen_fd: int | None) -> list[str]:
        cmd = [
            QEMU, "-M", MACHINE, "-display", "none", "-monitor", "none",
            # The firmware reads `flash=PATH` with SYS_GET_CMDLINE (commas doubled: QEMU's escape).
            "-semihosting-config", f"enable=on,target=native,arg=flash={str(self._flash_path()).replace(',', ',,')}",
            "-kernel", str(self.elf),
            "-chardev", "pty,id=uart1" if listen_fd is None else f"socket,id=uart1,fd={listen_fd},server=on,wait=on",
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

    def _flash_path(self) -> Path:
        assert self._tmp is not None
        return self.flash_file or Path(self._tmp.name) / "flash.bin"

    def start(self) -> QemuBoard:
        if self.proc is not None:
            raise QemuError("already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="mcutrain-qemu-")
        flash = self._flash_path()
        if not flash.exists():
            flash.write_bytes(b"\xff" * FLASH_REGION_SIZE)  # an erased chip
        elif flash.stat().st_size != FLASH_REGION_SIZE:
            raise QemuError(f"{flash}: a flash image must be {FLASH_REGION_SIZE} bytes, not {flash.stat().st_size}")
        self._stderr = open(Path(self._tmp.name) / "qemu.log", "w+b")  # noqa: SIM115
        if self.serial == "pty":
            self._spawn(self.command(None), ())
            try:
                self.pty_path = self._pty_from_log()
            except BaseException:
                self.close()
                raise
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            self.tcp_port = listener.getsockname()[1]
            fd = listener.fileno()
            self._spawn(self.command(fd), (fd,))
        finally:
            listener.close()  # QEMU holds its own copy of the listening socket now
        try:
            self.port = self._connect()
        except BaseException:
            self.close()
            raise
        return self

    def _spawn(self, cmd: list[str], fds: tuple[int, ...]) -> None:
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            pass_fds=fds,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PR_SET_PDEATHSIG
        )
        with _live_lock:
            _live.add(self.proc)

    def _pty_from_log(self) -> str:
        """QEMU names the pseudo-terminal it made on stderr: "char device redirected to /dev/pts/N (label uart1)"."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            for line in self.log().splitlines():
                if "redirected to" in line and "uart1" in line:
                    return line.split("redirected to", 1)[1].split()[0]
            if self.proc.poll() is not None:
                raise QemuError(f"QEMU exited with {self.proc.returncode} before making its pty:\n{self.log()}")
            time.sleep(0.02)
        raise QemuError(f"QEMU named no pty within {self.start_timeout:g}s:\n{self.log()}")

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
                assert self.tcp_port is not None
                return SocketPort("127.0.0.1", self.tcp_port, self.read_timeout)
            except OSError as e:
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
