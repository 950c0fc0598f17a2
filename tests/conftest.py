"""Shared pytest options and the `board` fixture.

By default every HIL test gets a fresh emulated STM32F405 (QEMU netduinoplus2) running the firmware
built once per session. With a real board attached:

    pytest tests/hil --port /dev/ttyACM0 --board disco_f746ng      (or --board nucleo_f412zg)

the same tests talk to it instead (flash it first: `python -m mcutrain.device.flash disco_f746ng`, or
`pio run -e disco_f746ng_online -t upload`); each test starts with a system reset. The boards and what
the tests expect of them: mcutrain.boards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcutrain import boards  # the one table of boards for tools and tests


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcutrain board")
    group.addoption("--port", default=None, help="serial port of a real board (default: run QEMU)")
    group.addoption(
        "--board",
        default=boards.DEFAULT,
        choices=boards.names(),
        help="board the HIL tests target (default: qemu_f405, emulated)",
    )


@pytest.fixture(scope="session")
def board_name(request: pytest.FixtureRequest) -> str:
    name: str = request.config.getoption("--board")
    port = request.config.getoption("--port")
    b = boards.board(name)
    if port is None and not b.emulated:
        raise pytest.UsageError(f"--board {name} is real hardware: give its --port too")
    return b.name  # what the firmware reports in INFO, and its offline PlatformIO environment


@pytest.fixture(scope="session")
def serial_port(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--port")


@pytest.fixture(scope="session")
def firmware_elf(board_name: str, serial_port: str | None) -> Path | None:
    """The QEMU firmware, built once per session (None when a real board is attached: it runs
    whatever was flashed)."""
    if serial_port is not None:
        return None
    from mcutrain.build import BuildError, build

    try:
        return build(boards.board(board_name).env, quiet=True)
    except BuildError as e:
        pytest.fail(f"firmware build failed:\n{e}", pytrace=False)


@pytest.fixture
def emulator(firmware_elf: Path | None) -> Iterator[object | None]:
    """A running QemuBoard (None on a real board). Function scope: every test boots afresh."""
    if firmware_elf is None:
        yield None
        return
    from mcutrain.device.qemu import QemuBoard, QemuError

    try:
        q = QemuBoard(firmware_elf)
    except QemuError as e:
        pytest.skip(str(e))
    with q:
        yield q


@pytest.fixture
def board(emulator: object | None, serial_port: str | None) -> Iterator[object]:
    """A connected mcutrain.device.link.Link to a freshly booted board (its BOOT event queued
    in link.events on QEMU, consumed by the reset on a real board)."""
    from mcutrain.device.link import Link
    from mcutrain.device.qemu import wait_for_boot

    if emulator is not None:
        link = Link(emulator.port, timeout=5.0)  # type: ignore[attr-defined]
        wait_for_boot(link)
        yield link
        return
    import serial

    assert serial_port is not None
    port = serial.Serial(serial_port, 115200, timeout=0.01)
    link = Link(port, timeout=3.0)
    try:
        link.reset_device(timeout=5.0)
        yield link
    finally:
        link.close()


@pytest.fixture
def device_factory(firmware_elf: Path | None, serial_port: str | None) -> Iterator[Any]:
    """`device_factory(program=None)` -> a mcutrain.device.client.DeviceTarget on a fresh board.

    QEMU: a new emulator per call with `program` preloaded into its flash program area (how a
    program too large to upload gets there). Real board: the attached one after a system reset;
    `program` is uploaded unless the board already runs it, or the test is skipped when it is too
    large to upload (flash it first: `python -m mcutrain.device.flash disco_f746ng --program ...`).
    """
    from mcutrain.device.client import DeviceTarget, program_model_id

    made: list[Any] = []

    def make(program: bytes | None = None) -> Any:
        if firmware_elf is not None:
            from mcutrain.device.qemu import QemuBoard, QemuError

            try:
                QemuBoard(firmware_elf)  # only checks that QEMU and the image exist
            except QemuError as e:
                pytest.skip(str(e))
            dev = DeviceTarget.qemu(firmware_elf, program=program)
        else:
            assert serial_port is not None
            dev = DeviceTarget.serial(serial_port)
            dev.reboot()
            if program is not None and dev.model_id != program_model_id(program):
                if len(program) > dev.info().program_capacity:
                    dev.close()
                    pytest.skip(f"program of {len(program)} bytes must be flashed (mcutrain.device.flash)")
                dev.load_program(program)
        made.append(dev)
        return dev

    yield make
    for dev in made:
        dev.close()
