"""Key labels for camera streams, driven through a real pseudo-terminal."""

from __future__ import annotations

import io
import os
import time

import pytest

from mcutrain.keys import KeyLabel


def test_keys_set_the_current_label_through_a_terminal() -> None:
    master, slave = os.openpty()
    with os.fdopen(slave, "rb", buffering=0) as tty_in, KeyLabel(0, stream=tty_in).listening() as keys:
        assert keys.current == 0
        os.write(master, b"2")
        deadline = time.monotonic() + 5
        while keys.current != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keys.current == 1
        os.write(master, b"x1")
        deadline = time.monotonic() + 5
        while keys.current != 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keys.current == 0
    os.close(master)


def test_keys_without_a_terminal_say_what_to_use_instead() -> None:
    with pytest.raises(RuntimeError, match="needs a terminal"), KeyLabel(stream=io.BytesIO()).listening():
        pass
