"""Where things live, in one place, so no module guesses paths on its own."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
MODELS = ROOT / "models"
BUILD = ROOT / "build"


def shared_data() -> Path:
    """Third-party fixtures live beside the checkout in ../shared/data (never copied in)."""
    env = os.environ.get("MCUTRAIN_SHARED")
    base = Path(env) if env else ROOT.parent / "shared"
    return base / "data"
