"""A share of the ADD and small-window conv exactness checks (test_add_arm_exact.py,
test_small_window_conv_exact.py) on the ASan/UBSan builds of both kernel sets: no out-of-bounds read by the
4-byte window loads, no signed overflow in the closed forms."""

from __future__ import annotations

import sys
from pathlib import Path

from sanitized_child import run_sanitized

HERE = Path(__file__).resolve().parent


def _cases() -> None:
    """Child process (MCUTRAIN_ARM_SANITIZE=1: the tests' libraries are the sanitized ones)."""
    sys.path.insert(0, str(HERE))
    import test_add_arm_exact as add
    import test_small_window_conv_exact as conv

    for words in add.MODEL_ADDS[:2]:
        add.test_model_adds(words)
    add.test_compiled_params(0)
    add.test_hand_made_params(0)
    conv.test_model_first_conv((-128, 127))
    conv.test_small_windows(0)
    conv.test_small_windows_refused(0)
    print("ok")


def test_add_and_small_window_conv_under_sanitizers() -> None:
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_arm_sanitized as t; t._cases()"
    run_sanitized(code, "MCUTRAIN_ARM_SANITIZE", HERE.parents[1])
