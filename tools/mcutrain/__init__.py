"""mcutrain: int8 training on microcontrollers, host side."""

__version__ = "0.1.0"
