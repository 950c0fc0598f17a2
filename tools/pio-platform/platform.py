"""PlatformIO development platform class; the name must match platform.json's."""

from platformio.public import PlatformBase


class Stm32offlinePlatform(PlatformBase):
    """Nothing to install: the toolchain is the system arm-none-eabi-gcc."""
