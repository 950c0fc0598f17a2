"""Boot, link and fault handling of the firmware skeleton, on QEMU (default) or a real board
(--port/--board, see tests/conftest.py); plus build and memory-layout checks of every board
(mcutrain.boards)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import debug_cmd as dbg  # noqa: E402

from mcutrain import boards  # noqa: E402
from mcutrain.device.link import DeviceFaultError, Link  # noqa: E402
from mcutrain.device.protocol import (  # noqa: E402
    PROTO_VERSION,
    Cmd,
    Event,
    ResetReason,
    unpack_boot,
    unpack_fault,
    unpack_info,
)

FW_VERSION = (0, 1, 0)
ENVS = [e for b in boards.BOARDS.values() for e in b.envs]  # default and full-clock builds
CFSR_UNDEFINSTR = 1 << 16
CFSR_PRECISERR = 1 << 9
CFSR_BFARVALID = 1 << 15

hil = pytest.mark.hil


def counters(link: Link) -> dbg.Counters:
    return dbg.unpack_counters(link.request(Cmd.DEBUG, dbg.counters_request()))


# --- on the board ------------------------------------------------------------------------------


@hil
def test_boot_event(board: Link, emulator: object | None) -> None:
    payload = board.wait_event(Event.BOOT, 5.0) if emulator is not None else board.reset_device()
    boot = unpack_boot(payload)
    assert boot.proto_version == PROTO_VERSION
    assert boot.fw_version == FW_VERSION
    expected = ResetReason.POWER if emulator is not None else ResetReason.SOFTWARE
    assert boot.reason == expected, boot.reason_name


@hil
@pytest.mark.parametrize("payload", [b"", b"hello", bytes(range(256)) * 4], ids=["empty", "short", "max"])
def test_ping_echo(board: Link, payload: bytes) -> None:
    assert board.request(Cmd.PING, payload) == payload


@hil
def test_info_fields(board: Link, board_name: str) -> None:
    info = unpack_info(board.request(Cmd.INFO))
    assert info.proto_version == PROTO_VERSION
    assert info.fw_version == FW_VERSION
    assert info.board == board_name
    b = boards.board(board_name)
    assert info.cpu_hz in (b.cpu_hz, b.fast_cpu_hz)  # default build, or built with b.fast_flag
    assert info.sram_bytes == b.ram_size  # as linked (QEMU: see qemu_f405.ld)
    assert info.flash_bytes == b.flash_total
    assert 0 < info.program_capacity <= b.program_area_bytes


@hil
def test_counter_advances(board: Link, board_name: str) -> None:
    a = counters(board)
    assert board.request(Cmd.PING, b"x" * 100) == b"x" * 100
    b = counters(board)
    assert b.cycles > a.cycles > a.boot_cycles > 0
    assert a.boot_cycles == b.boot_cycles
    if boards.board(board_name).emulated:  # QEMU, whether on its socket or a tty (--port)
        from mcutrain.device.qemu import SYSTICK_HZ, ticks_to_instructions

        assert a.unit == dbg.BOARD_UNIT_QEMU_TICK and a.tick_hz == SYSTICK_HZ
        boot_instr = ticks_to_instructions(a.boot_cycles)
        print(f"\nboot to BOOT event: {a.boot_cycles} SysTick ticks = {boot_instr} instructions")
        # Startup, board init (erasing the 64 KB RAM-backed region), stack painting, link init; a board
        # that kept a program in flash (--port) also checks its CRC at boot: ~22 instructions a byte.
        program = unpack_info(board.request(Cmd.INFO)).model_id != 0
        assert boot_instr < (8_000_000 if program else 500_000)
    else:
        assert a.unit == dbg.BOARD_UNIT_CPU_CYCLE


@hil
def test_stack_peak_measured(board: Link, board_name: str) -> None:
    c = counters(board)
    # Main loop + link + a DEBUG handler: some hundreds of bytes, far from the RAM size.
    assert 64 < c.stack_peak < 8 * 1024, c.stack_peak
    assert c.flash_size > 0 and c.flash_sectors >= 3  # a program area and two checkpoint slots


@hil
def test_fault_is_reported(board: Link, emulator: object | None) -> None:
    board.request(Cmd.PING)  # the session is up, BOOT consumed
    with pytest.raises(DeviceFaultError):
        board.request(Cmd.DEBUG, dbg.fault_request(dbg.DEBUG_FAULT_UNDEF), timeout=5.0)
    fault = unpack_fault(board.events[-1][1]) if board.events and board.events[-1][0] == Event.FAULT else None
    assert fault is not None
    assert fault.cfsr & CFSR_UNDEFINSTR, f"{fault}"
    assert 0x0800_0000 <= fault.pc < 0x0810_0000, f"{fault}"
    assert fault.psr & 0x1FF == 0, "fault taken in thread mode"
    if emulator is not None:
        assert emulator.wait(5.0) == dbg.BOARD_EXIT_FAULT  # type: ignore[attr-defined]
    else:
        board.wait_event(Event.BOOT, 5.0)  # a real board resets after reporting


@hil
def test_bus_fault_address(board: Link, emulator: object | None) -> None:
    if emulator is None:
        pytest.skip("which addresses are unmapped differs between chips; checked on QEMU")
    bad = 0x6000_0000  # FSMC space: nothing mapped on netduinoplus2
    with pytest.raises(DeviceFaultError):
        board.request(Cmd.DEBUG, dbg.fault_request(dbg.DEBUG_FAULT_READ, bad), timeout=5.0)
    kinds = [k for k, _ in board.events]
    assert Event.FAULT in kinds
    fault = unpack_fault(board.events[kinds.index(Event.FAULT)][1])
    assert fault is not None
    assert fault.cfsr & CFSR_PRECISERR and fault.cfsr & CFSR_BFARVALID, f"{fault}"
    assert fault.bfar == bad


@hil
def test_semihosting_exit_code(board: Link, emulator: object | None) -> None:
    if emulator is None:
        pytest.skip("semihosting exit exists only under QEMU (a real board resets)")
    board.request(Cmd.DEBUG, dbg.exit_request(0))
    assert emulator.wait(5.0) == 0  # type: ignore[attr-defined]


def test_semihosting_exit_status_passed_through(firmware_elf: Path | None) -> None:
    if firmware_elf is None:
        pytest.skip("QEMU only")
    from mcutrain.device.qemu import QemuBoard, wait_for_boot

    with QemuBoard(firmware_elf) as q:
        link = Link(q.port, timeout=5.0)
        wait_for_boot(link)
        link.request(Cmd.DEBUG, dbg.exit_request(42))
        assert q.wait(5.0) == 42


@hil
def test_system_reset(board: Link, emulator: object | None) -> None:
    board.request(Cmd.PING)
    boot = unpack_boot(board.reset_device(timeout=5.0))
    assert boot.reason == ResetReason.SOFTWARE
    assert board.request(Cmd.PING, b"again") == b"again"
    assert counters(board).reset_reason == ResetReason.SOFTWARE


# --- builds and layout (no board needed) --------------------------------------------------------


def _vectors(elf: Path) -> tuple[int, int]:
    """(initial SP, reset vector) from the first 8 bytes of .isr_vector."""
    out = subprocess.run(
        ["arm-none-eabi-objcopy", "-O", "binary", "-j", ".isr_vector", str(elf), "/dev/stdout"],
        check=True,
        capture_output=True,
    ).stdout
    return struct.unpack_from("<II", out)


def _symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    syms: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def _section_addr(elf: Path, name: str) -> int:
    out = subprocess.run(["arm-none-eabi-readelf", "-SW", str(elf)], check=True, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        fields = line.replace("[ ", "[").split()
        if len(fields) > 3 and fields[1] == name:
            return int(fields[3], 16)
    raise AssertionError(f"no section {name} in {elf}")


@pytest.fixture(scope="module")
def elves() -> dict[str, Path]:
    """Each board's offline environment, built once when a test first asks (platformio.ini: -std=c99 -Wall
    -Wextra -Werror), so one board that fails to build fails only its own tests."""
    from mcutrain.build import build

    class Built(dict[str, Path]):
        def __missing__(self, env: str) -> Path:
            self[env] = build(env, quiet=True)
            return self[env]

    return Built()


@pytest.mark.parametrize("env", ENVS)
def test_firmware_builds_and_fits(env: str, elves: dict[str, Path]) -> None:
    from mcutrain.build import elf_size

    b = boards.for_env(env)
    s = elf_size(elves[env])
    print(f"\n{env}: text={s.text} data={s.data} bss={s.bss}")
    assert s.flash <= b.code_size  # code flash as linked; the program/checkpoint region follows it
    assert s.ram + 8 * 1024 <= b.ram_size  # the link also enforces MIN_STACK_SIZE


@pytest.mark.parametrize("env", ENVS)
def test_vector_table_layout(env: str, elves: dict[str, Path]) -> None:
    elf = elves[env]
    sp, reset = _vectors(elf)
    syms = _symbols(elf)
    b = boards.for_env(env)
    base, size = b.code_base, b.code_size
    assert _section_addr(elf, ".isr_vector") == base
    assert sp == b.ram_top == syms["_estack"], hex(sp)
    assert reset & 1, "reset vector must have the Thumb bit set"
    assert base <= reset < base + size
    assert reset & ~1 == syms["Reset_Handler"]
    assert syms["_ebss"] <= syms["_estack"] - 8 * 1024


def test_two_emulators_side_by_side(firmware_elf: Path | None) -> None:
    """Each QemuBoard gets its own kernel-chosen port: parallel runs cannot collide."""
    if firmware_elf is None:
        pytest.skip("QEMU only")
    from mcutrain.device.qemu import QemuBoard, wait_for_boot

    with QemuBoard(firmware_elf) as a, QemuBoard(firmware_elf) as b:
        assert a.tcp_port != b.tcp_port
        la, lb = Link(a.port, timeout=5.0), Link(b.port, timeout=5.0)
        wait_for_boot(la)
        wait_for_boot(lb)
        assert la.request(Cmd.PING, b"a") == b"a"
        assert lb.request(Cmd.PING, b"b") == b"b"
    assert a.exit_code is not None and b.exit_code is not None  # both killed on exit


def test_host_build_answers_ping(tmp_path: Path) -> None:
    """board/host.c: the same app over stdin/stdout, built with the system cc and -Werror."""
    import shutil

    from mcutrain.build import build_host
    from mcutrain.device.link import Deframer, Frame, encode_frame

    if shutil.which("cc") is None:
        pytest.skip("no host C compiler")
    exe = build_host(tmp_path / "fw")
    wire = encode_frame(Frame(Cmd.PING, 1, 0, b"host")) + encode_frame(Frame(Cmd.INFO, 2, 0))
    out = subprocess.run([str(exe)], input=wire, capture_output=True, timeout=10, check=True).stdout
    frames = Deframer().feed(out)
    assert [f.cmd for f in frames] == [0xFF, Cmd.PING | 0x80, Cmd.INFO | 0x80]
    assert frames[1].payload == b"host"
    assert unpack_info(frames[2].payload).board == "host"
