"""`mcutrain` command line: one subcommand per job; each one's work lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def _targets_help() -> str:
    return "host (engine built for this machine), qemu (emulated STM32F405), or a serial port of a real board"


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build the firmware for a board and print its size")
    p.add_argument("--board", default="qemu_f405")

    def run(a: argparse.Namespace) -> int:
        from .build import build_firmware

        build_firmware(a.board, verbose=True)
        return 0

    p.set_defaults(func=run)


def _add_compile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a training schedule: autodiff, prune, reorder, plan memory")
    p.add_argument("model", help="int8 .tflite model")
    p.add_argument("--scheme", default="sparse", help="full | last-layer | bias-only | sparse | FILE.json")
    p.add_argument("--budget", default=None, help="arena budget, e.g. 128K, 256KB, 131072")
    p.add_argument("--mode", default="fp32", choices=("fp32", "int"), help="gradient arithmetic")
    p.add_argument("--out", default=None, help="where to write the schedule")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")

    def run(a: argparse.Namespace) -> int:
        from .compiler.cli_compile import run_compile

        return run_compile(a.model, a.scheme, a.budget, a.mode, a.out, a.json)

    p.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mcutrain", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_compile,):
        add(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as e:
        print(f"mcutrain {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mcutrain {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
