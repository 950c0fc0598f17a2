"""Hostile model and program files through importer -> emitter -> sanitized C loader -> one run.

The parent (`run_cases`) hands case numbers to worker processes (`python -m ... hostile --worker`)
that run with the ASan/UBSan engine preloaded; each worker regenerates the mutated file from
(seed, family, case number), pushes it through the pipeline and answers one line per case. A
worker that dies (a sanitizer report aborts it) or does not answer within the per-case timeout
is a failure of that case; the worker is restarted and the run goes on.

Outcomes: accepted (loaded and ran), rej_import / rej_emit (one-line ModelError), rej_loader
(loader status), rej_arena (program needs more arena than the host cap: the status a device
gives), rej_runtime (a kernel status). Failures: pyexc (any other Python exception), multiline
(a ModelError of more than one line), insane (outputs not deterministic or of the wrong shape),
crash (sanitizer report or signal), hang (timeout).
"""

from __future__ import annotations

import json
import os
import queue
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcutrain import hostlib
from mcutrain.compiler.emit import compile_graph
from mcutrain.paths import ROOT
from mcutrain.tflite_import import ModelError, parse_tflite

from . import models, mutate

FAMILIES = ("tflite", "program")
FAILURES = ("pyexc", "multiline", "insane", "crash", "hang")
KNOWN = ("loader_gap",)  # reported to the engine owners (docs/reliability.md); not written into, not run
ARENA_CAP = 8 << 20  # host stand-in for a device's RAM limit; bigger programs get MCT_E_ARENA
_PREFIX = "@@ "


ENGINE_ENV = "MCUTRAIN_RELIABILITY_ENGINE"  # a directory holding another engine/ tree to test


def engine_snapshot(rev: str) -> Path:
    """firmware/engine/ and tools/mcutrain/hostlib.py as of git revision `rev`, extracted (read-only
    git) under build/reliability/, for a stable run while the working tree is being edited."""
    out = ROOT / "build" / "reliability" / f"engine-{rev}"
    out.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "firmware/engine", "tools/mcutrain/hostlib.py"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=tar, check=True)
    return out


