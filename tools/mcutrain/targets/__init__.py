"""Targets a training session runs on (the `session.Target` protocol): host build, QEMU, boards."""
