"""A pyserial wrapper that damages traffic frame by frame, in both directions, to test the
host's retransmission against the real device link. Seeded, so failures reproduce."""

from __future__ import annotations

import random
from typing import Any

from mcutrain.device.link import FrameError, decode_frame


class LossyPort:
    def __init__(
        self,
        port: Any,
        *,
        seed: int = 0,
        p_drop_tx: float = 0.0,
        p_flip_tx: float = 0.0,
        p_drop_rx: float = 0.0,
        p_flip_rx: float = 0.0,
        drop_tx: set[int] | None = None,
        drop_rx: set[int] | None = None,
        flip_rx: set[int] | None = None,
        drop_replies: int = 0,
    ) -> None:
        self._port = port
        self.port = getattr(port, "port", "lossy")
        self.rng = random.Random(seed)
        self.p = (p_drop_tx, p_flip_tx, p_drop_rx, p_flip_rx)
        self.drop_tx = drop_tx or set()  # indices of host frames to drop (0 = first)
        self.drop_rx = drop_rx or set()  # indices of non-empty device frames to drop
        self.flip_rx = flip_rx or set()
        self.drop_replies = drop_replies  # drop this many of the next reply frames
        self.tx_count = 0
        self.rx_count = 0
        self.damaged = 0
        self._partial = bytearray()
        self._ready = bytearray()

    @property
    def timeout(self) -> float | None:
        return self._port.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    def _flip(self, data: bytes) -> bytes:
        b = bytearray(data)
        i = self.rng.randrange(len(b))
        b[i] ^= 1 << self.rng.randrange(8)
        self.damaged += 1
        return bytes(b)

    def write(self, data: bytes) -> int:
        """The host writes one whole frame per call (leading 0x00 included)."""
        i = self.tx_count
        self.tx_count += 1
        if i in self.drop_tx or self.rng.random() < self.p[0]:
            self.damaged += 1
            return len(data)
        if self.rng.random() < self.p[1]:
            data = self._flip(data)
        self._port.write(data)
        return len(data)

    def _pump(self, size: int) -> None:
        self._partial += self._port.read(size)
        while (k := self._partial.find(0)) >= 0:
            frame = bytes(self._partial[: k + 1])
            del self._partial[: k + 1]
            if len(frame) > 1:
                i = self.rx_count
                self.rx_count += 1
                if self.drop_replies and _is_reply(frame):
                    self.drop_replies -= 1
                    self.damaged += 1
                    continue
                if i in self.drop_rx or self.rng.random() < self.p[2]:
                    self.damaged += 1
                    continue
                if i in self.flip_rx or self.rng.random() < self.p[3]:
                    frame = self._flip(frame[:-1]) + b"\0"
            self._ready += frame

    @property
    def in_waiting(self) -> int:
        # Assemble whole frames before reporting them: a half-read frame is not yet "waiting".
        while not self._ready and (waiting := self._port.in_waiting):
            self._pump(waiting)
        return len(self._ready)

    def read(self, size: int = 1) -> bytes:
        if not self._ready:
            self._pump(max(1, self._port.in_waiting))
        out = bytes(self._ready[:size])
        del self._ready[:size]
        return out

    def close(self) -> None:
        self._port.close()


def _is_reply(wire: bytes) -> bool:
    try:
        return decode_frame(wire).is_reply
    except FrameError:
        return False
