"""Run numpy's BLAS single-threaded: the golden's tiny matmuls are ~10x slower with threads on a busy host.

Same effect as OPENBLAS_NUM_THREADS=1, but applied at run time to numpy's bundled OpenBLAS (via ctypes, as
threadpoolctl does); a no-op when that library or its symbol is not found.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

_SYMBOLS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")


def limit_blas_threads(n: int = 1) -> bool:
    """True when a BLAS thread setter was found and called."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*.so*")) if libs.is_dir() else []:
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        for sym in _SYMBOLS:
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                return True
    return False