def use_engine_from_env() -> None:
    """Swap in the engine and its ctypes wrapper from the snapshot named by $MCUTRAIN_RELIABILITY_ENGINE."""
    global hostlib
    snap = os.environ.get(ENGINE_ENV)
    if not snap or hostlib.__name__ == "mcutrain.hostlib_snapshot":
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("mcutrain.hostlib_snapshot",
                                                  Path(snap) / "tools" / "mcutrain" / "hostlib.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    mod.ENGINE_SRC = Path(snap) / "firmware" / "engine"  # type: ignore[attr-defined]
    mod.BUILD = Path(snap) / "build"  # type: ignore[attr-defined]
    hostlib = mod  # type: ignore[assignment]


def engine() -> Any:
    """The hostlib module in use (the working tree's, or a snapshot's)."""
    use_engine_from_env()
    return hostlib


def asan_runtime() -> str | None:
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    p = r.stdout.strip()
    return p if r.returncode == 0 and os.path.isabs(p) and os.path.exists(p) else None


# ---- cases ---------------------------------------------------------------------------------------


class Targets:
    """The valid files mutations start from: each model's .tflite and its emitted program."""

    def __init__(self) -> None:
        self.tflite: dict[str, mutate.TfliteTarget] = {}
        self.program: dict[str, mutate.ProgramTarget] = {}
        for name, buf in models.all_models().items():
            self.tflite[name] = mutate.TfliteTarget.from_bytes(name, buf)
            blob = compile_graph(parse_tflite(buf, name), name).blob
            self.program[name] = mutate.ProgramTarget.from_blob(name, blob)
        self.names = sorted(self.tflite)
        # The real model gets 40% of the cases when present, the small ones share the rest.
        w = np.array([4.0 * len(self.names) / 6 if n == "person_detect" else 1.0 for n in self.names])
        self.weights = w / w.sum()

    def case(self, seed: int, family: str, i: int) -> tuple[str, bytes, str]:
        """(target name, mutated bytes, description) of case i: a pure function of its arguments."""
        rng = np.random.default_rng([seed, FAMILIES.index(family), i])
        name = self.names[int(rng.choice(len(self.names), p=self.weights))]
        if family == "tflite":
            data, what = mutate.mutate_tflite(self.tflite[name], rng)
        else:
            data, what = mutate.mutate_program(self.program[name], rng)
        return name, data, what


def _one_line(e: ModelError) -> tuple[str, str]:
    msg = str(e)
    return ("multiline" if "\n" in msg or not msg else ""), msg


def run_blob(blob: bytes, rng: np.random.Generator, family: str = "tflite") -> tuple[str, str]:
    """Load with the sanitized loader and, if accepted, run it twice on the same random input."""
    status = hostlib.check_program(blob, sanitize=True)
    if status != 0:
        return "rej_loader", hostlib.STATUS.get(status, str(status))
    need = struct.unpack_from("<I", blob, 40)[0]
    try:
        eng = hostlib.Engine(blob, arena_size=min(need, ARENA_CAP), sanitize=True)
    except hostlib.EngineError as e:
        if need > ARENA_CAP and e.code == 12:
            return "rej_arena", str(e)
        return "insane", f"loader accepted, engine init refused: {e}"
    t_off = struct.unpack_from("<I", blob, 24)[0]
    const_io = [pid for pid in eng.input_ids() if blob[t_off + 32 * pid + 1] == 1]  # storage 1: constant pool
    if const_io:
        # The program stays in flash on a device: SAMPLE would write the input into it.
        return "loader_gap", f"loader accepted graph input tensor {const_io[0]} stored in the constant pool"
    inputs = []
    for pid in eng.input_ids():
        dt, shape = eng.tensor_info(pid)
        x = (rng.normal(0, 2, shape) if dt == np.float32 else rng.integers(-128, 128, shape)).astype(dt)
        inputs.append((pid, x))
    outs = []
    for _ in range(2):
        for pid, x in inputs:
            eng.write(pid, x)
        try:
            eng.run()
        except hostlib.EngineError as e:
            return "rej_runtime", str(e)
        outs.append([eng.read(pid) for pid in eng.output_ids()])
    for pid, a, b in zip(eng.output_ids(), outs[0], outs[1], strict=True):
        dt, shape = eng.tensor_info(pid)
        if a.dtype != dt or a.shape != shape:
            return "insane", f"output {pid} is {a.dtype}{a.shape}, declared {dt}{shape}"
        if a.tobytes() != b.tobytes():
            if family == "program":  # the loader does not check dataflow: a tensor read before written
                return "loader_gap", f"output {pid} differs between two runs (reads an unwritten arena tensor)"
            return "insane", f"output {pid} differs between two runs on the same input"
    return "accepted", ""


def _where(e: BaseException) -> str:
    frame = traceback.extract_tb(e.__traceback__)[-1]
    return f"{type(e).__name__}: {e} at {Path(frame.filename).name}:{frame.lineno}"


def evaluate(family: str, name: str, data: bytes, rng: np.random.Generator) -> tuple[str, str]:
    source = f"{name}-mutant.tflite"
    if family == "tflite":
        try:
            g = parse_tflite(data, source)
        except ModelError as e:
            bad, msg = _one_line(e)
            return bad or "rej_import", msg
        except Exception as e:  # noqa: BLE001 - any other exception type is the finding
            return "pyexc", "importer: " + _where(e)
        try:
            blob = compile_graph(g, source).blob
        except ModelError as e:
            bad, msg = _one_line(e)
            return bad or "rej_emit", msg
        except Exception as e:  # noqa: BLE001
            return "pyexc", "emitter: " + _where(e)
    else:
        blob = data
    return run_blob(blob, rng, family)


def worker_main(seed: int) -> None:
    use_engine_from_env()
    targets = Targets()
    hostlib.library(sanitize=True)
    print(_PREFIX + "ready", flush=True)
    for line in sys.stdin:
        family, i = line.split()
        name, data, _ = targets.case(seed, family, int(i))
        outcome, detail = evaluate(family, name, data, np.random.default_rng(int(i)))
        print(_PREFIX + json.dumps([outcome, detail[:400]]), flush=True)


# ---- parent ----------------------------------------------------------------------------------------


@dataclass
class Result:
    family: str
    case: int
    target: str = ""
    outcome: str = ""
    detail: str = ""
    mutation: str = ""


@dataclass
class Report:
    seed: int
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self, family: str) -> Counter[str]:
        return Counter(r.outcome for r in self.results if r.family == family)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.outcome in FAILURES]


