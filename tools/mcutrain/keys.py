"""Labels from keys pressed while frames stream, as on the paper's demo board ("1" / "2" over the UART set the
current label): '1' -> class 0 (no person), '2' -> class 1 (person). A background thread reads the terminal in
cbreak mode; the current label is read by the stream for every frame."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from .data.camera import label_from_key


class KeyLabel:
    def __init__(self, initial: int = 0, stream: object = None) -> None:
        self.current = initial
        self._stream = stream if stream is not None else sys.stdin
        self._stop = threading.Event()

    def feed(self, ch: str) -> None:
        self.current = label_from_key(ord(ch), self.current)

    def _run(self, fd: int) -> None:
        while not self._stop.is_set():
            try:
                ch = os.read(fd, 1)
            except OSError:  # the terminal went away
                return
            if not ch:
                return
            self.feed(ch.decode(errors="ignore") or "\0")

    @contextlib.contextmanager
    def listening(self) -> Iterator[KeyLabel]:
        """Read keys from the terminal until the block ends; without a terminal, say how to label instead."""
        try:
            fd = self._stream.fileno()  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            fd = -1
        if fd < 0 or not os.isatty(fd):
            raise RuntimeError("--camera-label keys needs a terminal; use 'teacher' or a fixed class index")
        import termios
        import tty

        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        threading.Thread(target=self._run, args=(fd,), daemon=True).start()
        try:
            yield self
        finally:
            self._stop.set()
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
