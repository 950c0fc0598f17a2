"""Garbage bursts over the real serial link of the emulated board (or a real one, --port): after
every burst the board must answer a PING with the same bytes, without rebooting.

MCUTRAIN_BURSTS (default 50) sets how many bursts, MCUTRAIN_BURST_SEED (default 1) the seed:
    MCUTRAIN_BURSTS=3000 pytest tests/reliability/test_link_bursts.py -s
"""

from __future__ import annotations

import os
import time
from collections import Counter

import numpy as np
import pytest

from mcutrain.device.link import Deframer, Frame, Link, encode_frame
from mcutrain.device.protocol import FRAME_EVENT, FRAME_NAK, REPLY_BIT, Cmd, Event

from .bursts import KINDS, burst, bursts

COUNT = int(os.environ.get("MCUTRAIN_BURSTS", "50"))
SEED = int(os.environ.get("MCUTRAIN_BURST_SEED", "1"))


def _ping(link: Link, seq: int, payload: bytes, timeout: float = 30.0) -> tuple[bytes | None, int]:
    """Send one PING (same bytes again every 2 s: the board replays, never re-runs) and wait for its
    reply, reading the board's NAKs for the burst on the way: (echoed payload or None, NAKs seen).
    Link.request would spend a try on each NAK, and a burst can be NAKed many times over."""
    wire = b"\0" + encode_frame(Frame(Cmd.PING, seq, 0, payload))
    d = Deframer()
    naks = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link.port.write(wire)
        resend = time.monotonic() + 2.0
        while time.monotonic() < min(resend, deadline):
            for f in d.feed(link.port.read(4096)):
                if f.cmd == FRAME_NAK:
                    naks += 1
                elif f.cmd == FRAME_EVENT and f.arg == Event.BOOT:
                    raise AssertionError("the board rebooted")
                elif f.cmd == Cmd.PING | REPLY_BIT and f.seq == seq:
                    return f.payload, naks
    return None, naks


def test_bursts_are_what_they_claim() -> None:
    """The generator itself: garbage never decodes as a valid request (oversized frames may, but
    with a payload longer than the protocol allows)."""
    from mcutrain.device.link import Deframer
    from mcutrain.device.protocol import MAX_PAYLOAD

    rng = np.random.default_rng(0)
    for kind in KINDS:
        d = Deframer()
        frames = []
        for _ in range(50):
            frames += d.feed(burst(rng, kind) + b"\0")
        assert all(len(f.payload) > MAX_PAYLOAD for f in frames), kind


@pytest.mark.hil
def test_board_survives_garbage_bursts(board: Link) -> None:
    board.request(Cmd.PING, b"start")
    before = board.hello()
    rng = np.random.default_rng(SEED + 1)
    sent = Counter[str]()
    nbytes = naks = 0
    t0 = time.monotonic()
    for i, (kind, data) in enumerate(bursts(SEED, COUNT)):
        board.port.write(data)
        nbytes += len(data)
        sent[kind] += 1
        probe = rng.integers(0, 256, int(rng.integers(0, 64)), np.uint8).tobytes()
        echo, n = _ping(board, i & 0xFF, probe)
        naks += n
        assert echo is not None, f"burst {i} ({kind}, {len(data)} bytes): no PING answer within 30 s"
        assert echo == probe, f"burst {i} ({kind}): wrong PING echo"
    after = board.hello()
    errors = after.rx_errors - before.rx_errors
    print(f"\n{COUNT} bursts (seed {SEED}), {nbytes} bytes in {time.monotonic() - t0:.1f}s, {dict(sent)}; "
          f"board counted {errors} bad frames, host saw {naks} NAKs; PING answered after every burst")
    assert errors >= sum(n for k, n in sent.items() if k in ("bitflip", "bad_crc", "oversized"))
