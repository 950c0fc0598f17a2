"""Fixtures for the link tests: the C link built for the host and wrapped with ctypes, and a
simulated device (C link + trivial handlers) listening on a local TCP port."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import proto_build as cbuild  # noqa: E402
from proto_clink import CLink  # noqa: E402


def _need_gcc() -> None:
    try:
        cbuild.build_shim()
    except cbuild.BuildError as e:
        pytest.skip(f"cannot build the C link for the host: {e}")


@pytest.fixture(scope="session")
def clib() -> ctypes.CDLL:
    _need_gcc()
    lib = ctypes.CDLL(str(cbuild.build_shim()))
    u8p = ctypes.c_char_p
    lib.shim_size.restype = ctypes.c_uint32
    lib.shim_link_size.restype = ctypes.c_uint32
    lib.shim_init.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.shim_feed.argtypes = [ctypes.c_void_p, u8p, ctypes.c_uint32]
    lib.shim_feed.restype = ctypes.c_uint32
    lib.shim_take.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
    lib.shim_take.restype = ctypes.c_uint32
    lib.shim_last.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * 4
    lib.shim_reply.argtypes = [ctypes.c_void_p, ctypes.c_uint8, u8p, ctypes.c_uint16]
    lib.shim_log.argtypes = [ctypes.c_void_p, u8p]
    lib.shim_event.argtypes = [ctypes.c_void_p, ctypes.c_uint8, u8p, ctypes.c_uint16]
    lib.shim_counters.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.cobs_encode.argtypes = [u8p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32]
    lib.cobs_encode.restype = ctypes.c_int32
    lib.cobs_decode.argtypes = [u8p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32]
    lib.cobs_decode.restype = ctypes.c_int32
    lib.mct_crc32.argtypes = [ctypes.c_uint32, u8p, ctypes.c_uint32]
    lib.mct_crc32.restype = ctypes.c_uint32
    lib.shim_cobs_encode_parts.argtypes = [u8p, ctypes.c_uint32] * 3 + [ctypes.c_void_p, ctypes.c_uint32]
    lib.shim_cobs_encode_parts.restype = ctypes.c_uint32
    return lib


@pytest.fixture
def dev(clib: ctypes.CDLL) -> CLink:
    d = CLink(clib)
    assert d.take() == b"\0"  # link_init delimits reset glitches
    return d


@pytest.fixture(scope="session")
def sim_path() -> Path:
    try:
        return cbuild.build_sim()
    except cbuild.BuildError as e:
        pytest.skip(f"cannot build the simulated device: {e}")


@pytest.fixture
def sim(sim_path: Path) -> Iterator[str]:
    """A fresh simulated device; yields its pyserial URL (socket://127.0.0.1:PORT)."""
    proc = subprocess.Popen([str(sim_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"socket://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()
