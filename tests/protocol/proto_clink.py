"""ctypes wrapper of tests/protocol/link_shim.c: one device-side link_t fed with wire bytes."""

from __future__ import annotations

import ctypes

from mcutrain.device.link import Deframer, Frame


class CLink:
    """One device-side link_t in C, fed with wire bytes; captures what it writes."""

    def __init__(self, lib: ctypes.CDLL, *, echo: bool = True) -> None:
        self.lib = lib
        self.mem = ctypes.create_string_buffer(lib.shim_size())
        lib.shim_init(self.mem, int(echo))

    def feed(self, data: bytes) -> int:
        return self.lib.shim_feed(self.mem, data, len(data))

    def take(self) -> bytes:
        buf = ctypes.create_string_buffer(64 * 1024)
        n = self.lib.shim_take(self.mem, buf, len(buf))
        return buf.raw[:n]

    def frames(self) -> list[Frame]:
        """Frames the link wrote since the last call (must all be well formed)."""
        d = Deframer()
        out = d.feed(self.take())
        assert d.bad == 0, "the C link wrote a damaged frame"
        return out

    def last(self) -> Frame:
        cmd, seq, n = ctypes.c_uint8(), ctypes.c_uint8(), ctypes.c_uint16()
        buf = ctypes.create_string_buffer(1024)
        self.lib.shim_last(self.mem, ctypes.byref(cmd), ctypes.byref(seq), ctypes.byref(n), buf)
        return Frame(cmd.value, seq.value, 0, buf.raw[: n.value])

    def reply(self, status: int, payload: bytes = b"") -> None:
        self.lib.shim_reply(self.mem, status, payload, len(payload))

    def log(self, text: bytes) -> None:
        self.lib.shim_log(self.mem, text)

    def event(self, kind: int, payload: bytes) -> None:
        self.lib.shim_event(self.mem, kind, payload, len(payload))

    def counters(self) -> dict[str, int]:
        arr = (ctypes.c_uint32 * 6)()
        self.lib.shim_counters(self.mem, arr)
        names = ("rx_frames", "rx_dups", "rx_bad_crc", "rx_bad", "rx_ignored", "tx_frames")
        return dict(zip(names, arr, strict=True))