class _Worker:
    def __init__(self, seed: int, timeout: float) -> None:
        self.seed = seed
        self.timeout = timeout
        self.proc: subprocess.Popen[str] | None = None
        self.err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the worker object

    def start(self) -> None:
        lib = asan_runtime()
        if lib is None:
            raise RuntimeError("no libasan for the sanitized engine (gcc -print-file-name=libasan.so)")
        env = dict(os.environ, LD_PRELOAD=lib, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
                   UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(ROOT / "tools"))
        self.err.seek(0)
        self.err.truncate()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.hostile", "--worker",
                                      "--seed", str(self.seed)], cwd=ROOT, env=env, text=True, bufsize=1,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        if self._line(180.0) != "ready":
            self.stop()
            raise RuntimeError(f"hostile worker did not start: {self.stderr_tail()}")

    def _line(self, timeout: float) -> str | None:
        """The next result line; None on timeout, "" when the worker closed its output (died)."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            line = self.proc.stdout.readline()
            if not line:
                return ""
            if line.startswith(_PREFIX):
                return line[len(_PREFIX):].strip()

    def stderr_tail(self) -> str:
        self.err.flush()
        self.err.seek(0)
        text = self.err.read()
        keys = ("runtime error", "ERROR: AddressSanitizer", "SUMMARY", "Fatal Python error")
        hits = [ln.strip() for ln in text.splitlines() if any(k in ln for k in keys)]
        return " | ".join(hits[:4]) or text[-400:].replace("\n", " | ")

    def ask(self, family: str, i: int) -> tuple[str, str]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{family} {i}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._line(self.timeout)
        if line:
            outcome, detail = json.loads(line)
            return outcome, detail
        if line is None:  # still alive: it hung on this case
            self.stop()
            return "hang", f"no answer within {self.timeout:g}s"
        self.proc.wait()
        detail = f"worker exit {self.proc.returncode}: {self.stderr_tail()}"
        self.proc = None
        return "crash", detail

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()  # our own child, by its handle
            self.proc.wait()
            self.proc = None


def run_cases(seed: int, n_tflite: int, n_program: int, workers: int = 2, timeout: float = 30.0,
              save_dir: Path | None = None, progress: bool = False) -> Report:
    """Run n_tflite mutated model files and n_program mutated program files; failures are written to
    save_dir (when given) as reproducer files."""
    t0 = time.monotonic()
    todo: queue.Queue[tuple[str, int]] = queue.Queue()
    for i in range(n_tflite):
        todo.put(("tflite", i))
    for i in range(n_program):
        todo.put(("program", i))
    total = n_tflite + n_program
    report = Report(seed)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def loop() -> None:
        w = _Worker(seed, timeout)
        try:
            while True:
                try:
                    family, i = todo.get_nowait()
                except queue.Empty:
                    return
                outcome, detail = w.ask(family, i)
                with lock:
                    report.results.append(Result(family, i, outcome=outcome, detail=detail))
                    n = len(report.results)
                if progress and n % 500 == 0:
                    print(f"  {n}/{total} cases, {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
        except BaseException as e:  # surfaced to the caller below
            errors.append(e)
        finally:
            w.stop()

    threads = [threading.Thread(target=loop) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    report.results.sort(key=lambda r: (FAMILIES.index(r.family), r.case))
    targets = Targets()
    for r in report.results:  # names and descriptions are regenerated here, cheaply, for the report
        if r.outcome in FAILURES + KNOWN or r.outcome == "rej_loader" and r.family == "tflite":
            name, data, r.mutation = targets.case(seed, r.family, r.case)
            r.target = name
            if save_dir is not None and r.outcome in FAILURES + KNOWN:
                save_dir.mkdir(parents=True, exist_ok=True)
                ext = "tflite" if r.family == "tflite" else "mctp"
                (save_dir / f"{r.outcome}-{r.family}-s{seed}-{r.case}-{name}.{ext}").write_bytes(data)
    report.seconds = time.monotonic() - t0
    return report


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker_main(int(sys.argv[sys.argv.index("--seed") + 1]))
