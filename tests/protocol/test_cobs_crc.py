"""COBS and CRC-32: known vectors, Python against C, and round trips."""

from __future__ import annotations

import ctypes
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcutrain.device import cobs

# The examples of the COBS article (Cheshire & Baker), data -> encoding without delimiter.
VECTORS = [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    (bytes(range(2, 256)) + b"\x00", b"\xff" + bytes(range(2, 256)) + b"\x01\x01"),
    (bytes(range(3, 256)) + b"\x00\x01", b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"),
]


def c_encode(lib: ctypes.CDLL, data: bytes) -> bytes:
    out = ctypes.create_string_buffer(cobs.max_encoded(len(data)))
    n = lib.cobs_encode(data, len(data), out, len(out))
    assert n >= 0
    return out.raw[:n]


def c_decode(lib: ctypes.CDLL, data: bytes) -> bytes | None:
    out = ctypes.create_string_buffer(max(1, len(data)))
    n = lib.cobs_decode(data, len(data), out, len(out))
    return None if n < 0 else out.raw[:n]


@pytest.mark.parametrize(("data", "enc"), VECTORS)
def test_cobs_vectors_python(data: bytes, enc: bytes) -> None:
    assert cobs.encode(data) == enc
    assert cobs.decode(enc) == data


@pytest.mark.parametrize(("data", "enc"), VECTORS)
def test_cobs_vectors_c(clib: ctypes.CDLL, data: bytes, enc: bytes) -> None:
    assert c_encode(clib, data) == enc
    assert c_decode(clib, enc) == data


def test_cobs_decoder_accepts_trailing_one_after_full_block(clib: ctypes.CDLL) -> None:
    # Some encoders add a 0x01 block after a final full block; both forms must decode the same.
    data = bytes(range(1, 255))
    alt = b"\xff" + data + b"\x01"
    assert cobs.decode(alt) == data
    assert c_decode(clib, alt) == data


@pytest.mark.parametrize("bad", [b"\x05\x11", b"\x02", b"\x03\x11\x00\x22", b"\xff" + b"\x01" * 200])
def test_cobs_rejects_malformed(clib: ctypes.CDLL, bad: bytes) -> None:
    with pytest.raises(cobs.CobsError):
        cobs.decode(bad)
    assert c_decode(clib, bad) is None


def test_cobs_encode_capacity_checked(clib: ctypes.CDLL) -> None:
    out = ctypes.create_string_buffer(3)
    assert clib.cobs_encode(b"\x11\x22\x33", 3, out, 3) == -1


def test_cobs_random_c_python_agree(clib: ctypes.CDLL) -> None:
    rng = random.Random(1234)
    for _ in range(2000):
        n = rng.choice([rng.randrange(0, 20), rng.randrange(240, 800), rng.randrange(0, 1100)])
        zero_rate = rng.choice([0.0, 0.01, 0.3, 0.9])
        data = bytes(0 if rng.random() < zero_rate else rng.randrange(1, 256) for _ in range(n))
        enc = cobs.encode(data)
        assert 0 not in enc
        assert len(enc) <= cobs.max_encoded(len(data))
        assert c_encode(clib, data) == enc
        assert c_decode(clib, enc) == data
        # The streaming encoder of the device must match, however the data is split into parts.
        a, b = sorted(rng.randrange(0, n + 1) for _ in range(2))
        out = ctypes.create_string_buffer(cobs.max_encoded(n))
        m = clib.shim_cobs_encode_parts(data[:a], a, data[a:b], b - a, data[b:], n - b, out, len(out))
        assert out.raw[:m] == enc


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_cobs_roundtrip(data: bytes) -> None:
    enc = cobs.encode(data)
    assert 0 not in enc
    assert cobs.decode(enc) == data


def _crc32_bitwise(data: bytes) -> int:
    """Textbook reflected CRC-32, a third implementation to pin down the parameters."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32_check_value(clib: ctypes.CDLL) -> None:
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert _crc32_bitwise(b"123456789") == 0xCBF43926
    assert clib.mct_crc32(0, b"123456789", 9) == 0xCBF43926


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"", 0x00000000),
        (b"a", 0xE8B7BE43),
        (b"abc", 0x352441C2),
        (b"\x00" * 32, 0x190A55AD),
        (b"\xff" * 32, 0xFF6CAB0B),
    ],
)
def test_crc32_vectors(clib: ctypes.CDLL, data: bytes, crc: int) -> None:
    assert _crc32_bitwise(data) == crc
    assert clib.mct_crc32(0, data, len(data)) == crc


def test_crc32_random_c_python_agree(clib: ctypes.CDLL) -> None:
    rng = random.Random(99)
    for _ in range(500):
        data = rng.randbytes(rng.randrange(0, 1100))
        assert clib.mct_crc32(0, data, len(data)) == zlib.crc32(data)
