"""Benchmarks of the device engine (instruction counts on the emulated board, host speed)."""
